/* watchdog.h: ending a stuck job loudly.
 *
 * Each rank's main thread says what it is doing through cheap calls at action
 * boundaries: the schedule action it runs (pg_watchdog_action), or a phase
 * outside the schedule (the step-end allreduce, the optimizer, a checkpoint,
 * the halt agreement, ...), and, inside the yielding waits of collectives/,
 * what it waits on. A thread per rank checks every 100 ms; when one action or
 * phase has run longer than runtime.watchdog_s it prints ONE line
 *
 *   pipegrid: watchdog: rank 1 (stage 1, replica 0), step 3: 1F0 (forward,
 *   microbatch 0) has run 2.0 s > runtime.watchdog_s=2, waiting on 1RECV_F0
 *   (microbatch 0, from rank 0); ending the job
 *
 * and calls MPI_Abort, so every rank exits non-zero within the timeout plus a
 * second or two. A rank that is blocked in a wait fires one second later than
 * a rank that is stuck in its own work, so the rank that caused the stall
 * usually reports first and the abort ends the others before they do. (A
 * rank blocked inside another library's collective, HDF5's, looks busy.)
 *
 * The calls only record (a mutex, a clock read); they also fire a fault
 * injected for tests at that point (fault.h). Without pg_watchdog_start they
 * record nothing and cost a branch. */
#ifndef PG_WATCHDOG_H
#define PG_WATCHDOG_H

#include "runtime/schedule/schedule.h"

/* Phases outside the schedule's actions. */
typedef enum pg_phase {
    PG_PHASE_SETUP,      /* building the run, loading a checkpoint */
    PG_PHASE_ALLREDUCE,  /* step end: sends, gradient buckets, tied copies, stats */
    PG_PHASE_OPTIMIZER,  /* clipping and the optimizer step */
    PG_PHASE_CHECKPOINT, /* saving (or waiting for a background save) */
    PG_PHASE_CKPT_CREATE, /* a save creating its file (fault point only) */
    PG_PHASE_CKPT_WRITE, /* inside the write of the tensors (fault point only) */
    PG_PHASE_CKPT_SYNC,  /* a save syncing its file (fault point only) */
    PG_PHASE_CKPT_COMMIT, /* a save renaming it and replacing `latest` (fault point only) */
    PG_PHASE_HALT,       /* the step-boundary halt agreement */
    PG_PHASE_EVAL,       /* validation forwards */
    PG_PHASE_FINISH,     /* freeing the run */
    PG_PHASES
} pg_phase;

/* Start this rank's watchdog thread (timeout_s <= 0: none; then the calls
 * below record nothing). `rank` is the world rank; the grid coordinates
 * follow from pg_watchdog_coords() once they are known. The MPI library must
 * run with MPI_THREAD_MULTIPLE (the thread calls MPI_Abort); without it the
 * thread raises SIGKILL instead, which the launcher turns into the end of
 * the job. Returns 0 or a pg_err. */
int pg_watchdog_start(double timeout_s, int rank);

/* Stop and join the thread (before MPI_Finalize). */
void pg_watchdog_stop(void);

/* This rank's stage and replica, for the report. */
void pg_watchdog_coords(int stage, int replica);

/* The step now running (1-based, as logged). */
void pg_watchdog_step(int step);

/* Starting schedule action `a`: restarts the clock; fires an injected fault
 * planned for it. Returns 1 when an injected NaN is due in this action's
 * output (the engine writes it, fault.h), else 0. */
int pg_watchdog_action(pg_action a);

/* Starting phase `p` (stage and microbatch -1): as pg_watchdog_action. */
int pg_watchdog_phase(pg_phase p);

/* What the current action now waits on (NULL: nothing, it computes); copied.
 * Does not restart the clock. Returns 1 when the watchdog thread runs (it
 * then owns the timeout of the wait), else 0. pg_watchdog_start registers it
 * as the watcher of runtime/base/wait.h, so every yielding wait reports here. */
int pg_watchdog_wait(const char *what);

/* The first caller (the watchdog thread, or the CLI ending on an error) gets
 * 1 and reports; later callers get 0 and should not print: the job is being
 * ended already. */
int pg_watchdog_claim(void);

/* A phase's name ("forward", "checkpoint", ...), for messages. */
const char *pg_phase_name(pg_phase p);

#endif
