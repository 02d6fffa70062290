/* test_gpu_ops: every entry of the compute table (runtime/compute/ops.h) on the CUDA
 * backend against the CPU backend, on the same random inputs. Ops built on
 * matrix products (linear forward and both backward parts, attention) are
 * checked at every precision (fp32 1e-5, tf32 1e-3, bf16 2e-2 relative); the
 * other ops compute in fp32 whatever the precision and are checked at 1e-5,
 * with runtime.kernels=fused and =reference (split reductions and the sorted
 * embedding backward against the plain kernels); the fused classifier and the
 * sorted embedding backward must also equal their reference kernels bitwise.
 * Every op is also called with zero rows (an empty microbatch slice): it must
 * return without a launch error and leave every buffer as it was.
 * Exits 77 (skipped) without a GPU. */
#include "tests/gpu/gpu_common.h"

#include <math.h>
#include <string.h>

static const pg_ops *cpu, *gpu;
static unsigned seed = 12345;
static int prec;

/* device copy of a host tensor */
static void *dev(const void *h, size_t bytes)
{
    void *d = gpu->alloc(bytes);
    gpu->upload(d, h, bytes);
    return d;
}

static float *rnd(size_t n, float scale) { return pg_host_rand(n, scale, &seed); }

/* compare the device tensor d against the host reference h */
static void same(const char *what, const float *d, const float *h, size_t n, double tol)
{
    float *got = malloc(sizeof(float) * n);
    gpu->download(got, d, sizeof(float) * n);
    double rel = pg_rel_diff(got, h, n);
    printf("  %-34s %s  rel %.2e  (tol %.0e)\n", what, pg_precision_names[prec], rel, tol);
    CHECK_MSG(rel <= tol, "%s at %s: relative difference %.3g > %.3g", what,
              pg_precision_names[prec], rel, tol);
    free(got);
}

static void test_memory(void)
{
    size_t n = 1000;
    float *h = rnd(n, 1.0f), *back = calloc(n, sizeof(float));
    float *z = gpu->alloc(sizeof(float) * n), *a = dev(h, sizeof(float) * n);
    float *zeros = calloc(n, sizeof(float));
    same("alloc (zero-filled)", z, zeros, n, 0.0);
    gpu->copy(z, a, sizeof(float) * n);
    same("upload, copy, download", z, h, n, 0.0);
    gpu->zero(z, sizeof(float) * n);
    same("zero", z, zeros, n, 0.0);
    gpu->free(z), gpu->free(a), free(h), free(back), free(zeros);
}

static void test_matmul(double tol)
{
    int N = 64, C = 96, OC = 80;
    float *inp = rnd((size_t)N * C, 1.0f), *w = rnd((size_t)OC * C, 0.1f);
    float *bias = rnd(OC, 0.1f), *dout = rnd((size_t)N * OC, 1.0f);
    float *out = calloc((size_t)N * OC, 4), *dinp = rnd((size_t)N * C, 1.0f);
    float *dw = rnd((size_t)OC * C, 0.1f), *db = rnd(OC, 0.1f);
    float *d_inp = dev(inp, 4 * N * C), *d_w = dev(w, 4 * OC * C), *d_bias = dev(bias, 4 * OC);
    float *d_dout = dev(dout, 4 * N * OC), *d_out = gpu->alloc(4 * N * OC);
    float *d_dinp = dev(dinp, 4 * N * C), *d_dw = dev(dw, 4 * OC * C), *d_db = dev(db, 4 * OC);
    cpu->matmul_forward(out, inp, w, bias, N, C, OC);
    gpu->matmul_forward(d_out, d_inp, d_w, d_bias, N, C, OC);
    same("matmul_forward (bias)", d_out, out, (size_t)N * OC, tol);
    cpu->matmul_forward(out, inp, w, NULL, N, C, OC);
    gpu->matmul_forward(d_out, d_inp, d_w, NULL, N, C, OC);
    same("matmul_forward (no bias)", d_out, out, (size_t)N * OC, tol);
    cpu->matmul_backward_input(dinp, dout, w, N, C, OC, 1.0f);
    gpu->matmul_backward_input(d_dinp, d_dout, d_w, N, C, OC, 1.0f);
    same("matmul_backward_input (beta 1)", d_dinp, dinp, (size_t)N * C, tol);
    cpu->matmul_backward_input(dinp, dout, w, N, C, OC, 0.0f);
    gpu->matmul_backward_input(d_dinp, d_dout, d_w, N, C, OC, 0.0f);
    same("matmul_backward_input (beta 0)", d_dinp, dinp, (size_t)N * C, tol);
    cpu->matmul_backward_weight(dw, db, dout, inp, N, C, OC);
    gpu->matmul_backward_weight(d_dw, d_db, d_dout, d_inp, N, C, OC);
    same("matmul_backward_weight dw (+=)", d_dw, dw, (size_t)OC * C, tol);
    same("matmul_backward_weight dbias (+=)", d_db, db, OC, 1e-5);
    float *ptrs[] = {inp, w, bias, dout, out, dinp, dw, db};
    float *dptrs[] = {d_inp, d_w, d_bias, d_dout, d_out, d_dinp, d_dw, d_db};
    for (int i = 0; i < 8; i++) free(ptrs[i]), gpu->free(dptrs[i]);
}

static void test_attention(double tol)
{
    int B = 2, T = 16, C = 32, NH = 4;
    size_t nqkv = (size_t)B * T * 3 * C, nout = (size_t)B * T * C, natt = (size_t)B * NH * T * T;
    /* the CPU keeps its own state (ops.h: attention_saved_floats), the GPU the T x T
     * probabilities: each backward runs from its own forward, the outputs are compared */
    size_t catt = cpu->attention_saved_floats(B, T, NH);
    size_t cscr = cpu->attention_scratch_floats(B, T, NH);
    float *qkv = rnd(nqkv, 1.0f), *dout = rnd(nout, 1.0f);
    float *out = calloc(nout, 4), *att = calloc(catt, 4), *datt = calloc(cscr, 4);
    float *dqkv = calloc(nqkv, 4);
    float *d_qkv = dev(qkv, 4 * nqkv), *d_dout = dev(dout, 4 * nout), *d_out = gpu->alloc(4 * nout);
    float *d_att = gpu->alloc(4 * natt), *d_datt = gpu->alloc(4 * natt);
    float *d_dqkv = gpu->alloc(4 * nqkv);
    cpu->attention_forward(out, att, qkv, B, T, C, NH);
    gpu->attention_forward(d_out, d_att, d_qkv, B, T, C, NH);
    same("attention_forward out", d_out, out, nout, tol);
    cpu->attention_backward(dqkv, datt, dout, qkv, att, B, T, C, NH);
    gpu->attention_backward(d_dqkv, d_datt, d_dout, d_qkv, d_att, B, T, C, NH);
    same("attention_backward dqkv", d_dqkv, dqkv, nqkv, tol);
    float *ptrs[] = {qkv, dout, out, att, datt, dqkv};
    float *dptrs[] = {d_qkv, d_dout, d_out, d_att, d_datt, d_dqkv};
    for (int i = 0; i < 6; i++) free(ptrs[i]), gpu->free(dptrs[i]);
}

static void test_elementwise(void)
{
    size_t n = 3000;
    float *x = rnd(n, 3.0f), *d = rnd(n, 1.0f), *y = rnd(n, 1.0f), *acc = rnd(n, 1.0f);
    float *out = calloc(n, 4);
    float *dx = dev(x, 4 * n), *dd = dev(d, 4 * n), *dy = dev(y, 4 * n), *dacc = dev(acc, 4 * n);
    float *dout = gpu->alloc(4 * n);
    cpu->relu_forward(out, x, n), gpu->relu_forward(dout, dx, n);
    same("relu_forward", dout, out, n, 1e-5);
    cpu->relu_backward(acc, x, d, n, 1.0f), gpu->relu_backward(dacc, dx, dd, n, 1.0f);
    same("relu_backward (beta 1)", dacc, acc, n, 1e-5);
    cpu->gelu_forward(out, x, n), gpu->gelu_forward(dout, dx, n);
    same("gelu_forward", dout, out, n, 1e-5);
    cpu->gelu_backward(acc, x, d, n, 0.0f), gpu->gelu_backward(dacc, dx, dd, n, 0.0f);
    same("gelu_backward (beta 0)", dacc, acc, n, 1e-5);
    cpu->gelu_backward(acc, x, d, n, 1.0f), gpu->gelu_backward(dacc, dx, dd, n, 1.0f);
    same("gelu_backward (beta 1)", dacc, acc, n, 1e-5);
    cpu->add(out, x, y, n), gpu->add(dout, dx, dy, n);
    same("add (residual)", dout, out, n, 1e-5);
    cpu->scale(y, 0.37f, n), gpu->scale(dy, 0.37f, n);
    same("scale", dy, y, n, 1e-5);
    float *ptrs[] = {x, d, y, acc, out};
    float *dptrs[] = {dx, dd, dy, dacc, dout};
    for (int i = 0; i < 5; i++) free(ptrs[i]), gpu->free(dptrs[i]);
}

static void test_layernorm(void)
{
    int N = 50, C = 200;
    size_t nc = (size_t)N * C;
    float *x = rnd(nc, 2.0f), *w = rnd(C, 1.0f), *b = rnd(C, 0.5f), *d = rnd(nc, 1.0f);
    float *out = calloc(nc, 4), *mean = calloc(N, 4), *rstd = calloc(N, 4);
    float *dx = rnd(nc, 1.0f), *dw = rnd(C, 1.0f), *db = rnd(C, 1.0f);
    float *g_x = dev(x, 4 * nc), *g_w = dev(w, 4 * C), *g_b = dev(b, 4 * C), *g_d = dev(d, 4 * nc);
    float *g_out = gpu->alloc(4 * nc), *g_mean = gpu->alloc(4 * N), *g_rstd = gpu->alloc(4 * N);
    float *g_dx = dev(dx, 4 * nc), *g_dw = dev(dw, 4 * C), *g_db = dev(db, 4 * C);
    cpu->layernorm_forward(out, mean, rstd, x, w, b, N, C);
    gpu->layernorm_forward(g_out, g_mean, g_rstd, g_x, g_w, g_b, N, C);
    same("layernorm_forward out", g_out, out, nc, 1e-5);
    same("layernorm_forward mean", g_mean, mean, N, 1e-5);
    same("layernorm_forward rstd", g_rstd, rstd, N, 1e-5);
    gpu->upload(g_mean, mean, 4 * N), gpu->upload(g_rstd, rstd, 4 * N);
    cpu->layernorm_backward_input(dx, d, x, w, mean, rstd, N, C, 1.0f);
    gpu->layernorm_backward_input(g_dx, g_d, g_x, g_w, g_mean, g_rstd, N, C, 1.0f);
    same("layernorm_backward_input (beta 1)", g_dx, dx, nc, 1e-5);
    cpu->layernorm_backward_weight(dw, db, d, x, mean, rstd, N, C);
    gpu->layernorm_backward_weight(g_dw, g_db, g_d, g_x, g_mean, g_rstd, N, C);
    same("layernorm_backward_weight dw (+=)", g_dw, dw, C, 1e-5);
    same("layernorm_backward_weight db (+=)", g_db, db, C, 1e-5);
    float *ptrs[] = {x, w, b, d, out, mean, rstd, dx, dw, db};
    float *dptrs[] = {g_x, g_w, g_b, g_d, g_out, g_mean, g_rstd, g_dx, g_dw, g_db};
    for (int i = 0; i < 10; i++) free(ptrs[i]), gpu->free(dptrs[i]);
}

static void test_embedding(void)
{
    int B = 3, T = 10, C = 24, V = 7; /* few tokens: rows share embeddings */
    int tokens[30];
    for (int i = 0; i < B * T; i++) tokens[i] = (i * 5 + i / 3) % V;
    size_t nout = (size_t)B * T * C;
    float *wte = rnd((size_t)V * C, 1.0f), *wpe = rnd((size_t)T * C, 1.0f), *d = rnd(nout, 1.0f);
    float *out = calloc(nout, 4), *dwte = rnd((size_t)V * C, 1.0f), *dwpe = rnd((size_t)T * C, 1.0f);
    int *g_tok = dev(tokens, sizeof tokens);
    float *g_wte = dev(wte, 4 * V * C), *g_wpe = dev(wpe, 4 * T * C), *g_d = dev(d, 4 * nout);
    float *g_out = gpu->alloc(4 * nout), *g_dwte = dev(dwte, 4 * V * C);
    float *g_dwpe = dev(dwpe, 4 * T * C);
    cpu->embedding_forward(out, tokens, wte, wpe, B, T, C);
    gpu->embedding_forward(g_out, g_tok, g_wte, g_wpe, B, T, C);
    same("embedding_forward", g_out, out, nout, 1e-5);
    cpu->embedding_backward_weight(dwte, dwpe, d, tokens, B, T, C);
    gpu->embedding_backward_weight(g_dwte, g_dwpe, g_d, g_tok, B, T, C);
    same("embedding_backward_weight dwte (+=)", g_dwte, dwte, (size_t)V * C, 1e-5);
    same("embedding_backward_weight dwpe (+=)", g_dwpe, dwpe, (size_t)T * C, 1e-5);
    cpu->embedding_backward_weight(NULL, dwpe, d, tokens, B, T, C);
    gpu->embedding_backward_weight(NULL, g_dwpe, g_d, g_tok, B, T, C);
    same("embedding_backward_weight (no dwte)", g_dwpe, dwpe, (size_t)T * C, 1e-5);
    float *ptrs[] = {wte, wpe, d, out, dwte, dwpe};
    float *dptrs[] = {g_wte, g_wpe, g_d, g_out, g_dwte, g_dwpe};
    for (int i = 0; i < 6; i++) free(ptrs[i]), gpu->free(dptrs[i]);
    gpu->free(g_tok);
}

/* A long batch with few distinct tokens: many blocks sort and sum, and each
 * dwte row gathers hundreds of rows; fused must equal reference bitwise. */
static void test_embedding_sorted(void)
{
    int B = 8, T = 512, C = 96, V = 50, N = B * T;
    int *tokens = malloc(sizeof(int) * N);
    for (int i = 0; i < N; i++) tokens[i] = (i * 7919 + i / 5) % V;
    size_t nout = (size_t)N * C;
    float *d = rnd(nout, 1.0f), *dwte = rnd((size_t)V * C, 1.0f), *dwpe = rnd((size_t)T * C, 1.0f);
    float *ref = malloc(4 * (size_t)V * C);
    int *g_tok = dev(tokens, sizeof(int) * N);
    float *g_d = dev(d, 4 * nout), *g_dwpe = dev(dwpe, 4 * T * C);
    float *g_a = dev(dwte, 4 * V * C), *g_b = dev(dwte, 4 * V * C);
    pg_device_kernels(gpu, 0);
    gpu->embedding_backward_weight(g_a, g_dwpe, g_d, g_tok, B, T, C);
    pg_device_kernels(gpu, 1);
    gpu->embedding_backward_weight(g_b, g_dwpe, g_d, g_tok, B, T, C);
    gpu->download(ref, g_a, 4 * (size_t)V * C);
    same("embedding dwte sorted = reference", g_b, ref, (size_t)V * C, 0.0);
    cpu->embedding_backward_weight(dwte, dwpe, d, tokens, B, T, C);
    same("embedding dwte sorted vs cpu", g_b, dwte, (size_t)V * C, 1e-5);
    free(tokens), free(d), free(dwte), free(dwpe), free(ref);
    gpu->free(g_tok), gpu->free(g_d), gpu->free(g_dwpe), gpu->free(g_a), gpu->free(g_b);
}

static void test_losses(void)
{
    int N = 40, D = 6, V = 1000; /* V > one block of threads */
    int labels[40];
    for (int i = 0; i < N; i++) labels[i] = (i * 97) % V;
    float *out = rnd((size_t)N * D, 1.0f), *tgt = rnd((size_t)N * D, 1.0f);
    float *logits = rnd((size_t)N * V, 4.0f), *losses = calloc(N, 4);
    float *probs = calloc((size_t)N * V, 4), *dl = calloc((size_t)N * V, 4);
    float *g_out = dev(out, 4 * N * D), *g_tgt = dev(tgt, 4 * N * D);
    float *g_logits = dev(logits, 4 * N * V), *g_losses = gpu->alloc(4 * N);
    float *g_probs = gpu->alloc(4 * N * V), *g_dl = gpu->alloc(4 * N * V);
    int *g_labels = dev(labels, sizeof labels);
    cpu->mse_forward(losses, out, tgt, N, D), gpu->mse_forward(g_losses, g_out, g_tgt, N, D);
    same("mse_forward", g_losses, losses, N, 1e-5);
    cpu->mse_backward(dl, out, tgt, 0.25f, N, D);
    gpu->mse_backward(g_dl, g_out, g_tgt, 0.25f, N, D);
    same("mse_backward", g_dl, dl, (size_t)N * D, 1e-5);
    cpu->xent_forward(losses, probs, logits, labels, N, V);
    gpu->xent_forward(g_losses, g_probs, g_logits, g_labels, N, V);
    same("xent_forward losses", g_losses, losses, N, 1e-5);
    same("xent_forward probs", g_probs, probs, (size_t)N * V, 1e-5);
    gpu->upload(g_probs, probs, 4 * N * V);
    cpu->xent_backward(dl, probs, labels, 0.5f, N, V);
    gpu->xent_backward(g_dl, g_probs, g_labels, 0.5f, N, V);
    same("xent_backward", g_dl, dl, (size_t)N * V, 1e-5);
    /* the fused classifier: against the CPU's, and bitwise the GPU's pair */
    float *fused = malloc(sizeof(float) * N * V);
    memcpy(fused, logits, sizeof(float) * N * V);
    cpu->xent_fused(losses, fused, labels, 0.5f, N, V);
    float *g_fused = dev(logits, 4 * N * V);
    gpu->xent_fused(g_losses, g_fused, g_labels, 0.5f, N, V);
    same("xent_fused losses", g_losses, losses, N, 1e-5);
    same("xent_fused dlogits (in place)", g_fused, fused, (size_t)N * V, 1e-5);
    gpu->xent_forward(g_losses, g_probs, g_logits, g_labels, N, V);
    gpu->xent_backward(g_dl, g_probs, g_labels, 0.5f, N, V);
    gpu->download(dl, g_dl, 4 * N * V);
    same("xent_fused = xent_forward+backward", g_fused, dl, (size_t)N * V, 0.0);
    free(fused), gpu->free(g_fused);
    float *ptrs[] = {out, tgt, logits, losses, probs, dl};
    float *dptrs[] = {g_out, g_tgt, g_logits, g_losses, g_probs, g_dl};
    for (int i = 0; i < 6; i++) free(ptrs[i]), gpu->free(dptrs[i]);
    gpu->free(g_labels);
}

static void test_optimizer(void)
{
    size_t n = 5000;
    float *p = rnd(n, 1.0f), *g = rnd(n, 0.1f), *m = rnd(n, 0.01f), *v = rnd(n, 0.01f);
    for (size_t i = 0; i < n; i++) v[i] = fabsf(v[i]);
    float *g_p = dev(p, 4 * n), *g_g = dev(g, 4 * n), *g_m = dev(m, 4 * n), *g_v = dev(v, 4 * n);
    for (int t = 1; t <= 3; t++) {
        cpu->adamw_update(p, g, m, v, n, 1e-3f, 0.9f, 0.95f, 1e-8f, 0.1f, t);
        gpu->adamw_update(g_p, g_g, g_m, g_v, n, 1e-3f, 0.9f, 0.95f, 1e-8f, 0.1f, t);
    }
    same("adamw_update p (3 steps)", g_p, p, n, 1e-5);
    same("adamw_update m", g_m, m, n, 1e-5);
    same("adamw_update v", g_v, v, n, 1e-5);
    cpu->sgd_update(p, g, m, n, 0.05f, 0.9f, 0.01f);
    gpu->sgd_update(g_p, g_g, g_m, n, 0.05f, 0.9f, 0.01f);
    same("sgd_update p", g_p, p, n, 1e-5);
    same("sgd_update momentum", g_m, m, n, 1e-5);
    double a = cpu->sumsq(g, n), b = gpu->sumsq(g_g, n);
    printf("  %-34s fp32  rel %.2e  (tol 1e-12)\n", "sumsq (gradient norm)", fabs(a - b) / a);
    CHECK_MSG(fabs(a - b) <= 1e-12 * a, "sumsq: cpu %.17g cuda %.17g", a, b);
    float *ptrs[] = {p, g, m, v};
    float *dptrs[] = {g_p, g_g, g_m, g_v};
    for (int i = 0; i < 4; i++) free(ptrs[i]), gpu->free(dptrs[i]);
}

/* every op with zero rows (N = 0, B = 0, n = 0): no launch error (a zero-block
 * grid is one), and no buffer touched */
static void test_zero_rows(void)
{
    const size_t n = 4096;
    float *h = rnd(n, 1.0f), *back = malloc(sizeof(float) * n);
    float *a = dev(h, 4 * n), *b = dev(h, 4 * n), *c = dev(h, 4 * n), *d = dev(h, 4 * n);
    float *e = dev(h, 4 * n), *f = dev(h, 4 * n);
    int zeros[64] = {0};
    int *tok = dev(zeros, sizeof zeros);
    const int C = 16, OC = 8, V = 32, T = 4, NH = 2;
    gpu->matmul_forward(a, b, c, d, 0, C, OC);
    gpu->matmul_forward(a, b, c, NULL, 0, C, OC);
    gpu->matmul_backward_input(a, b, c, 0, C, OC, 1.0f);
    gpu->matmul_backward_weight(a, b, c, d, 0, C, OC); /* dw += nothing */
    gpu->relu_forward(a, b, 0), gpu->relu_backward(a, b, c, 0, 1.0f);
    gpu->gelu_forward(a, b, 0), gpu->gelu_backward(a, b, c, 0, 0.0f);
    gpu->add(a, b, c, 0), gpu->scale(a, 2.0f, 0);
    gpu->layernorm_forward(a, b, c, d, e, f, 0, C);
    gpu->layernorm_backward_input(a, b, c, d, e, f, 0, C, 1.0f);
    gpu->layernorm_backward_weight(a, b, c, d, e, f, 0, C);
    gpu->embedding_forward(a, tok, b, c, 0, T, C);
    gpu->embedding_backward_weight(a, b, c, tok, 0, T, C);
    gpu->attention_forward(a, b, c, 0, T, C, NH);
    gpu->attention_backward(a, b, c, d, e, 0, T, C, NH);
    gpu->mse_forward(a, b, c, 0, 4), gpu->mse_backward(a, b, c, 1.0f, 0, 4);
    gpu->xent_forward(a, b, c, tok, 0, V), gpu->xent_backward(a, b, tok, 1.0f, 0, V);
    gpu->xent_fused(a, b, tok, 1.0f, 0, V);
    gpu->adamw_update(a, b, c, d, 0, 1e-3f, 0.9f, 0.95f, 1e-8f, 0.1f, 1);
    gpu->sgd_update(a, b, c, 0, 0.1f, 0.9f, 0.0f);
    double ss = gpu->sumsq(a, 0);
    gpu->sync();
    float *bufs[] = {a, b, c, d, e, f};
    int same_all = 1;
    for (int i = 0; i < 6; i++) {
        gpu->download(back, bufs[i], 4 * n);
        same_all &= !memcmp(back, h, 4 * n);
    }
    printf("  %-34s %s\n", "every op with zero rows", same_all && ss == 0.0 ? "ok" : "CHANGED A BUFFER");
    CHECK_MSG(same_all, "an op with zero rows wrote to a buffer");
    CHECK_MSG(ss == 0.0, "sumsq of nothing: %g", ss);
    for (int i = 0; i < 6; i++) gpu->free(bufs[i]);
    gpu->free(tok), free(h), free(back);
}

int main(void)
{
    gpu = pg_gpu_or_skip("test_gpu_ops");
    cpu = pg_ops_cpu();
    const char *note;
    for (prec = 0; prec < 3; prec++) {
        pg_device_precision(gpu, (pg_precision)prec, &note);
        printf("precision %s:\n", pg_precision_names[prec]);
        test_matmul(pg_prec_tol[prec]);
        test_attention(pg_prec_tol[prec]);
    }
    pg_device_precision(gpu, PG_PREC_FP32, &note);
    prec = 0;
    printf("fp32 ops (computed in fp32 at every precision):\n");
    test_memory();
    test_elementwise();
    for (int fused = 1; fused >= 0; fused--) {
        pg_device_kernels(gpu, fused);
        printf("runtime.kernels=%s:\n", fused ? "fused" : "reference");
        test_matmul(pg_prec_tol[0]); /* the bias gradient's column sums */
        test_layernorm();
        test_embedding();
    }
    test_embedding_sorted();
    test_losses();
    test_optimizer();
    test_zero_rows();
    return pg_test_summary("test_gpu_ops");
}
