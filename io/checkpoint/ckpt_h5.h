/* ckpt_h5.h: small HDF5 helpers for checkpoints (internal to io/): scalar and
 * array attributes, strings, silencing HDF5's own error printing (pipegrid
 * reports errors itself, one line each). Helpers return 0 or -1; callers add
 * the context (file, dataset) to the message. */
#ifndef PG_CKPT_H5_H
#define PG_CKPT_H5_H

#include <hdf5.h>
#include <stdint.h>

/* Stop HDF5 from printing its error stack (idempotent). */
void pg_h5_quiet(void);

int pg_h5_put_str(hid_t obj, const char *name, const char *s);
int pg_h5_put_i64(hid_t obj, const char *name, const int64_t *v, int n);
int pg_h5_put_u32(hid_t obj, const char *name, uint32_t v);

/* A string attribute, malloc'd and NUL-terminated; -1 if absent or not a string. */
int pg_h5_get_str(hid_t obj, const char *name, char **s);
/* n integers; -1 if absent, not an integer or not n elements. */
int pg_h5_get_i64(hid_t obj, const char *name, int64_t *v, int n);
int pg_h5_get_u32(hid_t obj, const char *name, uint32_t *v);

/* Attribute `name` as text (malloc'd): a string as it is, integers in
 * decimal separated by commas. -1 if absent or of another class. */
int pg_h5_text(hid_t obj, const char *name, char **text);

/* The cause of the HDF5 error just reported, for a message: the operating
 * system's (strerror's) words when HDF5's error stack records an errno, else
 * HDF5's innermost description. Clears the stack. */
void pg_h5_cause(char *buf, size_t n);

/* 1 when every group on the way to `path` and the link itself exist. */
int pg_h5_exists(hid_t file, const char *path);

#endif
