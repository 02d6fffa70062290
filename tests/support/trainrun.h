/* trainrun.h: run N training steps of a configuration in-process and collect
 * the per-step losses and the final parameters, for tests that compare runs
 * (grid invariance, determinism, resume). */
#ifndef PG_TRAINRUN_H
#define PG_TRAINRUN_H

#include "runtime/config/config.h"

#include <mpi.h>
#include <stddef.h>

typedef struct pg_trainrun {
    int steps;
    double *losses;  /* [steps], on every rank */
    float *params;   /* all parameters in model order, world rank 0 only */
    size_t nparams;
} pg_trainrun;

/* The tiny MLP the grid tests share, on cfg's defaults: every layer kind with
 * weights, 7 layers before the loss (so up to 7 stages), the teacher task,
 * batch 96 (divisible by dp x M for dp in {1, 2, 4} and M in {1, 3, 8}),
 * lr 0.01, a uniform partition. Tests set their own keys on top. 0 or a
 * pg_err. */
int pg_trainrun_tiny_mlp(pg_config *cfg);

/* Train `steps` steps of cfg over `world` (collective). Returns 0 or a
 * pg_err; on error the failing rank prints the message. */
int pg_trainrun_go(const pg_config *cfg, MPI_Comm world, int steps, pg_trainrun *out);
void pg_trainrun_free(pg_trainrun *r);

/* Compare b against reference a: every loss within rtol relative, the
 * parameters of every tensor within rtol (norm of difference over norm of
 * reference), or bitwise when rtol == 0. Prints what differs. Rank 0 only.
 * Returns the number of mismatches. */
int pg_trainrun_compare(const pg_config *cfg, const pg_trainrun *a, const pg_trainrun *b,
                        double rtol, const char *label);

#endif
