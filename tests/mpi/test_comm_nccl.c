/* test_comm_nccl.c: the NCCL backend's set-up (collectives/comm_nccl.c) ends
 * together on every rank, whatever NCCL does:
 *
 *   mpiexec -n 3 test_comm_nccl
 *
 * Every rank makes the group with p2p lanes (ids over MPI, non-blocking
 * ncclCommInitRankConfig, agreement). Without a GPU (CUDA build, no driver:
 * CI) each rank's first CUDA call fails; with one GPU NCCL refuses several
 * ranks on it. Either way every rank must return the same error within the
 * time limit, none left waiting inside NCCL or for a neighbour's id; where
 * NCCL does accept the ranks (a GPU each), every rank must succeed and a ring
 * of sends over the neighbour lanes must deliver. Skipped (77) in builds
 * without the CUDA backend. */
#include "collectives/comm.h"
#include "runtime/base/clock.h"
#include "runtime/base/error.h"
#include "runtime/compute/device.h"
#include "tests/support/testlib.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef PG_HAVE_CUDA
/* a ring over the neighbour lanes: each rank sends to rank+1 and receives
 * from rank-1, both directions' lanes in use at once (rank-1 also gets a
 * message back from this rank the other way round) */
static void ring(pg_comm *c, const pg_ops *o, int rank, int size)
{
    size_t n = 1000;
    float *h = malloc(sizeof(float) * n);
    float *sn = o->alloc(4 * n), *sp = o->alloc(4 * n), *rn = o->alloc(4 * n), *rp = o->alloc(4 * n);
    int next = (rank + 1) % size, prev = (rank + size - 1) % size;
    for (size_t i = 0; i < n; i++) h[i] = (float)(rank * 10000 + (int)i);
    o->upload(sn, h, 4 * n);
    for (size_t i = 0; i < n; i++) h[i] = (float)(-rank * 10000 - (int)i);
    o->upload(sp, h, 4 * n);
    pg_req r[4] = {{0}};
    CHECK(c->ops->irecv(c, rp, n, prev, 1, &r[0]) == 0);
    CHECK(c->ops->irecv(c, rn, n, next, 2, &r[1]) == 0);
    CHECK(c->ops->isend(c, sn, n, next, 1, &r[2]) == 0);
    CHECK(c->ops->isend(c, sp, n, prev, 2, &r[3]) == 0);
    for (int i = 0; i < 4; i++) CHECK(pg_wait(c, &r[i], 60, "ring", NULL) == 0);
    int ok = 1;
    o->download(h, rp, 4 * n);
    for (size_t i = 0; i < n; i++) ok &= h[i] == (float)(prev * 10000 + (int)i);
    o->download(h, rn, 4 * n);
    for (size_t i = 0; i < n; i++) ok &= h[i] == (float)(-next * 10000 - (int)i);
    CHECK_MSG(ok, "rank %d: the ring over NCCL lanes delivered wrong values", rank);
    o->free(sn), o->free(sp), o->free(rn), o->free(rp), free(h);
}
#endif

int main(int argc, char **argv)
{
#ifndef PG_HAVE_CUDA
    (void)argc, (void)argv;
    printf("SKIP test_comm_nccl: this build has no CUDA backend\n");
    return PG_TEST_SKIP;
#else
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    /* a GPU per rank where there are enough (local rank modulo the count) */
    const char *note = NULL;
    const pg_ops *o = pg_ops_select(PG_DEVICE_CUDA, &note);
    char desc[160], bnote[256];
    if (o && pg_device_bind(o, MPI_COMM_WORLD, NULL, desc, sizeof desc, bnote, sizeof bnote))
        o = NULL;
    pg_comm *c = NULL;
    double t0 = pg_now();
    int rc = pg_comm_nccl_create(&c, MPI_COMM_WORLD, 1, 60.0);
    double t = pg_now() - t0;
    int all[64] = {0};
    MPI_Allgather(&rc, 1, MPI_INT, all, 1, MPI_INT, MPI_COMM_WORLD);
    int same = 1;
    for (int i = 0; i < size && i < 64; i++) same &= all[i] == rc;
    CHECK_MSG(same, "rank %d: the ranks disagree on the outcome of the NCCL set-up", rank);
    CHECK_MSG(t < 60.0, "rank %d: the set-up took %.1f s", rank, t);
    if (rc) {
        CHECK(c == NULL);
        if (rank == 0) printf("NCCL set-up failed on every rank in %.2f s: %s\n", t, pg_errmsg());
        CHECK(strlen(pg_errmsg()) > 0);
    } else {
        if (rank == 0) printf("NCCL set-up succeeded on every rank in %.2f s\n", t);
        CHECK(c && !strcmp(c->ops->name, "nccl"));
        if (c && o) ring(c, o, rank, size);
    }
    if (c) pg_comm_destroy(c);
    int frc = pg_test_summary("test_comm_nccl");
    MPI_Finalize();
    return frc;
#endif
}
