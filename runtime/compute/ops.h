/* ops.h: the compute interface. A backend (CPU BLAS, CUDA) is a table of
 * these functions; layers, the optimizer and the engine call only through it,
 * so the same model code runs on every backend that was built.
 *
 * Conventions (as in llm.c):
 * - all tensors are float32, row-major, contiguous, in the backend's memory
 *   (host memory for CPU, device memory for CUDA); shapes are given in the
 *   comment of each entry, N = rows (microbatch samples x positions);
 * - a Linear weight is stored (OC, C) as in PyTorch: out = inp @ w^T + bias;
 * - functions named *_backward_weight accumulate (+=) into their gradient
 *   outputs, so gradient accumulation over microbatches is free;
 * - functions named *_backward_input write their result (=) unless they take
 *   a `beta` argument: beta = 1 adds into the destination instead.
 * Calls are asynchronous on backends that have streams: results are ready
 * after sync(), or when a later call on the same backend reads them. */
#ifndef PG_OPS_H
#define PG_OPS_H

#include "runtime/config/config.h"

#include <stddef.h>

typedef struct pg_ops {
    const char *name; /* "cpu", "cuda" */

    /* ---- memory ---- */
    void *(*alloc)(size_t bytes); /* zero-filled; NULL on failure */
    void (*free)(void *p);
    void (*zero)(void *p, size_t bytes);
    void (*upload)(void *dst, const void *host_src, size_t bytes);
    void (*download)(void *host_dst, const void *src, size_t bytes);
    void (*copy)(void *dst, const void *src, size_t bytes);
    void (*sync)(void);

    /* ---- dense layers ---- */
    /* out (N,OC) = inp (N,C) @ w (OC,C)^T + bias (OC); bias may be NULL */
    void (*matmul_forward)(float *out, const float *inp, const float *w, const float *bias,
                           int N, int C, int OC);
    /* dinp (N,C) = beta*dinp + dout (N,OC) @ w (OC,C) */
    void (*matmul_backward_input)(float *dinp, const float *dout, const float *w, int N, int C,
                                  int OC, float beta);
    /* dw (OC,C) += dout^T @ inp; dbias (OC) += column sums of dout (dbias may be NULL) */
    void (*matmul_backward_weight)(float *dw, float *dbias, const float *dout, const float *inp,
                                   int N, int C, int OC);

    /* ---- elementwise (n elements) ---- */
    void (*relu_forward)(float *out, const float *inp, size_t n);
    /* dinp = beta*dinp + dout * (inp > 0) */
    void (*relu_backward)(float *dinp, const float *inp, const float *dout, size_t n, float beta);
    /* GELU, tanh approximation (GPT-2) */
    void (*gelu_forward)(float *out, const float *inp, size_t n);
    void (*gelu_backward)(float *dinp, const float *inp, const float *dout, size_t n, float beta);
    /* out = a + b */
    void (*add)(float *out, const float *a, const float *b, size_t n);
    /* x *= s */
    void (*scale)(float *x, float s, size_t n);

    /* ---- LayerNorm over the last dim C (eps = 1e-5) ---- */
    /* out (N,C); mean, rstd (N) saved for backward; w, b (C) */
    void (*layernorm_forward)(float *out, float *mean, float *rstd, const float *inp,
                              const float *w, const float *b, int N, int C);
    /* dinp (N,C) = beta*dinp + dL/dinp */
    void (*layernorm_backward_input)(float *dinp, const float *dout, const float *inp,
                                     const float *w, const float *mean, const float *rstd,
                                     int N, int C, float beta);
    /* dw, db (C) += */
    void (*layernorm_backward_weight)(float *dw, float *db, const float *dout, const float *inp,
                                      const float *mean, const float *rstd, int N, int C);

    /* ---- GPT: token + position embedding, causal self-attention ---- */
    /* out (B,T,C) = wte[tokens[b,t]] (V,C) + wpe[t] (maxT,C); tokens (B,T) in [0, V) */
    void (*embedding_forward)(float *out, const int *tokens, const float *wte, const float *wpe,
                              int B, int T, int C);
    /* dwte (V,C) += dout rows scattered by token; dwpe (maxT,C) += dout summed over B.
     * dwte may be NULL (skip); the order of accumulation is fixed (deterministic). */
    void (*embedding_backward_weight)(float *dwte, float *dwpe, const float *dout,
                                      const int *tokens, int B, int T, int C);
    /* Causal multi-head attention over qkv (B,T,3C) = [q | k | v] per row, NH heads of
     * hs = C/NH: out (B,T,C) = softmax(q k^T / sqrt(hs), s <= t) @ v, heads side by side.
     * att holds attention_saved_floats(B,T,NH) floats: what the forward keeps for the
     * backward (backend-defined: the CPU keeps each row's log-sum-exp, the CUDA backend
     * the (B,NH,T,T) probabilities). NULL size entries mean B*NH*T*T. */
    void (*attention_forward)(float *out, float *att, const float *qkv, int B, int T, int C,
                              int NH);
    /* dqkv (B,T,3C) = dL/dqkv (written, =) from dout (B,T,C), qkv and att of the forward;
     * scratch holds attention_scratch_floats(B,T,NH) floats of working memory. Attention
     * has no weights: there is no weight part. */
    void (*attention_backward)(float *dqkv, float *scratch, const float *dout, const float *qkv,
                               const float *att, int B, int T, int C, int NH);
    size_t (*attention_saved_floats)(int B, int T, int NH);
    size_t (*attention_scratch_floats)(int B, int T, int NH);

    /* ---- losses; per-row losses (N) are written, the caller sums them ---- */
    /* losses[i] = mean_d (out[i,d] - target[i,d])^2 over D */
    void (*mse_forward)(float *losses, const float *out, const float *target, int N, int D);
    /* dout (N,D) = scale * 2 (out - target) / D */
    void (*mse_backward)(float *dout, const float *out, const float *target, float scale, int N,
                         int D);
    /* probs (N,V) = softmax(logits); losses[i] = -log probs[i, labels[i]] */
    void (*xent_forward)(float *losses, float *probs, const float *logits, const int *labels,
                         int N, int V);
    /* dlogits (N,V) = scale * (probs - onehot(labels)) */
    void (*xent_backward)(float *dlogits, const float *probs, const int *labels, float scale,
                          int N, int V);
    /* The fused classifier: losses as xent_forward, and logits (N,V) overwritten in
     * place, row by row, with dlogits = scale * (softmax(logits) - onehot(labels)):
     * no (N,V) probability buffer. Same arithmetic as xent_forward + xent_backward,
     * so the results are bitwise those of the pair. */
    void (*xent_fused)(float *losses, float *logits, const int *labels, float scale, int N,
                       int V);

    /* ---- optimizer and reductions over n elements ---- */
    /* AdamW (decoupled weight decay), bias-corrected for step t >= 1 */
    void (*adamw_update)(float *p, const float *g, float *m, float *v, size_t n, float lr,
                         float beta1, float beta2, float eps, float wd, int t);
    /* SGD with momentum: buf = mu*buf + g + wd*p; p -= lr*buf */
    void (*sgd_update)(float *p, const float *g, float *buf, size_t n, float lr, float mu,
                       float wd);
    /* sum of squares, accumulated in double; NaN/Inf propagate. Synchronous. */
    double (*sumsq)(const float *x, size_t n);
} pg_ops;

/* The CPU backend (always built). */
const pg_ops *pg_ops_cpu(void);

/* The backend for runtime.device (config.h); NULL with an error message when
 * it is not available. *note gets a one-line remark for auto when it falls
 * back to the CPU (or NULL). */
const pg_ops *pg_ops_select(pg_device_kind device, const char **note);

#endif
