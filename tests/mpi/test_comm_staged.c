/* test_comm_staged.c: the staged MPI backend (collectives/comm_staged.c),
 * which CUDA runs use for pipeline sends and for runtime.comm=mpi, driven
 * here with the CPU backend's memory so that it runs without a GPU:
 *
 *   mpiexec -n N test_comm_staged
 *
 * 1. a ring of isend/irecv delivers every rank's vector to its neighbour;
 * 2. iallreduce gives bitwise the result of MPI_Allreduce;
 * 3. runtime.comm=nccl on the CPU backend is refused naming runtime.comm;
 * 4. a group of one rank on a device backend gets no NCCL communicator, even
 *    with runtime.comm=nccl (a table named "cuda" stands in for the device
 *    backend; in a CUDA build without a GPU, making one would fail). */
#include "collectives/comm.h"
#include "runtime/base/error.h"
#include "tests/support/testlib.h"

#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    const pg_ops *o = pg_ops_cpu();
    pg_comm *c = NULL;
    CHECK(pg_comm_staged_create(&c, MPI_COMM_WORLD, o) == 0);
    CHECK(!strcmp(c->ops->name, "mpi-staged"));
    size_t n = 777;
    float *send = o->alloc(sizeof(float) * n), *recv = o->alloc(sizeof(float) * n);
    float *host = malloc(sizeof(float) * n);
    for (size_t i = 0; i < n; i++) host[i] = (float)rank * 1000.0f + (float)i;
    o->upload(send, host, sizeof(float) * n);
    pg_req rs = {0}, rr = {0};
    int to = (rank + 1) % size, from = (rank + size - 1) % size;
    CHECK(c->ops->irecv(c, recv, n, from, 5, &rr) == 0);
    CHECK(c->ops->isend(c, send, n, to, 5, &rs) == 0);
    /* the send owns a host copy: overwriting the source must not matter */
    o->zero(send, sizeof(float) * n);
    CHECK(pg_wait(c, &rr, 60, "staged receive", NULL) == 0);
    CHECK(pg_wait(c, &rs, 60, "staged send", NULL) == 0);
    o->download(host, recv, sizeof(float) * n);
    int ok = 1;
    for (size_t i = 0; i < n; i++) ok &= host[i] == (float)from * 1000.0f + (float)i;
    CHECK_MSG(ok, "rank %d: ring receive has wrong values", rank);

    for (size_t i = 0; i < n; i++) host[i] = 1.0f / (float)(i + 1) + 0.37f * (float)rank;
    o->upload(send, host, sizeof(float) * n);
    pg_req ra = {0};
    CHECK(c->ops->iallreduce(c, send, n, &ra) == 0);
    CHECK(pg_wait(c, &ra, 60, "staged allreduce", NULL) == 0);
    MPI_Allreduce(MPI_IN_PLACE, host, (int)n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
    float *got = malloc(sizeof(float) * n);
    o->download(got, send, sizeof(float) * n);
    CHECK_MSG(!memcmp(got, host, sizeof(float) * n), "staged allreduce differs from MPI_Allreduce");
    pg_comm_destroy(c);

    pg_comm *bad = NULL;
    CHECK(pg_comm_create(&bad, MPI_COMM_WORLD, o, PG_COMM_NCCL, 0, 60) == PG_EINVAL);
    CHECK(strstr(pg_errmsg(), "runtime.comm=nccl") != NULL);
    CHECK(pg_comm_create(&bad, MPI_COMM_WORLD, o, PG_COMM_AUTO, 1, 60) == 0 && !strcmp(bad->ops->name, "mpi"));
    pg_comm_destroy(bad);

    pg_ops dev = *o;
    dev.name = "cuda"; /* the CPU's memory behind a device backend's name */
    pg_comm *one = NULL;
    CHECK(pg_comm_create(&one, MPI_COMM_SELF, &dev, PG_COMM_NCCL, 0, 60) == 0);
    CHECK_MSG(one && !strcmp(one->ops->name, "mpi-staged"), "a one-rank group got '%s'",
              one ? one->ops->name : "nothing");
    if (one) pg_comm_destroy(one);

    o->free(send), o->free(recv), free(host), free(got);
    int rc = pg_test_summary("test_comm_staged");
    MPI_Finalize();
    return rc;
}
