/* test_gradcheck.c: every layer kind's backward (input and weight gradient,
 * run as I then W) against central finite differences of its forward.
 *
 * For a layer with output y = f(x; w), the scalar L = sum(y * g) for a fixed
 * random g has dL/dy = g; for loss layers L = loss_scale * sum(row losses).
 * Forward passes are fp32, L is accumulated in double, the step is 1e-3, and
 * analytic and numeric derivatives must agree within 1e-2 relative (floor
 * 1e-3). The GPT layers (embed, block with causal attention, lmhead) run on
 * B x T microbatches with token ids; they are also checked against PyTorch
 * (test_gpt_reference.c). */
#include "runtime/base/rng.h"
#include "runtime/model/layers/layer.h"
#include "tests/support/testlib.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define TOL 1e-2

typedef struct harness {
    pg_layer l;
    const pg_ops *o;
    pg_mb mb;
    int N;
    float eps;       /* finite-difference step */
    float *in, *out, *saved, *gsaved, *g, *din, *params, *grads;
    float *act;      /* the input as the stage holds it: a loss layer's forward may
                        overwrite it (layer.h), so each forward starts from a copy of in */
    size_t nin;
    float *target;
    int *labels;
} harness;

static double objective(harness *h)
{
    memcpy(h->act, h->in, sizeof(float) * h->nin);
    h->l.kind->forward(&h->l, h->o, &h->mb, h->act, h->out, h->saved);
    double L = 0.0;
    if (h->l.kind->is_loss) {
        for (int i = 0; i < h->N; i++) L += (double)h->mb.losses[i] * h->mb.loss_scale;
    } else {
        for (size_t i = 0; i < (size_t)h->N * h->l.out_width; i++) L += (double)h->out[i] * h->g[i];
    }
    return L;
}

static int agree(double an, double fd)
{
    return fabs(an - fd) <= TOL * fmax(fmax(fabs(an), fabs(fd)), 1e-1);
}

/* Central differences of L with respect to each x[i] against analytic[i];
 * prints the first few disagreements and returns their count. */
static int compare(harness *h, float *x, const float *analytic, size_t n, const char *spec,
                   const char *what)
{
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        float keep = x[i];
        x[i] = keep + h->eps;
        double lp = objective(h);
        x[i] = keep - h->eps;
        double lm = objective(h);
        x[i] = keep;
        double fd = (lp - lm) / (2.0 * h->eps);
        if (!agree(analytic[i], fd) && bad++ < 3)
            fprintf(stderr, "%s: %s[%zu] analytic %.6g numeric %.6g\n", spec, what, i,
                    analytic[i], fd);
    }
    return bad;
}

/* B x T rows; weights ~ wscale * N(0,1) (+1 for scales); step eps */
static void check_layer_mode(const char *spec, int in_width, int B, int T, double wscale,
                             float eps, int reference)
{
    harness h = {0};
    h.l.reference = reference;
    h.eps = eps;
    h.o = pg_ops_cpu();
    char kind_name[64], *args;
    snprintf(kind_name, sizeof kind_name, "%s", spec);
    args = strchr(kind_name, ':');
    if (args) *args++ = '\0';
    else args = kind_name + strlen(kind_name);
    h.l.kind = pg_layer_kind_find(kind_name);
    h.l.in_width = in_width;
    CHECK_MSG(h.l.kind && h.l.kind->configure(&h.l, args) == 0, "configure %s", spec);
    h.N = B * T;
    h.mb.shape = (pg_shape){B, T};
    h.mb.loss_scale = 1.0f / h.N;
    size_t nin = (size_t)h.N * in_width, nout = (size_t)h.N * (h.l.out_width ? h.l.out_width : 1);
    size_t np = 0;
    for (int p = 0; p < h.l.nparams; p++) np += h.l.params[p].n;
    h.in = calloc(nin, 4);
    h.act = calloc(nin + 1, 4);
    h.nin = nin;
    h.din = calloc(nin, 4);
    h.out = calloc(nout, 4);
    h.g = calloc(nout, 4);
    h.saved = calloc(h.l.kind->saved_floats(&h.l, h.mb.shape) + 1, 4);
    h.gsaved = calloc(h.l.kind->gsaved_floats(&h.l, h.mb.shape) + 1, 4);
    h.params = calloc(np + 1, 4);
    h.grads = calloc(np + 1, 4);
    h.target = calloc(nin, 4);
    h.labels = calloc((size_t)h.N, sizeof(int));
    h.mb.losses = calloc((size_t)h.N, 4);
    int *tokens = calloc((size_t)h.N, sizeof(int));
    h.mb.tokens = tokens;
    h.mb.target = h.target;
    h.mb.labels = h.labels;
    pg_rng r;
    pg_rng_init(&r, 7, 1, 2);
    for (size_t i = 0; i < nin; i++) h.in[i] = (float)pg_rng_normal(&r);
    for (size_t i = 0; i < nout; i++) h.g[i] = (float)pg_rng_normal(&r);
    for (size_t i = 0; i < nin; i++) h.target[i] = (float)pg_rng_normal(&r);
    for (int i = 0; i < h.N; i++) h.labels[i] = (int)(pg_rng_u64(&r) % (uint64_t)(in_width ? in_width : 1));
    /* token ids for an embedding (arg.embed.vocab), repeated so that
     * rows share gradient rows */
    for (int i = 0; i < h.N; i++) tokens[i] = (int)(pg_rng_u64(&r) % 3);
    size_t off = 0;
    for (int p = 0; p < h.l.nparams; p++) {
        pg_param *P = &h.l.params[p];
        P->w = h.params + off;
        P->g = h.grads + off;
        /* random values everywhere (also for ones/zeros inits) to exercise all terms */
        for (size_t i = 0; i < P->n; i++) P->w[i] = (float)(wscale * pg_rng_normal(&r)) + (P->init == PG_INIT_ONE);
        off += P->n;
    }
    /* analytic: forward, then I, then W */
    objective(&h);
    h.l.kind->backward_input(&h.l, h.o, &h.mb, h.act, h.saved, h.g, h.din, h.gsaved);
    h.l.kind->backward_weight(&h.l, h.o, &h.mb, h.act, h.saved, h.g, h.gsaved);
    int bad = compare(&h, h.in, h.din, nin, spec, "dinput") + compare(&h, h.params, h.grads, np, spec, "dparam");
    CHECK_MSG(bad == 0, "%s: %d derivatives disagree", spec, bad);
    printf("gradcheck %-28s %4zu inputs %5zu params: %s%s\n", spec, nin, np, bad ? "FAIL" : "ok",
           reference ? " (reference kernels)" : "");
    free(h.in), free(h.act), free(h.din), free(h.out), free(h.g), free(h.saved), free(h.gsaved);
    free(h.params), free(h.grads), free(h.target), free(h.labels), free(h.mb.losses);
    free(tokens);
}

static void check_layer_at(const char *spec, int in_width, int B, int T, double wscale, float eps)
{
    check_layer_mode(spec, in_width, B, T, wscale, eps, 0);
}

static void check_layer(const char *spec, int in_width) { check_layer_at(spec, in_width, 3, 2, 0.5, 1e-3f); }

int main(void)
{
    check_layer("linear:5", 4);
    check_layer("linear:5,nobias", 4);
    check_layer("relu", 7);
    check_layer("gelu", 7);
    check_layer("layernorm", 6);
    check_layer("resmlp:9", 5);
    check_layer("mse", 4);
    check_layer("xent", 5); /* fused: loss and dlogits in place */
    check_layer_mode("xent", 5, 3, 2, 0.5, 1e-3f, 1); /* reference: probs saved */
    /* GPT layers; the block's weights are smaller (0.2) so that its LayerNorms
     * and softmax stay in the range where fp32 differences resolve them */
    check_layer_at("embed:5,4,6", 0, 2, 4, 0.5, 1e-3f);
    check_layer_at("embed:5,4,6,untied", 0, 2, 3, 0.5, 1e-3f);
    check_layer_at("block:2,2", 8, 2, 4, 0.2, 1e-2f); /* causal attention, 2 heads of 4 */
    check_layer_at("block:1,1", 4, 1, 5, 0.2, 1e-2f);
    check_layer_at("lmhead:7", 4, 2, 3, 0.5, 1e-3f);
    return pg_test_summary("test_gradcheck");
}
