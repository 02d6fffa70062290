/* files.h: whole-file reads and directory creation, with messages that name
 * the file.
 *
 * `what` says what the file is for ("config file", "trace file"), so that a
 * failure reads "cannot open schedule file 'x.txt': No such file or
 * directory". Both return 0 or a negative pg_err (PG_EIO, PG_ENOMEM,
 * PG_EINVAL) with the message kept by pg_error. */
#ifndef PG_FILES_H
#define PG_FILES_H

#include <stddef.h>

/* Read the file at path into *buf (malloc'd, NUL-terminated; the caller frees
 * it); *len gets its size in bytes, not counting the NUL. A read error (a
 * directory, an I/O error) is an error, never a short buffer. */
int pg_read_file(const char *path, const char *what, char **buf, size_t *len);

/* mkdir -p: create dir and any missing parents (existing ones are fine). */
int pg_mkdirs(const char *dir, const char *what);

#endif
