/* kernels.h: the CUDA backend's own kernels (kernels.cu), one launcher per
 * operation, each queued on `s` (a cudaStream_t). Contracts, shapes and the
 * formulas are those of the matching entry of runtime/compute/ops.h; the order of
 * every reduction is fixed, so results are deterministic run to run. */
#ifndef PG_CUDA_KERNELS_H
#define PG_CUDA_KERNELS_H

#include <cuda_runtime_api.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* out (N,OC) = bias (OC) on every row */
void pgk_bias_fill(cudaStream_t s, float *out, const float *bias, int N, int OC);
/* dst (C) += column sums of src (N,C) */
void pgk_colsum_add(cudaStream_t s, float *dst, const float *src, int N, int C);

/* Scratch bytes the split reductions need for N rows of C columns. */
size_t pgk_split_bytes(int N, int C);
/* pgk_colsum_add with a block per (32 columns, row chunk) and a second pass
 * adding the chunks in order; scratch >= pgk_split_bytes(N, C) bytes */
void pgk_colsum_add_split(cudaStream_t s, float *scratch, float *dst, const float *src, int N,
                          int C);

void pgk_relu_forward(cudaStream_t s, float *out, const float *inp, size_t n);
void pgk_relu_backward(cudaStream_t s, float *dinp, const float *inp, const float *dout, size_t n,
                       float beta);
void pgk_gelu_forward(cudaStream_t s, float *out, const float *inp, size_t n);
void pgk_gelu_backward(cudaStream_t s, float *dinp, const float *inp, const float *dout, size_t n,
                       float beta);
void pgk_add(cudaStream_t s, float *out, const float *a, const float *b, size_t n);
void pgk_scale(cudaStream_t s, float *x, float k, size_t n);

void pgk_layernorm_forward(cudaStream_t s, float *out, float *mean, float *rstd, const float *inp,
                           const float *w, const float *b, int N, int C);
void pgk_layernorm_backward_input(cudaStream_t s, float *dinp, const float *dout,
                                  const float *inp, const float *w, const float *mean,
                                  const float *rstd, int N, int C, float beta);
void pgk_layernorm_backward_weight(cudaStream_t s, float *dw, float *db, const float *dout,
                                   const float *inp, const float *mean, const float *rstd, int N,
                                   int C);

/* pgk_layernorm_backward_weight, split as pgk_colsum_add_split */
void pgk_layernorm_backward_weight_split(cudaStream_t s, float *scratch, float *dw, float *db,
                                         const float *dout, const float *inp, const float *mean,
                                         const float *rstd, int N, int C);

void pgk_embedding_forward(cudaStream_t s, float *out, const int *tokens, const float *wte,
                           const float *wpe, int B, int T, int C);
void pgk_embedding_backward_weight(cudaStream_t s, float *dwte, float *dwpe, const float *dout,
                                   const int *tokens, int B, int T, int C);
/* Scratch bytes of the sorted embedding backward for N = B*T rows. */
size_t pgk_embedding_sort_bytes(int N);
/* pgk_embedding_backward_weight with the rows sorted by token on the device
 * (stable radix sort) and a block per distinct token: bitwise its results;
 * scratch >= pgk_embedding_sort_bytes(B*T) bytes */
void pgk_embedding_backward_sorted(cudaStream_t s, void *scratch, float *dwte, float *dwpe,
                                   const float *dout, const int *tokens, int B, int T, int C);

/* rows (R,T) of scores already scaled; row r is position t = r % T of its
 * (sample, head): softmax over s <= t, zeros for s > t, in place */
void pgk_causal_softmax(cudaStream_t s, float *att, int R, int T);
/* in place on datt (R,T): datt = scale * att * (datt - sum_s att*datt), 0 for s > t */
void pgk_causal_softmax_backward(cudaStream_t s, float *datt, const float *att, int R, int T,
                                 float scale);

void pgk_mse_forward(cudaStream_t s, float *losses, const float *out, const float *target, int N,
                     int D);
void pgk_mse_backward(cudaStream_t s, float *dout, const float *out, const float *target,
                      float scale, int N, int D);
void pgk_xent_forward(cudaStream_t s, float *losses, float *probs, const float *logits,
                      const int *labels, int N, int V);
void pgk_xent_backward(cudaStream_t s, float *dlogits, const float *probs, const int *labels,
                       float scale, int N, int V);
/* losses (N) and dlogits in place of logits (N,V): ops.h xent_fused */
void pgk_xent_fused(cudaStream_t s, float *losses, float *logits, const int *labels, float scale,
                    int N, int V);

/* step = lr / (1 - beta1^t), bc2_sqrt = sqrt(1 - beta2^t), computed by the caller */
void pgk_adamw(cudaStream_t s, float *p, const float *g, float *m, float *v, size_t n, float lr,
               float beta1, float beta2, float eps, float wd, float step, float bc2_sqrt);
void pgk_sgd(cudaStream_t s, float *p, const float *g, float *buf, size_t n, float lr, float mu,
             float wd);
/* partial sums of squares of x into part[0..PGK_SUMSQ_BLOCKS) (device, double) */
#define PGK_SUMSQ_BLOCKS 256
void pgk_sumsq_partials(cudaStream_t s, double *part, const float *x, size_t n);

#ifdef __cplusplus
}
#endif

#endif
