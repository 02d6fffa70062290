/* test_ckpt_check.c: the checks a checkpoint's tensors go through: the
 * CRC-32 (ISA-L's) equals zlib's crc32, chained and combined by row blocks,
 * and the NaN/Inf finder finds the first non-finite value wherever it is
 * (inside a screened block, in the tail) and nothing in finite data
 * (denormals, the largest float, negative zero). */
#include "io/checkpoint/ckpt_layout.h"
#include "tests/support/testlib.h"

#include <math.h>
#include <float.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

int main(void)
{
    size_t n = 5000;
    float *x = malloc(sizeof(float) * n);
    for (size_t i = 0; i < n; i++) x[i] = (float)((double)i * 0.37 - 700.0);
    x[7] = FLT_MAX;
    x[8] = -FLT_MAX;
    x[9] = FLT_MIN / 4; /* denormal */
    x[10] = -0.0f;

    /* CRC-32: equal to zlib's for every length, chaining included */
    const unsigned char *b = (const unsigned char *)x;
    for (size_t len = 0; len < 300; len += 13)
        CHECK_MSG(pg_crc32(0, b + 1, len) == (uint32_t)crc32(0, b + 1, (uInt)len),
                  "crc32 differs at length %zu", len);
    uint32_t whole = (uint32_t)crc32(0, b, (uInt)(sizeof(float) * n));
    CHECK(pg_crc32(pg_crc32(0, b, 1000), b + 1000, sizeof(float) * n - 1000) == whole);

    /* combined from the row blocks of 3 replicas, as save and load do */
    pg_ckpt_tensor t = {.ndim = 2, .dims = {100, 50}, .n = 5000};
    uint32_t parts[3];
    for (int k = 0; k < 3; k++) {
        uint64_t lo, hi;
        pg_ckpt_rows(&t, k, 3, &lo, &hi);
        parts[k] = pg_crc32(0, x + lo * 50, sizeof(float) * (hi - lo) * 50);
    }
    CHECK(pg_ckpt_combine(&t, parts, 3) == whole);

    /* NaN/Inf: none in finite data, else the first one's index */
    CHECK(pg_ckpt_nonfinite(x, n) == n);
    CHECK(pg_ckpt_nonfinite(x, 0) == 0);
    size_t at[] = {0, 1, 1023, 1024, 2500, 4095, 4096, 4999};
    float bad[] = {NAN, INFINITY, -INFINITY};
    for (size_t a = 0; a < sizeof at / sizeof *at; a++)
        for (int v = 0; v < 3; v++) {
            float keep = x[at[a]];
            x[at[a]] = bad[v];
            size_t got = pg_ckpt_nonfinite(x, n);
            CHECK_MSG(got == at[a], "value %d at %zu found at %zu", v, at[a], got);
            x[at[a]] = keep;
        }
    x[3000] = NAN;
    x[4500] = INFINITY;
    CHECK(pg_ckpt_nonfinite(x, n) == 3000);
    CHECK(pg_ckpt_nonfinite(x + 3001, n - 3001) == 4500 - 3001);
    free(x);
    return pg_test_summary("test_ckpt_check");
}
