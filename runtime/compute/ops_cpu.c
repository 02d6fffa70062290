/* ops_cpu.c: the CPU backend of ops.h. Matrix products go to BLAS
 * (OpenBLAS); everything else is plain loops over row-major float arrays. */
#include "runtime/compute/gelu.h"
#include "runtime/compute/ops.h"
#include "runtime/compute/ops_cpu_gpt.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define LN_EPS 1e-5f

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

static void cpu_matmul_backward_weight(float *dw, float *dbias, const float *dout,
                                       const float *inp, int N, int C, int OC)
{
    // dw (OC,C) += dout^T (OC,N) @ inp (N,C)
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, OC, C, N, 1.0f, dout, OC, inp, C, 1.0f,
                dw, C);
    if (dbias) {
        for (int i = 0; i < N; i++) {
            const float *d = dout + (size_t)i * OC;
            for (int o = 0; o < OC; o++) dbias[o] += d[o];
        }
    }
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

static void cpu_gelu_forward(float *out, const float *inp, size_t n)
{
    for (size_t i = 0; i < n; i++) out[i] = pg_gelu(inp[i]);
}

static void cpu_gelu_backward(float *dinp, const float *inp, const float *dout, size_t n,
                              float beta)
{
    for (size_t i = 0; i < n; i++) {
        float g = pg_gelu_grad(inp[i]) * dout[i];
        dinp[i] = beta != 0.0f ? dinp[i] + g : g;
    }
}

static void cpu_add(float *out, const float *a, const float *b, size_t n)
{
    for (size_t i = 0; i < n; i++) out[i] = a[i] + b[i];
}

static void cpu_scale(float *x, float s, size_t n)
{
    for (size_t i = 0; i < n; i++) x[i] *= s;
}

/* ---- LayerNorm ---- */

static void cpu_layernorm_forward(float *out, float *mean, float *rstd, const float *inp,
                                  const float *w, const float *b, int N, int C)
{
    for (int i = 0; i < N; i++) {
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

static void cpu_layernorm_backward_input(float *dinp, const float *dout, const float *inp,
                                         const float *w, const float *mean, const float *rstd,
                                         int N, int C, float beta)
{
    for (int i = 0; i < N; i++) {
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
        for (int c = 0; c < C; c++) {
            float norm = (x[c] - m) * s;
            float g = (w[c] * d[c] - dnorm_mean - norm * dnorm_norm_mean) * s;
            dx[c] = beta != 0.0f ? dx[c] + g : g;
        }
    }
}

static void cpu_layernorm_backward_weight(float *dw, float *db, const float *dout,
                                          const float *inp, const float *mean, const float *rstd,
                                          int N, int C)
{
    for (int i = 0; i < N; i++) {
        const float *d = dout + (size_t)i * C;
        const float *x = inp + (size_t)i * C;
        float m = mean[i], s = rstd[i];
        for (int c = 0; c < C; c++) {
            dw[c] += (x[c] - m) * s * d[c];
            db[c] += d[c];
        }
    }
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

static void cpu_xent_forward(float *losses, float *probs, const float *logits, const int *labels,
                             int N, int V)
{
    for (int i = 0; i < N; i++) {
        const float *z = logits + (size_t)i * V;
        float *p = probs + (size_t)i * V;
        float zmax = z[0];
        for (int v = 1; v < V; v++) zmax = z[v] > zmax ? z[v] : zmax;
        float sum = 0.0f;
        for (int v = 0; v < V; v++) {
            p[v] = expf(z[v] - zmax);
            sum += p[v];
        }
        float inv = 1.0f / sum;
        for (int v = 0; v < V; v++) p[v] *= inv;
        losses[i] = -logf(p[labels[i]]);
    }
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

static void cpu_xent_fused(float *losses, float *logits, const int *labels, float scale, int N,
                           int V)
{
    for (int i = 0; i < N; i++) {
        float *z = logits + (size_t)i * V; /* logits in, exp, then dlogits out */
        float zmax = z[0];
        for (int v = 1; v < V; v++) zmax = z[v] > zmax ? z[v] : zmax;
        float sum = 0.0f;
        for (int v = 0; v < V; v++) {
            z[v] = expf(z[v] - zmax);
            sum += z[v];
        }
        float inv = 1.0f / sum;
        losses[i] = -logf(z[labels[i]] * inv);
        for (int v = 0; v < V; v++) z[v] = scale * (z[v] * inv);
        z[labels[i]] -= scale;
    }
}

/* ---- optimizer ---- */

static void cpu_adamw_update(float *p, const float *g, float *m, float *v, size_t n, float lr,
                             float beta1, float beta2, float eps, float wd, int t)
{
    // As torch.optim.AdamW: p *= 1 - lr*wd; p -= lr/bc1 * m / (sqrt(v)/sqrt(bc2) + eps)
    float bc1 = 1.0f - powf(beta1, (float)t);
    float bc2_sqrt = sqrtf(1.0f - powf(beta2, (float)t));
    float step = lr / bc1;
    for (size_t i = 0; i < n; i++) {
        m[i] = beta1 * m[i] + (1.0f - beta1) * g[i];
        v[i] = beta2 * v[i] + (1.0f - beta2) * g[i] * g[i];
        p[i] *= 1.0f - lr * wd;
        p[i] -= step * m[i] / (sqrtf(v[i]) / bc2_sqrt + eps);
    }
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
    .xent_forward = cpu_xent_forward,
    .xent_backward = cpu_xent_backward,
    .xent_fused = cpu_xent_fused,
    .adamw_update = cpu_adamw_update,
    .sgd_update = cpu_sgd_update,
    .sumsq = cpu_sumsq,
};

const pg_ops *pg_ops_cpu(void) { return &cpu_ops; }
