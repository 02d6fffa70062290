/* partition.h: which layers each pipeline stage holds.
 *
 * Stage s holds layers [first[s], first[s+1]) of the model; the loss layer
 * always joins the last stage, and every stage holds at least one other layer.
 * Layers glued together (pg_layer.glue: a gpt's embedding to its first block,
 * its final norm and head to its last) form one partition unit; counts below
 * are units. A spec is "uniform" (equal unit counts), "auto" (contiguous ranges that
 * minimise the largest estimated stage cost) or explicit layer counts per
 * stage, "3,3,2" (not counting the loss layer). */
#ifndef PG_PARTITION_H
#define PG_PARTITION_H

#include "runtime/model/model.h"

#include <stdio.h>

/* Estimated seconds of forward + backward of layer l on one microbatch: FLOPs
 * at a nominal rate, plus the fixed time of emulated layers. */
double pg_layer_cost(const pg_layer *l, pg_shape s);

/* Fill first[0..nstages] (first[nstages] = nlayers). */
int pg_partition(const pg_model *m, int nstages, const char *spec, pg_shape s, int *first);

/* The cost-balanced split from given per-layer costs (seconds, e.g. profiled)
 * under a memory cap: stage s may hold layers whose fixed[] bytes (parameters,
 * gradients, optimizer state) plus mult[s] x act[] bytes (activations of one
 * microbatch, times the microbatches it holds at once) stay <= cap. Minimises
 * the largest stage cost. Error when no split fits. */
int pg_partition_capped(const pg_model *m, int nstages, const double *cost, const double *fixed,
                        const double *act, const double *mult, double cap, int *first);

/* One line per stage: layers, kinds, parameters, estimated cost. */
void pg_partition_print(const pg_model *m, int nstages, const int *first, pg_shape s, FILE *f);

#endif
