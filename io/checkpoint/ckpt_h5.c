/* ckpt_h5.c: HDF5 attribute helpers (see ckpt_h5.h). */
#include "io/checkpoint/ckpt_h5.h"

#include <stdlib.h>
#include <string.h>

void pg_h5_quiet(void) { H5Eset_auto2(H5E_DEFAULT, NULL, NULL); }

static int put(hid_t obj, const char *name, hid_t type, const void *v, int n)
{
    hsize_t dims[1] = {(hsize_t)n};
    hid_t space = n == 1 ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, dims, NULL);
    hid_t a = space < 0 ? -1 : H5Acreate2(obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
    int rc = (a < 0 || H5Awrite(a, type, v) < 0) ? -1 : 0;
    if (a >= 0) H5Aclose(a);
    if (space >= 0) H5Sclose(space);
    return rc;
}

int pg_h5_put_str(hid_t obj, const char *name, const char *s)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, strlen(s) + 1);
    H5Tset_strpad(t, H5T_STR_NULLTERM);
    H5Tset_cset(t, H5T_CSET_UTF8);
    int rc = put(obj, name, t, s, 1);
    H5Tclose(t);
    return rc;
}

int pg_h5_put_i64(hid_t obj, const char *name, const int64_t *v, int n)
{
    return put(obj, name, H5T_STD_I64LE, v, n);
}

int pg_h5_put_u32(hid_t obj, const char *name, uint32_t v)
{
    return put(obj, name, H5T_STD_U32LE, &v, 1);
}

/* Open attribute `name` and check its element count; -1 if absent. */
static hid_t open_attr(hid_t obj, const char *name, hssize_t *count)
{
    if (H5Aexists(obj, name) <= 0) return -1;
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    if (a < 0) return -1;
    hid_t space = H5Aget_space(a);
    *count = space < 0 ? -1 : H5Sget_simple_extent_npoints(space);
    if (space >= 0) H5Sclose(space);
    return a;
}

int pg_h5_get_str(hid_t obj, const char *name, char **s)
{
    *s = NULL;
    hssize_t count;
    hid_t a = open_attr(obj, name, &count);
    if (a < 0) return -1;
    int rc = -1;
    hid_t ft = H5Aget_type(a);
    if (ft >= 0 && H5Tget_class(ft) == H5T_STRING && !H5Tis_variable_str(ft) && count == 1) {
        size_t size = H5Tget_size(ft);
        hid_t mt = H5Tcopy(H5T_C_S1);
        H5Tset_size(mt, size + 1);
        H5Tset_strpad(mt, H5T_STR_NULLTERM);
        H5Tset_cset(mt, H5Tget_cset(ft));
        char *buf = calloc(size + 2, 1);
        if (buf && H5Aread(a, mt, buf) >= 0) {
            *s = buf;
            rc = 0;
        } else {
            free(buf);
        }
        H5Tclose(mt);
    }
    if (ft >= 0) H5Tclose(ft);
    H5Aclose(a);
    return rc;
}

static int get_int(hid_t obj, const char *name, hid_t mem, void *v, int n)
{
    hssize_t count;
    hid_t a = open_attr(obj, name, &count);
    if (a < 0) return -1;
    hid_t ft = H5Aget_type(a);
    int ok = ft >= 0 && H5Tget_class(ft) == H5T_INTEGER && count == n && H5Aread(a, mem, v) >= 0;
    if (ft >= 0) H5Tclose(ft);
    H5Aclose(a);
    return ok ? 0 : -1;
}

int pg_h5_get_i64(hid_t obj, const char *name, int64_t *v, int n)
{
    return get_int(obj, name, H5T_NATIVE_INT64, v, n);
}

int pg_h5_get_u32(hid_t obj, const char *name, uint32_t *v)
{
    return get_int(obj, name, H5T_NATIVE_UINT32, v, 1);
}

int pg_h5_exists(hid_t file, const char *path)
{
    char part[512];
    size_t len = strlen(path);
    if (len >= sizeof part) return 0;
    for (size_t i = 1; i <= len; i++) {
        if (path[i] != '/' && path[i] != '\0') continue;
        memcpy(part, path, i);
        part[i] = '\0';
        if (H5Lexists(file, part, H5P_DEFAULT) <= 0) return 0;
    }
    return 1;
}

int pg_h5_text(hid_t obj, const char *name, char **text)
{
    *text = NULL;
    if (pg_h5_get_str(obj, name, text) == 0) return 0;
    hssize_t count;
    hid_t a = open_attr(obj, name, &count);
    if (a < 0) return -1;
    hid_t ft = H5Aget_type(a);
    int64_t *v = NULL;
    int ok = ft >= 0 && H5Tget_class(ft) == H5T_INTEGER && count >= 1 && count <= 1 << 20 &&
             (v = malloc(sizeof *v * (size_t)count)) && H5Aread(a, H5T_NATIVE_INT64, v) >= 0;
    if (ft >= 0) H5Tclose(ft);
    H5Aclose(a);
    char *s = ok ? malloc(24 * (size_t)count + 1) : NULL;
    if (s) {
        size_t len = 0;
        for (hssize_t i = 0; i < count; i++)
            len += (size_t)sprintf(s + len, "%s%lld", i ? "," : "", (long long)v[i]);
    }
    free(v);
    *text = s;
    return s ? 0 : -1;
}

/* H5Ewalk2 callback (walking down: outermost first): keeps the words of an
 * errno (HDF5's POSIX driver writes "errno = 28, error message = '...'") and
 * the deepest description. */
typedef struct cause {
    char os[256], deepest[256];
} cause;

static herr_t walk(unsigned n, const H5E_error2_t *e, void *arg)
{
    (void)n;
    cause *c = arg;
    if (!e->desc) return 0;
    const char *at = strstr(e->desc, "error message = '");
    if (at && !c->os[0]) {
        at += strlen("error message = '");
        snprintf(c->os, sizeof c->os, "%.*s", (int)strcspn(at, "'"), at);
    }
    snprintf(c->deepest, sizeof c->deepest, "%s", e->desc);
    return 0;
}

void pg_h5_cause(char *buf, size_t n)
{
    cause c = {"", ""};
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, walk, &c);
    snprintf(buf, n, "%s", c.os[0] ? c.os : c.deepest[0] ? c.deepest
                                                        : "HDF5 reported an error without a cause");
    H5Eclear2(H5E_DEFAULT);
}
