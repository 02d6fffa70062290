/* bad_data.c: write the token datasets of the bad-input corpus
 * (tests/cli/bad_setup.sh, docs/reliability.md): each file breaks one rule
 * of docs/dataset.md.
 *
 *   pg_bad_data DIR     writes DIR/<name>.h5 for every case below
 */
#include <hdf5.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N 4096 /* tokens in a well-formed file: a few windows of the tiny GPT */

static hid_t create(const char *dir, const char *name)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s.h5", dir, name);
    return H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
}

static int attr_i64(hid_t obj, const char *name, int64_t v)
{
    hid_t sc = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(obj, name, H5T_STD_I64LE, sc, H5P_DEFAULT, H5P_DEFAULT);
    int bad = a < 0 || H5Awrite(a, H5T_NATIVE_INT64, &v) < 0;
    H5Aclose(a);
    H5Sclose(sc);
    return bad;
}

static int attr_str(hid_t obj, const char *name, const char *v)
{
    hid_t sc = H5Screate(H5S_SCALAR), t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, strlen(v) + 1);
    hid_t a = H5Acreate2(obj, name, t, sc, H5P_DEFAULT, H5P_DEFAULT);
    int bad = a < 0 || H5Awrite(a, t, v) < 0;
    H5Aclose(a);
    H5Tclose(t);
    H5Sclose(sc);
    return bad;
}

/* /tokens of file type `ftype` with `rank` dims, data from `mem` (int64,
 * may be NULL: storage never written); vocab < 0: no vocab_size. */
static int tokens(const char *dir, const char *name, hid_t ftype, int rank, const hsize_t *dims,
                  const int64_t *mem, int64_t vocab)
{
    hid_t f = create(dir, name);
    hid_t sp = rank ? H5Screate_simple(rank, dims, NULL) : H5Screate(H5S_SCALAR);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    if (!mem) { /* a huge extent that was never written: chunked, no chunks */
        hsize_t chunk = 1024;
        H5Pset_chunk(dcpl, 1, &chunk);
    }
    hid_t d = H5Dcreate2(f, "tokens", ftype, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    int bad = f < 0 || d < 0;
    if (!bad && mem) bad = H5Dwrite(d, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, mem) < 0;
    if (!bad && vocab >= 0) bad = attr_i64(d, "vocab_size", vocab);
    if (!bad) bad = attr_str(d, "tokenizer", "bytes");
    H5Pclose(dcpl);
    H5Dclose(d);
    H5Sclose(sp);
    if (H5Fclose(f) < 0) bad = 1;
    if (bad) fprintf(stderr, "pg_bad_data: %s failed\n", name);
    return bad;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: pg_bad_data DIR\n");
        return 2;
    }
    const char *dir = argv[1];
    int64_t *t = malloc(sizeof(int64_t) * N);
    if (!t) return 1;
    for (int i = 0; i < N; i++) t[i] = (i * 7) % 256;
    hsize_t n = N, sq[2] = {64, 64}, zero = 0, huge = (hsize_t)1 << 40;
    int bad = 0;
    bad |= tokens(dir, "good", H5T_STD_U16LE, 1, &n, t, 256);
    bad |= tokens(dir, "tokens_float", H5T_IEEE_F32LE, 1, &n, t, 256);
    bad |= tokens(dir, "tokens_2d", H5T_STD_I32LE, 2, sq, t, 256);
    bad |= tokens(dir, "tokens_scalar", H5T_STD_I32LE, 0, NULL, t, 256);
    bad |= tokens(dir, "tokens_empty", H5T_STD_I32LE, 1, &zero, t, 256);
    bad |= tokens(dir, "tokens_no_vocab", H5T_STD_I32LE, 1, &n, t, -1);
    bad |= tokens(dir, "tokens_vocab_zero", H5T_STD_I32LE, 1, &n, t, 0);
    bad |= tokens(dir, "tokens_vocab_huge", H5T_STD_I32LE, 1, &n, t, (int64_t)1 << 40);
    bad |= tokens(dir, "tokens_vocab_big", H5T_STD_I32LE, 1, &n, t, 1000);
    bad |= tokens(dir, "tokens_unwritten", H5T_STD_I32LE, 1, &huge, NULL, 256);
    for (int i = 0; i < N; i += 5) t[i] = 300; /* ids >= vocab_size 256 */
    bad |= tokens(dir, "tokens_out_of_range", H5T_STD_I32LE, 1, &n, t, 256);
    for (int i = 0; i < N; i += 5) t[i] = -3;
    bad |= tokens(dir, "tokens_negative", H5T_STD_I32LE, 1, &n, t, 256);
    for (int i = 0; i < N; i += 5) t[i] = (int64_t)1 << 33; /* beyond int32 */
    bad |= tokens(dir, "tokens_int64_overflow", H5T_STD_I64LE, 1, &n, t, 256);
    free(t);

    /* a vocab_size that is text; no /tokens at all; /tokens a group */
    hid_t f = create(dir, "tokens_vocab_text");
    hid_t sp = H5Screate_simple(1, &n, NULL);
    hid_t d = H5Dcreate2(f, "tokens", H5T_STD_I32LE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    bad |= d < 0 || attr_str(d, "vocab_size", "256");
    H5Dclose(d);
    bad |= H5Fclose(f) < 0;
    f = create(dir, "no_tokens");
    d = H5Dcreate2(f, "text", H5T_STD_I32LE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    bad |= d < 0;
    H5Dclose(d);
    bad |= H5Fclose(f) < 0;
    f = create(dir, "tokens_group");
    hid_t g = H5Gcreate2(f, "tokens", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    bad |= g < 0;
    H5Gclose(g);
    bad |= H5Fclose(f) < 0;
    H5Sclose(sp);
    return bad;
}
