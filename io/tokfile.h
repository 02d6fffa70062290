/* tokfile.h: token files other tools write, read into memory for `pipegrid
 * prep --from` (docs/dataset.md, "Token files from other tools").
 *
 *   llm.c .bin   a 256 x int32 little-endian header (magic 20240520, version 1,
 *                token count, the rest unused), then count uint16 tokens
 *   nanoGPT .bin raw little-endian uint16 tokens, nothing else (a file whose
 *                first int32 is llm.c's magic is read as llm.c's format)
 *   numpy .npy   format version 1, 2 or 3, a 1-D C-order array of '<u2'
 *                (uint16) or '<i4' (int32)
 *
 * The format is chosen by content (.npy by its magic string), not by the file
 * name. A bad header, a size that does not match it (odd bytes, truncation,
 * trailing data) or an unsupported dtype or shape is an error naming the file
 * and what was expected. Ids are returned as they are: the caller checks them
 * against the vocabulary. */
#ifndef PG_TOKFILE_H
#define PG_TOKFILE_H

#include <stdint.h>

#define PG_LLMC_MAGIC 20240520
#define PG_LLMC_HEADER_INTS 256

/* Read every token of `path` into *tokens (malloc'd, *n of them) and name the
 * format found in *format ("llm.c .bin", "uint16 .bin", ".npy <u2", ".npy <i4"). */
int pg_tokfile_read(const char *path, int32_t **tokens, int64_t *n, const char **format);

#endif
