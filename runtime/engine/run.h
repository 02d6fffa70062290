/* run.h: everything a training run is made of, built from a configuration:
 * grid, model, partition, schedule, data source, backend and engine. The CLI
 * and the tests build runs the same way. */
#ifndef PG_RUN_H
#define PG_RUN_H

#include "collectives/grid.h"
#include "runtime/compute/ops.h"
#include "runtime/config/config.h"
#include "runtime/engine/data.h"
#include "runtime/engine/engine.h"
#include "runtime/model/model.h"
#include "runtime/schedule/schedule.h"
#include "topology/plan.h"

#include <mpi.h>
#include <stdio.h>

typedef struct pg_run {
    pg_config cfg;
    pg_grid *grid;
    pg_model *model;
    int *first; /* partition: [nstages + 1] */
    pg_schedule *sched;
    pg_data *data;
    const pg_ops *ops;
    const char *device_note; /* one line when "auto" fell back, else NULL */
    const char *precision_note; /* one line when runtime.precision has no effect, else NULL */
    char device_desc[160];   /* this rank's GPU ("" on the CPU) */
    char bind_note[256];     /* one line when the plan's GPU was not visible, else "" */
    pg_engine *engine;
    pg_plan *plan; /* placement (topology/plan.h); NULL when off: parallel.order is
                      not auto and placement.bind is none */
    struct pg_ckpt *ckpt; /* io/checkpoint/checkpoint.h: resume origin, save in flight;
                             NULL until used */
    void (*ckpt_free)(struct pg_ckpt *); /* set with ckpt by its owner (the checkpoint
                                            layer sits above the engine); pg_run_free calls it */
} pg_run;

/* Build a run over `world` (collective). Errors are agreed over the world:
 * every rank returns the same non-zero code, and *reporter is 1 on the one
 * rank whose pg_errmsg() explains it. */
int pg_run_create(pg_run **r, const pg_config *cfg, MPI_Comm world, int *reporter);
void pg_run_free(pg_run *r);

/* The start-of-run summary (grid, model, partition, schedule), for rank 0. */
void pg_run_describe(const pg_run *r, FILE *f);

/* Gather every parameter, in model order, to world rank 0 (collective);
 * *out is malloc'd on rank 0 and NULL elsewhere. */
int pg_run_gather_params(const pg_run *r, float **out, size_t *n);

#endif
