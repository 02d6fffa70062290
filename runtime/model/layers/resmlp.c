/* resmlp.c: a pre-LayerNorm residual MLP block.   resmlp:HIDDEN
 *
 *   y = x + fc2(gelu(fc1(layernorm(x))))
 *
 * x, y: (N, C); fc1: C -> H; fc2: H -> C. */
#include "runtime/model/layers/layer.h"

#include "runtime/base/error.h"

#include <math.h>
#include <stdlib.h>

enum { LN_W, LN_B, FC1_W, FC1_B, FC2_W, FC2_B };

static int resmlp_configure(pg_layer *l, const char *args)
{
    char *end = NULL;
    long h = strtol(args, &end, 10);
    if (end == args || *end || h < 1 || h > (1 << 24))
        return pg_error(PG_EINVAL, "layer %d: resmlp needs 'resmlp:HIDDEN', got 'resmlp:%s'",
                        l->index, args);
    int C = l->in_width, H = (int)h;
    l->out_width = C;
    l->arg.hidden = H;
    pg_layer_add_param(l, "ln.weight", C, 0, PG_INIT_ONE, 0.0f, 0);
    pg_layer_add_param(l, "ln.bias", C, 0, PG_INIT_ZERO, 0.0f, 0);
    pg_layer_add_param(l, "fc1.weight", H, C, PG_INIT_NORMAL, 1.0f / sqrtf((float)C), 1);
    pg_layer_add_param(l, "fc1.bias", H, 0, PG_INIT_ZERO, 0.0f, 0);
    // the residual branch starts small so that the block starts near identity
    pg_layer_add_param(l, "fc2.weight", C, H, PG_INIT_NORMAL, 0.5f / sqrtf((float)H), 1);
    pg_layer_add_param(l, "fc2.bias", C, 0, PG_INIT_ZERO, 0.0f, 0);
    return 0;
}

/* saved layout: ln (N,C) | mean (N) | rstd (N) | h (N,H) | a (N,H) */
static size_t resmlp_saved(const pg_layer *l, pg_shape s)
{
    size_t N = (size_t)pg_rows(s);
    return N * l->in_width + 2 * N + 2 * N * l->arg.hidden;
}

/* gsaved layout: dh (N,H) | dln (N,C) */
static size_t resmlp_gsaved(const pg_layer *l, pg_shape s)
{
    size_t N = (size_t)pg_rows(s);
    return N * l->arg.hidden + N * l->in_width;
}

typedef struct views {
    float *ln, *mean, *rstd, *h, *a;
} views;

static views saved_views(const pg_layer *l, int N, const float *saved)
{
    size_t C = (size_t)l->in_width, H = (size_t)l->arg.hidden;
    float *s = (float *)saved;
    views v = {s, s + N * C, s + N * C + N, s + N * C + 2 * N, s + N * C + 2 * N + N * H};
    return v;
}

static void resmlp_forward(const pg_layer *l, const pg_ops *o, const pg_mb *mb, const float *in,
                           float *out, float *saved)
{
    int N = pg_rows(mb->shape), C = l->in_width, H = l->arg.hidden;
    const pg_param *p = l->params;
    views v = saved_views(l, N, saved);
    o->layernorm_forward(v.ln, v.mean, v.rstd, in, p[LN_W].w, p[LN_B].w, N, C); // (N,C)
    o->matmul_forward(v.h, v.ln, p[FC1_W].w, p[FC1_B].w, N, C, H);             // (N,H)
    o->gelu_forward(v.a, v.h, (size_t)N * H);                                   // (N,H)
    o->matmul_forward(out, v.a, p[FC2_W].w, p[FC2_B].w, N, H, C);               // (N,C)
    o->add(out, out, in, (size_t)N * C);                                        // residual
}

static void resmlp_backward_input(const pg_layer *l, const pg_ops *o, const pg_mb *mb,
                                  const float *in, const float *saved, const float *dout,
                                  float *din, float *gsaved)
{
    int N = pg_rows(mb->shape), C = l->in_width, H = l->arg.hidden;
    const pg_param *p = l->params;
    views v = saved_views(l, N, saved);
    float *dh = gsaved, *dln = gsaved + (size_t)N * H;
    o->matmul_backward_input(dh, dout, p[FC2_W].w, N, H, C, 0.0f); // da (N,H)
    o->gelu_backward(dh, v.h, dh, (size_t)N * H, 0.0f);            // dh (N,H), in place
    o->matmul_backward_input(dln, dh, p[FC1_W].w, N, C, H, 0.0f);  // dln (N,C)
    if (din) {
        o->copy(din, dout, sizeof(float) * N * C);                 // residual path
        o->layernorm_backward_input(din, dln, in, p[LN_W].w, v.mean, v.rstd, N, C, 1.0f);
    }
}

static void resmlp_backward_weight(const pg_layer *l, const pg_ops *o, const pg_mb *mb,
                                   const float *in, const float *saved, const float *dout,
                                   const float *gsaved)
{
    int N = pg_rows(mb->shape), C = l->in_width, H = l->arg.hidden;
    const pg_param *p = l->params;
    views v = saved_views(l, N, saved);
    const float *dh = gsaved, *dln = gsaved + (size_t)N * H;
    o->matmul_backward_weight(p[FC2_W].g, p[FC2_B].g, dout, v.a, N, H, C);
    o->matmul_backward_weight(p[FC1_W].g, p[FC1_B].g, dh, v.ln, N, C, H);
    o->layernorm_backward_weight(p[LN_W].g, p[LN_B].g, dln, in, v.mean, v.rstd, N, C);
}

static double resmlp_flops(const pg_layer *l, pg_shape s)
{
    double N = pg_rows(s), C = l->in_width, H = l->arg.hidden;
    return 4.0 * N * C * H + 8.0 * N * H + 10.0 * N * C;
}

const pg_layer_kind pg_layer_resmlp = {
    .name = "resmlp",
    .usage = "resmlp:HIDDEN         x + fc2(gelu(fc1(layernorm(x)))), HIDDEN wide inside",
    .configure = resmlp_configure,
    .saved_floats = resmlp_saved,
    .gsaved_floats = resmlp_gsaved,
    .forward = resmlp_forward,
    .backward_input = resmlp_backward_input,
    .backward_weight = resmlp_backward_weight,
    .flops = resmlp_flops,
};
