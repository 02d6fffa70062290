/* costs.c: estimated and profiled layer costs, stage sums (see costs.h). */
#include "runtime/partition/costs.h"

#include "collectives/comm.h"
#include "runtime/base/error.h"
#include "runtime/model/stage.h"
#include "runtime/partition/partition.h"

#include <float.h>
#include <stdlib.h>
#include <string.h>

static int alloc_layers(pg_layer_costs *c, int n)
{
    memset(c, 0, sizeof *c);
    c->nlayers = n;
    double *all = calloc((size_t)n * 6, sizeof(double));
    if (!all) return pg_error(PG_ENOMEM, "costs: out of memory");
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
 * k in the current phase, keeping the best over repetitions. */
typedef struct timer {
    double last;
    double *best; /* the phase's array */
    double *rep;  /* [nlayers] this repetition */
} timer;

static void after_layer(void *ctx, pg_stage *st, int k, int weight)
{
    (void)weight;
    timer *t = ctx;
    double now = pg_now();
    t->rep[st->lo + k] = now - t->last;
    t->last = now;
}

int pg_costs_profile(const pg_model *m, const pg_ops *o, pg_shape s, int reps, pg_layer_costs *c)
{
    int rc = alloc_layers(c, m->nlayers);
    if (rc) return rc;
    fill_bytes(m, s, c);
    pg_stage *st = NULL;
    double *rep = malloc(sizeof(double) * (size_t)m->nlayers);
    if (!rep) rc = pg_error(PG_ENOMEM, "costs: out of memory");
    if (!rc) rc = pg_stage_create(&st, m, 0, 1, 0, m->nlayers, o, 1);
    pg_slot *sl = rc ? NULL : pg_stage_slot(st, 0, s);
    if (!rc && !sl) rc = pg_error(PG_ENOMEM, "costs: out of memory for a microbatch");
    if (rc) goto done;
    o->zero(sl->block, sl->bytes); /* zero inputs, targets and labels (class 0) */
    for (int l = 0; l < m->nlayers; l++) c->f[l] = c->i[l] = c->w[l] = DBL_MAX;
    timer t = {.rep = rep};
    st->after_layer = after_layer;
    st->hook_ctx = &t;
    pg_mb desc = {.shape = s, .loss_scale = 1.0f / (float)pg_rows(s)};
    for (int r = 0; r <= reps; r++) { /* r = 0 warms up */
        double *best[3] = {c->f, c->i, c->w};
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
    }
done:
    pg_stage_free(st);
    free(rep);
    if (rc) pg_costs_free(c);
    return rc;
}

int pg_stage_costs_sum(const pg_layer_costs *c, int S, const int *first, pg_stage_costs *out)
{
    memset(out, 0, sizeof *out);
    double *all = calloc((size_t)S * 6, sizeof(double));
    if (!all) return pg_error(PG_ENOMEM, "costs: out of memory");
    out->nstages = S;
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
