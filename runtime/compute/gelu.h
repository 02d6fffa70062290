/* gelu.h: GELU (the tanh form GPT-2 uses) and its derivative, defined once for
 * the CPU backend (ops_cpu.c) and the CUDA kernels (cuda/kernels.cu), so both
 * backends compute the same function, written the same way, to rounding.
 *
 *   gelu(x) = x/2 (1 + tanh(u)),  u = sqrt(2/pi) (x + 0.044715 x^3)
 *   gelu'(x) = (1 + tanh u)/2 + x/2 (1 - tanh^2 u) sqrt(2/pi) (1 + 3 * 0.044715 x^2) */
#ifndef PG_GELU_H
#define PG_GELU_H

#include <math.h>

#ifdef __CUDACC__
#define PG_HOST_DEVICE static inline __host__ __device__
#define PG_GELU_EXP expf
#else
#include "runtime/compute/fastmath.h"
#define PG_HOST_DEVICE static inline
#define PG_GELU_EXP pg_expf /* vectorisable (fastmath.h), within 2e-7 of expf */
#endif

#define PG_GELU_SCALE 0.7978845608028654f /* sqrt(2/pi) */

/* tanh through one exp: glibc's tanhf costs ~5x an expf and dominated the
 * GELU of a GPT block. Exact at the limits (exp -> large gives 1, -> 0 gives
 * -1); absolute error ~1e-7 near 0, which is all GELU needs. On the CPU the exp
 * is fastmath.h's, which lets the GELU loops vectorise. */
PG_HOST_DEVICE float pg_tanh_exp(float u) { return 1.0f - 2.0f / (PG_GELU_EXP(2.0f * u) + 1.0f); }

PG_HOST_DEVICE float pg_gelu(float x)
{
    float cube = 0.044715f * x * x * x;
    return 0.5f * x * (1.0f + pg_tanh_exp(PG_GELU_SCALE * (x + cube)));
}

PG_HOST_DEVICE float pg_gelu_grad(float x)
{
    float arg = PG_GELU_SCALE * (x + 0.044715f * x * x * x);
    float th = pg_tanh_exp(arg);
    float sech2 = 1.0f - th * th;
    return 0.5f * (1.0f + th) +
           x * 0.5f * sech2 * PG_GELU_SCALE * (1.0f + 3.0f * 0.044715f * x * x);
}

#endif
