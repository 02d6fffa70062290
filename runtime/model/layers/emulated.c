/* emulated.c: a layer that only takes time.
 *   emulated:f=MS,i=MS,w=MS[,width=N][,per=sample][,params=N]
 *
 * Forward sleeps f ms, the input-gradient pass i ms and the weight-gradient
 * pass w ms per microbatch (a full backward: i + w), or per sample of the
 * microbatch with per=sample (a microbatch of B samples sleeps B times as
 * long, as real compute grows with the batch), and passes an activation of
 * `width` features per row (zeros). params=N declares a weight of N floats
 * (initialised to zero; its gradient stays zero), so that data parallelism
 * allreduces and the optimizer updates N floats per layer as a real layer's
 * would. Because a sleeping rank leaves the CPU to others, schedules of 8-16
 * ranks can be measured on a 2-core machine. */
#include "runtime/model/layers/layer.h"

#include "runtime/base/error.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int emulated_configure(pg_layer *l, const char *args)
{
    double ms[3] = {1.0, 1.0, 1.0};
    long width = l->in_width, params = 0;
    char buf[256];
    if (strlen(args) >= sizeof buf)
        return pg_error(PG_EINVAL, "layer %d: emulated arguments too long", l->index);
    strcpy(buf, args);
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(tok, '=');
        char *end = NULL;
        if (!eq) goto bad;
        *eq = '\0';
        const char *val = eq + 1;
        if (!strcmp(tok, "width")) {
            width = strtol(val, &end, 10);
            if (end == val || *end || width < 1 || width > (1 << 24)) goto bad;
            continue;
        }
        if (!strcmp(tok, "params")) {
            params = strtol(val, &end, 10);
            if (end == val || *end || params < 0 || params > (1L << 30)) goto bad;
            continue;
        }
        if (!strcmp(tok, "per")) {
            if (!strcmp(val, "sample")) l->arg.emulated.per_sample = 1;
            else if (!strcmp(val, "microbatch")) l->arg.emulated.per_sample = 0;
            else goto bad;
            continue;
        }
        double v = strtod(val, &end);
        if (end == val || *end || v < 0 || v > 1e6) goto bad;
        if (!strcmp(tok, "f")) ms[0] = v;
        else if (!strcmp(tok, "i")) ms[1] = v;
        else if (!strcmp(tok, "w")) ms[2] = v;
        else if (!strcmp(tok, "b")) ms[1] = ms[2] = v / 2;
        else goto bad;
    }
    l->out_width = (int)width;
    for (int k = 0; k < 3; k++) l->arg.emulated.seconds[k] = ms[k] * 1e-3;
    if (params > 0 && !pg_layer_add_param(l, "weight", (int)params, 0, PG_INIT_ZERO, 0.0f, 0))
        return pg_error(PG_EINVAL, "layer %d: emulated: too many parameter tensors", l->index);
    return 0;
bad:
    return pg_error(PG_EINVAL,
                    "layer %d: emulated needs 'emulated:f=MS,i=MS,w=MS[,width=N][,per=sample]"
                    "[,params=N]' (or b=MS for i=w=b/2; per = sample or microbatch), got "
                    "'emulated:%s'",
                    l->index, args);
}

static void spend(double seconds)
{
    struct timespec ts = {(time_t)seconds, (long)((seconds - (time_t)seconds) * 1e9)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static void emulated_forward(const pg_layer *l, const pg_ops *o, const pg_mb *mb,
                             const float *in, float *out, float *saved)
{
    (void)in, (void)saved;
    o->zero(out, sizeof(float) * pg_rows(mb->shape) * l->out_width);
    spend(pg_layer_fixed_time(l, 0, mb->shape));
}

static void emulated_backward_input(const pg_layer *l, const pg_ops *o, const pg_mb *mb,
                                    const float *in, const float *saved, const float *dout,
                                    float *din, float *gsaved)
{
    (void)in, (void)saved, (void)dout, (void)gsaved;
    if (din) o->zero(din, sizeof(float) * pg_rows(mb->shape) * l->in_width);
    spend(pg_layer_fixed_time(l, 1, mb->shape));
}

static void emulated_backward_weight(const pg_layer *l, const pg_ops *o, const pg_mb *mb,
                                     const float *in, const float *saved, const float *dout,
                                     const float *gsaved)
{
    (void)o, (void)in, (void)saved, (void)dout, (void)gsaved;
    spend(pg_layer_fixed_time(l, 2, mb->shape));
}

static double emulated_flops(const pg_layer *l, pg_shape s)
{
    (void)l, (void)s;
    return 0.0;
}

const pg_layer_kind pg_layer_emulated = {
    .name = "emulated",
    .usage = "emulated:f=MS,i=MS,w=MS[,width=N][,per=sample][,params=N]  takes fixed time "
             "(schedule studies)",
    .configure = emulated_configure,
    .saved_floats = pg_layer_nothing_saved,
    .gsaved_floats = pg_layer_nothing_saved,
    .forward = emulated_forward,
    .backward_input = emulated_backward_input,
    .backward_weight = emulated_backward_weight,
    .flops = emulated_flops,
};
