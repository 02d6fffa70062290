/* costs.c: estimated and profiled layer costs, stage sums (see costs.h). */
#include "runtime/partition/costs.h"

#include "collectives/comm.h"
#include "runtime/base/clock.h"
#include "runtime/base/error.h"
#include "runtime/model/stage.h"
#include "runtime/model/optim.h"
#include "runtime/partition/partition.h"

#include <float.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static int alloc_layers(pg_layer_costs *c, int n)
{
    memset(c, 0, sizeof *c);
    c->nlayers = n;
    double *all = calloc((size_t)n * 7, sizeof(double));
    if (!all) return pg_error(PG_ENOMEM, "costs: out of memory");
    c->optim = all + 6 * n;
    c->f = all;
    c->i = all + n;
    c->w = all + 2 * n;
    c->act_bytes = all + 3 * n;
    c->out_bytes = all + 4 * n;
    c->param_bytes = all + 5 * n;
    return 0;
}

void pg_costs_free(pg_layer_costs *c)
{
    free(c->f);
    memset(c, 0, sizeof *c);
}

/* Memory bandwidth the estimated optimizer step runs at, bytes per second. */
#define PG_NOMINAL_MEM_BW 10e9

static void fill_bytes(const pg_model *m, pg_shape s, pg_layer_costs *c)
{
    double rows = pg_rows(s);
    for (int l = 0; l < m->nlayers; l++) {
        const pg_layer *L = &m->layers[l];
        double floats = 2.0 * rows * L->in_width + (double)L->kind->saved_floats(L, s) +
                        (double)L->kind->gsaved_floats(L, s);
        c->act_bytes[l] = 4.0 * floats;
        c->out_bytes[l] = 4.0 * rows * L->out_width;
        c->param_bytes[l] = 16.0 * (double)pg_model_param_count(m, l, l + 1);
        /* AdamW reads parameter, gradient and two moments and writes three */
        c->optim[l] = 28.0 * (double)pg_model_param_count(m, l, l + 1) / PG_NOMINAL_MEM_BW;
    }
}

int pg_costs_estimate(const pg_model *m, pg_shape s, pg_layer_costs *c)
{
    int rc = alloc_layers(c, m->nlayers);
    if (rc) return rc;
    for (int l = 0; l < m->nlayers; l++) {
        const pg_layer *L = &m->layers[l];
        /* pg_layer_cost = 3 x forward FLOPs at the nominal rate + fixed times */
        double third = (pg_layer_cost(L, s) - pg_layer_fixed_time(L, 0, s) -
                        pg_layer_fixed_time(L, 1, s) - pg_layer_fixed_time(L, 2, s)) / 3.0;
        c->f[l] = third + pg_layer_fixed_time(L, 0, s);
        c->i[l] = third + pg_layer_fixed_time(L, 1, s);
        c->w[l] = third + pg_layer_fixed_time(L, 2, s);
    }
    fill_bytes(m, s, c);
    return 0;
}

/* The stage's per-layer hook: charge the time since the last call to layer
 * k in the current phase. */
typedef struct timer {
    double last;
    double *rep; /* [nlayers] this repetition */
} timer;

static void after_layer(void *ctx, pg_stage *st, int k, int weight)
{
    (void)weight;
    timer *t = ctx;
    double now = pg_now();
    t->rep[st->lo + k] = now - t->last;
    t->last = now;
}

/* One profiler: its own stage of the whole model; best of `reps` per layer
 * and phase into f/i/w, optimizer seconds per parameter into *optim. */
typedef struct prof {
    const pg_model *m;
    const pg_ops *o;
    pg_shape s;
    int reps, rc;
    double *f, *i, *w, optim;
    pthread_barrier_t *start;
} prof;

static void *profile_one(void *arg)
{
    prof *p = arg;
    const pg_model *m = p->m;
    const pg_ops *o = p->o;
    pg_stage *st = NULL;
    pg_optim *opt = NULL;
    pg_config cfg;
    double *rep = malloc(sizeof(double) * (size_t)m->nlayers);
    int rc = rep ? 0 : pg_error(PG_ENOMEM, "costs: out of memory");
    if (!rc) rc = pg_stage_create(&st, m, 0, 1, 0, m->nlayers, o, 1);
    pg_slot *sl = rc ? NULL : pg_stage_slot(st, 0, p->s);
    if (!rc && !sl) rc = pg_error(PG_ENOMEM, "costs: out of memory for a microbatch");
    if (!rc) rc = pg_config_init(&cfg); /* AdamW, the default optimizer */
    if (!rc) rc = pg_optim_create(&opt, &cfg, &st, 1);
    if (p->start) pthread_barrier_wait(p->start); /* every profiler starts together */
    if (rc) goto done;
    o->zero(sl->block, sl->bytes); /* zero inputs, targets and labels (class 0) */
    for (int l = 0; l < m->nlayers; l++) p->f[l] = p->i[l] = p->w[l] = DBL_MAX;
    p->optim = DBL_MAX;
    timer t = {.rep = rep};
    st->after_layer = after_layer;
    st->hook_ctx = &t;
    pg_mb desc = {.shape = p->s, .loss_scale = 1.0f / (float)pg_rows(p->s)};
    for (int r = 0; r <= p->reps; r++) { /* r = 0 warms up */
        double *best[3] = {p->f, p->i, p->w};
        for (int phase = 0; phase < 3; phase++) {
            o->sync();
            t.last = pg_now();
            if (phase == 0) pg_stage_forward(st, sl, &desc);
            else if (phase == 1) pg_stage_backward_input(st, sl, &desc, 0);
            else pg_stage_backward_weight(st, sl, &desc);
            o->sync();
            for (int l = 0; l < m->nlayers && r > 0; l++)
                if (rep[l] < best[phase][l]) best[phase][l] = rep[l];
        }
        double t0 = pg_now();
        pg_optim_step(opt, 1e-9, 1.0f);
        o->sync();
        if (r > 0 && st->nparams > 0)
            p->optim = fmin(p->optim, (pg_now() - t0) / (double)st->nparams);
    }
    if (st->nparams == 0) p->optim = 0.0;
done:
    pg_optim_free(opt);
    pg_stage_free(st);
    free(rep);
    p->rc = rc;
    return NULL;
}

int pg_costs_profile(const pg_model *m, const pg_ops *o, pg_shape s, int reps, int concurrent,
                     pg_layer_costs *c)
{
    int L = m->nlayers, n = concurrent > 1 ? concurrent : 1, started = 0;
    int rc = alloc_layers(c, L);
    if (rc) return rc;
    fill_bytes(m, s, c);
    prof *p = calloc((size_t)n, sizeof *p);
    double *times = calloc((size_t)n * 3 * (size_t)L, sizeof(double));
    pthread_t *tid = calloc((size_t)n, sizeof *tid);
    pthread_barrier_t start;
    if (!p || !times || !tid) rc = pg_error(PG_ENOMEM, "costs: out of memory");
    if (!rc && n > 1 && pthread_barrier_init(&start, NULL, (unsigned)n))
        rc = pg_error(PG_EINVAL, "costs: cannot start %d profiling threads", n);
    for (int k = 0; k < n && !rc; k++) {
        double *base = times + (size_t)k * 3 * (size_t)L;
        p[k] = (prof){m, o, s, reps, 0, base, base + L, base + 2 * L, 0.0,
                      n > 1 ? &start : NULL};
    }
    if (!rc && n == 1) profile_one(&p[0]);
    else if (!rc) {
        for (; started < n; started++)
            if (pthread_create(&tid[started], NULL, profile_one, &p[started])) break;
        /* a thread that did not start leaves the others at the barrier: run
         * its share here (it fails fast without a stage) */
        for (int k = started; k < n; k++) profile_one(&p[k]);
        for (int k = 0; k < started; k++) pthread_join(tid[k], NULL);
        pthread_barrier_destroy(&start);
    }
    /* the mean over the profilers of each one's best */
    for (int k = 0; k < n && !rc; k++) rc = p[k].rc;
    for (int k = 0; k < n && !rc; k++) {
        for (int l = 0; l < L; l++) {
            c->f[l] += p[k].f[l] / n;
            c->i[l] += p[k].i[l] / n;
            c->w[l] += p[k].w[l] / n;
        }
        for (int l = 0; l < L; l++)
            c->optim[l] += p[k].optim * (double)pg_model_param_count(m, l, l + 1) / n;
    }
    free(p);
    free(times);
    free(tid);
    if (rc) pg_costs_free(c);
    return rc;
}

int pg_stage_costs_sum(const pg_layer_costs *c, int S, const int *first, pg_stage_costs *out)
{
    memset(out, 0, sizeof *out);
    double *all = calloc((size_t)S * 7, sizeof(double));
    if (!all) return pg_error(PG_ENOMEM, "costs: out of memory");
    out->nstages = S;
    out->optim = all + 6 * S;
    out->f = all;
    out->i = all + S;
    out->w = all + 2 * S;
    out->bytes = all + 3 * S;
    out->act_bytes = all + 4 * S;
    out->param_bytes = all + 5 * S;
    for (int s = 0; s < S; s++) {
        for (int l = first[s]; l < first[s + 1]; l++) {
            out->f[s] += c->f[l];
            out->i[s] += c->i[l];
            out->w[s] += c->w[l];
            out->act_bytes[s] += c->act_bytes[l];
            out->param_bytes[s] += c->param_bytes[l];
            out->optim[s] += c->optim[l];
        }
        double ob = c->out_bytes[first[s + 1] - 1];
        out->bytes[s] = ob;
        out->act_bytes[s] += 2.0 * ob; /* the stage output and its gradient */
    }
    return 0;
}

void pg_stage_costs_free(pg_stage_costs *c)
{
    free(c->f);
    memset(c, 0, sizeof *c);
}
