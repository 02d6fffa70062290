/* planner.c: enumerate, predict and rank ways to run a step (planner.h). */
#include "runtime/planner/planner.h"

#include "runtime/base/clock.h"
#include "runtime/base/error.h"
#include "runtime/model/model.h"
#include "runtime/partition/costs.h"
#include "runtime/partition/partition.h"
#include "runtime/schedule/schedule.h"
#include "runtime/schedule/simulate.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Layer costs for one microbatch size, computed once. */
typedef struct cost_entry {
    int b;
    pg_layer_costs lc;
} cost_entry;

/* The rank order chosen for one traffic pattern (pp, schedule, partition). */
typedef struct order_entry {
    int pp, chunks;
    char schedule[32], partition[256];
    char name[32];
    double t_ar, t_p2p;
    double *grad; /* [pp] gradient bytes per pipeline rank */
    double p2p_busiest; /* bytes per step of the busiest pipeline rank */
} order_entry;

typedef struct ctx {
    const pg_planner_args *a;
    pg_model *m;
    pg_node_plan *np;
    int *node, *slot;
    int ncost, capcost;
    cost_entry *costs;
    int norder, caporder;
    order_entry *orders;
    int n, cap;
    pg_candidate *c;
    pg_planner *out;
} ctx;

/* Profilers at once: a node's ranks, but no more than its cores (more ranks
 * than cores time-share them, which cpu_bound() counts instead). */
static int profilers(const pg_planner_args *a)
{
    return a->cores > 0 && a->per_node > a->cores ? a->cores : a->per_node;
}

/* CPU ranks sharing cores: a node computes at most `cores` ranks' work at a
 * time, so a step takes at least the node's CPU seconds / cores (emulated
 * layers sleep: their times take no core) plus the step end. 0 when every
 * rank has its own core or runs on a GPU. */
static double cpu_bound(const ctx *x, const pg_schedule *s, int dp, pg_shape shape,
                        const pg_stage_costs *sc, const int *first, double step_end)
{
    const pg_planner_args *a = x->a;
    if (a->use_gpus || a->cores <= 0 || a->per_node <= a->cores) return 0.0;
    double cpu = 0.0; /* CPU seconds of one replica's pipeline */
    for (int st = 0; st < s->nstages; st++) {
        double sleep = 0.0;
        for (int l = first[st]; l < first[st + 1]; l++)
            for (int ph = 0; ph < 3; ph++)
                sleep += pg_layer_fixed_time(&x->m->layers[l], ph, shape);
        cpu += s->nmb * fmax(0.0, sc->f[st] + sc->i[st] + sc->w[st] - sleep);
    }
    return cpu * dp / a->nnodes / a->cores + step_end;
}

static int layer_costs(ctx *x, int b, const pg_layer_costs **out)
{
    for (int k = 0; k < x->ncost; k++)
        if (x->costs[k].b == b) {
            *out = &x->costs[k].lc;
            return 0;
        }
    if (x->ncost == x->capcost) {
        int cap = x->capcost ? 2 * x->capcost : 8;
        cost_entry *e = realloc(x->costs, sizeof *e * (size_t)cap);
        if (!e) return pg_error(PG_ENOMEM, "plan: out of memory");
        x->costs = e;
        x->capcost = cap;
    }
    cost_entry *e = &x->costs[x->ncost];
    pg_shape s = {b, x->m->T};
    int rc = x->a->profile
                 ? pg_costs_profile(x->m, x->a->profile, s, 3, profilers(x->a), &e->lc)
                 : pg_costs_estimate(x->m, s, &e->lc);
    if (rc) return rc;
    /* optimizer bytes per parameter: AdamW reads 4 floats and writes 3, SGD 3 and 2 */
    double per_param = x->a->cfg->optim.name == PG_OPTIM_SGD ? 20.0 : 28.0;
    if (!x->a->profile)
        for (int l = 0; l < x->m->nlayers; l++)
            e->lc.optim[l] = per_param * (double)pg_model_param_count(x->m, l, l + 1) /
                             (x->a->mem_gbs * 1e9);
    if (!x->a->profile && x->a->flops > 0)
        for (int l = 0; l < x->m->nlayers; l++) {
            const pg_layer *L = &x->m->layers[l];
            double t = L->kind->flops(L, s) / x->a->flops;
            e->lc.f[l] = t + pg_layer_fixed_time(L, 0, s);
            e->lc.i[l] = t + pg_layer_fixed_time(L, 1, s);
            e->lc.w[l] = t + pg_layer_fixed_time(L, 2, s);
        }
    e->b = b;
    x->ncost++;
    *out = &e->lc;
    return 0;
}

/* The split as parallel.partition takes it: partition units per stage (a
 * unit starts at every layer not glued to the one before; the loss is none). */
static void partition_text(const pg_model *m, int S, const int *first, char *buf, size_t n)
{
    size_t k = 0;
    buf[0] = '\0';
    for (int s = 0; s < S && k < n; s++) {
        int units = 0;
        for (int i = first[s]; i < first[s + 1] && i < m->nlayers - 1; i++)
            units += i == 0 || !(m->layers[i - 1].glue == 1 || m->layers[i].glue == -1);
        k += (size_t)snprintf(buf + k, n - k, "%s%d", s ? "," : "", units);
    }
}

/* The order for this traffic, from the cache or chosen now. */
static int choose_order(ctx *x, const pg_schedule *s, const int *first, const char *part,
                        int dp, pg_shape mb, const order_entry **out)
{
    int pp = s->pp, v = s->nstages / s->pp;
    for (int k = 0; k < x->norder; k++) {
        order_entry *e = &x->orders[k];
        if (e->pp == pp && e->chunks == v && !strcmp(e->schedule, s->name) &&
            !strcmp(e->partition, part)) {
            *out = e;
            return 0;
        }
    }
    if (x->norder == x->caporder) {
        int cap = x->caporder ? 2 * x->caporder : 16;
        order_entry *e = realloc(x->orders, sizeof *e * (size_t)cap);
        if (!e) return pg_error(PG_ENOMEM, "plan: out of memory");
        x->orders = e;
        x->caporder = cap;
    }
    order_entry *e = &x->orders[x->norder];
    memset(e, 0, sizeof *e);
    pg_traffic *t = NULL;
    pg_order_table *o = NULL;
    int N = x->a->nnodes * x->a->per_node;
    pg_layout L = {N, x->a->nnodes, x->node, x->slot, x->np};
    int rc = pg_traffic_create(&t, x->m, s, first, dp, mb);
    if (!rc) rc = pg_order_choose(&o, &L, t, &x->a->bw, "auto");
    if (!rc && !(e->grad = malloc(sizeof(double) * (size_t)pp)))
        rc = pg_error(PG_ENOMEM, "plan: out of memory");
    if (!rc) {
        const pg_order_cost *c = &o->c[o->chosen];
        e->pp = pp;
        e->chunks = v;
        snprintf(e->schedule, sizeof e->schedule, "%s", s->name);
        snprintf(e->partition, sizeof e->partition, "%s", part);
        snprintf(e->name, sizeof e->name, "%s", c->name);
        e->t_ar = c->t_ar;
        e->t_p2p = c->t_p2p;
        for (int i = 0; i < pp; i++) {
            e->grad[i] = t->grad[i];
            double bytes = 0.0;
            for (int j = 0; j < pp; j++)
                if (j != i) bytes += t->p2p[(i < j ? i : j) * pp + (i < j ? j : i)];
            if (bytes > e->p2p_busiest) e->p2p_busiest = bytes;
        }
        x->norder++;
        *out = e;
    }
    pg_order_table_free(o);
    pg_traffic_free(t);
    return rc;
}

static int push(ctx *x, const pg_candidate *c)
{
    if (x->n == x->cap) {
        int cap = x->cap ? 2 * x->cap : 64;
        pg_candidate *n = realloc(x->c, sizeof *n * (size_t)cap);
        if (!n) return pg_error(PG_ENOMEM, "plan: out of memory");
        x->c = n;
        x->cap = cap;
    }
    x->c[x->n++] = *c;
    return 0;
}

/* Predict one (schedule, partition) and keep it when it fits. */
static int evaluate(ctx *x, const pg_schedule *s, int dp, int b, const pg_layer_costs *lc,
                    const int *first, int balanced)
{
    const pg_planner_args *a = x->a;
    int S = s->nstages, pp = s->pp, rc;
    pg_candidate c = {.pp = pp, .dp = dp, .nmb = s->nmb, .chunks = S / pp, .mb_size = b,
                      .balanced = balanced, .compute = -1, .bubble = -1, .comm = -1,
                      .optim = -1};
    snprintf(c.schedule, sizeof c.schedule, "%s", s->name);
    if (balanced) partition_text(x->m, S, first, c.partition, sizeof c.partition);
    else snprintf(c.partition, sizeof c.partition, "uniform");
    pg_stage_costs sc;
    if ((rc = pg_stage_costs_sum(lc, S, first, &sc))) return rc;
    char key[256];
    partition_text(x->m, S, first, key, sizeof key);
    const order_entry *o = NULL;
    double *rank_params = calloc((size_t)pp, sizeof(double));
    double *reduce = calloc((size_t)(S + pp), sizeof(double));
    if (!rank_params || !reduce) rc = pg_error(PG_ENOMEM, "plan: out of memory");
    if (!rc) rc = choose_order(x, s, first, key, dp, (pg_shape){b, x->m->T}, &o);
    pg_sim_result r = {0};
    if (!rc) {
        double gmax = 0.0;
        for (int i = 0; i < pp; i++) gmax = fmax(gmax, o->grad[i]);
        double *rank_optim = reduce + S; /* [pp] */
        for (int st = 0; st < S; st++) {
            rank_params[s->stage_rank[st]] += sc.param_bytes[st];
            rank_optim[s->stage_rank[st]] += sc.optim[st];
            /* the rank's ring time, shared among its stages by gradient bytes */
            reduce[st] = dp > 1 && gmax > 0 ? o->t_ar * (sc.param_bytes[st] / 4.0) / gmax : 0.0;
        }
        double optim = 0.0;
        for (int i = 0; i < pp; i++) optim = fmax(optim, rank_optim[i]);
        optim += a->step_end;
        double bw = o->t_p2p > 0 ? o->p2p_busiest / o->t_p2p : 0.0;
        pg_sim_costs sim = {sc.f, sc.i, sc.w, sc.bytes, sc.act_bytes, a->latency, bw, optim,
                            reduce};
        rc = pg_simulate(s, &sim, &r);
        double bound = cpu_bound(x, s, dp, (pg_shape){b, x->m->T}, &sc, first, optim);
        if (!rc) {
            c.step = fmax(r.step_time, bound);
            c.samples_per_s = a->cfg->train.batch_size / c.step;
            c.t_ar = o->t_ar;
            c.t_p2p = o->t_p2p;
            snprintf(c.order, sizeof c.order, "%s", o->name);
            for (int i = 0; i < pp; i++)
                if (rank_params[i] + r.peak_bytes[i] > c.mem) {
                    c.mem = rank_params[i] + r.peak_bytes[i];
                    c.mem_params = rank_params[i];
                }
            /* the split: the same step without communication */
            pg_sim_costs bare = {sc.f, sc.i, sc.w, NULL, NULL, 0.0, 0.0, optim, NULL};
            pg_sim_result r0;
            if (!(rc = pg_simulate(s, &bare, &r0))) {
                double busy = 0.0;
                for (int i = 0; i < pp; i++) busy = fmax(busy, r0.busy[i]);
                c.compute = fmax(busy, bound - optim); /* cores shared: the node's share */
                c.optim = optim;
                c.bubble = fmax(0.0, r0.step_time - busy - optim);
                c.comm = fmax(0.0, r.step_time - r0.step_time);
                if (bound > r.step_time) c.bubble = c.comm = 0.0; /* the cores are the limit */
                pg_sim_result_free(&r0);
            }
        }
        pg_sim_result_free(&r);
    }
    x->out->considered += !rc;
    if (!rc && a->mem > 0 && c.mem > a->mem) {
        if (!x->out->over_mem++ || c.step < x->out->fastest_over_mem.step)
            x->out->fastest_over_mem = c;
    } else if (!rc) {
        rc = push(x, &c);
    }
    free(rank_params);
    free(reduce);
    pg_stage_costs_free(&sc);
    return rc;
}

/* Every partition of one schedule: uniform, then the cost-balanced split. */
static int partitions(ctx *x, const pg_schedule *s, int dp, int b)
{
    const pg_layer_costs *lc = NULL;
    int S = s->nstages, pp = s->pp, L = x->m->nlayers;
    int rc = layer_costs(x, b, &lc);
    if (rc) return rc;
    int *uni = malloc(sizeof(int) * (size_t)(S + 1)), *bal = malloc(sizeof(int) * (size_t)(S + 1));
    double *cost = malloc(sizeof(double) * (size_t)L), *mult = malloc(sizeof(double) * (size_t)S);
    if (!uni || !bal || !cost || !mult) rc = pg_error(PG_ENOMEM, "plan: out of memory");
    pg_shape shape = {b, x->m->T};
    if (!rc && pg_partition(x->m, S, "uniform", shape, uni)) {
        rc = 0; /* fewer partition units than stages: no candidate */
        goto done;
    }
    if (!rc) rc = evaluate(x, s, dp, b, lc, uni, 0);
    pg_sim_result u;
    if (!rc && !(rc = pg_simulate_uniform(s, 1, 1, 1, &u))) {
        for (int st = 0; st < S; st++) mult[st] = u.peak_inflight[s->stage_rank[st]];
        pg_sim_result_free(&u);
    }
    for (int l = 0; l < L && !rc; l++) cost[l] = lc->f[l] + lc->i[l] + lc->w[l];
    double cap = x->a->mem > 0 ? x->a->mem / (S / pp) : DBL_MAX;
    if (!rc && !pg_partition_capped(x->m, S, cost, lc->param_bytes, lc->act_bytes, mult, cap,
                                    bal) &&
        memcmp(bal, uni, sizeof(int) * (size_t)(S + 1)))
        rc = evaluate(x, s, dp, b, lc, bal, 1);
done:
    free(uni);
    free(bal);
    free(cost);
    free(mult);
    return rc;
}

static int wanted(const char *list, const char *name)
{
    if (!list) return 1;
    size_t n = strlen(name);
    for (const char *p = list; *p;) {
        const char *e = strchr(p, ',');
        size_t k = e ? (size_t)(e - p) : strlen(p);
        if (k == n && !strncmp(p, name, n)) return 1;
        if (!e) break;
        p = e + 1;
    }
    return 0;
}

static int by_step(const void *pa, const void *pb)
{
    const pg_candidate *a = pa, *b = pb;
    if (a->step != b->step) return a->step < b->step ? -1 : 1;
    if (a->mem != b->mem) return a->mem < b->mem ? -1 : 1;
    return 0;
}

int pg_planner_run(const pg_planner_args *a, pg_planner *out)
{
    static const struct {
        const char *name;
        int chunks;
    } scheds[] = {{"1f1b", 1}, {"gpipe", 1}, {"interleaved", 2}, {"zbh1", 1}, {"zbv", 2}};
    memset(out, 0, sizeof *out);
    double t0 = pg_now();
    if (a->schedules)
        for (const char *p = a->schedules; *p;) {
            const char *e = strchr(p, ',');
            size_t k = e ? (size_t)(e - p) : strlen(p);
            int ok = 0;
            for (size_t i = 0; i < sizeof scheds / sizeof scheds[0]; i++)
                ok |= strlen(scheds[i].name) == k && !strncmp(p, scheds[i].name, k);
            if (!ok)
                return pg_error(PG_EINVAL,
                                "--schedules: unknown schedule '%.*s' (expected a list of gpipe, "
                                "1f1b, interleaved, zbh1, zbv)",
                                (int)k, p);
            if (!e) break;
            p = e + 1;
        }
    int R = a->nnodes * a->per_node, B = a->cfg->train.batch_size;
    if (a->nnodes < 1 || a->per_node < 1)
        return pg_error(PG_EINVAL, "plan: need at least one node and one rank per node");
    ctx x = {.a = a, .out = out};
    int rc = pg_model_create(&x.m, a->cfg);
    if (!rc) rc = pg_node_plan_create(&x.np, a->topo, a->per_node, a->use_gpus, a->oversubscribe);
    if (!rc && (!(x.node = malloc(sizeof(int) * (size_t)R)) ||
                !(x.slot = malloc(sizeof(int) * (size_t)R))))
        rc = pg_error(PG_ENOMEM, "plan: out of memory");
    for (int r = 0; r < R && !rc; r++) {
        x.node[r] = r / a->per_node;
        x.slot[r] = r % a->per_node;
    }
    /* partition units: layers before the loss not glued to the one before */
    int units = 0;
    for (int i = 0; !rc && i < x.m->nlayers - 1; i++)
        units += i == 0 || !(x.m->layers[i - 1].glue == 1 || x.m->layers[i].glue == -1);
    for (int pp = 1; pp <= R && pp <= PG_SCHEDULE_MAX_PP && !rc; pp++) {
        if (R % pp) continue;
        int dp = R / pp;
        if (B % dp) continue;
        for (int m = 1; m <= B / dp && m <= a->max_mb && !rc; m++) {
            if ((B / dp) % m) continue;
            int b = B / (dp * m);
            for (size_t k = 0; k < sizeof scheds / sizeof scheds[0] && !rc; k++) {
                const char *name = scheds[k].name;
                int v = scheds[k].chunks;
                /* one stage: every schedule is the same; keep 1f1b */
                if (!wanted(a->schedules, name) || (pp == 1 && k > 0 && wanted(a->schedules,
                                                                               "1f1b")))
                    continue;
                if (pp * v > units || (double)pp * v * m > PG_SCHEDULE_MAX_CELLS) continue;
                pg_schedule *s = NULL;
                if (pg_schedule_build(&s, name, pp, v, m)) continue; /* not for this shape */
                rc = partitions(&x, s, dp, b);
                pg_schedule_free(s);
            }
        }
    }
    if (!rc && x.n == 0) {
        if (out->over_mem)
            rc = pg_error(PG_EINVAL,
                          "plan: none of the %d candidates fits in %.3g GB per device (the "
                          "smallest needs more; the fastest %.3g GB)",
                          out->considered, a->mem / 1e9, out->fastest_over_mem.mem / 1e9);
        else
            rc = pg_error(PG_EINVAL,
                          "plan: no candidate: %d ranks, global batch %d (pp x dp must be the "
                          "ranks, dp must divide the batch, pp at most the model's layers)",
                          R, B);
    }
    if (!rc) {
        qsort(x.c, (size_t)x.n, sizeof *x.c, by_step);
        out->c = x.c;
        out->n = x.n;
        x.c = NULL;
    }
    out->ranks = R;
    out->seconds = pg_now() - t0;
    for (int k = 0; k < x.ncost; k++) pg_costs_free(&x.costs[k].lc);
    for (int k = 0; k < x.norder; k++) free(x.orders[k].grad);
    free(x.costs);
    free(x.orders);
    free(x.c);
    free(x.node);
    free(x.slot);
    pg_node_plan_free(x.np);
    pg_model_free(x.m);
    return rc;
}

void pg_planner_free(pg_planner *p)
{
    free(p->c);
    memset(p, 0, sizeof *p);
}

void pg_planner_reason(const pg_planner *p, int k, char *buf, size_t n)
{
    const pg_candidate *c = &p->c[k];
    if (p->n == 1) {
        snprintf(buf, n, "the only candidate that fits");
        return;
    }
    const pg_candidate *o = &p->c[k == 0 ? 1 : 0];
    /* the parts of the step that differ most */
    const char *what[4] = {"compute", "bubble", "exposed communication", "step end"};
    double d[4] = {o->compute - c->compute, o->bubble - c->bubble, o->comm - c->comm,
                   o->optim - c->optim};
    int big = 0;
    for (int i = 1; i < 4; i++)
        if (fabs(d[i]) > fabs(d[big])) big = i;
    double pct = 100.0 * (o->step - c->step) / c->step;
    size_t k0 = 0;
    if (fabs(pct) < 0.05)
        k0 = (size_t)snprintf(buf, n, "ties with #%d on step time; %s memory (%.3g vs %.3g GB)",
                              k == 0 ? 2 : 1, c->mem <= o->mem ? "less" : "more", c->mem / 1e9,
                              o->mem / 1e9);
    else if (k == 0)
        k0 = (size_t)snprintf(buf, n, "%.1f%% faster than #2: %s %.2f ms less", pct, what[big],
                              d[big] * 1e3);
    else
        k0 = (size_t)snprintf(buf, n, "%.1f%% slower than #1: %s %.2f ms more", -pct, what[big],
                              -d[big] * 1e3);
    if (k0 < n)
        k0 += (size_t)snprintf(buf + k0, n - k0, " (bubble %.1f%% of the step, exposed "
                                                 "communication %.2f ms, step end %.2f ms)",
                               100.0 * c->bubble / c->step, c->comm * 1e3, c->optim * 1e3);
    if (k == 0 && p->over_mem && p->fastest_over_mem.step < c->step && k0 < n)
        snprintf(buf + k0, n - k0, "; pp=%d dp=%d m=%d %s would be %.1f%% faster but needs %.3g GB",
                 p->fastest_over_mem.pp, p->fastest_over_mem.dp, p->fastest_over_mem.nmb,
                 p->fastest_over_mem.schedule,
                 100.0 * (c->step - p->fastest_over_mem.step) / c->step,
                 p->fastest_over_mem.mem / 1e9);
}
