/* costs.h: what layers and stages cost, for the simulator and the partitioner.
 *
 * Per layer, for one microbatch: seconds of forward (F), input gradient (I)
 * and weight gradient (W), and bytes; per step, seconds of the optimizer on
 * the layer's parameters. The seconds are either estimated (FLOPs at the
 * partitioner's nominal rate, split F : I : W = 1 : 1 : 1, plus the times of
 * emulated layers; AdamW's 28 bytes per parameter at a nominal 10 GB/s) or
 * measured by a profiling pass: every layer's F, I and W run on one
 * microbatch, timed one layer at a time, best of `reps` after a warm-up, and
 * an AdamW step over all the parameters. `concurrent` profilers run at once
 * (threads, each with its own copy of the model), as that many ranks of a
 * node compute at once and share its cores, caches and memory bandwidth; the
 * costs are the mean over them. A stage costs the sum of its layers. */
#ifndef PG_COSTS_H
#define PG_COSTS_H

#include "runtime/compute/ops.h"
#include "runtime/model/model.h"

typedef struct pg_layer_costs {
    int nlayers;
    double *f, *i, *w;   /* [nlayers] seconds */
    double *act_bytes;   /* [nlayers] held per microbatch from F to W: the input and
                            its gradient, saved and gsaved state */
    double *out_bytes;   /* [nlayers] the layer's output per microbatch */
    double *param_bytes; /* [nlayers] parameters + gradients + two optimizer moments */
    double *optim;       /* [nlayers] seconds of the optimizer step on its parameters */
} pg_layer_costs;

int pg_costs_estimate(const pg_model *m, pg_shape s, pg_layer_costs *c);
int pg_costs_profile(const pg_model *m, const pg_ops *o, pg_shape s, int reps, int concurrent,
                     pg_layer_costs *c);
void pg_costs_free(pg_layer_costs *c);

/* Per-stage sums for stage s = layers [first[s], first[s+1]); arrays of
 * nstages, in the layout pg_sim_costs takes (bytes = the stage output). */
typedef struct pg_stage_costs {
    int nstages;
    double *f, *i, *w, *bytes, *act_bytes, *param_bytes, *optim;
} pg_stage_costs;

int pg_stage_costs_sum(const pg_layer_costs *c, int nstages, const int *first,
                       pg_stage_costs *out);
void pg_stage_costs_free(pg_stage_costs *c);

#endif
