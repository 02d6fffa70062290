/* bpe.h: byte-level BPE tokenizers saved by Hugging Face `tokenizers` as
 * tokenizer.json (GPT-2's kind: tools/bpe_train.py trains one), applied in C
 * with the same result, token for token (docs/dataset.md, "BPE tokenizers").
 *
 * Supported: model BPE (vocab, merges as "a b" or ["a", "b"], ignore_merges;
 * no dropout, unknown token, subword prefix/suffix or byte fallback), no
 * normalizer, pre_tokenizer ByteLevel (use_regex true, add_prefix_space either
 * way; alone or as the only member of a Sequence), no added tokens. Anything
 * else is refused naming the file and the key.
 *
 * Encoding: (a space is prepended when add_prefix_space and the text does not
 * start with one) the text is split by GPT-2's pattern
 *   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
 * then each piece's bytes start as single-byte tokens and the adjacent pair of
 * lowest merge rank is merged, leftmost first, until no pair has a merge.
 * Letters, numbers and spaces are exact for ASCII; beyond it they come from
 * the C library's Unicode classes (iswalpha, iswspace in C.UTF-8), with
 * numbers other than 0-9 counted as letters, where Hugging Face uses Unicode's
 * \p{L}, \p{N} and White_Space. */
#ifndef PG_BPE_H
#define PG_BPE_H

#include <stddef.h>
#include <stdint.h>

typedef struct pg_bpe pg_bpe;

/* Load from JSON text (`origin` names it in messages) or from a file. */
int pg_bpe_from_json(pg_bpe **b, const char *json, const char *origin);
int pg_bpe_load(pg_bpe **b, const char *path);
void pg_bpe_free(pg_bpe *b);

/* The vocabulary size (ids lie in [0, size)). */
int pg_bpe_vocab(const pg_bpe *b);

/* Append the ids of text[0..n) to *ids (malloc'd/grown; *count ids, *cap room). */
int pg_bpe_encode(const pg_bpe *b, const unsigned char *text, size_t n, int32_t **ids,
                  int64_t *count, int64_t *cap);

/* The bytes of token `id` (*len of them); NULL for an id outside the vocabulary. */
const unsigned char *pg_bpe_bytes(const pg_bpe *b, int id, size_t *len);

#endif
