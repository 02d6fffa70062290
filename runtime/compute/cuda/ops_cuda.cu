/* ops_cuda.cu: the CUDA backend of ops.h. Every tensor lives in device
 * memory; every op is queued on one compute stream (pg_cuda_stream), so ops
 * run in the order they are called and sync() waits for all of them.
 * Matrix products (linear layers and the two products of attention per
 * sample) go to cuBLAS (cublasGemmEx / cublasGemmStridedBatchedEx, fp32
 * storage, compute type by precision); everything else is an own kernel
 * (kernels.cu). Row-major products are computed as their column-major
 * transposes: C^T = op(B)^T op(A)^T. */
#include "runtime/compute/cuda.h"
#include "runtime/compute/cuda/check.h"
#include "runtime/compute/cuda/kernels.h"

#include "runtime/compute/device.h"

#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#include <math.h>
#include <stdlib.h>

static cudaStream_t stream;
static cublasHandle_t blas;
static double *sumsq_part; /* (PGK_SUMSQ_BLOCKS) device partials */
static int precision = PG_PREC_FP32;
static int fused = 1;         /* runtime.kernels: fused (1) or reference (0) */
static void *scratch;         /* grow-only work space of the fused kernels */
static size_t scratch_bytes;

/* At least `bytes` of device work space. The stream orders its users; growing
 * frees the old buffer only after the stream has drained. */
static void *scratch_get(size_t bytes)
{
    if (bytes <= scratch_bytes) return scratch;
    PG_CUDA_CHECK(cudaStreamSynchronize(stream));
    PG_CUDA_CHECK(cudaFree(scratch));
    PG_CUDA_CHECK(cudaMalloc(&scratch, bytes));
    scratch_bytes = bytes;
    return scratch;
}

/* Create the stream and the cuBLAS handle on the current device, once. */
static void ctx(void)
{
    if (blas) return;
    PG_CUDA_CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
    PG_CUBLAS_CHECK(cublasCreate(&blas));
    PG_CUBLAS_CHECK(cublasSetStream(blas, stream));
    PG_CUDA_CHECK(cudaMalloc((void **)&sumsq_part, sizeof(double) * PGK_SUMSQ_BLOCKS));
}

extern "C" void *pg_cuda_stream(void)
{
    ctx();
    return (void *)stream;
}

extern "C" void pg_cuda_set_precision(int p) { precision = p; }

extern "C" void pg_cuda_set_kernels(int f) { fused = f; }

static cublasComputeType_t compute_type(void)
{
    switch (precision) {
    case PG_PREC_TF32: return CUBLAS_COMPUTE_32F_FAST_TF32;
    case PG_PREC_BF16: return CUBLAS_COMPUTE_32F_FAST_16BF;
    default: return CUBLAS_COMPUTE_32F_PEDANTIC;
    }
}

/* Row-major C (M,N) = alpha op(A) (M,K) op(B) (K,N) + beta C, `batch` times
 * with element strides sa, sb, sc between the problems. */
static void gemm_rm(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
                    long long sa, const float *B, int ldb, long long sb, float beta, float *C,
                    int ldc, long long sc, int batch)
{
    ctx();
    if (M == 0 || N == 0 || batch == 0) return; /* nothing to compute (zero rows) */
    cublasOperation_t oa = ta ? CUBLAS_OP_T : CUBLAS_OP_N, ob = tb ? CUBLAS_OP_T : CUBLAS_OP_N;
    if (batch == 1)
        PG_CUBLAS_CHECK(cublasGemmEx(blas, ob, oa, N, M, K, &alpha, B, CUDA_R_32F, ldb, A,
                                     CUDA_R_32F, lda, &beta, C, CUDA_R_32F, ldc, compute_type(),
                                     CUBLAS_GEMM_DEFAULT));
    else
        PG_CUBLAS_CHECK(cublasGemmStridedBatchedEx(
            blas, ob, oa, N, M, K, &alpha, B, CUDA_R_32F, ldb, sb, A, CUDA_R_32F, lda, sa, &beta,
            C, CUDA_R_32F, ldc, sc, batch, compute_type(), CUBLAS_GEMM_DEFAULT));
}

/* ---- memory ---- */

static void *cu_alloc(size_t bytes)
{
    ctx();
    void *p = NULL;
    if (bytes == 0) bytes = 64;
    if (cudaMalloc(&p, bytes) != cudaSuccess) {
        (void)cudaGetLastError(); /* out of memory is not sticky: the caller reports it */
        return NULL;
    }
    PG_CUDA_CHECK(cudaMemsetAsync(p, 0, bytes, stream));
    return p;
}

static void cu_free(void *p)
{
    if (!p) return;
    PG_CUDA_CHECK(cudaStreamSynchronize(stream));
    PG_CUDA_CHECK(cudaFree(p));
}

static void cu_zero(void *p, size_t bytes)
{
    ctx();
    PG_CUDA_CHECK(cudaMemsetAsync(p, 0, bytes, stream));
}

static void cu_upload(void *dst, const void *host_src, size_t bytes)
{
    ctx();
    PG_CUDA_CHECK(cudaMemcpyAsync(dst, host_src, bytes, cudaMemcpyHostToDevice, stream));
    PG_CUDA_CHECK(cudaStreamSynchronize(stream)); /* the host buffer may be reused at once */
}

static void cu_download(void *host_dst, const void *src, size_t bytes)
{
    ctx();
    PG_CUDA_CHECK(cudaMemcpyAsync(host_dst, src, bytes, cudaMemcpyDeviceToHost, stream));
    PG_CUDA_CHECK(cudaStreamSynchronize(stream));
}

static void cu_copy(void *dst, const void *src, size_t bytes)
{
    ctx();
    if (dst != src && bytes)
        PG_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, stream));
}

static void cu_sync(void)
{
    ctx();
    PG_CUDA_CHECK(cudaStreamSynchronize(stream));
}

/* ---- dense ---- */

static void cu_matmul_forward(float *out, const float *inp, const float *w, const float *bias,
                              int N, int C, int OC)
{
    ctx();
    // out (N,OC) = bias + inp (N,C) @ w^T (C,OC), as the CPU backend adds them
    if (bias) pgk_bias_fill(stream, out, bias, N, OC);
    gemm_rm(0, 1, N, OC, C, 1.0f, inp, C, 0, w, C, 0, bias ? 1.0f : 0.0f, out, OC, 0, 1);
}

static void cu_matmul_backward_input(float *dinp, const float *dout, const float *w, int N, int C,
                                     int OC, float beta)
{
    // dinp (N,C) = beta*dinp + dout (N,OC) @ w (OC,C)
    gemm_rm(0, 0, N, C, OC, 1.0f, dout, OC, 0, w, C, 0, beta, dinp, C, 0, 1);
}

static void cu_matmul_backward_weight(float *dw, float *dbias, const float *dout,
                                      const float *inp, int N, int C, int OC)
{
    // dw (OC,C) += dout^T (OC,N) @ inp (N,C); dbias (OC) += column sums of dout
    gemm_rm(1, 0, OC, C, N, 1.0f, dout, OC, 0, inp, C, 0, 1.0f, dw, C, 0, 1);
    if (dbias && fused)
        pgk_colsum_add_split(stream, (float *)scratch_get(pgk_split_bytes(N, OC)), dbias, dout, N,
                             OC);
    else if (dbias)
        pgk_colsum_add(stream, dbias, dout, N, OC);
}

/* ---- elementwise, LayerNorm, embedding: kernels.cu ---- */

static void cu_relu_forward(float *out, const float *inp, size_t n)
{
    ctx();
    pgk_relu_forward(stream, out, inp, n);
}
static void cu_relu_backward(float *dinp, const float *inp, const float *dout, size_t n, float beta)
{
    ctx();
    pgk_relu_backward(stream, dinp, inp, dout, n, beta);
}
static void cu_gelu_forward(float *out, const float *inp, size_t n)
{
    ctx();
    pgk_gelu_forward(stream, out, inp, n);
}
static void cu_gelu_backward(float *dinp, const float *inp, const float *dout, size_t n, float beta)
{
    ctx();
    pgk_gelu_backward(stream, dinp, inp, dout, n, beta);
}
static void cu_add(float *out, const float *a, const float *b, size_t n)
{
    ctx();
    pgk_add(stream, out, a, b, n);
}
static void cu_scale(float *x, float s, size_t n)
{
    ctx();
    pgk_scale(stream, x, s, n);
}
static void cu_layernorm_forward(float *out, float *mean, float *rstd, const float *inp,
                                 const float *w, const float *b, int N, int C)
{
    ctx();
    pgk_layernorm_forward(stream, out, mean, rstd, inp, w, b, N, C);
}
static void cu_layernorm_backward_input(float *dinp, const float *dout, const float *inp,
                                        const float *w, const float *mean, const float *rstd,
                                        int N, int C, float beta)
{
    ctx();
    pgk_layernorm_backward_input(stream, dinp, dout, inp, w, mean, rstd, N, C, beta);
}
static void cu_layernorm_backward_weight(float *dw, float *db, const float *dout, const float *inp,
                                         const float *mean, const float *rstd, int N, int C)
{
    ctx();
    if (fused)
        pgk_layernorm_backward_weight_split(stream, (float *)scratch_get(pgk_split_bytes(N, C)), dw,
                                            db, dout, inp, mean, rstd, N, C);
    else
        pgk_layernorm_backward_weight(stream, dw, db, dout, inp, mean, rstd, N, C);
}
static void cu_embedding_forward(float *out, const int *tokens, const float *wte,
                                 const float *wpe, int B, int T, int C)
{
    ctx();
    pgk_embedding_forward(stream, out, tokens, wte, wpe, B, T, C);
}
static void cu_embedding_backward_weight(float *dwte, float *dwpe, const float *dout,
                                         const int *tokens, int B, int T, int C)
{
    ctx();
    if (fused)
        pgk_embedding_backward_sorted(stream, scratch_get(pgk_embedding_sort_bytes(B * T)), dwte,
                                      dwpe, dout, tokens, B, T, C);
    else
        pgk_embedding_backward_weight(stream, dwte, dwpe, dout, tokens, B, T, C);
}

/* ---- causal attention: per sample, the NH heads as one strided batch ---- */

static void cu_attention_forward(float *out, float *att, const float *qkv, int B, int T, int C,
                                 int NH)
{
    ctx();
    int hs = C / NH, C3 = 3 * C;
    long long TT = (long long)T * T;
    float scale = 1.0f / sqrtf((float)hs);
    for (int b = 0; b < B; b++) {
        const float *q = qkv + (size_t)b * T * C3, *k = q + C; // (T,hs) ld 3C
        float *a = att + (size_t)b * NH * TT;                                 // (NH,T,T)
        // a_h = scale * q_h @ k_h^T
        gemm_rm(0, 1, T, T, hs, scale, q, C3, hs, k, C3, hs, 0.0f, a, T, TT, NH);
    }
    pgk_causal_softmax(stream, att, B * NH * T, T);
    for (int b = 0; b < B; b++) {
        const float *v = qkv + (size_t)b * T * C3 + 2 * C;
        const float *a = att + (size_t)b * NH * TT;
        // out_h (T,hs) ld C = a_h (T,T) @ v_h (T,hs)
        gemm_rm(0, 0, T, hs, T, 1.0f, a, T, TT, v, C3, hs, 0.0f, out + (size_t)b * T * C, C, hs,
                NH);
    }
}

static void cu_attention_backward(float *dqkv, float *datt, const float *dout, const float *qkv,
                                  const float *att, int B, int T, int C, int NH)
{
    ctx();
    int hs = C / NH, C3 = 3 * C;
    long long TT = (long long)T * T;
    float scale = 1.0f / sqrtf((float)hs);
    for (int b = 0; b < B; b++) {
        size_t qo = (size_t)b * T * C3;
        const float *v = qkv + qo + 2 * C;
        float *dv = dqkv + qo + 2 * C;
        const float *a = att + (size_t)b * NH * TT;
        float *da = datt + (size_t)b * NH * TT;
        const float *dout_b = dout + (size_t)b * T * C; // (T,hs) per head, ld C
        // da = dout_h @ v_h^T (T,T); dv = a^T @ dout_h (T,hs)
        gemm_rm(0, 1, T, T, hs, 1.0f, dout_b, C, hs, v, C3, hs, 0.0f, da, T, TT, NH);
        gemm_rm(1, 0, T, hs, T, 1.0f, a, T, TT, dout_b, C, hs, 0.0f, dv, C3, hs, NH);
    }
    pgk_causal_softmax_backward(stream, datt, att, B * NH * T, T, scale);
    for (int b = 0; b < B; b++) {
        size_t qo = (size_t)b * T * C3;
        const float *q = qkv + qo, *k = q + C;
        float *dq = dqkv + qo, *dk = dq + C;
        const float *da = datt + (size_t)b * NH * TT;
        // dq = ds @ k (T,hs); dk = ds^T @ q (T,hs)
        gemm_rm(0, 0, T, hs, T, 1.0f, da, T, TT, k, C3, hs, 0.0f, dq, C3, hs, NH);
        gemm_rm(1, 0, T, hs, T, 1.0f, da, T, TT, q, C3, hs, 0.0f, dk, C3, hs, NH);
    }
}

/* ---- losses, optimizer ---- */

static void cu_mse_forward(float *losses, const float *out, const float *target, int N, int D)
{
    ctx();
    pgk_mse_forward(stream, losses, out, target, N, D);
}
static void cu_mse_backward(float *dout, const float *out, const float *target, float scale, int N,
                            int D)
{
    ctx();
    pgk_mse_backward(stream, dout, out, target, scale, N, D);
}
static void cu_xent_forward(float *losses, float *probs, const float *logits, const int *labels,
                            int N, int V)
{
    ctx();
    pgk_xent_forward(stream, losses, probs, logits, labels, N, V);
}
static void cu_xent_backward(float *dlogits, const float *probs, const int *labels, float scale,
                             int N, int V)
{
    ctx();
    pgk_xent_backward(stream, dlogits, probs, labels, scale, N, V);
}
static void cu_xent_fused(float *losses, float *logits, const int *labels, float scale, int N,
                          int V)
{
    ctx();
    pgk_xent_fused(stream, losses, logits, labels, scale, N, V);
}

static void cu_adamw_update(float *p, const float *g, float *m, float *v, size_t n, float lr,
                            float beta1, float beta2, float eps, float wd, int t)
{
    ctx();
    // as the CPU backend: bias corrections in float on the host
    float bc1 = 1.0f - powf(beta1, (float)t);
    float bc2_sqrt = sqrtf(1.0f - powf(beta2, (float)t));
    pgk_adamw(stream, p, g, m, v, n, lr, beta1, beta2, eps, wd, lr / bc1, bc2_sqrt);
}

static void cu_sgd_update(float *p, const float *g, float *buf, size_t n, float lr, float mu,
                          float wd)
{
    ctx();
    pgk_sgd(stream, p, g, buf, n, lr, mu, wd);
}

static double cu_sumsq(const float *x, size_t n)
{
    ctx();
    double part[PGK_SUMSQ_BLOCKS], acc = 0.0;
    pgk_sumsq_partials(stream, sumsq_part, x, n);
    PG_CUDA_CHECK(cudaMemcpyAsync(part, sumsq_part, sizeof part, cudaMemcpyDeviceToHost, stream));
    PG_CUDA_CHECK(cudaStreamSynchronize(stream));
    for (int i = 0; i < PGK_SUMSQ_BLOCKS; i++) acc += part[i];
    return acc;
}

static pg_ops make_table(void)
{
    pg_ops o = {};
    o.name = "cuda";
    o.alloc = cu_alloc;
    o.free = cu_free;
    o.zero = cu_zero;
    o.upload = cu_upload;
    o.download = cu_download;
    o.copy = cu_copy;
    o.sync = cu_sync;
    o.matmul_forward = cu_matmul_forward;
    o.matmul_backward_input = cu_matmul_backward_input;
    o.matmul_backward_weight = cu_matmul_backward_weight;
    o.relu_forward = cu_relu_forward;
    o.relu_backward = cu_relu_backward;
    o.gelu_forward = cu_gelu_forward;
    o.gelu_backward = cu_gelu_backward;
    o.add = cu_add;
    o.scale = cu_scale;
    o.layernorm_forward = cu_layernorm_forward;
    o.layernorm_backward_input = cu_layernorm_backward_input;
    o.layernorm_backward_weight = cu_layernorm_backward_weight;
    o.embedding_forward = cu_embedding_forward;
    o.embedding_backward_weight = cu_embedding_backward_weight;
    o.attention_forward = cu_attention_forward;
    o.attention_backward = cu_attention_backward;
    o.mse_forward = cu_mse_forward;
    o.mse_backward = cu_mse_backward;
    o.xent_forward = cu_xent_forward;
    o.xent_backward = cu_xent_backward;
    o.xent_fused = cu_xent_fused;
    o.adamw_update = cu_adamw_update;
    o.sgd_update = cu_sgd_update;
    o.sumsq = cu_sumsq;
    return o;
}

static const pg_ops cuda_ops = make_table();

extern "C" const pg_ops *pg_ops_cuda(void) { return &cuda_ops; }
