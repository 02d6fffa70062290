/* corpus.c: byte-level text and the default corpus (see corpus.h). */
#define _GNU_SOURCE /* scandir, alphasort */
#include "io/corpus.h"

#include "runtime/base/error.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int pg_corpus_read_bytes(const char *path, int32_t **tokens, int64_t *n)
{
    *tokens = NULL;
    *n = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return pg_error(PG_EIO, "cannot open '%s': %s", path, strerror(errno));
    size_t cap = 1 << 16, len = 0;
    int32_t *t = malloc(sizeof(int32_t) * cap);
    unsigned char buf[1 << 14];
    size_t got;
    while (t && (got = fread(buf, 1, sizeof buf, f)) > 0) {
        if (len + got > cap) {
            while (len + got > cap) cap *= 2;
            int32_t *grown = realloc(t, sizeof(int32_t) * cap);
            if (!grown) {
                free(t);
                t = NULL;
                break;
            }
            t = grown;
        }
        for (size_t i = 0; i < got; i++) t[len++] = buf[i];
    }
    int err = ferror(f);
    fclose(f);
    if (!t) return pg_error(PG_ENOMEM, "'%s': out of memory", path);
    if (err) {
        free(t);
        return pg_error(PG_EIO, "cannot read '%s'", path);
    }
    *tokens = t;
    *n = (int64_t)len;
    return 0;
}

static int regular(const struct dirent *e)
{
    char path[1024];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", PG_CORPUS_DIR, e->d_name);
    return e->d_name[0] != '.' && lstat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int pg_corpus_default(int32_t **tokens, int64_t *n, int64_t **docs, int64_t *ndocs)
{
    *tokens = NULL;
    *docs = NULL;
    *n = *ndocs = 0;
    struct dirent **names = NULL;
    int k = scandir(PG_CORPUS_DIR, &names, regular, alphasort);
    if (k <= 0)
        return pg_error(PG_EIO,
                        "the default corpus %s is missing or empty (it ships with Debian's "
                        "base-files); give a dataset with data.path (pipegrid prep)",
                        PG_CORPUS_DIR);
    int rc = 0;
    int32_t *all = NULL;
    int64_t total = 0, *off = malloc(sizeof(int64_t) * (size_t)k);
    if (!off) rc = pg_error(PG_ENOMEM, "corpus: out of memory");
    for (int i = 0; i < k && !rc; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", PG_CORPUS_DIR, names[i]->d_name);
        int32_t *t;
        int64_t m;
        if ((rc = pg_corpus_read_bytes(path, &t, &m))) break;
        int32_t *grown = realloc(all, sizeof(int32_t) * (size_t)(total + m + 1));
        if (!grown) {
            free(t);
            rc = pg_error(PG_ENOMEM, "corpus: out of memory");
            break;
        }
        all = grown;
        memcpy(all + total, t, sizeof(int32_t) * (size_t)m);
        free(t);
        off[i] = total;
        total += m;
    }
    for (int i = 0; i < k; i++) free(names[i]);
    free(names);
    if (!rc && total == 0) rc = pg_error(PG_EIO, "the default corpus %s is empty", PG_CORPUS_DIR);
    if (rc) {
        free(all);
        free(off);
        return rc;
    }
    *tokens = all;
    *n = total;
    *docs = off;
    *ndocs = k;
    return 0;
}
