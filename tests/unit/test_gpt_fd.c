/* test_gpt_fd.c: double-precision finite-difference check of the GPT layers.
 *
 * For embed, block (causal multi-head attention + MLP) and lmhead, an
 * independent double-precision forward written here (plain loops, no shared
 * code with the layers) gives L = sum(out * g) for a fixed random g; central
 * differences of it in double (step 1e-5, truncation and rounding ~1e-9) are
 * the reference for the fp32 layers' analytic gradients (backward_input then
 * backward_weight, dout = g), which must agree within 1e-4 relative (floor:
 * 1e-5 of the largest derivative). The same double forward also checks the
 * fp32 forward. */
#include "runtime/base/rng.h"
#include "runtime/model/layers/layer.h"
#include "tests/support/testlib.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define H 1e-5
#define RTOL 1e-4

typedef struct ref {
    int B, T, C, NH, V;
    const int *tokens;
} ref;

static void ln_d(double *out, const double *x, const double *w, const double *b, int N, int C)
{
    for (int i = 0; i < N; i++) {
        const double *r = x + (size_t)i * C;
        double m = 0, v = 0;
        for (int c = 0; c < C; c++) m += r[c];
        m /= C;
        for (int c = 0; c < C; c++) v += (r[c] - m) * (r[c] - m);
        v /= C;
        double s = 1.0 / sqrt(v + 1e-5);
        for (int c = 0; c < C; c++) out[(size_t)i * C + c] = (r[c] - m) * s * w[c] + b[c];
    }
}

/* out (N,OC) = x (N,C) @ W (OC,C)^T + bias */
static void mm_d(double *out, const double *x, const double *W, const double *bias, int N, int C,
                 int OC)
{
    for (int i = 0; i < N; i++)
        for (int o = 0; o < OC; o++) {
            double acc = bias ? bias[o] : 0.0;
            for (int c = 0; c < C; c++) acc += x[(size_t)i * C + c] * W[(size_t)o * C + c];
            out[(size_t)i * OC + o] = acc;
        }
}

static void attn_d(double *out, const double *qkv, int B, int T, int C, int NH)
{
    int hs = C / NH;
    double *p = malloc(sizeof(double) * T);
    for (int b = 0; b < B; b++)
        for (int h = 0; h < NH; h++)
            for (int t = 0; t < T; t++) {
                const double *q = qkv + ((size_t)b * T + t) * 3 * C + h * hs;
                double mx = -1e300, sum = 0;
                for (int s = 0; s <= t; s++) {
                    const double *k = qkv + ((size_t)b * T + s) * 3 * C + C + h * hs;
                    double d = 0;
                    for (int i = 0; i < hs; i++) d += q[i] * k[i];
                    p[s] = d / sqrt((double)hs);
                    if (p[s] > mx) mx = p[s];
                }
                for (int s = 0; s <= t; s++) sum += (p[s] = exp(p[s] - mx));
                double *o = out + ((size_t)b * T + t) * C + h * hs;
                for (int i = 0; i < hs; i++) {
                    double acc = 0;
                    for (int s = 0; s <= t; s++)
                        acc += p[s] / sum * qkv[((size_t)b * T + s) * 3 * C + 2 * C + h * hs + i];
                    o[i] = acc;
                }
            }
    free(p);
}

static double gelu_d(double x)
{
    return 0.5 * x * (1.0 + tanh(sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x)));
}

/* The layer's forward in double; params in the layer's order and layout. */
static void forward_d(const pg_layer *l, const ref *r, const double *in, const double *p,
                      double *out)
{
    int N = r->B * r->T, C = l->out_width;
    const char *kind = l->kind->name;
    if (!strcmp(kind, "embed")) {
        const double *wte = p, *wpe = p + l->params[0].n;
        for (int i = 0; i < N; i++)
            for (int c = 0; c < C; c++)
                out[(size_t)i * C + c] = wte[(size_t)r->tokens[i] * C + c] + wpe[(size_t)(i % r->T) * C + c];
        return;
    }
    if (!strcmp(kind, "lmhead")) {
        mm_d(out, in, p, NULL, N, l->in_width, l->out_width);
        return;
    }
    /* block: parameter tensors in order */
    const double *t[12];
    size_t off = 0;
    for (int k = 0; k < 12; k++) t[k] = p + off, off += l->params[k].n;
    size_t NC = (size_t)N * C;
    double *a = malloc(sizeof(double) * NC), *qkv = malloc(sizeof(double) * 3 * NC),
           *y = malloc(sizeof(double) * NC), *x1 = malloc(sizeof(double) * NC),
           *hh = malloc(sizeof(double) * 4 * NC);
    ln_d(a, in, t[0], t[1], N, C);
    mm_d(qkv, a, t[2], t[3], N, C, 3 * C);
    attn_d(y, qkv, r->B, r->T, C, r->NH);
    mm_d(x1, y, t[4], t[5], N, C, C);
    for (size_t i = 0; i < NC; i++) x1[i] += in[i];
    ln_d(a, x1, t[6], t[7], N, C);
    mm_d(hh, a, t[8], t[9], N, C, 4 * C);
    for (size_t i = 0; i < 4 * NC; i++) hh[i] = gelu_d(hh[i]);
    mm_d(out, hh, t[10], t[11], N, 4 * C, C);
    for (size_t i = 0; i < NC; i++) out[i] += x1[i];
    free(a), free(qkv), free(y), free(x1), free(hh);
}

static double objective(const pg_layer *l, const ref *r, const double *in, const double *p,
                        double *out, const float *g)
{
    forward_d(l, r, in, p, out);
    double L = 0;
    for (size_t i = 0; i < (size_t)r->B * r->T * l->out_width; i++) L += out[i] * g[i];
    return L;
}

/* Central differences of L over x[0..n) against analytic[0..n). */
static int compare(const pg_layer *l, const ref *r, double *in, double *p, double *x, size_t n,
                   const float *analytic, double *out, const float *g, const char *spec,
                   const char *what, double *worst)
{
    double *fd = malloc(sizeof(double) * (n ? n : 1)), big = 0;
    for (size_t i = 0; i < n; i++) {
        double keep = x[i];
        x[i] = keep + H;
        double lp = objective(l, r, in, p, out, g);
        x[i] = keep - H;
        double lm = objective(l, r, in, p, out, g);
        x[i] = keep;
        fd[i] = (lp - lm) / (2 * H);
        if (fabs(fd[i]) > big) big = fabs(fd[i]);
    }
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        double err = fabs(analytic[i] - fd[i]);
        double rel = err / fmax(fabs(fd[i]), 1e-1 * big + 1e-30);
        if (rel > *worst) *worst = rel;
        if (err > RTOL * fabs(fd[i]) + 1e-5 * big && bad++ < 3)
            fprintf(stderr, "%s: %s[%zu] analytic %.9g numeric %.9g\n", spec, what, i, analytic[i],
                    fd[i]);
    }
    free(fd);
    return bad;
}

static void check(const char *spec, int in_width, int B, int T, double wscale)
{
    const pg_ops *o = pg_ops_cpu();
    pg_layer l = {0};
    char name[64], *args;
    snprintf(name, sizeof name, "%s", spec);
    args = strchr(name, ':');
    *args++ = '\0';
    l.kind = pg_layer_kind_find(name);
    l.in_width = in_width;
    CHECK_MSG(l.kind && l.kind->configure(&l, args) == 0, "configure %s", spec);
    int N = B * T, C = l.out_width;
    int k = strcmp(name, "embed") ? l.arg.heads : l.arg.embed.vocab; /* NH or V */
    ref r = {B, T, in_width, k, k, NULL};
    int *tokens = malloc(sizeof(int) * N);
    pg_rng g0;
    pg_rng_init(&g0, 11, 3, 5);
    for (int i = 0; i < N; i++) tokens[i] = (int)(pg_rng_u64(&g0) % 3);
    r.tokens = tokens;
    size_t np = 0, nin = (size_t)N * in_width, nout = (size_t)N * C;
    for (int k = 0; k < l.nparams; k++) np += l.params[k].n;
    float *pf = calloc(np, 4), *gf = calloc(np, 4), *inf = calloc(nin + 1, 4),
          *dinf = calloc(nin + 1, 4), *outf = calloc(nout, 4), *g = calloc(nout, 4);
    float *saved = calloc(l.kind->saved_floats(&l, (pg_shape){B, T}) + 1, 4);
    float *gsaved = calloc(l.kind->gsaved_floats(&l, (pg_shape){B, T}) + 1, 4);
    double *pd = malloc(sizeof(double) * np), *ind = calloc(nin + 1, sizeof(double)),
           *outd = malloc(sizeof(double) * nout);
    size_t off = 0;
    for (int k = 0; k < l.nparams; k++) {
        pg_param *P = &l.params[k];
        P->w = pf + off;
        P->g = gf + off;
        for (size_t i = 0; i < P->n; i++)
            P->w[i] = (float)(wscale * pg_rng_normal(&g0)) + (P->init == PG_INIT_ONE);
        off += P->n;
    }
    for (size_t i = 0; i < nin; i++) inf[i] = (float)pg_rng_normal(&g0);
    for (size_t i = 0; i < nout; i++) g[i] = (float)pg_rng_normal(&g0);
    for (size_t i = 0; i < np; i++) pd[i] = pf[i];
    for (size_t i = 0; i < nin; i++) ind[i] = inf[i];
    pg_mb mb = {.shape = {B, T}, .tokens = tokens, .loss_scale = 1.0f};
    l.kind->forward(&l, o, &mb, inf, outf, saved);
    forward_d(&l, &r, ind, pd, outd);
    double num = 0, den = 0;
    for (size_t i = 0; i < nout; i++) {
        num += (outf[i] - outd[i]) * (outf[i] - outd[i]);
        den += outd[i] * outd[i];
    }
    CHECK_MSG(sqrt(num / den) < 1e-5, "%s: fp32 forward vs double: %.3g", spec, sqrt(num / den));
    l.kind->backward_input(&l, o, &mb, inf, saved, g, nin ? dinf : NULL, gsaved);
    l.kind->backward_weight(&l, o, &mb, inf, saved, g, gsaved);
    double worst = 0;
    int bad = compare(&l, &r, ind, pd, ind, nin, dinf, outd, g, spec, "dinput", &worst) +
              compare(&l, &r, ind, pd, pd, np, gf, outd, g, spec, "dparam", &worst);
    CHECK_MSG(bad == 0, "%s: %d derivatives disagree", spec, bad);
    printf("fd64 %-16s forward rel %.2g, %4zu inputs %5zu params, worst rel %.2g: %s\n", spec,
           sqrt(num / den), nin, np, worst, bad ? "FAIL" : "ok");
    free(tokens), free(pf), free(gf), free(inf), free(dinf), free(outf), free(g), free(saved);
    free(gsaved), free(pd), free(ind), free(outd);
}

int main(void)
{
    check("embed:5,4,6", 0, 2, 4, 0.5);
    check("block:2,2", 8, 2, 4, 0.3); /* causal attention, 2 heads of 4 */
    check("block:1,1", 4, 1, 6, 0.3);
    check("block:4,1", 8, 2, 3, 0.3); /* heads of 2 */
    check("lmhead:7", 4, 2, 3, 0.5);
    return pg_test_summary("test_gpt_fd");
}
