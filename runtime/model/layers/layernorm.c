/* layernorm.c: LayerNorm over the feature dim with learned scale and shift. */
#include "runtime/model/layers/layer.h"

#include "runtime/base/error.h"

static int layernorm_configure(pg_layer *l, const char *args)
{
    if (*args)
        return pg_error(PG_EINVAL, "layer %d: layernorm takes no arguments, got '%s'", l->index,
                        args);
    l->out_width = l->in_width;
    pg_layer_add_param(l, "weight", l->in_width, 0, PG_INIT_ONE, 0.0f, 0);
    pg_layer_add_param(l, "bias", l->in_width, 0, PG_INIT_ZERO, 0.0f, 0);
    return 0;
}

// saved: mean (N), rstd (N)
static size_t layernorm_saved(const pg_layer *l, pg_shape s)
{
    (void)l;
    return 2 * (size_t)pg_rows(s);
}

static void layernorm_forward(const pg_layer *l, const pg_ops *o, const pg_mb *mb,
                              const float *in, float *out, float *saved)
{
    int N = pg_rows(mb->shape), C = l->in_width;
    // in (N,C) -> out (N,C); mean = saved[0:N], rstd = saved[N:2N]
    o->layernorm_forward(out, saved, saved + N, in, l->params[0].w, l->params[1].w, N, C);
}

static void layernorm_backward_input(const pg_layer *l, const pg_ops *o, const pg_mb *mb,
                                     const float *in, const float *saved, const float *dout,
                                     float *din, float *gsaved)
{
    (void)gsaved;
    int N = pg_rows(mb->shape), C = l->in_width;
    if (din)
        o->layernorm_backward_input(din, dout, in, l->params[0].w, saved, saved + N, N, C, 0.0f);
}

static void layernorm_backward_weight(const pg_layer *l, const pg_ops *o, const pg_mb *mb,
                                      const float *in, const float *saved, const float *dout,
                                      const float *gsaved)
{
    (void)gsaved;
    int N = pg_rows(mb->shape), C = l->in_width;
    o->layernorm_backward_weight(l->params[0].g, l->params[1].g, dout, in, saved, saved + N, N,
                                 C);
}

static double layernorm_flops(const pg_layer *l, pg_shape s)
{
    return 8.0 * pg_rows(s) * l->in_width;
}

const pg_layer_kind pg_layer_layernorm = {
    .name = "layernorm",
    .usage = "layernorm             LayerNorm with learned scale and shift",
    .configure = layernorm_configure,
    .saved_floats = layernorm_saved,
    .gsaved_floats = pg_layer_nothing_saved,
    .forward = layernorm_forward,
    .backward_input = layernorm_backward_input,
    .backward_weight = layernorm_backward_weight,
    .flops = layernorm_flops,
};
