/* loss.c: the loss layers, last in every model. They read the microbatch's
 * targets, write per-row losses to mb->losses, and start the backward pass:
 * their input gradient is d(total loss)/d(input), where the total loss is the
 * mean over all rows of the global batch (mb->loss_scale = 1/rows). */
#include "runtime/model/layers/layer.h"

#include "runtime/base/error.h"

static int loss_configure(pg_layer *l, const char *args)
{
    if (*args)
        return pg_error(PG_EINVAL, "layer %d: %s takes no arguments, got '%s'", l->index,
                        l->kind->name, args);
    l->out_width = 0;
    return 0;
}

// mse: in (N,D), target (N,D)
static void mse_forward(const pg_layer *l, const pg_ops *o, const pg_mb *mb, const float *in,
                        float *out, float *saved)
{
    (void)out, (void)saved;
    o->mse_forward(mb->losses, in, mb->target, pg_rows(mb->shape), l->in_width);
}

static void mse_backward_input(const pg_layer *l, const pg_ops *o, const pg_mb *mb,
                               const float *in, const float *saved, const float *dout,
                               float *din, float *gsaved)
{
    (void)saved, (void)dout, (void)gsaved;
    if (din) o->mse_backward(din, in, mb->target, mb->loss_scale, pg_rows(mb->shape), l->in_width);
}

static double mse_flops(const pg_layer *l, pg_shape s) { return 3.0 * pg_rows(s) * l->in_width; }

// xent: in = logits (N,V), labels (N). Fused (the default): the forward
// overwrites the logits in place with dlogits (ops.h xent_fused; nothing is
// read from them after the loss) and the backward copies them out: nothing
// saved. Reference: saved = probs (N,V), dlogits made in the backward.
static size_t xent_saved(const pg_layer *l, pg_shape s)
{
    return l->reference ? (size_t)pg_rows(s) * l->in_width : 0;
}

static void xent_forward(const pg_layer *l, const pg_ops *o, const pg_mb *mb, const float *in,
                         float *out, float *saved)
{
    (void)out;
    int N = pg_rows(mb->shape), V = l->in_width;
    if (l->reference)
        o->xent_forward(mb->losses, saved, in, mb->labels, N, V);
    else /* the stage's activation buffer of this layer's input: writable */
        o->xent_fused(mb->losses, (float *)in, mb->labels, mb->loss_scale, N, V);
}

static void xent_backward_input(const pg_layer *l, const pg_ops *o, const pg_mb *mb,
                                const float *in, const float *saved, const float *dout,
                                float *din, float *gsaved)
{
    (void)dout, (void)gsaved;
    int N = pg_rows(mb->shape), V = l->in_width;
    if (!din) return;
    if (l->reference)
        o->xent_backward(din, saved, mb->labels, mb->loss_scale, N, V);
    else
        o->copy(din, in, (size_t)N * V * sizeof(float));
}

static double xent_flops(const pg_layer *l, pg_shape s) { return 5.0 * pg_rows(s) * l->in_width; }

const pg_layer_kind pg_layer_mse = {
    .name = "mse",
    .usage = "mse                   mean squared error against float targets (last layer)",
    .is_loss = 1,
    .configure = loss_configure,
    .saved_floats = pg_layer_nothing_saved,
    .gsaved_floats = pg_layer_nothing_saved,
    .forward = mse_forward,
    .backward_input = mse_backward_input,
    .backward_weight = pg_layer_no_weight_grad,
    .flops = mse_flops,
};

const pg_layer_kind pg_layer_xent = {
    .name = "xent",
    .usage = "xent                  softmax cross-entropy against class labels (last layer)",
    .is_loss = 1,
    .configure = loss_configure,
    .saved_floats = xent_saved,
    .gsaved_floats = pg_layer_nothing_saved,
    .forward = xent_forward,
    .backward_input = xent_backward_input,
    .backward_weight = pg_layer_no_weight_grad,
    .flops = xent_flops,
};
