/* trace_read.h: load a trace written by trace.c (the merged trace.json or one
 * rank<R>.json) back into spans, and what `pipegrid trace` computes from it:
 * time per category and rank, and the measured timeline of one step.
 *
 * Only files in trace.c's layout are understood: one process (pid) per rank
 * named "rank R (stage S, replica D)", synchronous "X" spans, async "b"/"e"
 * pairs and "step N" instant events; the category ("cat") of each span names
 * its pg_span_kind. */
#ifndef PG_TRACE_READ_H
#define PG_TRACE_READ_H

#include "runtime/observe/trace.h"
#include "runtime/schedule/timeline.h"

typedef struct pg_tr_span {
    int kind;       /* pg_span_kind */
    double t0, t1;  /* seconds from the trace origin */
    int stage, mb;  /* -1 when they do not apply */
} pg_tr_span;

typedef struct pg_tr_rank {
    int rank, stage, replica; /* stage: the rank's pipeline position (grid row) */
    pg_tr_span *spans;
    int nspans;
    double *step_t; /* [nsteps] start of step step0 + k */
    int step0, nsteps;
} pg_tr_rank;

typedef struct pg_trace_file {
    int nranks;
    pg_tr_rank *ranks; /* sorted by rank */
} pg_trace_file;

/* Parse `path`. Errors name the file and what was expected. */
int pg_trace_load(const char *path, pg_trace_file **out);
void pg_trace_file_free(pg_trace_file *t);

/* Per-rank seconds spent in each category over steps [first, last]. */
enum { PG_TC_COMPUTE, PG_TC_COMM, PG_TC_WAIT, PG_TC_OPTIM, PG_TC_DATA, PG_TC_CKPT,
       PG_TC_OTHER, PG_TC_N };
typedef struct pg_tr_totals {
    double wall;           /* sum of the steps' lengths on this rank */
    double cat[PG_TC_N];   /* compute (F/B/I/W), communication (blocked on sends and
                              on gradient allreduce: exposed), wait (blocked on a
                              neighbour's message + waiting for the slowest rank at
                              the step end: bubble), optimizer, data, checkpoint,
                              other (the rest of wall, validation passes
                              included) */
    double inflight;       /* seconds of sends, receives and allreduces in flight
                              (overlapping each other and compute) */
} pg_tr_totals;

/* Steps every rank has: [*first, *last]; 0 if the trace has no step. */
int pg_trace_steps(const pg_trace_file *t, int *first, int *last);

/* Totals of rank index i (into t->ranks) over steps [first, last]. A step
 * lasts from its mark to the next step's mark; the last step in the trace
 * ends at the end of its last span. */
void pg_trace_totals(const pg_trace_file *t, int i, int first, int last, pg_tr_totals *out);

/* Compute seconds per model stage (from the spans' stage), summed over
 * steps [first, last] on each rank, max over replicas: out[S] with S =
 * 1 + the highest stage seen (*nstages). Caller frees. */
int pg_trace_stage_compute(const pg_trace_file *t, int first, int last, double **out,
                           int *nstages);

/* The measured timeline of `step`: one row per rank, compute spans (F/B/I/W,
 * coloured by microbatch) and the optimizer (grey "O"), times from the
 * earliest rank's start of the step. *spans is malloc'd; *t_end is the end
 * of the step's last span. */
int pg_trace_step_spans(const pg_trace_file *t, int step, pg_tl_span **spans, int *n,
                        double *t_end);

#endif
