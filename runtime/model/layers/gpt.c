/* gpt.c: the layers of a GPT-2 style decoder (model.type = gpt).
 *
 *   embed:VOCAB,CTX,WIDTH[,untied]  x = wte[token] + wpe[position]   tokens (B,T) -> (B,T,C)
 *   block:HEADS,DEPTH               pre-LN transformer block          (B,T,C) -> (B,T,C)
 *       x1 = x + proj(attn(qkv(ln1(x))))      causal multi-head self-attention
 *       y  = x1 + fcproj(gelu(fc(ln2(x1))))    MLP, 4C wide inside
 *   lmhead:VOCAB[,untied]           logits = x @ W^T (no bias)        (B,T,C) -> (B,T,V)
 *
 * (the final LayerNorm is the plain `layernorm` layer, the loss `xent`). No
 * dropout. With tied embeddings (the GPT-2 default) the head's W and the
 * embedding's wte are two copies of one tensor: both are marked `tied`, start
 * from the same random stream, and the engine sums their gradients every step
 * (tied.c), so the copies stay bitwise equal. GPT-2 initialisation: N(0, 0.02)
 * matrices, N(0, 0.01) positions, residual projections N(0, 0.02/sqrt(2*DEPTH)).
 *
 * Every layer splits its backward into the input gradient (backward_input,
 * which keeps the intermediate gradients in gsaved) and the weight gradient
 * (backward_weight), as the zero-bubble schedules need. */
#include "runtime/model/layers/layer.h"

#include "runtime/base/error.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GPT_STD 0.02f

/* ---- embed ---- */

enum { E_WTE, E_WPE };

static int embed_configure(pg_layer *l, const char *args)
{
    int V = 0, T = 0, C = 0, n = 0;
    char flag[16] = "";
    int got = sscanf(args, "%d,%d,%d%n,%15s", &V, &T, &C, &n, flag);
    int untied = got == 4 && !strcmp(flag, "untied");
    if (got < 3 || (got == 3 && args[n]) || (got == 4 && !untied) || V < 1 || T < 1 || C < 1 ||
        V > (1 << 24) || T > (1 << 20) || C > (1 << 16))
        return pg_error(PG_EINVAL,
                        "layer %d: embed needs 'embed:VOCAB,CTX,WIDTH[,untied]', got 'embed:%s'",
                        l->index, args);
    if (l->in_width != 0)
        return pg_error(PG_EINVAL, "layer %d: embed must be the first layer of a gpt model",
                        l->index);
    l->out_width = C;
    l->arg.embed.vocab = V;
    l->arg.embed.ctx = T;
    pg_param *wte = pg_layer_add_param(l, "wte", V, C, PG_INIT_NORMAL, GPT_STD, 1);
    pg_layer_add_param(l, "wpe", T, C, PG_INIT_NORMAL, 0.01f, 1);
    wte->tied = !untied;
    l->glue = 1; /* partition: with the first block */
    return 0;
}

static void embed_forward(const pg_layer *l, const pg_ops *o, const pg_mb *mb, const float *in,
                          float *out, float *saved)
{
    (void)in, (void)saved;
    // tokens (B,T) -> out (B,T,C)
    o->embedding_forward(out, mb->tokens, l->params[E_WTE].w, l->params[E_WPE].w, mb->shape.B,
                         mb->shape.T, l->out_width);
}

static void embed_backward_input(const pg_layer *l, const pg_ops *o, const pg_mb *mb,
                                 const float *in, const float *saved, const float *dout,
                                 float *din, float *gsaved)
{
    (void)l, (void)o, (void)mb, (void)in, (void)saved, (void)dout, (void)din, (void)gsaved;
    /* token ids have no gradient */
}

static void embed_backward_weight(const pg_layer *l, const pg_ops *o, const pg_mb *mb,
                                  const float *in, const float *saved, const float *dout,
                                  const float *gsaved)
{
    (void)in, (void)saved, (void)gsaved;
    o->embedding_backward_weight(l->params[E_WTE].g, l->params[E_WPE].g, dout, mb->tokens,
                                 mb->shape.B, mb->shape.T, l->out_width);
}

static double embed_flops(const pg_layer *l, pg_shape s)
{
    return (double)pg_rows(s) * l->out_width;
}

/* ---- block ---- */

enum { LN1_W, LN1_B, QKV_W, QKV_B, PROJ_W, PROJ_B, LN2_W, LN2_B, FC_W, FC_B, FCP_W, FCP_B };

static int block_configure(pg_layer *l, const char *args)
{
    int NH = 0, depth = 0, n = 0;
    int C = l->in_width;
    if (sscanf(args, "%d,%d%n", &NH, &depth, &n) != 2 || args[n] || NH < 1 || depth < 1)
        return pg_error(PG_EINVAL, "layer %d: block needs 'block:HEADS,DEPTH', got 'block:%s'",
                        l->index, args);
    if (C < 1 || C % NH)
        return pg_error(PG_EINVAL, "layer %d: block width %d is not divisible by %d heads",
                        l->index, C, NH);
    l->out_width = C;
    l->arg.heads = NH;
    float resid = GPT_STD / sqrtf(2.0f * (float)depth);
    pg_layer_add_param(l, "ln1.weight", C, 0, PG_INIT_ONE, 0.0f, 0);
    pg_layer_add_param(l, "ln1.bias", C, 0, PG_INIT_ZERO, 0.0f, 0);
    pg_layer_add_param(l, "attn.qkv.weight", 3 * C, C, PG_INIT_NORMAL, GPT_STD, 1);
    pg_layer_add_param(l, "attn.qkv.bias", 3 * C, 0, PG_INIT_ZERO, 0.0f, 0);
    pg_layer_add_param(l, "attn.proj.weight", C, C, PG_INIT_NORMAL, resid, 1);
    pg_layer_add_param(l, "attn.proj.bias", C, 0, PG_INIT_ZERO, 0.0f, 0);
    pg_layer_add_param(l, "ln2.weight", C, 0, PG_INIT_ONE, 0.0f, 0);
    pg_layer_add_param(l, "ln2.bias", C, 0, PG_INIT_ZERO, 0.0f, 0);
    pg_layer_add_param(l, "mlp.fc.weight", 4 * C, C, PG_INIT_NORMAL, GPT_STD, 1);
    pg_layer_add_param(l, "mlp.fc.bias", 4 * C, 0, PG_INIT_ZERO, 0.0f, 0);
    pg_layer_add_param(l, "mlp.proj.weight", C, 4 * C, PG_INIT_NORMAL, resid, 1);
    pg_layer_add_param(l, "mlp.proj.bias", C, 0, PG_INIT_ZERO, 0.0f, 0);
    return 0;
}

/* The attention's saved state and backward scratch, as the backend sizes them
 * (ops.h; the CPU's: linear in T); B*NH*T*T where it does not say. */
static size_t att_floats(const pg_layer *l, pg_shape s)
{
    const pg_ops *o = l->ops ? l->ops : pg_ops_cpu();
    if (o->attention_saved_floats) return o->attention_saved_floats(s.B, s.T, l->arg.heads);
    return (size_t)s.B * l->arg.heads * s.T * s.T;
}

static size_t att_scratch_floats(const pg_layer *l, pg_shape s)
{
    const pg_ops *o = l->ops ? l->ops : pg_ops_cpu();
    if (o->attention_scratch_floats) return o->attention_scratch_floats(s.B, s.T, l->arg.heads);
    return (size_t)s.B * l->arg.heads * s.T * s.T;
}

/* saved: ln1 (N,C) | mean1, rstd1 (N each) | qkv (N,3C) | att (att_floats) | y (N,C)
 *        | x1 (N,C) | ln2 (N,C) | mean2, rstd2 (N each) | h (N,4C) | a = gelu(h) (N,4C) */
static size_t block_saved(const pg_layer *l, pg_shape s)
{
    size_t N = (size_t)pg_rows(s), C = (size_t)l->in_width;
    return 15 * N * C + 4 * N + att_floats(l, s);
}

/* gsaved: dh (N,4C) | dln2 (N,C) | dx1 (N,C) | dy (N,C) | dqkv (N,3C) | dln1 (N,C)
 *         | attention scratch (att_scratch_floats) */
static size_t block_gsaved(const pg_layer *l, pg_shape s)
{
    size_t N = (size_t)pg_rows(s), C = (size_t)l->in_width;
    return 11 * N * C + att_scratch_floats(l, s);
}

typedef struct block_views {
    float *ln1, *mean1, *rstd1, *qkv, *att, *y, *x1, *ln2, *mean2, *rstd2, *h, *a;
    float *dh, *dln2, *dx1, *dy, *dqkv, *dln1, *datt;
} block_views;

static block_views views_of(const pg_layer *l, pg_shape s, const float *saved,
                            const float *gsaved)
{
    size_t N = (size_t)pg_rows(s), C = (size_t)l->in_width;
    block_views v;
    float *p = (float *)saved;
    v.ln1 = p, p += N * C;
    v.mean1 = p, p += N;
    v.rstd1 = p, p += N;
    v.qkv = p, p += 3 * N * C;
    v.att = p, p += att_floats(l, s);
    v.y = p, p += N * C;
    v.x1 = p, p += N * C;
    v.ln2 = p, p += N * C;
    v.mean2 = p, p += N;
    v.rstd2 = p, p += N;
    v.h = p, p += 4 * N * C;
    v.a = p;
    p = (float *)gsaved;
    if (!p) p = v.ln1; /* forward only: gradient views unused */
    v.dh = p, p += 4 * N * C;
    v.dln2 = p, p += N * C;
    v.dx1 = p, p += N * C;
    v.dy = p, p += N * C;
    v.dqkv = p, p += 3 * N * C;
    v.dln1 = p, p += N * C;
    v.datt = p;
    return v;
}

static void block_forward(const pg_layer *l, const pg_ops *o, const pg_mb *mb, const float *in,
                          float *out, float *saved)
{
    int B = mb->shape.B, T = mb->shape.T, N = B * T, C = l->in_width, NH = l->arg.heads;
    const pg_param *p = l->params;
    block_views v = views_of(l, mb->shape, saved, NULL);
    o->layernorm_forward(v.ln1, v.mean1, v.rstd1, in, p[LN1_W].w, p[LN1_B].w, N, C); // (N,C)
    o->matmul_forward(v.qkv, v.ln1, p[QKV_W].w, p[QKV_B].w, N, C, 3 * C);          // (N,3C)
    o->attention_forward(v.y, v.att, v.qkv, B, T, C, NH);                          // (N,C)
    o->matmul_forward(v.x1, v.y, p[PROJ_W].w, p[PROJ_B].w, N, C, C);               // (N,C)
    o->add(v.x1, v.x1, in, (size_t)N * C);                                         // residual
    o->layernorm_forward(v.ln2, v.mean2, v.rstd2, v.x1, p[LN2_W].w, p[LN2_B].w, N, C);
    o->matmul_forward(v.h, v.ln2, p[FC_W].w, p[FC_B].w, N, C, 4 * C);              // (N,4C)
    o->gelu_forward(v.a, v.h, (size_t)N * 4 * C);                                  // (N,4C)
    o->matmul_forward(out, v.a, p[FCP_W].w, p[FCP_B].w, N, 4 * C, C);              // (N,C)
    o->add(out, out, v.x1, (size_t)N * C);                                         // residual
}

static void block_backward_input(const pg_layer *l, const pg_ops *o, const pg_mb *mb,
                                 const float *in, const float *saved, const float *dout,
                                 float *din, float *gsaved)
{
    int B = mb->shape.B, T = mb->shape.T, N = B * T, C = l->in_width, NH = l->arg.heads;
    const pg_param *p = l->params;
    block_views v = views_of(l, mb->shape, saved, gsaved);
    size_t NC = (size_t)N * C;
    // MLP branch: dout (N,C) -> da -> dh (N,4C) -> dln2 (N,C) -> dx1 (N,C)
    o->matmul_backward_input(v.dh, dout, p[FCP_W].w, N, 4 * C, C, 0.0f); // da (N,4C)
    o->gelu_backward(v.dh, v.h, v.dh, NC * 4, 0.0f);                     // dh, in place
    o->matmul_backward_input(v.dln2, v.dh, p[FC_W].w, N, C, 4 * C, 0.0f);
    o->copy(v.dx1, dout, sizeof(float) * NC); // residual path
    o->layernorm_backward_input(v.dx1, v.dln2, v.x1, p[LN2_W].w, v.mean2, v.rstd2, N, C, 1.0f);
    // attention branch: dx1 -> dy (N,C) -> dqkv (N,3C) -> dln1 (N,C) -> din (N,C)
    o->matmul_backward_input(v.dy, v.dx1, p[PROJ_W].w, N, C, C, 0.0f);
    o->attention_backward(v.dqkv, v.datt, v.dy, v.qkv, v.att, B, T, C, NH);
    o->matmul_backward_input(v.dln1, v.dqkv, p[QKV_W].w, N, C, 3 * C, 0.0f);
    if (din) {
        o->copy(din, v.dx1, sizeof(float) * NC); // residual path
        o->layernorm_backward_input(din, v.dln1, in, p[LN1_W].w, v.mean1, v.rstd1, N, C, 1.0f);
    }
}

static void block_backward_weight(const pg_layer *l, const pg_ops *o, const pg_mb *mb,
                                  const float *in, const float *saved, const float *dout,
                                  const float *gsaved)
{
    int N = pg_rows(mb->shape), C = l->in_width;
    const pg_param *p = l->params;
    block_views v = views_of(l, mb->shape, saved, gsaved);
    o->matmul_backward_weight(p[FCP_W].g, p[FCP_B].g, dout, v.a, N, 4 * C, C);
    o->matmul_backward_weight(p[FC_W].g, p[FC_B].g, v.dh, v.ln2, N, C, 4 * C);
    o->layernorm_backward_weight(p[LN2_W].g, p[LN2_B].g, v.dln2, v.x1, v.mean2, v.rstd2, N, C);
    o->matmul_backward_weight(p[PROJ_W].g, p[PROJ_B].g, v.dx1, v.y, N, C, C);
    o->matmul_backward_weight(p[QKV_W].g, p[QKV_B].g, v.dqkv, v.ln1, N, C, 3 * C);
    /* The key bias's gradient is identically zero: adding a constant to every key
     * of a head shifts each query's scores uniformly, which softmax ignores. In
     * float it comes out as rounding noise that depends on the summation order
     * (grid, microbatches, BLAS threads), and AdamW would turn that noise into
     * steps of size ~lr; write the exact value instead. */
    o->zero(p[QKV_B].g + C, sizeof(float) * (size_t)C);
    o->layernorm_backward_weight(p[LN1_W].g, p[LN1_B].g, v.dln1, in, v.mean1, v.rstd1, N, C);
}

static double block_flops(const pg_layer *l, pg_shape s)
{
    double N = pg_rows(s), C = l->in_width, T = s.T;
    // matmuls 24 N C^2; causal attention: q k^T and att v only for the T(T+1)/2
    // (query, key) pairs with key <= query, 2 x 2 hs FLOPs each per head:
    // 2 C T(T+1) per sample = 2 N C (T+1); elementwise ~40 N C
    return 24.0 * N * C * C + 2.0 * N * C * (T + 1) + 40.0 * N * C;
}

/* ---- lmhead ---- */

static int lmhead_configure(pg_layer *l, const char *args)
{
    int V = 0, n = 0;
    char flag[16] = "";
    int got = sscanf(args, "%d%n,%15s", &V, &n, flag);
    int untied = got == 2 && !strcmp(flag, "untied");
    if (got < 1 || (got == 1 && args[n]) || (got == 2 && !untied) || V < 1 || V > (1 << 24))
        return pg_error(PG_EINVAL, "layer %d: lmhead needs 'lmhead:VOCAB[,untied]', got "
                                   "'lmhead:%s'",
                        l->index, args);
    l->out_width = V;
    pg_param *w = pg_layer_add_param(l, "weight", V, l->in_width, PG_INIT_NORMAL, GPT_STD, 1);
    w->tied = !untied;
    l->glue = -1; /* partition: with the last block */
    return 0;
}

static void lmhead_forward(const pg_layer *l, const pg_ops *o, const pg_mb *mb, const float *in,
                           float *out, float *saved)
{
    (void)saved;
    // in (N,C) -> logits (N,V)
    o->matmul_forward(out, in, l->params[0].w, NULL, pg_rows(mb->shape), l->in_width,
                      l->out_width);
}

static void lmhead_backward_input(const pg_layer *l, const pg_ops *o, const pg_mb *mb,
                                  const float *in, const float *saved, const float *dout,
                                  float *din, float *gsaved)
{
    (void)in, (void)saved, (void)gsaved;
    if (din)
        o->matmul_backward_input(din, dout, l->params[0].w, pg_rows(mb->shape), l->in_width,
                                 l->out_width, 0.0f);
}

static void lmhead_backward_weight(const pg_layer *l, const pg_ops *o, const pg_mb *mb,
                                   const float *in, const float *saved, const float *dout,
                                   const float *gsaved)
{
    (void)saved, (void)gsaved;
    o->matmul_backward_weight(l->params[0].g, NULL, dout, in, pg_rows(mb->shape), l->in_width,
                              l->out_width);
}

static double lmhead_flops(const pg_layer *l, pg_shape s)
{
    return 2.0 * pg_rows(s) * l->in_width * l->out_width;
}

const pg_layer_kind pg_layer_embed = {
    .name = "embed",
    .usage = "embed:V,T,C[,untied]  token + position embedding (first layer of a gpt model)",
    .configure = embed_configure,
    .saved_floats = pg_layer_nothing_saved,
    .gsaved_floats = pg_layer_nothing_saved,
    .forward = embed_forward,
    .backward_input = embed_backward_input,
    .backward_weight = embed_backward_weight,
    .flops = embed_flops,
};

const pg_layer_kind pg_layer_block = {
    .name = "block",
    .usage = "block:HEADS,DEPTH     GPT-2 transformer block (causal attention + 4C MLP)",
    .configure = block_configure,
    .saved_floats = block_saved,
    .gsaved_floats = block_gsaved,
    .forward = block_forward,
    .backward_input = block_backward_input,
    .backward_weight = block_backward_weight,
    .flops = block_flops,
};

const pg_layer_kind pg_layer_lmhead = {
    .name = "lmhead",
    .usage = "lmhead:V[,untied]     logits = x @ W^T, W tied to the embedding by default",
    .configure = lmhead_configure,
    .saved_floats = pg_layer_nothing_saved,
    .gsaved_floats = pg_layer_nothing_saved,
    .forward = lmhead_forward,
    .backward_input = lmhead_backward_input,
    .backward_weight = lmhead_backward_weight,
    .flops = lmhead_flops,
};
