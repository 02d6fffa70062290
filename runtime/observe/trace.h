/* trace.h: per-rank timeline of what the runtime did, as Chrome Trace Event
 * JSON (opens in Perfetto, ui.perfetto.dev, and chrome://tracing).
 *
 * One process-wide tracer per rank. It is off until pg_trace_start(); while
 * off, pg_trace_span() is one branch. While on, spans are appended to an
 * in-memory buffer (no I/O during the run) and pg_trace_write() writes, at the
 * end, DIR/rank<R>.json for every rank and DIR/trace.json, the whole job
 * with one process row per rank.
 *
 * Spans are either synchronous (the rank's main thread was doing this:
 * compute, blocked waits, optimizer, data, checkpoint; Chrome "X" events on
 * thread 0) or asynchronous (an operation in flight while the thread did
 * other things: a send, a receive, an allreduce bucket; Chrome "b"/"e"
 * pairs). Times are pg_now() seconds; they are written in microseconds from
 * the collective start, so ranks on one clock line up. */
#ifndef PG_TRACE_H
#define PG_TRACE_H

#include <mpi.h>

typedef enum pg_span_kind {
    /* synchronous, on the main thread */
    PG_SPAN_FORWARD,         /* F of one microbatch */
    PG_SPAN_BACKWARD,        /* B (input and weight gradients) */
    PG_SPAN_BACKWARD_I,      /* I (input gradient only) */
    PG_SPAN_BACKWARD_W,      /* W (weight gradient only) */
    PG_SPAN_WAIT,            /* blocked on a pipeline neighbour's message */
    PG_SPAN_WAIT_SEND,       /* blocked at the step end on one of our sends */
    PG_SPAN_WAIT_ALLREDUCE,  /* blocked on a gradient bucket (exposed allreduce) */
    PG_SPAN_SYNC,            /* the step-end allreduce: waiting for the slowest rank */
    PG_SPAN_OPTIMIZER,       /* clipping and the update */
    PG_SPAN_DATA,            /* loading a microbatch's inputs / targets */
    PG_SPAN_CHECKPOINT,      /* saving or loading a checkpoint */
    PG_SPAN_EVAL,            /* a validation pass (its forwards are not recorded) */
    /* asynchronous, in flight */
    PG_SPAN_SEND,            /* an activation or gradient send, post to completion */
    PG_SPAN_RECV,            /* a receive, post to completion */
    PG_SPAN_ALLREDUCE,       /* one gradient bucket's allreduce, launch to completion */
    PG_SPAN_KINDS
} pg_span_kind;

/* The "cat" of each kind in the JSON ("forward", "wait", "allreduce", ...). */
const char *pg_span_cat(pg_span_kind k);

extern int pg_trace_on_; /* read through pg_trace_on() */
static inline int pg_trace_on(void) { return pg_trace_on_; }

/* Start tracing on every rank of `world` (collective: a barrier marks the
 * common time origin). rank/stage/replica label this rank's row. */
int pg_trace_start(MPI_Comm world, int stage, int replica);

/* Record a span [t0, t1] (pg_now() seconds). stage and mb are -1 when they do
 * not apply; for PG_SPAN_ALLREDUCE mb is the bucket index. `act` is the
 * schedule action (pg_act_kind) the span belongs to, which names it in the
 * schedule's notation ("1F3", "wait 1RECV_B2"), or -1. */
void pg_trace_add_(pg_span_kind k, double t0, double t1, int stage, int mb, int act);
static inline void pg_trace_span(pg_span_kind k, double t0, double t1, int stage, int mb, int act)
{
    if (pg_trace_on_) pg_trace_add_(k, t0, t1, stage, mb, act);
}

/* Mark the start of training step `step` (1-based) at time t. */
void pg_trace_step_(int step, double t);
static inline void pg_trace_step(int step, double t)
{
    if (pg_trace_on_) pg_trace_step_(step, t);
}

/* Write DIR/rank<R>.json on every rank and DIR/trace.json on rank 0
 * (collective over the world given to pg_trace_start; creates DIR), then
 * stop tracing and free the buffer. Errors are agreed: every rank returns the
 * same code and *reporter is 1 on the rank whose pg_errmsg() explains it. */
int pg_trace_write(const char *dir, int *reporter);

/* Suspend (1) or resume (0) recording, around work that is not part of a
 * training step (validation passes) or outside the steps asked for; nothing
 * when tracing was not started. Returns whether it was recording before. */
int pg_trace_pause(int pause);

/* Stop and drop the buffer without writing. */
void pg_trace_stop(void);

/* Spans (and step marks) recorded since pg_trace_start. */
long pg_trace_count(void);

#endif
