/* comm.h: the communication interface. A backend (MPI now, NCCL for GPUs) is a
 * table of non-blocking operations on a group of ranks; the engine starts
 * operations, keeps their requests, and completes them with pg_wait(), which
 * yields the CPU while it polls (ranks may outnumber cores), tells the watchdog
 * what it waits on (runtime/guard/watchdog.h, through runtime/base/wait.h) and, without a watchdog thread,
 * enforces a timeout itself.
 *
 * Buffers live in the memory of the compute backend the group was made for
 * (host memory for MPI; device memory for NCCL). Counts are float elements.
 * An operation reads and writes its buffer only after the compute work queued
 * before it was started (NCCL: its stream waits on an event recorded on the
 * compute stream; staged MPI: the download runs on the compute stream; MPI
 * on the CPU: compute is synchronous), so callers need no device sync first. */
#ifndef PG_COMM_H
#define PG_COMM_H

#include "runtime/base/clock.h"
#include "runtime/base/wait.h"
#include "runtime/compute/ops.h"

#include <mpi.h>
#include <stddef.h>

typedef struct pg_comm pg_comm;

/* A pending operation. Zero-initialised means "none". */
typedef struct pg_req {
    int active;
    MPI_Request mpi;
    void *dev; /* backend-specific handle (e.g. a CUDA event) */
} pg_req;

typedef struct pg_comm_ops {
    const char *name;
    int (*isend)(pg_comm *c, const float *buf, size_t n, int peer, int tag, pg_req *r);
    int (*irecv)(pg_comm *c, float *buf, size_t n, int peer, int tag, pg_req *r);
    /* sum over the group, in place */
    int (*iallreduce)(pg_comm *c, float *buf, size_t n, pg_req *r);
    /* *done = 1 when finished (the request is then inactive) */
    int (*test)(pg_comm *c, pg_req *r, int *done);
    void (*destroy)(pg_comm *c);
} pg_comm_ops;

struct pg_comm {
    const pg_comm_ops *ops;
    MPI_Comm mpi; /* the group as an MPI communicator (not owned) */
    int rank, size;
    void *impl;
};

/* The group over `m` for buffers of compute backend `ops`, by runtime.comm
 * `kind` (auto | mpi | nccl). Host buffers always use MPI. Device buffers use
 * NCCL for nccl; for auto, NCCL when the group is for collectives (p2p = 0)
 * and MPI staged through host memory for sends and receives (p2p = 1), which
 * MPI matches by tag (NCCL by order); for mpi, staged MPI. nccl with a CPU
 * backend is an error naming runtime.comm. A group of one rank never gets an
 * NCCL communicator (staged MPI, which it never uses to exchange anything).
 * Collective over `m` when it makes an NCCL communicator; `timeout` (seconds,
 * <= 0: none; runtime.watchdog_s) bounds its set-up waits as pg_wait's. */
int pg_comm_create(pg_comm **c, MPI_Comm m, const pg_ops *ops, pg_comm_kind kind, int p2p,
                   double timeout);

/* An MPI group over `m` (host buffers). */
int pg_comm_mpi_create(pg_comm **c, MPI_Comm m);

/* An MPI group over `m` for buffers in the memory of `ops`, staged through
 * host memory (comm_staged.c). */
int pg_comm_staged_create(pg_comm **c, MPI_Comm m, const pg_ops *ops);

/* An NCCL group over `m` (CUDA builds; comm_nccl.c): one NCCL communicator
 * for collectives and, with p2p, one two-rank communicator per direction to
 * each ring neighbour (rank +- 1) for sends and receives, each with its own
 * stream. All are initialised non-blocking and waited for with pg_poll
 * (`timeout` as pg_wait's). Collective over `m`; a failure on any rank is
 * agreed (every rank returns an error, none is left inside NCCL). */
int pg_comm_nccl_create(pg_comm **c, MPI_Comm m, int p2p, double timeout);

void pg_comm_destroy(pg_comm *c);

/* Complete `r`, yielding the CPU between polls. While it waits, `what` is
 * what the watchdog reports this rank waits on. Without a watchdog thread,
 * after `timeout` seconds (> 0; <= 0: never) it returns PG_ETIMEOUT with a
 * message "waited T s for <what>"; with one, the watchdog ends the job
 * instead. *waited, if not NULL, gets the seconds spent. An inactive request
 * returns at once. */
int pg_wait(pg_comm *c, pg_req *r, double timeout, const char *what, double *waited);

#endif
