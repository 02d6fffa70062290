/* planner.h: choose how to run a model on a cluster (`pipegrid plan`).
 *
 * Given the cluster (nodes alike, each with an hwloc topology and R ranks, one
 * per GPU on GPU runs), the model and global batch of a config, and the memory
 * of a device, the planner enumerates every way to run a training step:
 *   pp x dp = all ranks (pp a divisor, no more stages than partition units),
 *   microbatches m per replica (a divisor of batch / dp, at most max_mb),
 *   schedule (gpipe, 1f1b, interleaved with 2 chunks, zbh1, zbv),
 *   partition (uniform, and the cost-balanced split under the memory cap
 *              when it differs),
 *   rank order (the placement cost model's choice, topology/order.h);
 * and for each predicts the step:
 *   layer costs  F/I/W seconds per layer for the microbatch shape: FLOPs at
 *                `flops` per second plus emulated layers' times (estimate), or
 *                timed here (profile, CPU: every layer run on one microbatch,
 *                as many profilers at once as a node has ranks, costs.h);
 *   pipeline     the schedule simulator (simulate.h) with those stage costs,
 *                activations sent at the bandwidth the chosen rank order gives
 *                the busiest rank's pipeline transfers, plus `latency` per
 *                message;
 *   allreduce    each stage's gradient ring allreduce over its replicas at the
 *                order's slowest-ring bandwidth, overlapped with the stage's
 *                last backward (as the engine's buckets are);
 *   step end     the optimizer on the fullest rank (AdamW: 28 bytes per
 *                parameter at `mem_gbs`, or timed when profiling), plus the
 *                step-end reductions (`step_end` seconds);
 *   cores        on CPU runs with more ranks per node than cores, the step
 *                takes at least the node's CPU seconds (layer time minus
 *                emulated sleep, every microbatch of every rank on it) over
 *                its cores, plus the step end; profiling then runs one
 *                profiler per core rather than per rank;
 *   memory       per rank, its stages' parameters, gradients and AdamW
 *                moments (16 bytes per parameter) plus the most activation
 *                bytes the simulated schedule holds at once; a candidate
 *                above `mem` per device is dropped.
 * Candidates are ranked by predicted step time (then memory). For the first
 * `explain` of them the step is split into compute (the busiest rank's F/I/W),
 * bubble, exposed communication and step end by simulating once more without
 * communication costs.
 *
 * What the prediction leaves out (docs/plan.md): kernel efficiency changing
 * with the microbatch size under estimated costs, several ranks sharing a
 * core or memory bandwidth, data loading, and contention between pipeline and
 * allreduce traffic on the same links. */
#ifndef PG_PLANNER_H
#define PG_PLANNER_H

#include "runtime/compute/ops.h"
#include "runtime/config/config.h"
#include "topology/order.h"

#include <stdio.h>

typedef struct pg_planner_args {
    const pg_config *cfg;   /* model, train.batch_size (global batch), optim.name */
    const pg_topo *topo;    /* every node's topology */
    int nnodes, per_node;   /* ranks per node */
    int use_gpus, oversubscribe;
    int cores;              /* cores per node (CPU runs with more ranks than cores
                               time-share them: see `cores` above); 0 = unknown */
    pg_bw bw;
    double mem;             /* bytes per device; 0 = no limit */
    double flops;           /* FLOP/s of a device for estimated costs; 0 = the
                               partitioner's nominal rate */
    const pg_ops *profile;  /* time the layers with this backend instead of estimating */
    double latency;         /* seconds per pipeline message */
    double mem_gbs;         /* memory bandwidth of the optimizer step, GB/s */
    double step_end;        /* seconds of the step-end reductions */
    int max_mb;             /* most microbatches per replica */
    const char *schedules;  /* comma-separated list, or NULL for all */
    int explain;            /* candidates to split into bubble / communication */
} pg_planner_args;

typedef struct pg_candidate {
    int pp, dp, nmb, chunks, mb_size; /* mb_size: samples per microbatch */
    char schedule[32];
    char partition[256];   /* "uniform" or counts per stage, as parallel.partition takes */
    int balanced;          /* the partition is the cost-balanced one */
    char order[32];        /* the rank order chosen */
    double step;           /* predicted seconds per step */
    double samples_per_s;
    double mem;            /* bytes on the fullest rank */
    double mem_params;     /* of which parameters, gradients and optimizer state */
    double t_ar, t_p2p;    /* the order's allreduce and pipeline transfer seconds */
    /* the split of `step` (explained candidates only; else -1) */
    double compute, bubble, comm, optim;
} pg_candidate;

typedef struct pg_planner {
    int n;                 /* feasible candidates, best first */
    pg_candidate *c;
    int considered;        /* candidates simulated */
    int over_mem;          /* of which dropped for memory */
    pg_candidate fastest_over_mem; /* valid when over_mem > 0 */
    int ranks;
    double seconds;        /* planning time */
} pg_planner;

int pg_planner_run(const pg_planner_args *a, pg_planner *out);
void pg_planner_free(pg_planner *p);

/* Why candidate k ranks where it does, one line (compared with the next one
 * for the first, with the first otherwise). */
void pg_planner_reason(const pg_planner *p, int k, char *buf, size_t n);

#endif
