/* buckets.h: a stage's gradient vector allreduced in buckets, overlapped
 * with the backward pass.
 *
 * Layers run backward from last to first and a stage's gradients are laid out
 * in layer order, so during the last microbatch's backward the tail of the
 * vector becomes final first. Buckets are therefore cut from the end: bucket
 * 0 is the last `bucket` floats, bucket 1 the ones before it, and so on.
 * pg_buckets_ready(b, off) says "[off, n) is final": every bucket inside that
 * range not yet launched starts its non-blocking allreduce at once, while the
 * backward of the earlier layers goes on. pg_buckets_poll() lets MPI progress
 * them (call it between layers); pg_buckets_finish() launches the rest and
 * waits for all.
 *
 * The sum of each element is the same operation whatever the bucket size, so
 * for a given grid the gradients are bitwise those of one bulk allreduce
 * (tests/mpi/test_buckets.c checks it). */
#ifndef PG_BUCKETS_H
#define PG_BUCKETS_H

#include "collectives/comm.h"

#include <stddef.h>

typedef struct pg_buckets pg_buckets;

/* Buckets of `bucket` floats (0 = one bucket of all n) over grads[0, n),
 * reduced over `group`; `stage` labels trace spans and messages. */
int pg_buckets_create(pg_buckets **b, pg_comm *group, float *grads, size_t n, size_t bucket,
                      int stage);
void pg_buckets_free(pg_buckets *b);

int pg_buckets_count(const pg_buckets *b);

/* Gradients [offset, n) are final: launch every bucket within them. */
int pg_buckets_ready(pg_buckets *b, size_t offset);

/* Test the buckets in flight (drives MPI progress); never blocks. */
int pg_buckets_poll(pg_buckets *b);

/* Launch whatever is left, wait for every bucket, and re-arm for the next
 * step. *waited gets the seconds spent blocked. */
int pg_buckets_finish(pg_buckets *b, double timeout, double *waited);

#endif
