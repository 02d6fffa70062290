/* comm_nccl.c: the NCCL backend of comm.h, for buffers in CUDA device memory.
 *
 * Collectives: one NCCL communicator over the group (ncclCommInitRank after
 * rank 0 broadcasts the unique id over the group's MPI communicator), with
 * its own stream. An allreduce first makes that stream wait on an event
 * recorded on the compute stream, so it starts after the backward kernels
 * queued so far and runs beside later compute.
 *
 * Sends and receives (when made with p2p): NCCL matches them by order, not by
 * tag, so each ordered pair of ranks (from -> to) gets its own two-rank
 * communicator and stream: the messages of one direction between two ranks
 * are matched in the order both sides post them (the engine posts them in
 * schedule order), and a receive waiting in one direction never blocks a send
 * in the other. Each operation is one ncclGroupStart/End group.
 *
 * A request holds a CUDA event recorded after its operation; test() queries
 * it. Errors name the NCCL call, file and line (cuda/check.h). */
#include "collectives/comm.h"

#include "runtime/base/error.h"
#include "runtime/compute/cuda.h"
#include "runtime/compute/cuda/check.h"

#include <cuda_runtime_api.h>
#include <limits.h>
#include <nccl.h>
#include <stdlib.h>
#include <string.h>

typedef struct lane {
    ncclComm_t comm; /* NULL when not made */
    cudaStream_t stream;
    int peer; /* the other rank's index inside comm (0 or 1); for the group: unused */
} lane;

typedef struct nccl_impl {
    lane group;
    lane *send_to, *recv_from; /* [size], p2p only */
} nccl_impl;

static nccl_impl *impl_of(pg_comm *c) { return (nccl_impl *)c->impl; }

static int count_ok(size_t n)
{
    if (n > (size_t)INT_MAX)
        return pg_error(PG_ECOMM, "message of %zu floats is too large for one NCCL call", n);
    return 0;
}

/* Make `l`'s stream wait for the compute stream's queued work. */
static int after_compute(lane *l)
{
    cudaEvent_t ev;
    PG_CUDA_TRY(cudaEventCreateWithFlags(&ev, cudaEventDisableTiming));
    int rc = pg_cuda_status(cudaEventRecord(ev, (cudaStream_t)pg_cuda_stream()),
                            "cudaEventRecord(compute)", __FILE__, __LINE__);
    if (!rc) rc = pg_cuda_status(cudaStreamWaitEvent(l->stream, ev, 0), "cudaStreamWaitEvent",
                                 __FILE__, __LINE__);
    cudaEventDestroy(ev); /* released once the wait is done */
    return rc;
}

/* Record the request's completion event on `l`'s stream. */
static int finish(lane *l, pg_req *r)
{
    cudaEvent_t ev;
    PG_CUDA_TRY(cudaEventCreateWithFlags(&ev, cudaEventDisableTiming));
    PG_CUDA_TRY(cudaEventRecord(ev, l->stream));
    r->dev = ev;
    r->active = 1;
    return 0;
}

static int nc_isend(pg_comm *c, const float *buf, size_t n, int peer, int tag, pg_req *r)
{
    (void)tag; /* matched by order within the pair: see the top of the file */
    nccl_impl *x = impl_of(c);
    int rc = count_ok(n);
    if (rc) return rc;
    if (!x->send_to || !x->send_to[peer].comm)
        return pg_error(PG_ECOMM, "comm nccl: no send lane to rank %d of the group", peer);
    lane *l = &x->send_to[peer];
    if ((rc = after_compute(l))) return rc;
    PG_NCCL_TRY(ncclGroupStart());
    PG_NCCL_TRY(ncclSend(buf, n, ncclFloat, l->peer, l->comm, l->stream));
    PG_NCCL_TRY(ncclGroupEnd());
    return finish(l, r);
}

static int nc_irecv(pg_comm *c, float *buf, size_t n, int peer, int tag, pg_req *r)
{
    (void)tag;
    nccl_impl *x = impl_of(c);
    int rc = count_ok(n);
    if (rc) return rc;
    if (!x->recv_from || !x->recv_from[peer].comm)
        return pg_error(PG_ECOMM, "comm nccl: no receive lane from rank %d of the group", peer);
    lane *l = &x->recv_from[peer];
    /* the compute stream may still read the buffer's previous contents */
    if ((rc = after_compute(l))) return rc;
    PG_NCCL_TRY(ncclGroupStart());
    PG_NCCL_TRY(ncclRecv(buf, n, ncclFloat, l->peer, l->comm, l->stream));
    PG_NCCL_TRY(ncclGroupEnd());
    return finish(l, r);
}

static int nc_iallreduce(pg_comm *c, float *buf, size_t n, pg_req *r)
{
    nccl_impl *x = impl_of(c);
    int rc = count_ok(n);
    if (!rc) rc = after_compute(&x->group);
    if (rc) return rc;
    PG_NCCL_TRY(ncclAllReduce(buf, buf, n, ncclFloat, ncclSum, x->group.comm, x->group.stream));
    return finish(&x->group, r);
}

static int nc_test(pg_comm *c, pg_req *r, int *done)
{
    (void)c;
    cudaEvent_t ev = (cudaEvent_t)r->dev;
    cudaError_t e = cudaEventQuery(ev);
    *done = 0;
    if (e == cudaErrorNotReady) {
        (void)cudaGetLastError();
        return 0;
    }
    PG_CUDA_TRY(e);
    cudaEventDestroy(ev);
    r->dev = NULL;
    r->active = 0;
    *done = 1;
    return 0;
}

static void lane_free(lane *l)
{
    if (l->comm) {
        cudaStreamSynchronize(l->stream);
        ncclCommDestroy(l->comm);
        cudaStreamDestroy(l->stream);
    }
    l->comm = NULL;
}

static void nc_destroy(pg_comm *c)
{
    nccl_impl *x = impl_of(c);
    if (x) {
        lane_free(&x->group);
        for (int i = 0; x->send_to && i < c->size; i++) {
            lane_free(&x->send_to[i]);
            lane_free(&x->recv_from[i]);
        }
        free(x->send_to);
        free(x->recv_from);
        free(x);
    }
    free(c);
}

static const pg_comm_ops nccl_ops = {
    .name = "nccl",
    .isend = nc_isend,
    .irecv = nc_irecv,
    .iallreduce = nc_iallreduce,
    .test = nc_test,
    .destroy = nc_destroy,
};

/* ncclCommInitRank over `m` (or, with root >= 0 and other >= 0, over the two
 * ranks root and other of m: root makes the id and sends it). The id travels
 * with root's status, so a failed ncclGetUniqueId does not leave the others
 * waiting inside NCCL. */
static int lane_init(lane *l, MPI_Comm m, int me, int nranks, int root, int other, int tag)
{
    struct {
        int status;
        ncclUniqueId id;
    } msg;
    memset(&msg, 0, sizeof msg);
    int mine = me == root || (root < 0 && me == 0);
    if (mine) msg.status = pg_nccl_status(ncclGetUniqueId(&msg.id), "ncclGetUniqueId", __FILE__,
                                          __LINE__);
    if (root < 0)
        MPI_Bcast(&msg, (int)sizeof msg, MPI_BYTE, 0, m);
    else if (mine)
        MPI_Send(&msg, (int)sizeof msg, MPI_BYTE, other, tag, m);
    else
        MPI_Recv(&msg, (int)sizeof msg, MPI_BYTE, root, tag, m, MPI_STATUS_IGNORE);
    if (msg.status)
        return mine ? msg.status
                    : pg_error(PG_EDEVICE, "comm nccl: ncclGetUniqueId failed on rank %d",
                               root < 0 ? 0 : root);
    int idx = root < 0 ? me : (me == root ? 0 : 1);
    PG_CUDA_TRY(cudaStreamCreateWithFlags(&l->stream, cudaStreamNonBlocking));
    int rc = pg_nccl_status(ncclCommInitRank(&l->comm, nranks, msg.id, idx), "ncclCommInitRank",
                            __FILE__, __LINE__);
    if (rc) {
        l->comm = NULL;
        cudaStreamDestroy(l->stream);
        return rc;
    }
    l->peer = 1 - idx;
    return 0;
}

/* The two lanes between every pair (i < j), in one global order, so that each
 * two-rank init finds its partner without a cycle of waits. */
static int make_pairs(pg_comm *c, nccl_impl *x)
{
    int n = c->size, me = c->rank;
    x->send_to = calloc((size_t)n, sizeof(lane));
    x->recv_from = calloc((size_t)n, sizeof(lane));
    if (!x->send_to || !x->recv_from) return pg_error(PG_ENOMEM, "comm nccl: out of memory");
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++) {
            if (me != i && me != j) continue;
            int other = me == i ? j : i, rc;
            /* i -> j, made by i; then j -> i, made by j */
            lane *a = me == i ? &x->send_to[j] : &x->recv_from[i];
            if ((rc = lane_init(a, c->mpi, me, 2, i, other, 2 * (i * n + j)))) return rc;
            lane *b = me == j ? &x->send_to[i] : &x->recv_from[j];
            if ((rc = lane_init(b, c->mpi, me, 2, j, other, 2 * (i * n + j) + 1))) return rc;
        }
    return 0;
}

int pg_comm_nccl_create(pg_comm **out, MPI_Comm m, int p2p)
{
    *out = NULL;
    pg_comm *c = calloc(1, sizeof *c);
    nccl_impl *x = calloc(1, sizeof *x);
    if (!c || !x) {
        free(c);
        free(x);
        return pg_error(PG_ENOMEM, "comm nccl: out of memory");
    }
    c->ops = &nccl_ops;
    c->mpi = m;
    c->impl = x;
    MPI_Comm_rank(m, &c->rank);
    MPI_Comm_size(m, &c->size);
    int mine = lane_init(&x->group, m, c->rank, c->size, -1, -1, 0);
    int rc = pg_agree(m, mine, NULL);
    if (!rc && p2p && c->size > 1) rc = pg_agree(m, mine = make_pairs(c, x), NULL);
    if (rc) {
        if (!mine) pg_error(rc, "comm nccl: NCCL initialisation failed on another rank of the group");
        nc_destroy(c);
        return rc;
    }
    *out = c;
    return 0;
}
