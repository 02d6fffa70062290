/* comm_mpi.c: the MPI backend of comm.h, and pg_wait over any backend
 * (the yielding poll of runtime/base/wait.h). */
#include "collectives/comm.h"

#include "runtime/base/error.h"

#include <limits.h>
#include <stdlib.h>

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
    return pg_poll(test_req, &x, timeout, what, waited);
}
