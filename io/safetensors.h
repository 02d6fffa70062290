/* safetensors.h: reading and writing .safetensors files (the format of
 * Hugging Face's `safetensors` library: https://github.com/huggingface/safetensors).
 *
 *   8 bytes   little-endian uint64 N: the header's length
 *   N bytes   JSON object: "name": {"dtype": "F32", "shape": [...],
 *             "data_offsets": [begin, end]} per tensor, and optionally
 *             "__metadata__": {string: string}; padded with spaces
 *   the rest  the tensors' bytes, little-endian, row-major; offsets are
 *             relative to the start of this part
 *
 * pipegrid reads and writes float32 ("F32") tensors only. Opening checks the
 * header against the file before anything is sized by it (header length,
 * JSON, each tensor's dtype, shape, offsets inside the data, byte count equal
 * to the shape's); an error names the file and the tensor. Writing goes to
 * PATH.tmp, then renames it over PATH. */
#ifndef PG_SAFETENSORS_H
#define PG_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

typedef struct pg_st pg_st;

#define PG_ST_MAX_DIMS 4

/* Open and check a file (its tensors' data stays on disk until read). */
int pg_st_open(pg_st **s, const char *path);
void pg_st_close(pg_st *s);

/* The shape of tensor `name`: returns 0, or PG_EFORMAT naming the file when
 * it is absent. dims holds PG_ST_MAX_DIMS entries. */
int pg_st_shape(const pg_st *s, const char *name, int *ndim, int64_t *dims);

/* Tensor `name` into dst, which holds n floats: the tensor must be F32 with
 * exactly n elements. */
int pg_st_read(pg_st *s, const char *name, float *dst, size_t n);

/* Number of tensors, and the name of the i-th (in header order). */
int pg_st_count(const pg_st *s);
const char *pg_st_name(const pg_st *s, int i);

/* One tensor to write. */
typedef struct pg_st_tensor {
    const char *name;
    int ndim;
    int64_t dims[PG_ST_MAX_DIMS];
    const float *data;
} pg_st_tensor;

/* Write n F32 tensors (in this order) with metadata {"format": "pt"}. */
int pg_st_write(const char *path, const pg_st_tensor *t, int n);

#endif
