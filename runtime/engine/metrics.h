/* metrics.h: one JSON line per training step (`pipegrid train --metrics FILE`).
 *
 * Each line is an object with (docs/observability.md):
 *   step, loss, lr, grad_norm     as in the log line
 *   step_time                     seconds, rank 0
 *   samples_per_s, tokens_per_s   global batch / step_time (tokens_per_s: token
 *                                 models only, else null)
 *   model_gflop                   model FLOPs of the step (forward + 2x forward for
 *                                 the backward, whole global batch), GFLOP
 *   mfu                           model_gflop / step_time / (ranks x runtime.peak_gflops);
 *                                 null when runtime.peak_gflops = 0 (the default)
 *   compute_time                  seconds of F/B/I/W per rank, mean over ranks
 *   bubble                        share of the step waiting on other ranks, mean
 *   exposed_comm                  seconds blocked on the gradient allreduce after
 *                                 the backward (not hidden), mean over ranks
 *   peak_mem_mb                   [world size] peak resident memory of each rank, MiB
 * The file is appended to, so a resumed run continues it. */
#ifndef PG_METRICS_H
#define PG_METRICS_H

#include "runtime/engine/engine.h"
#include "runtime/engine/run.h"

typedef struct pg_metrics pg_metrics;

/* Open `path` for appending on world rank 0 (collective; errors agreed: every
 * rank returns the same code, *reporter is 1 where pg_errmsg() explains it). */
int pg_metrics_open(pg_metrics **m, const char *path, const pg_run *r, int *reporter);

/* Write the line of step s (collective: gathers each rank's peak memory). */
int pg_metrics_step(pg_metrics *m, const pg_step_stats *s);

/* Close (rank 0 flushes); NULL is fine. */
void pg_metrics_close(pg_metrics *m);

#endif
