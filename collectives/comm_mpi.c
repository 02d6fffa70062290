/* comm_mpi.c: the MPI backend of comm.h and the yielding wait.
 *
 * Debian's MPICH (ch4:ucx) busy-polls inside blocking calls and never gives
 * the CPU away, which makes 4-8 ranks on 2 cores crawl. Every wait of pipegrid
 * therefore tests a non-blocking request, spinning briefly and then calling
 * sched_yield() between tests; the same loop tells the watchdog what the
 * rank waits on. */
#include "comm.h"

#include "../runtime/error.h"
#include "../runtime/watchdog.h"

#include <limits.h>
#include <sched.h>
#include <stdlib.h>
#include <time.h>

double pg_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int check_count(size_t n)
{
    if (n > (size_t)INT_MAX)
        return pg_error(PG_ECOMM, "message of %zu floats exceeds MPI's int count", n);
    return 0;
}

static int mpi_isend(pg_comm *c, const float *buf, size_t n, int peer, int tag, pg_req *r)
{
    int rc = check_count(n);
    if (rc) return rc;
    MPI_Isend(buf, (int)n, MPI_FLOAT, peer, tag, c->mpi, &r->mpi);
    r->active = 1;
    return 0;
}

static int mpi_irecv(pg_comm *c, float *buf, size_t n, int peer, int tag, pg_req *r)
{
    int rc = check_count(n);
    if (rc) return rc;
    MPI_Irecv(buf, (int)n, MPI_FLOAT, peer, tag, c->mpi, &r->mpi);
    r->active = 1;
    return 0;
}

static int mpi_iallreduce(pg_comm *c, float *buf, size_t n, pg_req *r)
{
    int rc = check_count(n);
    if (rc) return rc;
    MPI_Iallreduce(MPI_IN_PLACE, buf, (int)n, MPI_FLOAT, MPI_SUM, c->mpi, &r->mpi);
    r->active = 1;
    return 0;
}

static int mpi_test(pg_comm *c, pg_req *r, int *done)
{
    (void)c;
    MPI_Test(&r->mpi, done, MPI_STATUS_IGNORE);
    if (*done) r->active = 0;
    return 0;
}

static void mpi_destroy(pg_comm *c) { free(c); }

static const pg_comm_ops mpi_ops = {
    .name = "mpi",
    .isend = mpi_isend,
    .irecv = mpi_irecv,
    .iallreduce = mpi_iallreduce,
    .test = mpi_test,
    .destroy = mpi_destroy,
};

int pg_comm_mpi_create(pg_comm **out, MPI_Comm m)
{
    pg_comm *c = calloc(1, sizeof *c);
    if (!c) return pg_error(PG_ENOMEM, "comm: out of memory");
    c->ops = &mpi_ops;
    c->mpi = m;
    MPI_Comm_rank(m, &c->rank);
    MPI_Comm_size(m, &c->size);
    *out = c;
    return 0;
}

void pg_comm_destroy(pg_comm *c)
{
    if (c) c->ops->destroy(c);
}

/* Seconds a wait spins on the test before it starts yielding: a small
 * message between neighbours arrives within a few microseconds, and a yield
 * on a busy core can give the CPU away for a whole time slice (256-byte
 * transfers were 30-80x slower than a raw MPI ping-pong, docs/benchmarks.md);
 * a longer wait yields, so ranks that outnumber the cores still let each
 * other run. */
#define SPIN_S 50e-6

/* Poll test(ctx) until it reports completion: spinning for SPIN_S, then
 * yielding the CPU between polls. */
static int poll(int (*test)(void *ctx, int *done), void *ctx, double timeout, const char *what,
                double *waited)
{
    double t0 = pg_now();
    if (pg_watchdog_wait(what)) timeout = 0; /* the watchdog thread owns the timeout */
    int rc = 0;
    for (unsigned polls = 0;; polls++) {
        int done = 0;
        if ((rc = test(ctx, &done)) || done) break;
        if (pg_now() - t0 > SPIN_S) sched_yield();
        if ((polls & 63) == 63 && timeout > 0 && pg_now() - t0 > timeout) {
            rc = pg_error(PG_ETIMEOUT, "watchdog: waited %.1f s for %s", pg_now() - t0, what);
            break;
        }
    }
    pg_watchdog_wait(NULL);
    if (waited && !rc) *waited = pg_now() - t0;
    return rc;
}

typedef struct req_ctx {
    pg_comm *c;
    pg_req *r;
} req_ctx;

static int test_req(void *ctx, int *done)
{
    req_ctx *x = ctx;
    return x->c->ops->test(x->c, x->r, done);
}

int pg_wait(pg_comm *c, pg_req *r, double timeout, const char *what, double *waited)
{
    if (waited) *waited = 0.0;
    if (!r->active) return 0;
    req_ctx x = {c, r};
    return poll(test_req, &x, timeout, what, waited);
}

typedef struct mpi_ctx {
    MPI_Request *reqs;
    int n;
} mpi_ctx;

static int test_mpi(void *ctx, int *done)
{
    mpi_ctx *x = ctx;
    /* one MPI_Test each: gcc 12 warns falsely on MPI_Testall with
     * MPI_STATUSES_IGNORE; a completed request becomes MPI_REQUEST_NULL */
    *done = 1;
    for (int i = 0; i < x->n; i++) {
        int flag = 0;
        MPI_Test(&x->reqs[i], &flag, MPI_STATUS_IGNORE);
        *done &= flag;
    }
    return 0;
}

int pg_wait_mpi(MPI_Request *reqs, int n, double timeout, const char *what)
{
    mpi_ctx x = {reqs, n};
    return poll(test_mpi, &x, timeout, what, NULL);
}

int pg_agree(MPI_Comm m, int rc, int *reporter)
{
    int rank, size;
    MPI_Comm_rank(m, &rank);
    MPI_Comm_size(m, &size);
    int mine[2] = {rc ? rank : size, rc}, first[2];
    MPI_Allreduce(mine, first, 1, MPI_2INT, MPI_MINLOC, m);
    if (reporter) *reporter = (first[0] == rank && rc != 0);
    if (first[0] == size) return 0;
    /* the code travels as the MINLOC "index" of the lowest failing rank */
    return first[1] ? first[1] : PG_EINVAL;
}
