/* test_placement.c: placement on the live machine (no GPU).
 *
 *   mpiexec -n N test_placement
 *
 * Trains a few steps with placement off (parallel.order=replica-major,
 * placement.bind=none), then with it on, and requires bitwise the same
 * losses and weights. With a core for every rank (placement.bind=cores):
 * each rank ends up bound to a non-empty set of CPUs, disjoint from every
 * other rank's, and no GPU is recorded. With more ranks than cores:
 * placement.bind=cores fails with one agreed error, placement.bind=auto
 * leaves the binding alone, and the losses still match. */
#define _GNU_SOURCE /* sched_getaffinity */
#include "runtime/base/error.h"
#include "runtime/config/config.h"
#include "tests/support/testlib.h"
#include "tests/support/trainrun.h"
#include "topology/discover.h"
#include "topology/placement.h"

#include <sched.h>
#include <string.h>

static const char *const BASE[] = {
    "model.type=mlp",
    "model.input_dim=8",
    "model.layers=linear:16 relu linear:16 relu linear:4 mse",
    "data.teacher_hidden=8",
    "train.batch_size=36",
    "train.microbatches=3",
    "optim.warmup_steps=0",
    "parallel.partition=uniform",
};

static void configure(pg_config *c, int pp, const char *order, const char *bind)
{
    char kv[64];
    pg_config_init(c);
    for (size_t i = 0; i < sizeof BASE / sizeof *BASE; i++) pg_config_set(c, BASE[i]);
    snprintf(kv, sizeof kv, "parallel.pp=%d", pp);
    pg_config_set(c, kv);
    snprintf(kv, sizeof kv, "parallel.order=%s", order);
    pg_config_set(c, kv);
    snprintf(kv, sizeof kv, "placement.bind=%s", bind);
    pg_config_set(c, kv);
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    pg_topo *t = NULL;
    if (pg_topo_load(&t, NULL)) {
        fprintf(stderr, "test_placement: %s\n", pg_errmsg());
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    int cores = t->ncores, fits = size <= cores;
    pg_topo_free(t);
    int pp = size % 2 == 0 ? 2 : 1;
    cpu_set_t before;
    sched_getaffinity(0, sizeof before, &before);

    pg_config off, on;
    configure(&off, pp, "replica-major", "none");
    configure(&on, pp, "auto", fits ? "cores" : "auto");
    pg_trainrun a, b;
    if (pg_trainrun_go(&off, MPI_COMM_WORLD, 4, &a)) MPI_Abort(MPI_COMM_WORLD, 1);
    if (!fits) { /* binding demanded on an oversubscribed node: one agreed error */
        pg_config strict;
        configure(&strict, pp, "auto", "cores");
        pg_trainrun x;
        int rc = pg_trainrun_go(&strict, MPI_COMM_WORLD, 4, &x);
        CHECK_MSG(rc != 0, "placement.bind=cores with %d ranks on %d cores did not fail", size,
                  cores);
        if (rc == 0) pg_trainrun_free(&x);
    }
    if (pg_trainrun_go(&on, MPI_COMM_WORLD, 4, &b)) MPI_Abort(MPI_COMM_WORLD, 1);

    cpu_set_t mine, *all = malloc(sizeof(cpu_set_t) * (size_t)size);
    sched_getaffinity(0, sizeof mine, &mine);
    MPI_Gather(&mine, (int)sizeof mine, MPI_BYTE, all, (int)sizeof mine, MPI_BYTE, 0,
               MPI_COMM_WORLD);
    int applied = pg_placement_bound(), any_gpu = pg_placement_gpu_busid() != NULL;
    int unchanged = CPU_EQUAL(&mine, &before);
    int flags[3] = {applied, any_gpu, unchanged}, sums[3];
    MPI_Reduce(flags, sums, 3, MPI_INT, MPI_SUM, 0, MPI_COMM_WORLD);
    if (rank == 0) {
        char label[64];
        snprintf(label, sizeof label, "%d ranks, placement on vs off", size);
        CHECK(pg_trainrun_compare(&on, &a, &b, 0.0, label) == 0);
        CHECK_MSG(sums[1] == 0, "%d ranks recorded a GPU on a machine without one", sums[1]);
        if (fits) {
            CHECK_MSG(sums[0] == size, "%d of %d ranks bound", sums[0], size);
            for (int i = 0; i < size; i++) {
                CHECK_MSG(CPU_COUNT(&all[i]) > 0, "rank %d bound to no CPU", i);
                for (int j = i + 1; j < size; j++) {
                    cpu_set_t both;
                    CPU_AND(&both, &all[i], &all[j]);
                    CHECK_MSG(CPU_COUNT(&both) == 0, "ranks %d and %d share %d CPUs", i, j,
                              CPU_COUNT(&both));
                }
            }
            printf("%d ranks on %d cores: disjoint CPU bindings\n", size, cores);
        } else {
            CHECK_MSG(sums[0] == 0 && sums[2] == size,
                      "oversubscribed: %d ranks bound, %d unchanged", sums[0], sums[2]);
            printf("%d ranks on %d cores: not bound, bind=cores refused\n", size, cores);
        }
    }
    pg_trainrun_free(&a);
    pg_trainrun_free(&b);
    free(all);
    int status = rank == 0 ? pg_test_summary("test_placement") : 0;
    MPI_Bcast(&status, 1, MPI_INT, 0, MPI_COMM_WORLD);
    MPI_Finalize();
    return status;
}
