/* comm_nccl.c: the NCCL backend of comm.h, for buffers in CUDA device memory.
 *
 * Collectives: one NCCL communicator over the group, with its own stream. An
 * allreduce first makes that stream wait on an event recorded on the compute
 * stream, so it starts after the backward kernels queued so far and runs
 * beside later compute.
 *
 * Sends and receives (when made with p2p): NCCL matches them by order, not by
 * tag, within a communicator. The pipeline only talks to its ring neighbours
 * (stage s to s+1 on the next rank, wrapping round for interleaved chunks and
 * the tied embedding), so each rank has at most four two-rank communicators,
 * one per direction per neighbour: to and from rank+1, to and from rank-1
 * (two with two ranks). That is 2 x size communicators over the group, not
 * one per ordered pair; each has its own stream, so a receive waiting in one
 * direction never blocks a send in the other, and the messages of one
 * direction are matched in the order both sides post them (the engine posts
 * them in schedule order). A send to a rank that is not a neighbour is an
 * error naming runtime.comm. Each operation is one ncclGroupStart/End group.
 *
 * Set-up never leaves a rank inside NCCL when another failed: every
 * communicator is made non-blocking (ncclConfig_t.blocking = 0). The unique
 * ids travel over MPI with their creator's status; the ranks start every
 * ncclCommInitRankConfig, agree (pg_agree) that all started, then poll
 * ncclCommGetAsyncError of all of them through pg_poll (yielding, reported
 * to the watchdog, timing out after `timeout` seconds when no watchdog thread
 * runs) and agree on the outcome. On a failure anywhere, every rank aborts its
 * communicators (ncclCommAbort) and returns an error. Then the p2p lanes are
 * connected (p2p_connect), all at once, so that no first send or receive
 * waits for a connection later.
 *
 * Operations on a non-blocking communicator may return ncclInProgress while
 * NCCL enqueues them (the first send to a peer connects to it): the call then
 * polls ncclCommGetAsyncError until it settles. A request holds a CUDA event
 * recorded after its operation; test() queries it and, while it is not done,
 * polls every communicator's asynchronous error, so that a dead or failed
 * peer ends the wait with an error (and the watchdog's report) instead of a
 * hang. Errors name the NCCL call, file and line (cuda/check.h). */
#include "collectives/comm.h"

#include "runtime/base/error.h"
#include "runtime/base/wait.h"
#include "runtime/compute/cuda.h"
#include "runtime/compute/cuda/check.h"

#include <cuda_runtime_api.h>
#include <limits.h>
#include <nccl.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

typedef struct lane {
    ncclComm_t comm; /* NULL when not made */
    cudaStream_t stream;
    int peer;  /* the other rank of a two-rank lane, as a rank of the group */
    int index; /* the other rank's index inside comm (0 or 1); for the group: unused */
    const char *name;
} lane;

enum { OUT_NEXT, IN_PREV, OUT_PREV, IN_NEXT, NLANES };

typedef struct nccl_impl {
    lane group;
    lane p2p[NLANES]; /* comm NULL where unused (no p2p; two ranks: only the _NEXT pair) */
    double timeout;
} nccl_impl;

static nccl_impl *impl_of(pg_comm *c) { return (nccl_impl *)c->impl; }

static int count_ok(size_t n)
{
    if (n > (size_t)INT_MAX)
        return pg_error(PG_ECOMM, "message of %zu floats is too large for one NCCL call", n);
    return 0;
}

/* The asynchronous state of l's communicator as a pg_err: 0 when fine, 1 when
 * an operation is still being enqueued (ncclInProgress). */
static int async_state(const lane *l)
{
    ncclResult_t st = ncclSuccess;
    ncclResult_t r = ncclCommGetAsyncError(l->comm, &st);
    if (r != ncclSuccess) return pg_nccl_status(r, "ncclCommGetAsyncError", __FILE__, __LINE__);
    if (st == ncclInProgress) return 1;
    if (st != ncclSuccess)
        return pg_error(PG_ECOMM,
                        "comm nccl: the %s communicator reports %s (%s): a peer failed or the "
                        "connection broke",
                        l->name, ncclGetErrorString(st), ncclGetLastError(l->comm));
    return 0;
}

typedef struct settle_ctx {
    lane *lanes[NLANES + 1];
    int n;
} settle_ctx;

/* pg_poll's test: done when every lane has settled; an error on any lane
 * (a dead peer's among them) ends the wait at once */
static int settled(void *ctx, int *done)
{
    settle_ctx *x = ctx;
    int busy = 0;
    for (int i = 0; i < x->n; i++) {
        int rc = async_state(x->lanes[i]);
        if (rc < 0) return rc;
        busy |= rc == 1;
    }
    *done = !busy;
    return 0;
}

/* After a call on l's non-blocking communicator returned r: wait until NCCL
 * has taken it (r == ncclInProgress), or report r's failure. */
static int settle(nccl_impl *x, lane *l, ncclResult_t r, const char *call, int line)
{
    if (r == ncclSuccess) return 0;
    if (r != ncclInProgress) return pg_nccl_status(r, call, __FILE__, line);
    settle_ctx s = {{l}, 1};
    return pg_poll(settled, &s, x->timeout, "an NCCL operation to be enqueued", NULL);
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

/* The p2p lane to (out) or from peer, or NULL with the error recorded. */
static lane *p2p_lane(pg_comm *c, int peer, int out)
{
    nccl_impl *x = impl_of(c);
    int a = out ? OUT_NEXT : IN_NEXT, b = out ? OUT_PREV : IN_PREV;
    if (x->p2p[a].comm && x->p2p[a].peer == peer) return &x->p2p[a];
    if (x->p2p[b].comm && x->p2p[b].peer == peer) return &x->p2p[b];
    pg_error(PG_ECOMM,
             "comm nccl: no %s lane %s rank %d of the group: NCCL sends and receives connect "
             "ring neighbours only (rank %d's are %d and %d); use runtime.comm=mpi or auto",
             out ? "send" : "receive", out ? "to" : "from", peer, c->rank,
             (c->rank + 1) % c->size, (c->rank + c->size - 1) % c->size);
    return NULL;
}

static int p2p(pg_comm *c, float *buf, size_t n, int peer, pg_req *r, int out)
{
    nccl_impl *x = impl_of(c);
    int rc = count_ok(n);
    if (rc) return rc;
    lane *l = p2p_lane(c, peer, out);
    if (!l) return PG_ECOMM;
    /* a send reads what compute wrote; a receive must not overwrite the
     * buffer's previous contents while compute may still read them */
    if ((rc = after_compute(l))) return rc;
    PG_NCCL_TRY(ncclGroupStart());
    if (out) PG_NCCL_TRY(ncclSend(buf, n, ncclFloat, l->index, l->comm, l->stream));
    else PG_NCCL_TRY(ncclRecv(buf, n, ncclFloat, l->index, l->comm, l->stream));
    if ((rc = settle(x, l, ncclGroupEnd(), "ncclGroupEnd", __LINE__))) return rc;
    return finish(l, r);
}

static int nc_isend(pg_comm *c, const float *buf, size_t n, int peer, int tag, pg_req *r)
{
    (void)tag; /* matched by order within the lane: see the top of the file */
    return p2p(c, (float *)buf, n, peer, r, 1);
}

static int nc_irecv(pg_comm *c, float *buf, size_t n, int peer, int tag, pg_req *r)
{
    (void)tag;
    return p2p(c, buf, n, peer, r, 0);
}

static int nc_iallreduce(pg_comm *c, float *buf, size_t n, pg_req *r)
{
    nccl_impl *x = impl_of(c);
    int rc = count_ok(n);
    if (!rc) rc = after_compute(&x->group);
    if (rc) return rc;
    rc = settle(x, &x->group,
                ncclAllReduce(buf, buf, n, ncclFloat, ncclSum, x->group.comm, x->group.stream),
                "ncclAllReduce", __LINE__);
    return rc ? rc : finish(&x->group, r);
}

static int nc_test(pg_comm *c, pg_req *r, int *done)
{
    nccl_impl *x = impl_of(c);
    cudaEvent_t ev = (cudaEvent_t)r->dev;
    cudaError_t e = cudaEventQuery(ev);
    *done = 0;
    if (e == cudaErrorNotReady) {
        (void)cudaGetLastError();
        /* still running: a failed peer shows here, not in the event */
        int rc = x->group.comm ? async_state(&x->group) : 0;
        for (int i = 0; rc >= 0 && i < NLANES; i++)
            if (x->p2p[i].comm && async_state(&x->p2p[i]) < 0) rc = PG_ECOMM;
        return rc < 0 ? rc : 0;
    }
    PG_CUDA_TRY(e);
    cudaEventDestroy(ev);
    r->dev = NULL;
    r->active = 0;
    *done = 1;
    return 0;
}

/* Release l: after a failure (abort) at once; else once its work is done. */
static void lane_free(nccl_impl *x, lane *l, int abort)
{
    if (!l->comm) return;
    if (abort) {
        ncclCommAbort(l->comm);
    } else {
        cudaStreamSynchronize(l->stream);
        if (settle(x, l, ncclCommFinalize(l->comm), "ncclCommFinalize", __LINE__) == 0)
            ncclCommDestroy(l->comm);
        else
            ncclCommAbort(l->comm);
    }
    cudaStreamDestroy(l->stream);
    l->comm = NULL;
}

static void impl_free(nccl_impl *x, int abort)
{
    lane_free(x, &x->group, abort);
    for (int i = 0; i < NLANES; i++) lane_free(x, &x->p2p[i], abort);
    free(x);
}

static void nc_destroy(pg_comm *c)
{
    if (c->impl) impl_free(impl_of(c), 0);
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

/* A unique id with its creator's status, as it travels over MPI. */
typedef struct id_msg {
    int status;
    ncclUniqueId id;
} id_msg;

/* A new id, or (failed != 0, this rank failed already) only the failure. */
static void make_id(id_msg *m, int failed)
{
    memset(m, 0, sizeof *m);
    m->status = failed ? PG_EDEVICE
                       : pg_nccl_status(ncclGetUniqueId(&m->id), "ncclGetUniqueId", __FILE__,
                                        __LINE__);
}

/* Start a non-blocking ncclCommInitRankConfig of l (nranks, this rank's
 * index) from the id m made by rank `creator` of the group. */
static int lane_start(lane *l, const id_msg *m, int creator, int me, int nranks, int index)
{
    if (m->status)
        return creator == me ? m->status /* its own message stands */
                             : pg_error(PG_EDEVICE, "comm nccl: rank %d of the group failed "
                                                    "before its NCCL communicator was made",
                                        creator);
    PG_CUDA_TRY(cudaStreamCreateWithFlags(&l->stream, cudaStreamNonBlocking));
    ncclConfig_t cfg = NCCL_CONFIG_INITIALIZER;
    cfg.blocking = 0;
    ncclResult_t r = ncclCommInitRankConfig(&l->comm, nranks, m->id, index, &cfg);
    if (r != ncclSuccess && r != ncclInProgress) {
        int rc = pg_nccl_status(r, "ncclCommInitRankConfig", __FILE__, __LINE__);
        if (l->comm) ncclCommAbort(l->comm);
        l->comm = NULL;
        cudaStreamDestroy(l->stream);
        return rc;
    }
    return 0;
}

/* The p2p lanes: each lane's sending rank makes its id and sends it to the
 * receiving rank (tag 1: to the next rank, tag 2: to the previous), also
 * when this rank has failed already (`mine`: then the id carries the
 * failure), so that no neighbour waits for an id that never comes; then the
 * lanes start when nothing failed. Returns the first failure. */
static int p2p_lanes_start(pg_comm *c, nccl_impl *x, int mine)
{
    int n = c->size, me = c->rank, next = (me + 1) % n, prev = (me + n - 1) % n;
    static const char *names[NLANES] = {"send-to-next", "receive-from-previous",
                                        "send-to-previous", "receive-from-next"};
    static const int tag[NLANES] = {1, 1, 2, 2};
    /* with two ranks the next rank is also the previous: only the first pair */
    int used[NLANES] = {1, 1, n > 2, n > 2}, peer[NLANES] = {next, prev, prev, next};
    id_msg ids[NLANES];
    MPI_Request req[NLANES];
    int nreq = 0;
    for (int i = 0; i < NLANES; i++) {
        x->p2p[i].name = names[i];
        x->p2p[i].peer = peer[i];
        if (!used[i]) continue;
        if (i == OUT_NEXT || i == OUT_PREV) {
            make_id(&ids[i], mine);
            MPI_Isend(&ids[i], (int)sizeof ids[i], MPI_BYTE, peer[i], tag[i], c->mpi, &req[nreq++]);
        } else {
            MPI_Irecv(&ids[i], (int)sizeof ids[i], MPI_BYTE, peer[i], tag[i], c->mpi, &req[nreq++]);
        }
    }
    int rc = pg_wait_mpi(req, nreq, x->timeout, "NCCL unique ids from the pipeline neighbours");
    if (mine) return mine;
    for (int i = 0; i < NLANES && !rc; i++) {
        if (!used[i]) continue;
        int out = i == OUT_NEXT || i == OUT_PREV;
        x->p2p[i].index = out ? 1 : 0; /* the sender is index 0 of its lane */
        rc = lane_start(&x->p2p[i], &ids[i], out ? me : peer[i], me, 2, out ? 0 : 1);
    }
    return rc;
}

/* Connect every p2p lane now: NCCL connects two ranks lazily, in the group
 * end of their first send/receive, which then waits for the peer's; posted
 * one at a time in schedule order, a ring of first receives could wait on
 * each other. Here every rank posts one float each way on all its lanes
 * before it waits for any (non-blocking communicators return at once), then
 * waits for them all together. */
static int p2p_connect(nccl_impl *x)
{
    float *scratch = NULL;
    PG_CUDA_TRY(cudaMalloc((void **)&scratch, sizeof(float) * NLANES));
    int rc = pg_cuda_status(cudaMemset(scratch, 0, sizeof(float) * NLANES), "cudaMemset",
                            __FILE__, __LINE__);
    settle_ctx s = {{NULL}, 0};
    for (int i = 0; i < NLANES && !rc; i++) {
        lane *l = &x->p2p[i];
        if (!l->comm) continue;
        int out = i == OUT_NEXT || i == OUT_PREV;
        rc = pg_nccl_status(ncclGroupStart(), "ncclGroupStart", __FILE__, __LINE__);
        ncclResult_t r = out ? ncclSend(scratch + i, 1, ncclFloat, l->index, l->comm, l->stream)
                             : ncclRecv(scratch + i, 1, ncclFloat, l->index, l->comm, l->stream);
        if (!rc) rc = pg_nccl_status(r, out ? "ncclSend" : "ncclRecv", __FILE__, __LINE__);
        r = ncclGroupEnd();
        if (!rc && r != ncclSuccess && r != ncclInProgress)
            rc = pg_nccl_status(r, "ncclGroupEnd", __FILE__, __LINE__);
        s.lanes[s.n++] = l;
    }
    if (!rc) rc = pg_poll(settled, &s, x->timeout, "NCCL lanes to connect to the neighbours", NULL);
    for (int i = 0; i < s.n && !rc; i++)
        rc = pg_cuda_status(cudaStreamSynchronize(s.lanes[i]->stream), "cudaStreamSynchronize",
                            __FILE__, __LINE__);
    cudaFree(scratch);
    return rc;
}

int pg_comm_nccl_create(pg_comm **out, MPI_Comm m, int p2p_lanes, double timeout)
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
    x->timeout = timeout;
    x->group.name = "group";
    MPI_Comm_rank(m, &c->rank);
    MPI_Comm_size(m, &c->size);
    /* 1. ids over MPI, 2. start every init, agree that all started */
    id_msg gid;
    if (c->rank == 0) make_id(&gid, 0);
    MPI_Bcast(&gid, (int)sizeof gid, MPI_BYTE, 0, m);
    int mine = lane_start(&x->group, &gid, 0, c->rank, c->size, c->rank);
    if (p2p_lanes && c->size > 1) mine = p2p_lanes_start(c, x, mine);
    int rc = pg_agree(m, mine, NULL);
    /* 3. wait for every init to finish (yielding, watched), agree on it */
    if (!rc) {
        settle_ctx s = {{&x->group}, 1};
        for (int i = 0; i < NLANES; i++)
            if (x->p2p[i].comm) s.lanes[s.n++] = &x->p2p[i];
        mine = pg_poll(settled, &s, timeout, "NCCL communicators to initialise", NULL);
        rc = pg_agree(m, mine, NULL);
    }
    /* 4. connect the p2p lanes, agree */
    if (!rc && p2p_lanes && c->size > 1) {
        mine = p2p_connect(x);
        rc = pg_agree(m, mine, NULL);
    }
    if (rc) {
        if (!mine)
            pg_error(rc, "comm nccl: NCCL initialisation failed on another rank of the group");
        impl_free(x, 1);
        c->impl = NULL;
        nc_destroy(c);
        return rc;
    }
    *out = c;
    return 0;
}
