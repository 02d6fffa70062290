/* dataset.c: reading and writing HDF5 token datasets (see dataset.h). The
 * file is opened with HDF5's default (serial, POSIX) driver on every rank
 * that needs data; reads are hyperslabs of the token array. */
#include "io/dataset.h"

#include "runtime/base/error.h"

#include <hdf5.h>
#include <stdlib.h>
#include <string.h>

struct pg_dataset {
    char path[1024];
    hid_t file, tokens, space;
    int64_t n, vocab, text_bytes;
    char tokenizer[64];
};

/* HDF5 prints its own error stack by default: keep messages to ours. */
static void quiet(void) { H5Eset_auto2(H5E_DEFAULT, NULL, NULL); }

static int fail(pg_dataset *d, int code, const char *what)
{
    int rc = pg_error(code, "%s: %s", d->path, what);
    pg_dataset_close(d);
    return rc;
}

static int read_int_attr(hid_t obj, const char *name, int64_t *v)
{
    if (H5Aexists(obj, name) <= 0) return -1;
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    if (a < 0) return -1;
    hid_t sp = H5Aget_space(a), ty = H5Aget_type(a);
    int ok = H5Sget_simple_extent_npoints(sp) == 1 && H5Tget_class(ty) == H5T_INTEGER &&
             H5Aread(a, H5T_NATIVE_INT64, v) >= 0;
    H5Tclose(ty);
    H5Sclose(sp);
    H5Aclose(a);
    return ok ? 0 : -1;
}

static int read_str_attr(hid_t obj, const char *name, char *buf, size_t n)
{
    if (H5Aexists(obj, name) <= 0) return -1;
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    if (a < 0) return -1;
    hid_t ty = H5Aget_type(a), mem = H5Tcopy(H5T_C_S1);
    int ok = H5Tget_class(ty) == H5T_STRING && !H5Tis_variable_str(ty);
    size_t len = ok ? H5Tget_size(ty) : 0;
    char *tmp = ok ? calloc(1, len + 1) : NULL;
    if (tmp) {
        H5Tset_size(mem, len);
        ok = H5Aread(a, mem, tmp) >= 0;
        snprintf(buf, n, "%s", tmp);
        free(tmp);
    } else {
        ok = 0;
    }
    H5Tclose(mem);
    H5Tclose(ty);
    H5Aclose(a);
    return ok ? 0 : -1;
}

/* Check every token id against vocab_size, reading blocks as int64 (so an
 * id beyond int32 is reported as it is, not clipped). Done once at open so
 * that a bad id is a set-up error (agreed over the ranks, one message)
 * rather than a failure in the middle of a step on whichever rank reads it. */
static int scan(pg_dataset *d)
{
    enum { BLOCK = 1 << 16 };
    int64_t *buf = malloc(sizeof(int64_t) * BLOCK);
    if (!buf) return pg_error(PG_ENOMEM, "%s: out of memory", d->path);
    int rc = 0;
    for (int64_t first = 0; first < d->n && !rc; first += BLOCK) {
        hsize_t start = (hsize_t)first, cnt = (hsize_t)(d->n - first < BLOCK ? d->n - first : BLOCK);
        hid_t mem = H5Screate_simple(1, &cnt, NULL);
        herr_t st = H5Sselect_hyperslab(d->space, H5S_SELECT_SET, &start, NULL, &cnt, NULL);
        if (st >= 0) st = H5Dread(d->tokens, H5T_NATIVE_INT64, mem, d->space, H5P_DEFAULT, buf);
        H5Sclose(mem);
        if (st < 0) {
            rc = pg_error(PG_EIO, "%s: /tokens: cannot read tokens [%lld, %lld) (file damaged?)",
                          d->path, (long long)first, (long long)(first + (int64_t)cnt));
            break;
        }
        for (hsize_t i = 0; i < cnt; i++)
            if (buf[i] < 0 || buf[i] >= d->vocab) {
                rc = pg_error(PG_EFORMAT,
                              "%s: /tokens[%lld] = %lld lies outside the vocabulary [0, %lld)",
                              d->path, (long long)(first + (int64_t)i), (long long)buf[i],
                              (long long)d->vocab);
                break;
            }
    }
    free(buf);
    return rc;
}

int pg_dataset_open(pg_dataset **out, const char *path)
{
    *out = NULL;
    int rc;
    quiet();
    pg_dataset *d = calloc(1, sizeof *d);
    if (!d) return pg_error(PG_ENOMEM, "dataset: out of memory");
    d->file = d->tokens = d->space = -1;
    snprintf(d->path, sizeof d->path, "%s", path);
    if (H5Fis_hdf5(path) <= 0) {
        FILE *f = fopen(path, "rb");
        if (!f) return fail(d, PG_EIO, "cannot open the token dataset (no such file?)");
        fclose(f);
        return fail(d, PG_EFORMAT, "not an HDF5 file (make one with pipegrid prep)");
    }
    if ((d->file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT)) < 0)
        return fail(d, PG_EIO, "cannot open the HDF5 file");
    if (H5Lexists(d->file, "tokens", H5P_DEFAULT) <= 0 ||
        (d->tokens = H5Dopen2(d->file, "tokens", H5P_DEFAULT)) < 0)
        return fail(d, PG_EFORMAT, "no dataset /tokens (expected a 1-D integer token array)");
    hid_t ty = H5Dget_type(d->tokens);
    int integer = H5Tget_class(ty) == H5T_INTEGER;
    H5Tclose(ty);
    if (!integer) return fail(d, PG_EFORMAT, "/tokens: expected an integer dtype");
    d->space = H5Dget_space(d->tokens);
    if (H5Sget_simple_extent_ndims(d->space) != 1)
        return fail(d, PG_EFORMAT, "/tokens: expected a 1-D array");
    hsize_t n = 0;
    H5Sget_simple_extent_dims(d->space, &n, NULL);
    d->n = (int64_t)n;
    if (d->n == 0) return fail(d, PG_EFORMAT, "/tokens: the dataset is empty");
    if (read_int_attr(d->tokens, "vocab_size", &d->vocab))
        return fail(d, PG_EFORMAT, "/tokens: missing or bad integer attribute vocab_size");
    if (d->vocab < 1 || d->vocab > PG_DATASET_MAX_VOCAB) {
        char why[128];
        snprintf(why, sizeof why, "/tokens: attribute vocab_size = %lld lies outside [1, %d]",
                 (long long)d->vocab, PG_DATASET_MAX_VOCAB);
        return fail(d, PG_EFORMAT, why);
    }
    /* the sizes above come from the file: before anyone allocates or reads
     * n tokens, make sure the file really holds them (an extent of 2^40
     * costs a few bytes of metadata when nothing was written) */
    H5D_space_status_t written = H5D_SPACE_STATUS_ERROR;
    if (H5Dget_space_status(d->tokens, &written) < 0 || written != H5D_SPACE_STATUS_ALLOCATED) {
        char why[160];
        snprintf(why, sizeof why, "/tokens: declares %lld tokens but the file does not hold "
                 "their data (damaged or unfinished file)", (long long)d->n);
        return fail(d, PG_EFORMAT, why);
    }
    if ((rc = scan(d))) {
        pg_dataset_close(d);
        return rc;
    }
    if (read_str_attr(d->tokens, "tokenizer", d->tokenizer, sizeof d->tokenizer))
        snprintf(d->tokenizer, sizeof d->tokenizer, "unknown");
    if (read_int_attr(d->tokens, "text_bytes", &d->text_bytes))
        d->text_bytes = strcmp(d->tokenizer, "bytes") ? -1 : d->n;
    *out = d;
    return 0;
}

void pg_dataset_close(pg_dataset *d)
{
    if (!d) return;
    if (d->space >= 0) H5Sclose(d->space);
    if (d->tokens >= 0) H5Dclose(d->tokens);
    if (d->file >= 0) H5Fclose(d->file);
    free(d);
}

int64_t pg_dataset_ntokens(const pg_dataset *d) { return d->n; }
int64_t pg_dataset_vocab(const pg_dataset *d) { return d->vocab; }
const char *pg_dataset_tokenizer(const pg_dataset *d) { return d->tokenizer; }
int64_t pg_dataset_text_bytes(const pg_dataset *d) { return d->text_bytes; }

int pg_dataset_tokenizer_json(const pg_dataset *d, char **json)
{
    *json = NULL;
    hid_t ds = H5Lexists(d->file, "tokenizer_json", H5P_DEFAULT) > 0
                   ? H5Dopen2(d->file, "tokenizer_json", H5P_DEFAULT)
                   : -1;
    if (ds < 0) return pg_error(PG_EFORMAT, "%s: no dataset /tokenizer_json (tokenizer %s)",
                                d->path, d->tokenizer);
    hid_t ty = H5Dget_type(ds), mem = H5Tcopy(H5T_C_S1);
    int ok = H5Tget_class(ty) == H5T_STRING && !H5Tis_variable_str(ty);
    size_t len = ok ? H5Tget_size(ty) : 0;
    if (ok && len < (1u << 30) && (*json = calloc(1, len + 1))) {
        H5Tset_size(mem, len);
        ok = H5Dread(ds, mem, H5S_ALL, H5S_ALL, H5P_DEFAULT, *json) >= 0;
    } else {
        ok = 0;
    }
    H5Tclose(mem);
    H5Tclose(ty);
    H5Dclose(ds);
    if (!ok) {
        free(*json);
        *json = NULL;
        return pg_error(PG_EFORMAT, "%s: /tokenizer_json: expected a fixed-length string",
                        d->path);
    }
    return 0;
}

int pg_dataset_add_bpe(const char *path, const char *json, int64_t text_bytes)
{
    quiet();
    hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    if (f < 0) return pg_error(PG_EIO, "%s: cannot reopen the dataset", path);
    hid_t str = H5Tcopy(H5T_C_S1), sc = H5Screate(H5S_SCALAR);
    H5Tset_size(str, strlen(json) + 1);
    hid_t ds = H5Dcreate2(f, "tokenizer_json", str, sc, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    herr_t st = ds >= 0 ? H5Dwrite(ds, str, H5S_ALL, H5S_ALL, H5P_DEFAULT, json) : -1;
    if (ds >= 0) H5Dclose(ds);
    hid_t tok = H5Dopen2(f, "tokens", H5P_DEFAULT);
    hid_t a = tok >= 0 ? H5Acreate2(tok, "text_bytes", H5T_STD_I64LE, sc, H5P_DEFAULT, H5P_DEFAULT)
                       : -1;
    if (st >= 0) st = a >= 0 ? H5Awrite(a, H5T_NATIVE_INT64, &text_bytes) : -1;
    if (a >= 0) H5Aclose(a);
    if (tok >= 0) H5Dclose(tok);
    H5Sclose(sc);
    H5Tclose(str);
    if (H5Fclose(f) < 0) st = -1;
    return st < 0 ? pg_error(PG_EIO, "%s: cannot write the tokenizer", path) : 0;
}

int pg_dataset_read(pg_dataset *d, int64_t first, int64_t count, int32_t *tokens)
{
    if (first < 0 || count < 0 || first + count > d->n)
        return pg_error(PG_EINVAL, "%s: /tokens: read of [%lld, %lld) outside the %lld tokens",
                        d->path, (long long)first, (long long)(first + count), (long long)d->n);
    hsize_t start = (hsize_t)first, cnt = (hsize_t)count;
    hid_t mem = H5Screate_simple(1, &cnt, NULL);
    herr_t st = H5Sselect_hyperslab(d->space, H5S_SELECT_SET, &start, NULL, &cnt, NULL);
    if (st >= 0) st = H5Dread(d->tokens, H5T_NATIVE_INT32, mem, d->space, H5P_DEFAULT, tokens);
    H5Sclose(mem);
    if (st < 0)
        return pg_error(PG_EIO, "%s: /tokens: cannot read tokens [%lld, %lld)", d->path,
                        (long long)first, (long long)(first + count));
    for (int64_t i = 0; i < count; i++)
        if (tokens[i] < 0 || tokens[i] >= d->vocab)
            return pg_error(PG_EFORMAT,
                            "%s: /tokens[%lld] = %d lies outside the vocabulary [0, %lld)",
                            d->path, (long long)(first + i), tokens[i], (long long)d->vocab);
    return 0;
}

static int write_attrs(hid_t ds, int64_t vocab, const char *tokenizer)
{
    hid_t sc = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(ds, "vocab_size", H5T_STD_I64LE, sc, H5P_DEFAULT, H5P_DEFAULT);
    herr_t st = a >= 0 ? H5Awrite(a, H5T_NATIVE_INT64, &vocab) : -1;
    if (a >= 0) H5Aclose(a);
    hid_t str = H5Tcopy(H5T_C_S1);
    H5Tset_size(str, strlen(tokenizer) + 1);
    a = H5Acreate2(ds, "tokenizer", str, sc, H5P_DEFAULT, H5P_DEFAULT);
    if (st >= 0) st = a >= 0 ? H5Awrite(a, str, tokenizer) : -1;
    if (a >= 0) H5Aclose(a);
    H5Tclose(str);
    H5Sclose(sc);
    return st < 0 ? -1 : 0;
}

int pg_dataset_write(const char *path, const int32_t *tokens, int64_t n, int64_t vocab,
                     const char *tokenizer, const int64_t *doc_offsets, int64_t ndocs)
{
    quiet();
    if (n < 1) return pg_error(PG_EINVAL, "%s: no tokens to write", path);
    for (int64_t i = 0; i < n; i++)
        if (tokens[i] < 0 || tokens[i] >= vocab)
            return pg_error(PG_EINVAL,
                            "%s: token %lld is %d, outside the vocabulary [0, %lld) "
                            "(raise --vocab)",
                            path, (long long)i, tokens[i], (long long)vocab);
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (f < 0) return pg_error(PG_EIO, "%s: cannot create the HDF5 file", path);
    /* the smallest integer type that holds the vocabulary */
    hid_t ftype = vocab <= 65536 ? H5T_STD_U16LE : H5T_STD_I32LE;
    hsize_t dims = (hsize_t)n;
    hid_t sp = H5Screate_simple(1, &dims, NULL);
    hid_t ds = H5Dcreate2(f, "tokens", ftype, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    herr_t st = ds >= 0 ? H5Dwrite(ds, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, tokens)
                        : -1;
    if (st >= 0) st = write_attrs(ds, vocab, tokenizer);
    if (ds >= 0) H5Dclose(ds);
    H5Sclose(sp);
    if (st >= 0 && doc_offsets && ndocs > 0) {
        hsize_t nd = (hsize_t)ndocs;
        sp = H5Screate_simple(1, &nd, NULL);
        ds = H5Dcreate2(f, "doc_offsets", H5T_STD_I64LE, sp, H5P_DEFAULT, H5P_DEFAULT,
                        H5P_DEFAULT);
        st = ds >= 0 ? H5Dwrite(ds, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT,
                                doc_offsets)
                     : -1;
        if (ds >= 0) H5Dclose(ds);
        H5Sclose(sp);
    }
    if (H5Fclose(f) < 0) st = -1;
    return st < 0 ? pg_error(PG_EIO, "%s: cannot write the token dataset", path) : 0;
}
