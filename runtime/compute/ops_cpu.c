/* ops_cpu.c: the CPU backend of ops.h. Matrix products go to BLAS
 * (OpenBLAS); everything else is loops over row-major float arrays, written
 * to vectorise (restrict pointers, fastmath.h's exp, PG_CPU_CLONES builds the
 * hot ones for AVX-512 and AVX2 too) and split over the rank's threads
 * (cpu_threads.h) in pieces that do not change any result: elements or rows
 * for the per-element and per-row passes, column ranges for the sums over rows
 * (each column still summed in row order), so every thread count gives the
 * same bits. */
#include "runtime/compute/cpu_threads.h"
#include "runtime/compute/fastmath.h"
#include "runtime/compute/gelu.h"
#include "runtime/compute/ops.h"
#include "runtime/compute/ops_cpu_gpt.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define LN_EPS 1e-5f

/* Run body(lo, hi) over [0, n) split in one contiguous range per thread; only
 * worth threads from `grain` items per thread on. */
#define PG_SPLIT(n, grain, lo, hi, body)                                          \
    do {                                                                           \
        long n_ = (long)(n);                                                       \
        int nw_ = pg_cpu_workers(n_ / (grain));                                    \
        _Pragma("omp parallel for num_threads(nw_) schedule(static, 1)")           \
        for (int w_ = 0; w_ < nw_; w_++) {                                         \
            long lo = n_ * w_ / nw_, hi = n_ * (w_ + 1) / nw_;                     \
            body;                                                                  \
        }                                                                          \
    } while (0)
#define ELEM_GRAIN 16384 /* floats per thread before an elementwise pass splits */

/* ---- memory ---- */

static void *cpu_alloc(size_t bytes)
{
    void *p = NULL;
    if (bytes == 0) bytes = 64;
    if (posix_memalign(&p, 64, bytes) != 0) return NULL;
    memset(p, 0, bytes);
    return p;
}
static void cpu_free(void *p) { free(p); }
static void cpu_zero(void *p, size_t bytes) { memset(p, 0, bytes); }
static void cpu_copy(void *dst, const void *src, size_t bytes)
{
    if (dst != src) memmove(dst, src, bytes);
}
static void cpu_sync(void) {}

/* ---- dense ---- */

static void cpu_matmul_forward(float *out, const float *inp, const float *w, const float *bias,
                               int N, int C, int OC)
{
    // out (N,OC) = inp (N,C) @ w^T (C,OC)
    if (bias) {
        for (int i = 0; i < N; i++) memcpy(out + (size_t)i * OC, bias, sizeof(float) * OC);
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, OC, C, 1.0f, inp, C, w, C,
                bias ? 1.0f : 0.0f, out, OC);
}

static void cpu_matmul_backward_input(float *dinp, const float *dout, const float *w, int N, int C,
                                      int OC, float beta)
{
    // dinp (N,C) = beta*dinp + dout (N,OC) @ w (OC,C)
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, C, OC, 1.0f, dout, OC, w, C, beta,
                dinp, C);
}

/* dbias[lo,hi) += column sums of dout (N,OC) over its rows, in row order */
static PG_CPU_CLONES void colsum_range(float *restrict dbias, const float *restrict dout, int N,
                                       int OC, long lo, long hi)
{
    for (int i = 0; i < N; i++) {
        const float *d = dout + (size_t)i * OC;
        for (long o = lo; o < hi; o++) dbias[o] += d[o];
    }
}

static void cpu_matmul_backward_weight(float *dw, float *dbias, const float *dout,
                                       const float *inp, int N, int C, int OC)
{
    // dw (OC,C) += dout^T (OC,N) @ inp (N,C)
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, OC, C, N, 1.0f, dout, OC, inp, C, 1.0f,
                dw, C);
    if (dbias) PG_SPLIT(OC, 64, lo, hi, colsum_range(dbias, dout, N, OC, lo, hi));
}

/* ---- elementwise ---- */

static void cpu_relu_forward(float *out, const float *inp, size_t n)
{
    for (size_t i = 0; i < n; i++) out[i] = inp[i] > 0.0f ? inp[i] : 0.0f;
}

static void cpu_relu_backward(float *dinp, const float *inp, const float *dout, size_t n,
                              float beta)
{
    for (size_t i = 0; i < n; i++) {
        float g = inp[i] > 0.0f ? dout[i] : 0.0f;
        dinp[i] = beta != 0.0f ? dinp[i] + g : g;
    }
}

static PG_CPU_CLONES void gelu_range(float *restrict out, const float *restrict inp, long n)
{
    for (long i = 0; i < n; i++) out[i] = pg_gelu(inp[i]);
}

static void cpu_gelu_forward(float *out, const float *inp, size_t n)
{
    PG_SPLIT(n, ELEM_GRAIN, lo, hi, gelu_range(out + lo, inp + lo, hi - lo));
}

/* dinp may be dout (in place): both are read element by element before the write */
static PG_CPU_CLONES void gelu_grad_range(float *dinp, const float *restrict inp,
                                          const float *dout, long n, float beta)
{
    if (beta != 0.0f)
        for (long i = 0; i < n; i++) dinp[i] += pg_gelu_grad(inp[i]) * dout[i];
    else
        for (long i = 0; i < n; i++) dinp[i] = pg_gelu_grad(inp[i]) * dout[i];
}

static void cpu_gelu_backward(float *dinp, const float *inp, const float *dout, size_t n,
                              float beta)
{
    PG_SPLIT(n, ELEM_GRAIN, lo, hi, gelu_grad_range(dinp + lo, inp + lo, dout + lo, hi - lo, beta));
}

/* out may be a or b */
static PG_CPU_CLONES void add_range(float *out, const float *a, const float *b, long n)
{
    for (long i = 0; i < n; i++) out[i] = a[i] + b[i];
}

static void cpu_add(float *out, const float *a, const float *b, size_t n)
{
    PG_SPLIT(n, ELEM_GRAIN, lo, hi, add_range(out + lo, a + lo, b + lo, hi - lo));
}

static void cpu_scale(float *x, float s, size_t n)
{
    for (size_t i = 0; i < n; i++) x[i] *= s;
}

/* ---- LayerNorm ---- */

/* rows [lo, hi): mean and variance of a row in two loops over it (the row is in
 * cache: one pass over memory, without the cancellation of sum-of-squares) */
static PG_CPU_CLONES void ln_fwd_rows(float *restrict out, float *restrict mean,
                                      float *restrict rstd, const float *restrict inp,
                                      const float *restrict w, const float *restrict b, int C,
                                      long lo, long hi)
{
    for (long i = lo; i < hi; i++) {
        const float *x = inp + (size_t)i * C;
        float *o = out + (size_t)i * C;
        float m = 0.0f;
        for (int c = 0; c < C; c++) m += x[c];
        m /= C;
        float var = 0.0f;
        for (int c = 0; c < C; c++) var += (x[c] - m) * (x[c] - m);
        var /= C;
        float s = 1.0f / sqrtf(var + LN_EPS);
        for (int c = 0; c < C; c++) o[c] = (x[c] - m) * s * w[c] + b[c];
        mean[i] = m;
        rstd[i] = s;
    }
}

static void cpu_layernorm_forward(float *out, float *mean, float *rstd, const float *inp,
                                  const float *w, const float *b, int N, int C)
{
    PG_SPLIT(N, ELEM_GRAIN / C + 1, lo, hi, ln_fwd_rows(out, mean, rstd, inp, w, b, C, lo, hi));
}

static PG_CPU_CLONES void ln_bwd_rows(float *restrict dinp, const float *restrict dout,
                                      const float *restrict inp, const float *restrict w,
                                      const float *restrict mean, const float *restrict rstd,
                                      int C, float beta, long lo, long hi)
{
    for (long i = lo; i < hi; i++) {
        const float *d = dout + (size_t)i * C;
        const float *x = inp + (size_t)i * C;
        float *dx = dinp + (size_t)i * C;
        float m = mean[i], s = rstd[i];
        // dnorm = w * dout; dx = s * (dnorm - mean(dnorm) - norm * mean(dnorm * norm))
        float dnorm_mean = 0.0f, dnorm_norm_mean = 0.0f;
        for (int c = 0; c < C; c++) {
            float norm = (x[c] - m) * s;
            float dnorm = w[c] * d[c];
            dnorm_mean += dnorm;
            dnorm_norm_mean += dnorm * norm;
        }
        dnorm_mean /= C;
        dnorm_norm_mean /= C;
        if (beta != 0.0f)
            for (int c = 0; c < C; c++)
                dx[c] += (w[c] * d[c] - dnorm_mean - (x[c] - m) * s * dnorm_norm_mean) * s;
        else
            for (int c = 0; c < C; c++)
                dx[c] = (w[c] * d[c] - dnorm_mean - (x[c] - m) * s * dnorm_norm_mean) * s;
    }
}

static void cpu_layernorm_backward_input(float *dinp, const float *dout, const float *inp,
                                         const float *w, const float *mean, const float *rstd,
                                         int N, int C, float beta)
{
    PG_SPLIT(N, ELEM_GRAIN / C + 1, lo, hi,
             ln_bwd_rows(dinp, dout, inp, w, mean, rstd, C, beta, lo, hi));
}

/* columns [lo, hi) of dw, db, each summed over the rows in row order */
static PG_CPU_CLONES void ln_wgrad_cols(float *restrict dw, float *restrict db,
                                        const float *restrict dout, const float *restrict inp,
                                        const float *restrict mean, const float *restrict rstd,
                                        int N, int C, long lo, long hi)
{
    for (int i = 0; i < N; i++) {
        const float *d = dout + (size_t)i * C;
        const float *x = inp + (size_t)i * C;
        float m = mean[i], s = rstd[i];
        for (long c = lo; c < hi; c++) {
            dw[c] += (x[c] - m) * s * d[c];
            db[c] += d[c];
        }
    }
}

static void cpu_layernorm_backward_weight(float *dw, float *db, const float *dout,
                                          const float *inp, const float *mean, const float *rstd,
                                          int N, int C)
{
    PG_SPLIT(C, 64, lo, hi, ln_wgrad_cols(dw, db, dout, inp, mean, rstd, N, C, lo, hi));
}

/* ---- losses ---- */

static void cpu_mse_forward(float *losses, const float *out, const float *target, int N, int D)
{
    for (int i = 0; i < N; i++) {
        float acc = 0.0f;
        for (int d = 0; d < D; d++) {
            float e = out[(size_t)i * D + d] - target[(size_t)i * D + d];
            acc += e * e;
        }
        losses[i] = acc / D;
    }
}

static void cpu_mse_backward(float *dout, const float *out, const float *target, float scale,
                             int N, int D)
{
    float k = 2.0f * scale / D;
    for (size_t i = 0; i < (size_t)N * D; i++) dout[i] = k * (out[i] - target[i]);
}

static PG_CPU_CLONES void xent_rows(float *restrict losses, float *restrict probs,
                                    const float *restrict logits, const int *restrict labels,
                                    int V, long lo, long hi)
{
    for (long i = lo; i < hi; i++) {
        const float *z = logits + (size_t)i * V;
        float *p = probs + (size_t)i * V;
        float zmax = z[0];
        for (int v = 1; v < V; v++) zmax = z[v] > zmax ? z[v] : zmax;
        float sum = 0.0f;
        for (int v = 0; v < V; v++) {
            p[v] = pg_expf(z[v] - zmax);
            sum += p[v];
        }
        float inv = 1.0f / sum;
        for (int v = 0; v < V; v++) p[v] *= inv;
        losses[i] = -logf(p[labels[i]]);
    }
}

static void cpu_xent_forward(float *losses, float *probs, const float *logits, const int *labels,
                             int N, int V)
{
    PG_SPLIT(N, ELEM_GRAIN / V + 1, lo, hi, xent_rows(losses, probs, logits, labels, V, lo, hi));
}

static void cpu_xent_backward(float *dlogits, const float *probs, const int *labels, float scale,
                              int N, int V)
{
    for (int i = 0; i < N; i++) {
        const float *p = probs + (size_t)i * V;
        float *d = dlogits + (size_t)i * V;
        for (int v = 0; v < V; v++) d[v] = scale * p[v];
        d[labels[i]] -= scale;
    }
}

/* the same operations as xent_rows then cpu_xent_backward, in place: the same bits */
static PG_CPU_CLONES void xent_fused_rows(float *restrict losses, float *restrict logits,
                                          const int *restrict labels, float scale, int V, long lo,
                                          long hi)
{
    for (long i = lo; i < hi; i++) {
        float *z = logits + (size_t)i * V; /* logits in, exp, then dlogits out */
        float zmax = z[0];
        for (int v = 1; v < V; v++) zmax = z[v] > zmax ? z[v] : zmax;
        float sum = 0.0f;
        for (int v = 0; v < V; v++) {
            z[v] = pg_expf(z[v] - zmax);
            sum += z[v];
        }
        float inv = 1.0f / sum;
        losses[i] = -logf(z[labels[i]] * inv);
        for (int v = 0; v < V; v++) z[v] = scale * (z[v] * inv);
        z[labels[i]] -= scale;
    }
}

static void cpu_xent_fused(float *losses, float *logits, const int *labels, float scale, int N,
                           int V)
{
    PG_SPLIT(N, ELEM_GRAIN / V + 1, lo, hi,
             xent_fused_rows(losses, logits, labels, scale, V, lo, hi));
}

/* ---- optimizer ---- */

static PG_CPU_CLONES void adamw_range(float *restrict p, const float *restrict g,
                                      float *restrict m, float *restrict v, long n, float lr,
                                      float beta1, float beta2, float eps, float wd,
                                      float step, float bc2_sqrt)
{
    for (long i = 0; i < n; i++) {
        m[i] = beta1 * m[i] + (1.0f - beta1) * g[i];
        v[i] = beta2 * v[i] + (1.0f - beta2) * g[i] * g[i];
        p[i] *= 1.0f - lr * wd;
        p[i] -= step * m[i] / (sqrtf(v[i]) / bc2_sqrt + eps);
    }
}

static void cpu_adamw_update(float *p, const float *g, float *m, float *v, size_t n, float lr,
                             float beta1, float beta2, float eps, float wd, int t)
{
    // As torch.optim.AdamW: p *= 1 - lr*wd; p -= lr/bc1 * m / (sqrt(v)/sqrt(bc2) + eps)
    float bc1 = 1.0f - powf(beta1, (float)t);
    float bc2_sqrt = sqrtf(1.0f - powf(beta2, (float)t));
    float step = lr / bc1;
    PG_SPLIT(n, ELEM_GRAIN, lo, hi,
             adamw_range(p + lo, g + lo, m + lo, v + lo, hi - lo, lr, beta1, beta2, eps, wd, step,
                         bc2_sqrt));
}

static void cpu_sgd_update(float *p, const float *g, float *buf, size_t n, float lr, float mu,
                           float wd)
{
    for (size_t i = 0; i < n; i++) {
        buf[i] = mu * buf[i] + g[i] + wd * p[i];
        p[i] -= lr * buf[i];
    }
}

static double cpu_sumsq(const float *x, size_t n)
{
    double acc = 0.0;
    for (size_t i = 0; i < n; i++) acc += (double)x[i] * x[i];
    return acc;
}

static const pg_ops cpu_ops = {
    .name = "cpu",
    .alloc = cpu_alloc,
    .free = cpu_free,
    .zero = cpu_zero,
    .upload = cpu_copy,
    .download = cpu_copy,
    .copy = cpu_copy,
    .sync = cpu_sync,
    .matmul_forward = cpu_matmul_forward,
    .matmul_backward_input = cpu_matmul_backward_input,
    .matmul_backward_weight = cpu_matmul_backward_weight,
    .relu_forward = cpu_relu_forward,
    .relu_backward = cpu_relu_backward,
    .gelu_forward = cpu_gelu_forward,
    .gelu_backward = cpu_gelu_backward,
    .add = cpu_add,
    .scale = cpu_scale,
    .layernorm_forward = cpu_layernorm_forward,
    .layernorm_backward_input = cpu_layernorm_backward_input,
    .layernorm_backward_weight = cpu_layernorm_backward_weight,
    .mse_forward = cpu_mse_forward,
    .mse_backward = cpu_mse_backward,
    .embedding_forward = pg_cpu_embedding_forward,
    .embedding_backward_weight = pg_cpu_embedding_backward_weight,
    .attention_forward = pg_cpu_attention_forward,
    .attention_backward = pg_cpu_attention_backward,
    .attention_saved_floats = pg_cpu_attention_saved_floats,
    .attention_scratch_floats = pg_cpu_attention_scratch_floats,
    .xent_forward = cpu_xent_forward,
    .xent_backward = cpu_xent_backward,
    .xent_fused = cpu_xent_fused,
    .adamw_update = cpu_adamw_update,
    .sgd_update = cpu_sgd_update,
    .sumsq = cpu_sumsq,
};

const pg_ops *pg_ops_cpu(void) { return &cpu_ops; }
