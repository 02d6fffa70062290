/* engine.h: executes a schedule, one training step at a time.
 *
 * The engine owns this rank's stages, its optimizer and its communication
 * groups. A step runs the rank's action list: forwards and backwards on the
 * local stages, non-blocking sends and receives of activations and gradients
 * to pipeline neighbours (local hand-offs when both stages live here),
 * gradient allreduce within each stage group in buckets launched during the
 * last backward (collectives/buckets.h), and at OPTIM one small world
 * allreduce (loss, per-stage gradient norms, compute time) followed by
 * clipping and the optimizer update. */
#ifndef PG_ENGINE_H
#define PG_ENGINE_H

#include "collectives/comm.h"
#include "collectives/grid.h"
#include "runtime/compute/ops.h"
#include "runtime/config/config.h"
#include "runtime/engine/data.h"
#include "runtime/model/model.h"
#include "runtime/model/optim.h"
#include "runtime/model/stage.h"
#include "runtime/schedule/schedule.h"

#include <stdint.h>

typedef struct pg_engine pg_engine;

typedef struct pg_engine_args {
    const pg_config *cfg;
    const pg_grid *grid;
    const pg_model *model;
    const pg_schedule *sched; /* validated; sched->pp == grid->pp */
    const int *first;         /* partition: stage s has layers [first[s], first[s+1]) */
    const pg_ops *ops;
    pg_data *data;
} pg_engine_args;

typedef struct pg_step_stats {
    int step;            /* 1-based index of the step just taken */
    double loss;         /* mean loss over the global batch */
    double grad_norm;    /* global norm before clipping */
    double lr;
    double step_time;    /* seconds, this rank */
    double compute_time; /* seconds of F/B/I/W, mean over ranks */
    double bubble;       /* share of the step waiting on other ranks, in [0, 1]: per
                            rank (blocked receives + waiting for the slowest rank in
                            the step-end allreduce) / (its time from step start to
                            the end of that allreduce), mean over ranks */
    double exposed_comm; /* seconds blocked on gradient allreduce after the last
                            backward (not hidden behind it), mean over ranks */
    double peak_mem_mb;  /* peak resident memory, MiB, max over ranks */
    double samples_per_s;
    int nonfinite;       /* the loss, gradients or activations passed between stages were
                            NaN/Inf; the update was skipped */
    /* with nonfinite: where a NaN/Inf appeared first (forwards run from stage
     * 0 up, backwards from the last stage down), agreed over the grid: a
     * stage's forward output, the loss, a stage's backward (input or weight
     * gradients); PG_NF_NORM: every part finite, their sum of squares
     * overflowed (stage -1) */
    int nonfinite_stage;
    enum { PG_NF_FORWARD, PG_NF_LOSS, PG_NF_BACKWARD, PG_NF_NORM } nonfinite_where;
} pg_step_stats;

int pg_engine_create(pg_engine **e, const pg_engine_args *a);
void pg_engine_free(pg_engine *e);

/* Run one training step (collective over the world). Every rank gets the
 * same stats apart from step_time. */
int pg_engine_step(pg_engine *e, pg_step_stats *stats);

/* Mean loss over `batches` global batches of validation samples (the data
 * source's split 1), forward only; collective over the world. Validation
 * batch k holds validation samples [k*G, (k+1)*G), so every evaluation sees
 * the same samples, on any grid. Leaves gradients and the step count alone. */
int pg_engine_eval(pg_engine *e, int batches, double *loss);

/* This rank's stages (model stage order) and optimizer. */
int pg_engine_nstages(const pg_engine *e);
pg_stage *pg_engine_stage(const pg_engine *e, int i);
pg_optim *pg_engine_optim(const pg_engine *e);

/* Steps taken so far; setting it positions the data stream and the learning
 * rate schedule (used when resuming). */
int pg_engine_steps_done(const pg_engine *e);
void pg_engine_set_steps_done(pg_engine *e, int steps);

#endif
