/* fuzz_dataset.c: the token-dataset reader (io/dataset.c) and the token data
 * source over it (runtime/engine/data_tokens.c).
 *
 * Structure-aware: HDF5's own file parser is not what is fuzzed here (it is
 * HDF5's to harden, and byte-level mutations of a file almost never get past
 * its superblock checks). Instead the input is a list of choices from which
 * a well-formed HDF5 file is written with the HDF5 library: what /tokens is
 * (dataset, group, absent, a huge extent never written), its dtype (any
 * integer or float type), rank and dimensions, layout (contiguous, chunked,
 * deflated), the vocab_size and tokenizer attributes (absent, any value,
 * wrong type, wrong shape), the token values, and flipped bytes inside the
 * stored token data. pipegrid then opens it, reads windows (valid and
 * invalid ranges) and draws samples through the data source, so that its
 * own validation is what gets exercised: every size it reads from the file
 * must be checked before it allocates or indexes with it. */
#include "io/dataset.h"
#include "runtime/engine/data.h"
#include "tests/fuzz/fuzz_input.h"

#include <fcntl.h>
#include <hdf5.h>
#include <string.h>

enum { MAX_TOKENS = 4096 };

static hid_t file_type(unsigned i)
{
    const hid_t t[] = {H5T_STD_U8LE,  H5T_STD_I8LE,  H5T_STD_U16LE,  H5T_STD_I16BE,
                       H5T_STD_I32LE, H5T_STD_U32LE, H5T_STD_I64LE,  H5T_STD_U64BE,
                       H5T_IEEE_F32LE, H5T_IEEE_F64LE};
    return t[i % 10];
}

/* An attribute named `name` on obj: absent, or one of several types. */
static void put_attr(fuzz_in *in, hid_t obj, const char *name)
{
    unsigned mode = fuzz_pick(in, 7);
    if (mode == 0) return;
    hsize_t two = 2;
    hid_t sp = mode == 5 ? H5Screate_simple(1, &two, NULL) : H5Screate(H5S_SCALAR);
    int64_t iv[2] = {(int64_t)fuzz_take(in, mode == 1 ? 8 : 2), (int64_t)fuzz_take(in, 2)};
    double dv = (double)iv[0];
    char text[64] = {0};
    hid_t type = -1, a = -1;
    switch (mode) {
    case 1: case 2: case 5: type = H5Tcopy(H5T_STD_I64LE); break;
    case 3: type = H5Tcopy(H5T_IEEE_F64LE); break;
    case 4: { /* fixed-length string from the input */
        size_t len = 1 + fuzz_pick(in, 40);
        for (size_t i = 0; i < len; i++) text[i] = (char)fuzz_take(in, 1);
        type = H5Tcopy(H5T_C_S1);
        H5Tset_size(type, len);
        break;
    }
    case 6: type = H5Tcopy(H5T_C_S1); H5Tset_size(type, H5T_VARIABLE); break;
    }
    a = H5Acreate2(obj, name, type, sp, H5P_DEFAULT, H5P_DEFAULT);
    if (a >= 0) {
        if (mode == 3) H5Awrite(a, H5T_NATIVE_DOUBLE, &dv);
        else if (mode == 4) H5Awrite(a, type, text);
        else if (mode == 6) {
            const char *s = "bytes";
            H5Awrite(a, type, &s);
        } else H5Awrite(a, H5T_NATIVE_INT64, iv);
        H5Aclose(a);
    }
    H5Tclose(type);
    H5Sclose(sp);
}

/* Write the file the input describes; returns 0 when it was written. */
static int build(fuzz_in *in, const char *path)
{
    unsigned what = fuzz_pick(in, 8); /* 0-4 a dataset, 5 a group, 6 absent, 7 unwritten */
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (f < 0) return -1;
    if (what == 5) H5Gclose(H5Gcreate2(f, "tokens", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
    if (what >= 5 && what != 7) return H5Fclose(f) < 0 ? -1 : 0;
    hid_t ftype = file_type(fuzz_pick(in, 10));
    static const int ranks[] = {1, 1, 1, 1, 1, 0, 2, 3};
    int rank = ranks[fuzz_pick(in, 8)];
    hsize_t dims[3] = {1, 1, 1}, total = 1;
    for (int i = 0; i < rank; i++) {
        dims[i] = fuzz_take(in, 2) % (rank == 1 ? MAX_TOKENS + 1 : 17);
        total *= dims[i];
    }
    unsigned layout = fuzz_pick(in, 3); /* contiguous, chunked, chunked + deflate */
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    if (what == 7) { /* an extent of up to 2^40 tokens with nothing written */
        rank = 1;
        dims[0] = total = (hsize_t)1 << (20 + fuzz_pick(in, 21));
        layout = 1;
    }
    if (layout && rank > 0 && total > 0) {
        hsize_t chunk[3];
        for (int i = 0; i < rank; i++) chunk[i] = 1 + fuzz_take(in, 2) % (dims[i] < 4096 ? dims[i] : 4096);
        H5Pset_chunk(dcpl, rank, chunk);
        if (layout == 2) H5Pset_deflate(dcpl, 1);
    }
    hid_t sp = rank ? H5Screate_simple(rank, dims, NULL) : H5Screate(H5S_SCALAR);
    hid_t d = H5Dcreate2(f, "tokens", ftype, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    if (d >= 0 && what != 7 && total > 0) {
        int64_t *v = malloc(sizeof(int64_t) * total);
        unsigned mode = fuzz_pick(in, 4);
        for (hsize_t i = 0; v && i < total; i++)
            v[i] = mode == 0 ? (int64_t)fuzz_take(in, 1)
                 : mode == 1 ? (int64_t)(int16_t)fuzz_take(in, 2)
                 : mode == 2 ? (int64_t)(i % 256)
                             : (int64_t)fuzz_take(in, 8);
        if (v) H5Dwrite(d, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, v);
        free(v);
    }
    if (d >= 0) {
        put_attr(in, d, "vocab_size");
        put_attr(in, d, "tokenizer");
    }
    haddr_t off = d >= 0 && layout == 0 ? H5Dget_offset(d) : HADDR_UNDEF;
    hsize_t stored = d >= 0 ? H5Dget_storage_size(d) : 0;
    if (d >= 0) H5Dclose(d);
    H5Sclose(sp);
    H5Pclose(dcpl);
    if (H5Fclose(f) < 0) return -1;
    /* flipped bytes inside the stored token data (contiguous layout) */
    unsigned flips = fuzz_pick(in, 4);
    if (off != HADDR_UNDEF && stored > 0 && flips) {
        int fd = open(path, O_RDWR);
        for (unsigned i = 0; fd >= 0 && i < flips; i++) {
            off_t at = (off_t)(off + fuzz_take(in, 4) % stored);
            unsigned char b, x = (unsigned char)(fuzz_take(in, 1) | 1);
            if (pread(fd, &b, 1, at) == 1) {
                b ^= x;
                if (pwrite(fd, &b, 1, at) != 1) break;
            }
        }
        if (fd >= 0) close(fd);
    }
    return 0;
}

/* Windows of the dataset, valid and not. */
static void read_windows(fuzz_in *in, pg_dataset *d)
{
    int32_t buf[320];
    for (unsigned r = fuzz_pick(in, 4); r > 0; r--) {
        int64_t first = (int64_t)(fuzz_take(in, 4) % (uint64_t)(pg_dataset_ntokens(d) + 10)) - 5;
        int64_t count = (int64_t)(fuzz_take(in, 2) % 310) - 5;
        pg_dataset_read(d, first, count, buf);
    }
}

/* Samples through the data source of a small GPT. */
static void draw_samples(fuzz_in *in, const char *path)
{
    pg_config c;
    pg_config_init(&c);
    char kv[600];
    snprintf(kv, sizeof kv, "data.path=%s", path);
    pg_config_set(&c, kv);
    snprintf(kv, sizeof kv, "model.ctx=%u", 1 + fuzz_pick(in, 32));
    pg_config_set(&c, kv);
    c.data.val_fraction = fuzz_pick(in, 5) / 10.0;
    pg_model *m;
    if (pg_model_create(&m, &c)) return;
    pg_data *src;
    int T = m->T;
    if (pg_data_create(&src, &c, m) == 0) {
        int *tokens = malloc(sizeof(int) * 2 * (size_t)T), *labels = malloc(sizeof(int) * 2 * (size_t)T);
        for (unsigned s = fuzz_pick(in, 4); tokens && labels && s > 0; s--) {
            src->split = src->val_samples > 0 ? (int)fuzz_pick(in, 2) : 0;
            src->get(src, (int64_t)fuzz_take(in, 4), 1 + (int)fuzz_pick(in, 2), NULL, tokens, NULL,
                     labels);
        }
        free(tokens);
        free(labels);
        pg_data_destroy(src);
    }
    pg_model_free(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    fuzz_in in = {data, size, 0};
    const char *path = fuzz_scratch("fuzz_dataset");
    if (build(&in, path)) return 0;
    pg_dataset *d;
    if (pg_dataset_open(&d, path) == 0) {
        read_windows(&in, d);
        pg_dataset_close(d);
        draw_samples(&in, path);
    }
    return 0;
}
