/* test_dataset.c: HDF5 token datasets (io/dataset.h) and the token data
 * source: round trip, window addressing by global sample index, and bad
 * input (not HDF5, wrong dtype, empty, 2-D, no vocab_size, ids at or above
 * the vocabulary, a context longer than the dataset), each a one-line error
 * naming the file and the dataset. */
#include "io/dataset.h"
#include "runtime/base/error.h"
#include "runtime/config/config.h"
#include "runtime/engine/data.h"
#include "runtime/model/model.h"
#include "tests/support/testlib.h"

#include <hdf5.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[] = "/tmp/pg_test_dataset_XXXXXX";

/* dir/name, in one of a few rotating buffers */
static const char *path_of(const char *name)
{
    static char p[16][256];
    static int next;
    char *out = p[next++ % 16];
    snprintf(out, 256, "%s/%s", dir, name);
    return out;
}

#define EXPECT_ERROR(call, want)                                                           \
    do {                                                                                   \
        int rc_ = (call);                                                                  \
        CHECK_MSG(rc_ != 0, "expected an error containing '%s'", want);                    \
        CHECK_MSG(rc_ == 0 || strstr(pg_errmsg(), want) != NULL, "message '%s' lacks '%s'", \
                  pg_errmsg(), want);                                                      \
        CHECK_MSG(strchr(pg_errmsg(), '\n') == NULL, "several lines: %s", pg_errmsg());    \
    } while (0)

/* A file with /tokens of the given type and shape, optionally vocab_size. */
static const char *raw(const char *name, hid_t type, int ndim, hsize_t n, const void *data,
                       long long vocab)
{
    const char *p = path_of(name);
    hid_t f = H5Fcreate(p, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    hsize_t dims[2] = {n, 2};
    hid_t sp = H5Screate_simple(ndim, dims, NULL);
    hid_t ds = H5Dcreate2(f, "tokens", type, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (data && n) H5Dwrite(ds, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data);
    if (vocab >= 0) {
        hid_t sc = H5Screate(H5S_SCALAR);
        hid_t a = H5Acreate2(ds, "vocab_size", H5T_STD_I64LE, sc, H5P_DEFAULT, H5P_DEFAULT);
        H5Awrite(a, H5T_NATIVE_LLONG, &vocab);
        H5Aclose(a);
        H5Sclose(sc);
    }
    H5Dclose(ds);
    H5Sclose(sp);
    H5Fclose(f);
    return p;
}

static int open_source(const char *path, int ctx, double val, pg_data **d)
{
    pg_config c;
    pg_config_init(&c);
    char kv[512];
    snprintf(kv, sizeof kv, "data.path=%s", path);
    pg_config_set(&c, kv);
    snprintf(kv, sizeof kv, "model.ctx=%d", ctx);
    pg_config_set(&c, kv);
    c.data.val_fraction = val;
    pg_model *m;
    if (pg_model_create(&m, &c)) return -1;
    int rc = pg_data_create(d, &c, m);
    pg_model_free(m);
    return rc;
}

int main(void)
{
    CHECK(mkdtemp(dir) != NULL);
    /* round trip */
    int32_t tok[1000];
    for (int i = 0; i < 1000; i++) tok[i] = (i * 7 + i / 13) % 200;
    int64_t docs[2] = {0, 500};
    const char *good = path_of("good.h5");
    CHECK(pg_dataset_write(good, tok, 1000, 256, "bytes", docs, 2) == 0);
    pg_dataset *d;
    CHECK(pg_dataset_open(&d, good) == 0);
    CHECK(pg_dataset_ntokens(d) == 1000 && pg_dataset_vocab(d) == 256);
    CHECK(!strcmp(pg_dataset_tokenizer(d), "bytes"));
    int32_t back[1000];
    CHECK(pg_dataset_read(d, 0, 1000, back) == 0 && !memcmp(back, tok, sizeof tok));
    EXPECT_ERROR(pg_dataset_read(d, 990, 20, back), "outside the 1000 tokens");
    pg_dataset_close(d);

    /* windows by global sample index: inputs and labels shifted by one, the
     * same sample whatever the batch it is asked in, validation apart */
    pg_data *src;
    CHECK(open_source(good, 16, 0.2, &src) == 0);
    CHECK(src->val_samples == (200 - 1) / 16);
    int in3[3 * 16], lab3[3 * 16], in1[16], lab1[16];
    CHECK(src->get(src, 40, 3, NULL, in3, NULL, lab3) == 0);
    for (int k = 0; k < 3; k++) {
        CHECK(src->get(src, 40 + k, 1, NULL, in1, NULL, lab1) == 0);
        CHECK(!memcmp(in1, in3 + 16 * k, sizeof in1) && !memcmp(lab1, lab3 + 16 * k, sizeof lab1));
    }
    int start = -1;
    for (int s = 0; s + 16 < 800 && start < 0; s += 16)
        if (!memcmp(tok + s, in1, sizeof in1)) start = s;
    CHECK_MSG(start >= 0, "sample 42 is not a training window");
    if (start >= 0) CHECK(!memcmp(tok + start + 1, lab1, sizeof lab1));
    src->split = 1;
    CHECK(src->get(src, 0, 1, NULL, in1, NULL, lab1) == 0);
    CHECK(!memcmp(in1, tok + 800, sizeof in1) && !memcmp(lab1, tok + 801, sizeof lab1));
    pg_data_destroy(src);

    /* bad input */
    const char *txt = path_of("text.h5");
    FILE *f = fopen(txt, "w");
    fputs("just some text\n", f);
    fclose(f);
    EXPECT_ERROR(pg_dataset_open(&d, txt), "text.h5: not an HDF5 file");
    EXPECT_ERROR(pg_dataset_open(&d, path_of("missing.h5")), "missing.h5: cannot open");
    float fl[4] = {1, 2, 3, 4};
    EXPECT_ERROR(pg_dataset_open(&d, raw("float.h5", H5T_NATIVE_FLOAT, 1, 4, fl, 256)),
                 "float.h5: /tokens: expected an integer dtype");
    EXPECT_ERROR(pg_dataset_open(&d, raw("empty.h5", H5T_NATIVE_INT, 1, 0, NULL, 256)),
                 "empty.h5: /tokens: the dataset is empty");
    int two[8] = {0};
    EXPECT_ERROR(pg_dataset_open(&d, raw("2d.h5", H5T_NATIVE_INT, 2, 4, two, 256)),
                 "2d.h5: /tokens: expected a 1-D array");
    int ok4[4] = {1, 2, 3, 4};
    EXPECT_ERROR(pg_dataset_open(&d, raw("novocab.h5", H5T_NATIVE_INT, 1, 4, ok4, -1)),
                 "novocab.h5: /tokens: missing or bad integer attribute vocab_size");
    int high[4] = {1, 2, 256, 4};
    /* every id is checked when the file is opened */
    EXPECT_ERROR(pg_dataset_open(&d, raw("high.h5", H5T_NATIVE_INT, 1, 4, high, 256)),
                 "high.h5: /tokens[2] = 256 lies outside the vocabulary [0, 256)");
    EXPECT_ERROR(pg_dataset_write(path_of("w.h5"), high, 4, 256, "bytes", NULL, 0),
                 "token 2 is 256, outside the vocabulary [0, 256)");
    CHECK(pg_dataset_write(path_of("big.h5"), tok, 1000, 300, "bytes", NULL, 0) == 0);
    EXPECT_ERROR(open_source(path_of("big.h5"), 16, 0.1, &src),
                 "big.h5:/tokens: vocab_size 300 exceeds model.vocab=256");
    EXPECT_ERROR(open_source(good, 2000, 0.1, &src), "good.h5:/tokens: 1000 tokens");
    EXPECT_ERROR(open_source(txt, 16, 0.1, &src), "text.h5: not an HDF5 file");

    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
    return pg_test_summary("test_dataset");
}
