/* fastmath.h: the CPU backend's exp, written so that compilers vectorise the
 * loops that call it (glibc's expf is a scalar call), and the attribute that
 * compiles a hot loop for several x86-64 levels, picked at load time.
 *
 * pg_expf(x): Cephes' single-precision exp (range reduction by ln 2 in two
 * parts, degree-6 polynomial, 2^n put in the exponent bits). Relative error
 * below 2e-7 (about 1.5 ulp) over [-87, 88]; inputs are clamped to that range,
 * so exp(-inf) gives 2^-126 instead of 0 and overflow gives 2^127 instead of
 * inf, which is all softmax, GELU's tanh and the loss need. */
#ifndef PG_FASTMATH_H
#define PG_FASTMATH_H

#include <stdint.h>
#include <string.h>

/* PG_CPU_CLONES: compile the function for AVX-512, AVX2 and baseline x86-64
 * (GCC function multiversioning); nothing elsewhere. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && !defined(__CUDACC__)
#define PG_CPU_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define PG_CPU_CLONES
#endif

static inline float pg_expf(float x)
{
    x = x < -87.0f ? -87.0f : x;
    x = x > 88.0f ? 88.0f : x;
    /* n = round(x / ln 2) with the 1.5 * 2^23 trick (no call to rintf) */
    float n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
    float r = x - n * 0.693359375f;
    r = r + n * 2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    float y = p * r * r + r + 1.0f;
    int32_t bits = ((int32_t)n + 127) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return y * scale;
}

#endif
