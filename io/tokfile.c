/* tokfile.c: reading llm.c/nanoGPT .bin and numpy .npy token files (see
 * tokfile.h). The whole file is read at once; sizes are checked against the
 * header before any allocation is sized by it. */
#include "io/tokfile.h"

#include "runtime/base/error.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* count tokens of `width` bytes (2: uint16, 4: int32) at offset `off` of f. */
static int read_tokens(FILE *f, const char *path, long off, int64_t count, int width,
                       int32_t **tokens)
{
    *tokens = malloc(sizeof(int32_t) * (size_t)(count ? count : 1));
    unsigned char *raw = malloc((size_t)(count ? count : 1) * (size_t)width);
    int rc = 0;
    if (!*tokens || !raw) rc = pg_error(PG_ENOMEM, "%s: out of memory for %lld tokens", path,
                                        (long long)count);
    if (!rc && (fseek(f, off, SEEK_SET) || fread(raw, (size_t)width, (size_t)count, f) !=
                                               (size_t)count))
        rc = pg_error(PG_EIO, "%s: read failed", path);
    for (int64_t i = 0; i < count && !rc; i++) {
        const unsigned char *p = raw + i * width;
        (*tokens)[i] = width == 2 ? (int32_t)(p[0] | p[1] << 8) : (int32_t)le32(p);
    }
    free(raw);
    if (rc) {
        free(*tokens);
        *tokens = NULL;
    }
    return rc;
}

/* The value of 'key': in a .npy header dict, copied into val (NUL-terminated);
 * -1 when absent. Values are a quoted string, True/False or a tuple. */
static int npy_field(const char *hdr, const char *key, char *val, size_t n)
{
    char pat[32];
    snprintf(pat, sizeof pat, "'%s':", key);
    const char *p = strstr(hdr, pat);
    if (!p) return -1;
    p += strlen(pat);
    while (*p == ' ') p++;
    const char *end;
    if (*p == '\'') end = strchr(p + 1, '\'');
    else if (*p == '(') end = strchr(p, ')');
    else end = p + strcspn(p, ",}") - 1;
    if (!end) return -1;
    snprintf(val, n, "%.*s", (int)(end - p + 1), p);
    return 0;
}

static int read_npy(FILE *f, const char *path, long size, int32_t **tokens, int64_t *n,
                    const char **format)
{
    unsigned char pre[12];
    if (size < 10 || fread(pre, 1, 10, f) != 10)
        return pg_error(PG_EFORMAT, "%s: truncated .npy header", path);
    int major = pre[6];
    long hlen, hstart;
    if (major == 1) {
        hlen = pre[8] | pre[9] << 8;
        hstart = 10;
    } else if (major == 2 || major == 3) {
        if (size < 12 || fread(pre + 10, 1, 2, f) != 2)
            return pg_error(PG_EFORMAT, "%s: truncated .npy header", path);
        hlen = (long)le32(pre + 8);
        hstart = 12;
    } else {
        return pg_error(PG_EFORMAT, "%s: .npy format version %d.%d (expected 1, 2 or 3)", path,
                        major, pre[7]);
    }
    if (hlen > 1 << 20 || hstart + hlen > size)
        return pg_error(PG_EFORMAT, "%s: .npy header length %ld exceeds the file (%ld bytes)",
                        path, hlen, size);
    char *hdr = calloc(1, (size_t)hlen + 1);
    if (!hdr) return pg_error(PG_ENOMEM, "%s: out of memory", path);
    if (fread(hdr, 1, (size_t)hlen, f) != (size_t)hlen) {
        free(hdr);
        return pg_error(PG_EIO, "%s: read failed", path);
    }
    char descr[32] = "", order[16] = "", shape[64] = "";
    int rc = 0;
    if (npy_field(hdr, "descr", descr, sizeof descr) ||
        npy_field(hdr, "fortran_order", order, sizeof order) ||
        npy_field(hdr, "shape", shape, sizeof shape))
        rc = pg_error(PG_EFORMAT, "%s: .npy header lacks descr, fortran_order or shape: %.80s",
                      path, hdr);
    free(hdr);
    if (rc) return rc;
    int width = !strcmp(descr, "'<u2'") ? 2 : !strcmp(descr, "'<i4'") ? 4 : 0;
    if (!width)
        return pg_error(PG_EFORMAT, "%s: .npy dtype %s (expected '<u2' uint16 or '<i4' int32)",
                        path, descr);
    long long count = -1;
    int used = 0;
    if (sscanf(shape, "(%lld,)%n", &count, &used) != 1 || shape[used] || count < 0)
        return pg_error(PG_EFORMAT, "%s: .npy shape %s (expected a 1-D array, (N,))", path,
                        shape);
    (void)order; /* irrelevant for a 1-D array */
    long data = hstart + hlen;
    if ((long long)(size - data) != count * width)
        return pg_error(PG_EFORMAT, "%s: .npy shape (%lld,) of %s needs %lld data bytes, the "
                                    "file has %ld", path, count, descr, count * width,
                        size - data);
    *format = width == 2 ? ".npy <u2" : ".npy <i4";
    *n = count;
    return read_tokens(f, path, data, count, width, tokens);
}

static int read_bin(FILE *f, const char *path, long size, int32_t **tokens, int64_t *n,
                    const char **format)
{
    unsigned char h[PG_LLMC_HEADER_INTS * 4];
    if (size >= 4 && fread(h, 1, 4, f) == 4 && le32(h) == PG_LLMC_MAGIC) {
        long hbytes = PG_LLMC_HEADER_INTS * 4;
        if (size < hbytes || fseek(f, 0, SEEK_SET) || fread(h, 1, (size_t)hbytes, f) !=
                                                          (size_t)hbytes)
            return pg_error(PG_EFORMAT, "%s: llm.c header truncated (%ld bytes, the header "
                                        "alone is %ld)", path, size, hbytes);
        uint32_t version = le32(h + 4);
        int64_t count = (int32_t)le32(h + 8);
        if (version != 1)
            return pg_error(PG_EFORMAT, "%s: llm.c header version %u (expected 1: uint16 "
                                        "tokens)", path, version);
        if (count < 0 || (size - hbytes) != count * 2)
            return pg_error(PG_EFORMAT, "%s: llm.c header declares %lld tokens (%lld bytes), "
                                        "the file holds %ld bytes after the header",
                            path, (long long)count, (long long)count * 2, size - hbytes);
        *format = "llm.c .bin";
        *n = count;
        return read_tokens(f, path, hbytes, count, 2, tokens);
    }
    if (size % 2)
        return pg_error(PG_EFORMAT, "%s: %ld bytes, an odd size for uint16 tokens (no llm.c "
                                    "header: the first int32 is not %d)", path, size,
                        PG_LLMC_MAGIC);
    *format = "uint16 .bin";
    *n = size / 2;
    return read_tokens(f, path, 0, size / 2, 2, tokens);
}

int pg_tokfile_read(const char *path, int32_t **tokens, int64_t *n, const char **format)
{
    *tokens = NULL;
    *n = 0;
    struct stat st;
    if (stat(path, &st)) return pg_error(PG_EIO, "cannot open '%s': %s", path, strerror(errno));
    if (!S_ISREG(st.st_mode)) return pg_error(PG_EIO, "'%s' is not a regular file", path);
    FILE *f = fopen(path, "rb");
    if (!f) return pg_error(PG_EIO, "cannot open '%s': %s", path, strerror(errno));
    long size = (long)st.st_size;
    unsigned char magic[6] = {0};
    size_t got = fread(magic, 1, 6, f);
    rewind(f);
    int rc = got == 6 && !memcmp(magic, "\x93NUMPY", 6) ? read_npy(f, path, size, tokens, n, format)
                                                       : read_bin(f, path, size, tokens, n, format);
    fclose(f);
    if (!rc && *n == 0) {
        free(*tokens);
        *tokens = NULL;
        rc = pg_error(PG_EFORMAT, "%s: holds no tokens", path);
    }
    return rc;
}
