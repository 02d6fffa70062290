/* test_buckets.c: bucketed gradient allreduce.
 *
 *   mpiexec -n N test_buckets --pp P
 *
 * 1. pg_buckets on a vector of awkward length, buckets of 7 floats launched
 *    as a backward would (ready offsets moving from the end to 0), gives
 *    bitwise the result of one MPI_Allreduce of the whole vector.
 * 2. Training on the grid pp=P x dp=N/P with tiny buckets (many per stage,
 *    launched during the last backward) gives bitwise the losses and weights
 *    of the run with one bucket per stage launched after the backward
 *    (parallel.bucket_mb = 0, the bulk allreduce). */
#include "collectives/buckets.h"
#include "runtime/base/error.h"
#include "runtime/config/config.h"
#include "tests/support/testlib.h"
#include "tests/support/trainrun.h"

#include <stdlib.h>
#include <string.h>

static void direct(MPI_Comm world, int rank)
{
    size_t n = 1000;
    float *a = malloc(sizeof(float) * n), *b = malloc(sizeof(float) * n);
    for (size_t i = 0; i < n; i++) a[i] = b[i] = 1.0f / (float)(i + 1) + 0.37f * (float)rank;
    pg_comm *c;
    pg_buckets *bk;
    CHECK(pg_comm_mpi_create(&c, world) == 0);
    CHECK(pg_buckets_create(&bk, c, a, n, 7, 0) == 0);
    CHECK(pg_buckets_count(bk) == 143);
    for (size_t off = n; off-- > 0;)
        if (off % 50 == 0) CHECK(pg_buckets_ready(bk, off) == 0 && pg_buckets_poll(bk) == 0);
    double waited;
    CHECK(pg_buckets_finish(bk, 60, &waited) == 0);
    MPI_Allreduce(MPI_IN_PLACE, b, (int)n, MPI_FLOAT, MPI_SUM, world);
    CHECK_MSG(memcmp(a, b, sizeof(float) * n) == 0, "bucketed sums differ from the bulk sum");
    /* a second step reuses the buckets */
    for (size_t i = 0; i < n; i++) a[i] = b[i] = (float)i * 0.5f + (float)rank;
    CHECK(pg_buckets_finish(bk, 60, &waited) == 0);
    MPI_Allreduce(MPI_IN_PLACE, b, (int)n, MPI_FLOAT, MPI_SUM, world);
    CHECK(memcmp(a, b, sizeof(float) * n) == 0);
    pg_buckets_free(bk);
    pg_comm_destroy(c);
    free(a);
    free(b);
}

/* on top of the tiny MLP (tests/support/trainrun.h) */
static const char *const DEFAULTS[] = {
    "train.microbatches=2",
    "optim.warmup_steps=0",
};

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int rank;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    direct(MPI_COMM_WORLD, rank);
    pg_config cfg;
    CHECK(pg_trainrun_tiny_mlp(&cfg) == 0);
    for (size_t i = 0; i < sizeof DEFAULTS / sizeof *DEFAULTS; i++)
        CHECK(pg_config_set(&cfg, DEFAULTS[i]) == 0);
    for (int i = 1; i + 1 < argc; i++)
        if (!strcmp(argv[i], "--pp")) cfg.parallel.pp = atoi(argv[i + 1]);
    pg_trainrun bulk, tiny;
    cfg.parallel.bucket_mb = 0;
    if (pg_trainrun_go(&cfg, MPI_COMM_WORLD, 4, &bulk)) MPI_Abort(MPI_COMM_WORLD, 1);
    cfg.parallel.bucket_mb = 256.0 / (1 << 20); /* 64 floats: many buckets per stage */
    if (pg_trainrun_go(&cfg, MPI_COMM_WORLD, 4, &tiny)) MPI_Abort(MPI_COMM_WORLD, 1);
    if (rank == 0) {
        int bad = pg_trainrun_compare(&cfg, &bulk, &tiny, 0.0, "64-float buckets vs bulk");
        CHECK_MSG(bad == 0, "%d mismatches", bad);
    }
    pg_trainrun_free(&bulk);
    pg_trainrun_free(&tiny);
    int status = pg_test_summary("test_buckets");
    MPI_Allreduce(MPI_IN_PLACE, &status, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    MPI_Finalize();
    return status;
}
