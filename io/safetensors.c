/* safetensors.c: .safetensors reading and writing (see safetensors.h), with
 * cJSON for the header. */
#define _GNU_SOURCE
#include "io/safetensors.h"

#include "runtime/base/error.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* The safetensors library refuses headers above 100 MB; so do we. */
#define ST_MAX_HEADER (100 * 1000 * 1000)

typedef struct st_entry {
    char *name;
    int f32, ndim;
    char dtype[16];
    int64_t dims[PG_ST_MAX_DIMS];
    uint64_t begin, end; /* byte offsets inside the data part */
} st_entry;

struct pg_st {
    char path[1024];
    FILE *f;
    uint64_t data_start, data_size;
    st_entry *e;
    int n;
};

void pg_st_close(pg_st *s)
{
    if (!s) return;
    if (s->f) fclose(s->f);
    for (int i = 0; i < s->n; i++) free(s->e[i].name);
    free(s->e);
    free(s);
}

static int dtype_size(const char *d)
{
    static const struct { const char *name; int size; } t[] = {
        {"F64", 8}, {"F32", 4}, {"F16", 2}, {"BF16", 2}, {"I64", 8}, {"I32", 4}, {"I16", 2},
        {"I8", 1},  {"U64", 8}, {"U32", 4}, {"U16", 2},  {"U8", 1},  {"BOOL", 1},
        {"F8_E4M3", 1}, {"F8_E5M2", 1},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (!strcmp(d, t[i].name)) return t[i].size;
    return 0;
}

/* One header entry -> e; errors name the file and tensor. */
static int parse_entry(const pg_st *s, const cJSON *j, st_entry *e)
{
    const char *p = s->path, *name = j->string;
    const cJSON *dt = cJSON_GetObjectItemCaseSensitive(j, "dtype");
    const cJSON *sh = cJSON_GetObjectItemCaseSensitive(j, "shape");
    const cJSON *off = cJSON_GetObjectItemCaseSensitive(j, "data_offsets");
    if (!cJSON_IsObject(j) || !cJSON_IsString(dt) || !cJSON_IsArray(sh) || !cJSON_IsArray(off) ||
        cJSON_GetArraySize(off) != 2)
        return pg_error(PG_EFORMAT, "%s: header entry '%s' needs dtype, shape and "
                                    "data_offsets [begin, end]", p, name);
    int size = dtype_size(dt->valuestring);
    if (!size)
        return pg_error(PG_EFORMAT, "%s: tensor '%s': unknown dtype '%s'", p, name,
                        dt->valuestring);
    snprintf(e->dtype, sizeof e->dtype, "%s", dt->valuestring);
    e->f32 = !strcmp(dt->valuestring, "F32");
    e->ndim = cJSON_GetArraySize(sh);
    if (e->ndim > PG_ST_MAX_DIMS)
        return pg_error(PG_EFORMAT, "%s: tensor '%s' has %d dimensions (at most %d read)", p,
                        name, e->ndim, PG_ST_MAX_DIMS);
    double count = 1;
    for (int d = 0; d < e->ndim; d++) {
        const cJSON *x = cJSON_GetArrayItem(sh, d);
        if (!cJSON_IsNumber(x) || x->valuedouble < 0 || x->valuedouble > 1e15 ||
            x->valuedouble != (double)(int64_t)x->valuedouble)
            return pg_error(PG_EFORMAT, "%s: tensor '%s': shape[%d] is not a size", p, name, d);
        e->dims[d] = (int64_t)x->valuedouble;
        count *= (double)e->dims[d];
    }
    double b = cJSON_GetArrayItem(off, 0)->valuedouble, en = cJSON_GetArrayItem(off, 1)->valuedouble;
    if (!cJSON_IsNumber(cJSON_GetArrayItem(off, 0)) || !cJSON_IsNumber(cJSON_GetArrayItem(off, 1)) ||
        b < 0 || en < b || en > (double)s->data_size)
        return pg_error(PG_EFORMAT, "%s: tensor '%s': data_offsets [%.0f, %.0f] lie outside "
                                    "the %llu data bytes of the file", p, name, b, en,
                        (unsigned long long)s->data_size);
    if (en - b != count * size)
        return pg_error(PG_EFORMAT, "%s: tensor '%s': %.0f bytes for a %s tensor of %.0f "
                                    "elements (%.0f expected)", p, name, en - b,
                        dt->valuestring, count, count * size);
    e->begin = (uint64_t)b;
    e->end = (uint64_t)en;
    e->name = strdup(name);
    return e->name ? 0 : pg_error(PG_ENOMEM, "%s: out of memory", p);
}

int pg_st_open(pg_st **out, const char *path)
{
    *out = NULL;
    pg_st *s = calloc(1, sizeof *s);
    if (!s) return pg_error(PG_ENOMEM, "%s: out of memory", path);
    snprintf(s->path, sizeof s->path, "%s", path);
    struct stat st;
    int rc = 0;
    if (stat(path, &st) || !(s->f = fopen(path, "rb")))
        rc = pg_error(PG_EIO, "cannot open '%s': %s", path, strerror(errno));
    unsigned char h8[8];
    uint64_t hlen = 0;
    if (!rc && (st.st_size < 8 || fread(h8, 1, 8, s->f) != 8))
        rc = pg_error(PG_EFORMAT, "%s: not a safetensors file (shorter than its 8-byte header "
                                  "length)", path);
    for (int i = 7; i >= 0 && !rc; i--) hlen = hlen << 8 | h8[i];
    if (!rc && (hlen < 2 || hlen > ST_MAX_HEADER || hlen > (uint64_t)st.st_size - 8))
        rc = pg_error(PG_EFORMAT, "%s: not a safetensors file (header length %llu, file %lld "
                                  "bytes)", path, (unsigned long long)hlen,
                      (long long)st.st_size);
    char *text = rc ? NULL : malloc(hlen + 1);
    if (!rc && !text) rc = pg_error(PG_ENOMEM, "%s: out of memory", path);
    if (!rc && fread(text, 1, hlen, s->f) != hlen) rc = pg_error(PG_EIO, "%s: read failed", path);
    cJSON *j = NULL;
    if (!rc) {
        text[hlen] = '\0';
        j = cJSON_ParseWithLength(text, hlen);
        if (!cJSON_IsObject(j))
            rc = pg_error(PG_EFORMAT, "%s: the header is not a JSON object", path);
    }
    free(text);
    if (!rc) {
        s->data_start = 8 + hlen;
        s->data_size = (uint64_t)st.st_size - s->data_start;
        int n = cJSON_GetArraySize(j);
        s->e = calloc((size_t)(n ? n : 1), sizeof *s->e);
        if (!s->e) rc = pg_error(PG_ENOMEM, "%s: out of memory", path);
        for (const cJSON *x = j->child; x && !rc; x = x->next) {
            if (!strcmp(x->string, "__metadata__")) continue;
            rc = parse_entry(s, x, &s->e[s->n]);
            if (!rc) s->n++;
        }
    }
    cJSON_Delete(j);
    if (rc) pg_st_close(s);
    else *out = s;
    return rc;
}

static const st_entry *find(const pg_st *s, const char *name)
{
    for (int i = 0; i < s->n; i++)
        if (!strcmp(s->e[i].name, name)) return &s->e[i];
    return NULL;
}

int pg_st_shape(const pg_st *s, const char *name, int *ndim, int64_t *dims)
{
    const st_entry *e = find(s, name);
    if (!e) return pg_error(PG_EFORMAT, "%s: no tensor '%s'", s->path, name);
    *ndim = e->ndim;
    memcpy(dims, e->dims, sizeof e->dims);
    return 0;
}

int pg_st_read(pg_st *s, const char *name, float *dst, size_t n)
{
    const st_entry *e = find(s, name);
    if (!e) return pg_error(PG_EFORMAT, "%s: no tensor '%s'", s->path, name);
    if (!e->f32)
        return pg_error(PG_EFORMAT, "%s: tensor '%s' is %s (pipegrid reads F32 tensors)",
                        s->path, name, e->dtype);
    if (e->end - e->begin != n * sizeof(float))
        return pg_error(PG_EFORMAT, "%s: tensor '%s' has %llu elements, expected %zu", s->path,
                        name, (unsigned long long)((e->end - e->begin) / 4), n);
    unsigned char *raw = (unsigned char *)dst;
    if (fseeko(s->f, (off_t)(s->data_start + e->begin), SEEK_SET) ||
        fread(raw, 1, n * sizeof(float), s->f) != n * sizeof(float))
        return pg_error(PG_EIO, "%s: reading tensor '%s' failed", s->path, name);
    for (size_t i = 0; i < n; i++) { /* little-endian bytes -> host float */
        const unsigned char *p = raw + 4 * i;
        uint32_t u = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                     (uint32_t)p[3] << 24;
        memcpy(&dst[i], &u, 4);
    }
    return 0;
}

int pg_st_count(const pg_st *s) { return s->n; }
const char *pg_st_name(const pg_st *s, int i) { return s->e[i].name; }

int pg_st_write(const char *path, const pg_st_tensor *t, int n)
{
    cJSON *j = cJSON_CreateObject(), *meta = cJSON_AddObjectToObject(j, "__metadata__");
    cJSON_AddStringToObject(meta, "format", "pt");
    uint64_t off = 0;
    for (int i = 0; i < n; i++) {
        cJSON *e = cJSON_AddObjectToObject(j, t[i].name);
        cJSON_AddStringToObject(e, "dtype", "F32");
        cJSON *sh = cJSON_AddArrayToObject(e, "shape");
        uint64_t count = 1;
        for (int d = 0; d < t[i].ndim; d++) {
            cJSON_AddItemToArray(sh, cJSON_CreateNumber((double)t[i].dims[d]));
            count *= (uint64_t)t[i].dims[d];
        }
        cJSON *o = cJSON_AddArrayToObject(e, "data_offsets");
        cJSON_AddItemToArray(o, cJSON_CreateNumber((double)off));
        off += 4 * count;
        cJSON_AddItemToArray(o, cJSON_CreateNumber((double)off));
    }
    char *text = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    if (!text) return pg_error(PG_ENOMEM, "%s: out of memory", path);
    size_t len = strlen(text), padded = (len + 7) / 8 * 8; /* data 8-byte aligned */
    char tmp[1100];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "wb");
    int rc = f ? 0 : pg_error(PG_EIO, "cannot create '%s': %s", tmp, strerror(errno));
    unsigned char h8[8];
    for (int i = 0; i < 8; i++) h8[i] = (unsigned char)((uint64_t)padded >> (8 * i));
    if (!rc && (fwrite(h8, 1, 8, f) != 8 || fwrite(text, 1, len, f) != len ||
                fwrite("        ", 1, padded - len, f) != padded - len))
        rc = pg_error(PG_EIO, "%s: write failed", tmp);
    free(text);
    for (int i = 0; i < n && !rc; i++) {
        size_t count = 1;
        for (int d = 0; d < t[i].ndim; d++) count *= (size_t)t[i].dims[d];
        enum { CHUNK = 1 << 14 };
        unsigned char b[4 * CHUNK]; /* host floats -> little-endian bytes, a chunk at a time */
        for (size_t k0 = 0; k0 < count && !rc; k0 += CHUNK) {
            size_t m = count - k0 < CHUNK ? count - k0 : CHUNK;
            for (size_t k = 0; k < m; k++) {
                uint32_t u;
                memcpy(&u, &t[i].data[k0 + k], 4);
                for (int by = 0; by < 4; by++) b[4 * k + by] = (unsigned char)(u >> (8 * by));
            }
            if (fwrite(b, 1, 4 * m, f) != 4 * m) rc = pg_error(PG_EIO, "%s: write failed", tmp);
        }
    }
    if (f && fclose(f) && !rc) rc = pg_error(PG_EIO, "%s: write failed", tmp);
    if (!rc && rename(tmp, path))
        rc = pg_error(PG_EIO, "cannot rename '%s' to '%s': %s", tmp, path, strerror(errno));
    if (rc && f) remove(tmp);
    return rc;
}
