/* linear.c: out = in @ weight^T + bias.   linear:OUT[,nobias] */
#include "runtime/model/layers/layer.h"

#include "runtime/base/error.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int linear_configure(pg_layer *l, const char *args)
{
    char *end = NULL;
    long out = strtol(args, &end, 10);
    int bias = 1;
    if (end && !strcmp(end, ",nobias")) {
        bias = 0;
    } else if (end == args || *end) {
        return pg_error(PG_EINVAL, "layer %d: linear needs 'linear:OUT[,nobias]', got 'linear:%s'",
                        l->index, args);
    }
    if (out < 1 || out > (1 << 24))
        return pg_error(PG_EINVAL, "layer %d: linear width %ld out of range", l->index, out);
    l->out_width = (int)out;
    l->arg.bias = bias;
    // weight (OUT, IN) ~ N(0, 1/IN): unit-variance outputs for unit-variance inputs
    pg_layer_add_param(l, "weight", l->out_width, l->in_width, PG_INIT_NORMAL,
                       1.0f / sqrtf((float)l->in_width), 1);
    if (bias) pg_layer_add_param(l, "bias", l->out_width, 0, PG_INIT_ZERO, 0.0f, 0);
    return 0;
}

static void linear_forward(const pg_layer *l, const pg_ops *o, const pg_mb *mb, const float *in,
                           float *out, float *saved)
{
    (void)saved;
    // in (N, IN) -> out (N, OUT)
    const float *bias = l->arg.bias ? l->params[1].w : NULL;
    o->matmul_forward(out, in, l->params[0].w, bias, pg_rows(mb->shape), l->in_width,
                      l->out_width);
}

static void linear_backward_input(const pg_layer *l, const pg_ops *o, const pg_mb *mb,
                                  const float *in, const float *saved, const float *dout,
                                  float *din, float *gsaved)
{
    (void)in, (void)saved, (void)gsaved;
    // din (N, IN) = dout (N, OUT) @ weight (OUT, IN)
    if (din)
        o->matmul_backward_input(din, dout, l->params[0].w, pg_rows(mb->shape), l->in_width,
                                 l->out_width, 0.0f);
}

static void linear_backward_weight(const pg_layer *l, const pg_ops *o, const pg_mb *mb,
                                   const float *in, const float *saved, const float *dout,
                                   const float *gsaved)
{
    (void)saved, (void)gsaved;
    // dweight (OUT, IN) += dout^T @ in; dbias (OUT) += sum_rows dout
    float *dbias = l->arg.bias ? l->params[1].g : NULL;
    o->matmul_backward_weight(l->params[0].g, dbias, dout, in, pg_rows(mb->shape), l->in_width,
                              l->out_width);
}

static double linear_flops(const pg_layer *l, pg_shape s)
{
    return 2.0 * pg_rows(s) * l->in_width * l->out_width;
}

const pg_layer_kind pg_layer_linear = {
    .name = "linear",
    .usage = "linear:OUT[,nobias]   fully connected, OUT outputs",
    .configure = linear_configure,
    .saved_floats = pg_layer_nothing_saved,
    .gsaved_floats = pg_layer_nothing_saved,
    .forward = linear_forward,
    .backward_input = linear_backward_input,
    .backward_weight = linear_backward_weight,
    .flops = linear_flops,
};
