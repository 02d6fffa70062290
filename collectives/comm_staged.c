/* comm_staged.c: MPI over buffers in a compute backend's memory (device
 * memory for CUDA), staged through host memory: a send or allreduce first
 * downloads the buffer (which waits for the backend's queued work), a
 * receive or allreduce uploads the result when MPI reports it complete (in
 * test). For ranks that share a GPU, or builds and runs without NCCL. Each
 * request owns its host copy until it completes. */
#include "collectives/comm.h"

#include "runtime/base/error.h"

#include <limits.h>
#include <stdlib.h>

typedef struct staged {
    float *host;
    float *dst; /* upload here when done (receive, allreduce); NULL for a send */
    size_t n;
} staged;

static const pg_ops *ops_of(pg_comm *c) { return (const pg_ops *)c->impl; }

/* Host copy for n floats of `buf` (downloaded when `download`). */
static int stage(pg_comm *c, pg_req *r, const float *buf, float *dst, size_t n, int download)
{
    if (n > (size_t)INT_MAX)
        return pg_error(PG_ECOMM, "message of %zu floats exceeds MPI's int count", n);
    staged *s = malloc(sizeof *s);
    float *host = malloc(sizeof(float) * (n ? n : 1));
    if (!s || !host) {
        free(s);
        free(host);
        return pg_error(PG_ENOMEM, "comm %s: out of host memory staging %zu floats",
                        c->ops->name, n);
    }
    if (download) ops_of(c)->download(host, buf, sizeof(float) * n);
    *s = (staged){host, dst, n};
    r->dev = s;
    r->active = 1;
    return 0;
}

static int st_isend(pg_comm *c, const float *buf, size_t n, int peer, int tag, pg_req *r)
{
    int rc = stage(c, r, buf, NULL, n, 1);
    if (!rc) MPI_Isend(((staged *)r->dev)->host, (int)n, MPI_FLOAT, peer, tag, c->mpi, &r->mpi);
    return rc;
}

static int st_irecv(pg_comm *c, float *buf, size_t n, int peer, int tag, pg_req *r)
{
    int rc = stage(c, r, NULL, buf, n, 0);
    if (!rc) MPI_Irecv(((staged *)r->dev)->host, (int)n, MPI_FLOAT, peer, tag, c->mpi, &r->mpi);
    return rc;
}

static int st_iallreduce(pg_comm *c, float *buf, size_t n, pg_req *r)
{
    int rc = stage(c, r, buf, buf, n, 1);
    if (!rc)
        MPI_Iallreduce(MPI_IN_PLACE, ((staged *)r->dev)->host, (int)n, MPI_FLOAT, MPI_SUM, c->mpi,
                       &r->mpi);
    return rc;
}

static int st_test(pg_comm *c, pg_req *r, int *done)
{
    MPI_Test(&r->mpi, done, MPI_STATUS_IGNORE);
    if (!*done) return 0;
    staged *s = r->dev;
    if (s->dst) ops_of(c)->upload(s->dst, s->host, sizeof(float) * s->n);
    free(s->host);
    free(s);
    r->dev = NULL;
    r->active = 0;
    return 0;
}

static void st_destroy(pg_comm *c) { free(c); }

static const pg_comm_ops staged_ops = {
    .name = "mpi-staged",
    .isend = st_isend,
    .irecv = st_irecv,
    .iallreduce = st_iallreduce,
    .test = st_test,
    .destroy = st_destroy,
};

int pg_comm_staged_create(pg_comm **out, MPI_Comm m, const pg_ops *ops)
{
    pg_comm *c = calloc(1, sizeof *c);
    if (!c) return pg_error(PG_ENOMEM, "comm: out of memory");
    c->ops = &staged_ops;
    c->mpi = m;
    c->impl = (void *)ops;
    MPI_Comm_rank(m, &c->rank);
    MPI_Comm_size(m, &c->size);
    *out = c;
    return 0;
}
