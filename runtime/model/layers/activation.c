/* activation.c: ReLU and GELU (tanh approximation), elementwise, no params. */
#include "runtime/model/layers/layer.h"

#include "runtime/base/error.h"

static int act_configure(pg_layer *l, const char *args)
{
    if (*args)
        return pg_error(PG_EINVAL, "layer %d: %s takes no arguments, got '%s'", l->index,
                        l->kind->name, args);
    l->out_width = l->in_width;
    return 0;
}

static size_t count(const pg_layer *l, const pg_mb *mb)
{
    return (size_t)pg_rows(mb->shape) * l->in_width;
}

// in, out, dout, din: (N, C)
static void relu_forward(const pg_layer *l, const pg_ops *o, const pg_mb *mb, const float *in,
                         float *out, float *saved)
{
    (void)saved;
    o->relu_forward(out, in, count(l, mb));
}

static void relu_backward_input(const pg_layer *l, const pg_ops *o, const pg_mb *mb,
                                const float *in, const float *saved, const float *dout,
                                float *din, float *gsaved)
{
    (void)saved, (void)gsaved;
    if (din) o->relu_backward(din, in, dout, count(l, mb), 0.0f);
}

static void gelu_forward(const pg_layer *l, const pg_ops *o, const pg_mb *mb, const float *in,
                         float *out, float *saved)
{
    (void)saved;
    o->gelu_forward(out, in, count(l, mb));
}

static void gelu_backward_input(const pg_layer *l, const pg_ops *o, const pg_mb *mb,
                                const float *in, const float *saved, const float *dout,
                                float *din, float *gsaved)
{
    (void)saved, (void)gsaved;
    if (din) o->gelu_backward(din, in, dout, count(l, mb), 0.0f);
}

static double relu_flops(const pg_layer *l, pg_shape s) { return (double)pg_rows(s) * l->in_width; }
static double gelu_flops(const pg_layer *l, pg_shape s)
{
    return 8.0 * pg_rows(s) * l->in_width;
}

const pg_layer_kind pg_layer_relu = {
    .name = "relu",
    .usage = "relu                  max(x, 0)",
    .configure = act_configure,
    .saved_floats = pg_layer_nothing_saved,
    .gsaved_floats = pg_layer_nothing_saved,
    .forward = relu_forward,
    .backward_input = relu_backward_input,
    .backward_weight = pg_layer_no_weight_grad,
    .flops = relu_flops,
};

const pg_layer_kind pg_layer_gelu = {
    .name = "gelu",
    .usage = "gelu                  GELU, tanh approximation",
    .configure = act_configure,
    .saved_floats = pg_layer_nothing_saved,
    .gsaved_floats = pg_layer_nothing_saved,
    .forward = gelu_forward,
    .backward_input = gelu_backward_input,
    .backward_weight = pg_layer_no_weight_grad,
    .flops = gelu_flops,
};
