/* files.c: pg_read_file and pg_mkdirs (files.h). */
#include "runtime/base/files.h"

#include "runtime/base/error.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int pg_read_file(const char *path, const char *what, char **buf, size_t *len)
{
    *buf = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return pg_error(PG_EIO, "cannot open %s '%s': %s", what, path, strerror(errno));
    size_t cap = 4096, n = 0, got;
    char *b = malloc(cap);
    while (b && (got = fread(b + n, 1, cap - n - 1, f)) > 0) {
        n += got;
        if (n + 1 == cap) {
            char *grown = realloc(b, cap *= 2);
            if (!grown) free(b);
            b = grown;
        }
    }
    int err = b ? ferror(f) : 0, saved = errno;
    fclose(f);
    if (!b) return pg_error(PG_ENOMEM, "out of memory reading %s '%s'", what, path);
    if (err) {
        free(b);
        return pg_error(PG_EIO, "cannot read %s '%s': %s", what, path, strerror(saved));
    }
    b[n] = '\0';
    *buf = b;
    *len = n;
    return 0;
}

int pg_mkdirs(const char *dir, const char *what)
{
    char path[4096];
    if (!*dir) return pg_error(PG_EINVAL, "%s: empty directory name", what);
    if (snprintf(path, sizeof path, "%s", dir) >= (int)sizeof path)
        return pg_error(PG_EINVAL, "%s name too long: %s", what, dir);
    for (char *p = path + 1;; p++) {
        if (*p != '/' && *p) continue;
        char c = *p;
        *p = '\0';
        if (mkdir(path, 0777) && errno != EEXIST)
            return pg_error(PG_EIO, "cannot create %s '%s': %s", what, path, strerror(errno));
        *p = c;
        if (!c) return 0;
    }
}
