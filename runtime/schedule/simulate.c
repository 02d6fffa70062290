/* simulate.c: list-scheduling simulation of a validated schedule. */
#include "runtime/schedule/simulate.h"

#include "runtime/base/error.h"
#include "runtime/schedule/timeline.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static double compute_cost(const pg_sim_costs *c, pg_action a)
{
    switch (a.kind) {
    case PG_F: return c->f[a.stage];
    case PG_B: return c->i[a.stage] + c->w[a.stage];
    case PG_I: return c->i[a.stage];
    case PG_W: return c->w[a.stage];
    default: return 0.0;
    }
}

static double transfer(const pg_sim_costs *c, int boundary_stage)
{
    double bytes = c->bytes ? c->bytes[boundary_stage] : 0.0;
    return c->latency + (c->bandwidth > 0 ? bytes / c->bandwidth : 0.0);
}

int pg_simulate(const pg_schedule *s, const pg_sim_costs *c, pg_sim_result *out)
{
    memset(out, 0, sizeof *out);
    int P = s->pp, S = s->nstages, M = s->nmb;
    size_t SM = (size_t)S * (size_t)M;
    int total = 0;
    for (int r = 0; r < P; r++) total += s->len[r];
    double *t = calloc((size_t)P, sizeof(double));
    int *pc = calloc((size_t)P, sizeof(int));
    int *inflight = calloc((size_t)P, sizeof(int));
    double *held = calloc((size_t)P, sizeof(double));
    double *red_end = calloc((size_t)P, sizeof(double)); /* a rank's allreduces done */
    double *bw_start = calloc((size_t)S, sizeof(double)); /* latest B/W start per stage */
    /* arrival times of activations into stage s and of gradients into stage
     * s (NAN until sent); done times of local producers */
    double *arr_f = malloc(sizeof(double) * SM), *arr_b = malloc(sizeof(double) * SM);
    double *done_f = malloc(sizeof(double) * SM), *done_b = malloc(sizeof(double) * SM);
    out->busy = calloc((size_t)P, sizeof(double));
    out->bubble = calloc((size_t)P, sizeof(double));
    out->peak_inflight = calloc((size_t)P, sizeof(int));
    out->peak_bytes = calloc((size_t)P, sizeof(double));
    out->events = malloc(sizeof(pg_sim_event) * (size_t)(total + 1));
    int rc = 0;
    if (!t || !pc || !inflight || !held || !red_end || !bw_start || !out->peak_bytes || !arr_f || !arr_b || !done_f || !done_b || !out->busy ||
        !out->bubble || !out->peak_inflight || !out->events) {
        rc = pg_error(PG_ENOMEM, "simulate: out of memory");
        goto done;
    }
    for (size_t k = 0; k < SM; k++) arr_f[k] = arr_b[k] = done_f[k] = done_b[k] = NAN;
    int remaining = total;
    while (remaining > 0) {
        int moved = 0, at_optim = 0;
        double optim_start = 0.0;
        for (int r = 0; r < P; r++)
            if (pc[r] == s->len[r] - 1 && s->acts[r][pc[r]].kind == PG_OPTIM) {
                at_optim++;
                optim_start = fmax(optim_start, fmax(t[r], red_end[r]));
            }
        for (int r = 0; r < P; r++) {
            while (pc[r] < s->len[r]) {
                pg_action a = s->acts[r][pc[r]];
                size_t k = (size_t)a.stage * (size_t)M + (size_t)a.mb;
                if (a.kind == PG_RECV_F && isnan(arr_f[k])) break;
                if (a.kind == PG_RECV_B && isnan(arr_b[k])) break;
                if (a.kind == PG_OPTIM) {
                    if (at_optim < P) break;
                    t[r] = optim_start + c->optim;
                } else if (pg_act_is_compute(a.kind)) {
                    double ready = t[r];
                    if (a.kind == PG_F && a.stage > 0) {
                        double in = s->stage_rank[a.stage - 1] == r ? done_f[k - M] : arr_f[k];
                        ready = fmax(ready, in);
                    }
                    if ((a.kind == PG_B || a.kind == PG_I) && a.stage < S - 1) {
                        double in = s->stage_rank[a.stage + 1] == r ? done_b[k + M] : arr_b[k];
                        ready = fmax(ready, in);
                    }
                    double end = ready + compute_cost(c, a);
                    out->events[out->nevents++] = (pg_sim_event){r, a, ready, end};
                    out->busy[r] += end - ready;
                    t[r] = end;
                    double ab = c->act_bytes ? c->act_bytes[a.stage] : 0.0;
                    if (a.kind == PG_F) {
                        done_f[k] = end;
                        if (++inflight[r] > out->peak_inflight[r]) out->peak_inflight[r] = inflight[r];
                        if ((held[r] += ab) > out->peak_bytes[r]) out->peak_bytes[r] = held[r];
                    }
                    if (a.kind == PG_B || a.kind == PG_I) done_b[k] = end;
                    if (a.kind == PG_B || a.kind == PG_W) {
                        bw_start[a.stage] = ready;
                        inflight[r]--;
                        held[r] -= ab;
                    }
                } else if (a.kind == PG_REDUCE && c->reduce) {
                    red_end[r] = fmax(red_end[r], bw_start[a.stage]) + c->reduce[a.stage];
                } else if (a.kind == PG_SEND_F) {
                    arr_f[k + M] = t[r] + transfer(c, a.stage);
                } else if (a.kind == PG_SEND_B) {
                    arr_b[k - M] = t[r] + transfer(c, a.stage - 1);
                }
                pc[r]++;
                remaining--;
                moved = 1;
            }
        }
        if (!moved) {
            rc = pg_error(PG_EINVAL, "simulate: schedule %s cannot progress (validate it first)",
                          s->name);
            goto done;
        }
    }
    for (int r = 0; r < P; r++) out->step_time = fmax(out->step_time, t[r]);
    for (int r = 0; r < P; r++)
        out->bubble[r] = out->step_time > 0 ? 1.0 - out->busy[r] / out->step_time : 0.0;
done:
    free(t);
    free(pc);
    free(inflight);
    free(held);
    free(red_end);
    free(bw_start);
    free(arr_f);
    free(arr_b);
    free(done_f);
    free(done_b);
    if (rc) pg_sim_result_free(out);
    return rc;
}

int pg_simulate_uniform(const pg_schedule *s, double f, double i, double w, pg_sim_result *out)
{
    int S = s->nstages;
    double *v = malloc(sizeof(double) * 3 * (size_t)S);
    if (!v) return pg_error(PG_ENOMEM, "simulate: out of memory");
    for (int k = 0; k < S; k++) {
        v[k] = f;
        v[S + k] = i;
        v[2 * S + k] = w;
    }
    pg_sim_costs c = {.f = v, .i = v + S, .w = v + 2 * S};
    int rc = pg_simulate(s, &c, out);
    free(v);
    return rc;
}

void pg_sim_result_free(pg_sim_result *r)
{
    free(r->busy);
    free(r->bubble);
    free(r->peak_inflight);
    free(r->peak_bytes);
    free(r->events);
    memset(r, 0, sizeof *r);
}

int pg_sim_spans(const pg_sim_result *r, pg_tl_span **spans, int *n)
{
    static const char letter[] = "FBIW";
    *n = 0;
    *spans = malloc(sizeof(pg_tl_span) * (size_t)(r->nevents + 1));
    if (!*spans) return pg_error(PG_ENOMEM, "simulate: out of memory");
    for (int e = 0; e < r->nevents; e++) {
        const pg_sim_event *ev = &r->events[e];
        (*spans)[(*n)++] = (pg_tl_span){ev->rank, ev->start, ev->end, letter[ev->a.kind],
                                        ev->a.stage, ev->a.mb};
    }
    return 0;
}

void pg_sim_print_grid(const pg_schedule *s, const pg_sim_result *r, double unit, FILE *f)
{
    static const char letter[] = "FBIW";
    int cols = (int)ceil(r->step_time / unit - 1e-9);
    char *row = malloc((size_t)cols * 8 + 1);
    if (!row) return;
    fprintf(f, "time  ");
    for (int c = 0; c < cols; c++) fprintf(f, "%-5d", c);
    fputc('\n', f);
    for (int rank = 0; rank < s->pp; rank++) {
        for (int c = 0; c < cols; c++) memcpy(row + 5 * c, "..   ", 5);
        row[5 * cols] = '\0';
        for (int e = 0; e < r->nevents; e++) {
            const pg_sim_event *ev = &r->events[e];
            if (ev->rank != rank) continue;
            int c0 = (int)floor(ev->start / unit + 1e-9), c1 = (int)ceil(ev->end / unit - 1e-9);
            for (int c = c0; c < c1 && c < cols; c++) {
                char cell[16];
                if (s->nstages == s->pp)
                    snprintf(cell, sizeof cell, "%c%-4d", letter[ev->a.kind], ev->a.mb);
                else
                    snprintf(cell, sizeof cell, "%d%c%-3d", ev->a.stage, letter[ev->a.kind],
                             ev->a.mb);
                memcpy(row + 5 * c, cell, 5);
            }
        }
        fprintf(f, "rank%-2d%s\n", rank, row);
    }
    free(row);
}
