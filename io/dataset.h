/* dataset.h: HDF5 token datasets (docs/dataset.md).
 *
 * A token dataset is an HDF5 file with
 *   /tokens        1-D integer dataset (any HDF5 integer type; read as int32)
 *     @vocab_size  int64 scalar: token ids lie in [0, vocab_size)
 *     @tokenizer   string: how text became tokens ("bytes": one token per byte)
 *     @text_bytes  optional int64: bytes of text the tokens encode (BPE datasets;
 *                  for "bytes" it is the token count)
 *   /doc_offsets   optional 1-D int64: the first token of each document
 *   /tokenizer_json  optional string: the tokenizer (tokenizer "bpe": the
 *                  Hugging Face tokenizer.json text it was encoded with)
 * `pipegrid prep` writes it; the training data source (runtime/engine/data_tokens.c)
 * reads windows of it by token offset. Errors name the file and dataset. */
#ifndef PG_DATASET_H
#define PG_DATASET_H

#include <stdint.h>

typedef struct pg_dataset pg_dataset;

/* The largest vocab_size accepted (model.vocab's limit). */
#define PG_DATASET_MAX_VOCAB (1 << 24)

/* Open and validate (rank-local, read-only). Checks the layout, the
 * attributes (vocab_size in [1, PG_DATASET_MAX_VOCAB]), that the file holds
 * the data of every token its extent declares (so that a caller may size
 * buffers by pg_dataset_ntokens) and every token id against vocab_size (one
 * sequential read of the file); reads check the ids again. */
int pg_dataset_open(pg_dataset **d, const char *path);
void pg_dataset_close(pg_dataset *d);

int64_t pg_dataset_ntokens(const pg_dataset *d);
int64_t pg_dataset_vocab(const pg_dataset *d);
const char *pg_dataset_tokenizer(const pg_dataset *d);

/* tokens[0..count) = /tokens[first .. first+count); an id outside
 * [0, vocab_size) is an error naming the file and position. */
int pg_dataset_read(pg_dataset *d, int64_t first, int64_t count, int32_t *tokens);

/* Bytes of text per the dataset (@text_bytes; the token count for "bytes";
 * -1 when unknown, e.g. "external" ids). */
int64_t pg_dataset_text_bytes(const pg_dataset *d);

/* The /tokenizer_json text (malloc'd); an error naming the file when absent. */
int pg_dataset_tokenizer_json(const pg_dataset *d, char **json);

/* Add a BPE tokenizer's JSON and the text's byte count to a dataset that
 * pg_dataset_write just wrote. */
int pg_dataset_add_bpe(const char *path, const char *json, int64_t text_bytes);

/* Write a dataset (refuses ids outside [0, vocab)); doc_offsets may be NULL. */
int pg_dataset_write(const char *path, const int32_t *tokens, int64_t n, int64_t vocab,
                     const char *tokenizer, const int64_t *doc_offsets, int64_t ndocs);

#endif
