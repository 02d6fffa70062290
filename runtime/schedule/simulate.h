/* simulate.h: predicted timeline of a schedule from per-stage costs.
 *
 * Each rank runs its actions in order; a compute action starts when the rank
 * is free and its input has arrived; a send is non-blocking and its data
 * arrives latency + bytes/bandwidth later; a stage's gradient allreduce
 * (REDUCE, with costs) starts when the stage's last backward does (its
 * buckets overlap that backward) and the rank's allreduces run one after
 * another beside its compute; OPTIM waits for every rank and its allreduces. The
 * result is the predicted step time, each rank's busy time and bubble, the
 * peak number of microbatches whose activations a rank holds, and the timed
 * compute actions (for the action grid and pictures). */
#ifndef PG_SIMULATE_H
#define PG_SIMULATE_H

#include "runtime/schedule/schedule.h"

#include <stdio.h>

typedef struct pg_sim_costs {
    const double *f, *i, *w; /* [nstages] seconds per microbatch; B = I + W */
    const double *bytes;     /* [nstages] bytes a stage's output has per microbatch, or NULL */
    const double *act_bytes; /* [nstages] bytes a microbatch holds on a stage from its F to
                                its B/W (activations, saved state, gradients), or NULL */
    double latency;          /* seconds per message */
    double bandwidth;        /* bytes per second (0 = infinite) */
    double optim;            /* seconds of the step end on every rank: gradient norm and
                                loss reductions, clipping, the optimizer */
    const double *reduce;    /* [nstages] seconds of a stage's gradient allreduce over its
                                replicas, or NULL (none) */
} pg_sim_costs;

typedef struct pg_sim_event {
    int rank;
    pg_action a;
    double start, end;
} pg_sim_event;

typedef struct pg_sim_result {
    double step_time;
    double *busy;       /* [pp] compute seconds */
    double *bubble;     /* [pp] 1 - busy/step_time */
    int *peak_inflight; /* [pp] microbatch-stages held at once (F done, B/W not yet) */
    double *peak_bytes; /* [pp] the most act_bytes held at once (0 without act_bytes) */
    int nevents;
    pg_sim_event *events; /* compute actions, in execution order per rank */
} pg_sim_result;

int pg_simulate(const pg_schedule *s, const pg_sim_costs *c, pg_sim_result *out);
void pg_sim_result_free(pg_sim_result *r);

/* Uniform costs: every stage f, i, w, no communication cost. */
int pg_simulate_uniform(const pg_schedule *s, double f, double i, double w, pg_sim_result *out);

/* The compute events as timeline spans (timeline.h), one row per rank;
 * *spans is malloc'd, *n its length. */
struct pg_tl_span;
int pg_sim_spans(const pg_sim_result *r, struct pg_tl_span **spans, int *n);

/* The action grid: one row per rank, one column per `unit` of time, each
 * cell showing the action running then (".." when idle). */
void pg_sim_print_grid(const pg_schedule *s, const pg_sim_result *r, double unit, FILE *f);

#endif
