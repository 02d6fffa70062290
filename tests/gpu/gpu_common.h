/* gpu_common.h: shared by the GPU tests: skipping without a GPU, the
 * precisions and their tolerances, and random host tensors.
 *
 * Tolerances (docs/gpu.md) are relative: ||cuda - cpu|| / ||cpu|| over the
 * whole tensor (testlib's pg_rel_diff), the CPU backend being the reference.
 *
 * PG_GPU_TEST_SELF=1 runs a test with the CPU backend in place of CUDA: it
 * checks the test's own code (shapes, buffer sizes) on machines without a GPU
 * and proves nothing about the CUDA backend (registered as *_harness). */
#ifndef PG_GPU_COMMON_H
#define PG_GPU_COMMON_H

#include "runtime/base/error.h"
#include "runtime/compute/device.h"
#include "runtime/compute/ops.h"
#include "tests/support/testlib.h"

#include <stdio.h>
#include <stdlib.h>

static const double pg_prec_tol[] = {1e-5, 1e-3, 2e-2};

/* The CUDA backend, or exit PG_TEST_SKIP (77: ctest reports "skipped")
 * saying why there is none. */
static inline int pg_gpu_self(void)
{
    const char *s = getenv("PG_GPU_TEST_SELF");
    return s && *s == '1';
}

/* The device name the tests train on: "cuda", or "cpu" in self mode. */
static inline const char *pg_gpu_device(void) { return pg_gpu_self() ? "cpu" : "cuda"; }

static inline const pg_ops *pg_gpu_or_skip(const char *test)
{
    char why[160] = "";
    if (pg_gpu_self()) {
        printf("%s: harness self-check, the CPU backend stands in for CUDA\n", test);
        return pg_ops_cpu();
    }
    if (pg_device_count(why, sizeof why) == 0) {
        printf("SKIP %s: no GPU: %s\n", test, why);
        exit(PG_TEST_SKIP);
    }
    const char *note = NULL;
    const pg_ops *o = pg_ops_select(PG_DEVICE_CUDA, &note);
    if (!o) {
        printf("SKIP %s: %s\n", test, pg_errmsg());
        exit(PG_TEST_SKIP);
    }
    return o;
}

/* n floats uniform in [-scale, scale) from a fixed LCG stream. */
static inline float *pg_host_rand(size_t n, float scale, unsigned *seed)
{
    float *x = malloc(sizeof(float) * (n ? n : 1));
    for (size_t i = 0; i < n; i++) {
        *seed = *seed * 1664525u + 1013904223u;
        x[i] = scale * ((float)(*seed >> 8) / 8388608.0f - 1.0f);
    }
    return x;
}

#endif
