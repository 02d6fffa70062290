/* test_attention.c: the CPU backend's tiled causal attention (ops_cpu_gpt.c:
 * query tiles that skip the masked triangle, log-sum-exp kept instead of the
 * T x T probabilities, probabilities recomputed in the backward) against the
 * straightforward computation written here in double precision: the full
 * (T,T) score matrix per (sample, head), masked softmax, att @ v, and its
 * textbook backward. Shapes cover T below, at and above the tile (64 rows),
 * T not a multiple of it, one head and several, and one-row sequences; forward
 * outputs and input gradients must agree within 1e-5 relative. It also checks
 * that the kept state and the scratch grow linearly in T, and that the result
 * does not depend on what the buffers held before (the scratch is not read
 * before it is written). */
#include "runtime/base/rng.h"
#include "runtime/compute/ops.h"
#include "tests/support/testlib.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define RTOL 1e-5

/* out (B,T,C), and dqkv (B,T,3C) from dout (B,T,C): the plain algorithm in double */
static void attention_ref(double *out, double *dqkv, const float *qkv, const float *dout, int B,
                          int T, int C, int NH)
{
    int hs = C / NH, C3 = 3 * C;
    double scale = 1.0 / sqrt((double)hs);
    double *a = malloc(sizeof(double) * T * T), *da = malloc(sizeof(double) * T * T);
    memset(dqkv, 0, sizeof(double) * B * T * C3);
    for (int b = 0; b < B; b++) {
        for (int h = 0; h < NH; h++) {
            const float *base = qkv + (size_t)b * T * C3 + h * hs;
#define Q(t, d) ((double)base[(size_t)(t) * C3 + (d)])
#define K(t, d) ((double)base[(size_t)(t) * C3 + C + (d)])
#define V(t, d) ((double)base[(size_t)(t) * C3 + 2 * C + (d)])
            for (int t = 0; t < T; t++) {
                double mx = -INFINITY, sum = 0;
                for (int s = 0; s < T; s++) {
                    double x = 0;
                    for (int d = 0; d < hs; d++) x += Q(t, d) * K(s, d);
                    a[t * T + s] = s <= t ? x * scale : -INFINITY;
                    if (a[t * T + s] > mx) mx = a[t * T + s];
                }
                for (int s = 0; s < T; s++) sum += a[t * T + s] = exp(a[t * T + s] - mx);
                for (int s = 0; s < T; s++) a[t * T + s] /= sum;
                for (int d = 0; d < hs; d++) {
                    double o = 0;
                    for (int s = 0; s < T; s++) o += a[t * T + s] * V(s, d);
                    out[((size_t)b * T + t) * C + h * hs + d] = o;
                }
            }
            const float *go = dout + (size_t)b * T * C + h * hs; // (T,hs), ld C
            double *g = dqkv + (size_t)b * T * C3 + h * hs;
            for (int t = 0; t < T; t++) {
                double dot = 0;
                for (int s = 0; s < T; s++) {
                    double x = 0;
                    for (int d = 0; d < hs; d++) x += go[(size_t)t * C + d] * V(s, d);
                    da[t * T + s] = x;
                    dot += a[t * T + s] * x;
                }
                for (int s = 0; s < T; s++) da[t * T + s] = a[t * T + s] * (da[t * T + s] - dot);
            }
            for (int t = 0; t < T; t++)
                for (int s = 0; s < T; s++)
                    for (int d = 0; d < hs; d++) {
                        double ds = da[t * T + s] * scale;
                        g[(size_t)t * C3 + d] += ds * K(s, d);          // dq
                        g[(size_t)s * C3 + C + d] += ds * Q(t, d);      // dk
                        g[(size_t)s * C3 + 2 * C + d] += a[t * T + s] * go[(size_t)t * C + d];
                    }
#undef Q
#undef K
#undef V
        }
    }
    free(a), free(da);
}

static double rel_d(const float *a, const double *b, size_t n)
{
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        num += (a[i] - b[i]) * (a[i] - b[i]);
        den += b[i] * b[i];
    }
    return den > 0 ? sqrt(num / den) : sqrt(num);
}

static void check(int B, int T, int C, int NH)
{
    const pg_ops *o = pg_ops_cpu();
    size_t nqkv = (size_t)B * T * 3 * C, nout = (size_t)B * T * C;
    size_t nsaved = o->attention_saved_floats(B, T, NH);
    size_t nscr = o->attention_scratch_floats(B, T, NH);
    float *qkv = malloc(4 * nqkv), *dout = malloc(4 * nout), *out = malloc(4 * nout);
    float *dqkv = malloc(4 * nqkv), *saved = malloc(4 * nsaved), *scr = malloc(4 * nscr);
    double *ro = malloc(8 * nout), *rd = malloc(8 * nqkv);
    pg_rng r;
    pg_rng_init(&r, 7, (uint64_t)T, (uint64_t)NH);
    for (size_t i = 0; i < nqkv; i++) qkv[i] = (float)(1.5 * pg_rng_normal(&r));
    for (size_t i = 0; i < nout; i++) dout[i] = (float)pg_rng_normal(&r);
    /* garbage in every output and scratch buffer: nothing may be read before written */
    for (size_t i = 0; i < nout; i++) out[i] = NAN;
    for (size_t i = 0; i < nqkv; i++) dqkv[i] = NAN;
    for (size_t i = 0; i < nsaved; i++) saved[i] = NAN;
    for (size_t i = 0; i < nscr; i++) scr[i] = NAN;
    o->attention_forward(out, saved, qkv, B, T, C, NH);
    o->attention_backward(dqkv, scr, dout, qkv, saved, B, T, C, NH);
    attention_ref(ro, rd, qkv, dout, B, T, C, NH);
    double ef = rel_d(out, ro, nout), eb = rel_d(dqkv, rd, nqkv);
    printf("attention B=%d T=%4d C=%3d NH=%d: forward rel %.2g, backward rel %.2g, "
           "saved %zu + scratch %zu floats (T x T per head would be %zu)\n",
           B, T, C, NH, ef, eb, nsaved, nscr, (size_t)B * NH * T * T);
    CHECK_MSG(ef < RTOL, "forward T=%d NH=%d: %g", T, NH, ef);
    CHECK_MSG(eb < RTOL, "backward T=%d NH=%d: %g", T, NH, eb);
    free(qkv), free(dout), free(out), free(dqkv), free(saved), free(scr), free(ro), free(rd);
}

int main(void)
{
    check(2, 1, 8, 2);
    check(2, 7, 16, 1);
    check(2, 64, 32, 4);
    check(1, 100, 24, 3);
    check(2, 130, 32, 2);
    check(1, 256, 16, 1);
    /* memory linear in T: doubling T at most doubles the kept state and the scratch */
    const pg_ops *o = pg_ops_cpu();
    for (int T = 512; T <= 8192; T *= 2) {
        CHECK(o->attention_saved_floats(2, 2 * T, 4) <= 2 * o->attention_saved_floats(2, T, 4));
        CHECK(o->attention_scratch_floats(2, 2 * T, 4) <=
              2 * o->attention_scratch_floats(2, T, 4));
    }
    return pg_test_summary("test_attention");
}
