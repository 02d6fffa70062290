/* test_tied.c: the two copies of a GPT's tied token embedding (the first
 * stage's embed.wte, the last stage's lmhead.weight) stay bitwise equal after
 * every training step, on any grid.
 *
 *   mpiexec -n N test_tied --pp P [--schedule S] [--steps K]
 *
 * Gathers all parameters to rank 0 after each step and compares the copies
 * with memcmp; also checks that they moved (the update is not a no-op). */
#include "runtime/base/error.h"
#include "runtime/engine/run.h"
#include "tests/support/testlib.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static const char *const DEFAULTS[] = {
    "model.type=gpt", "data.source=tokens", "model.ctx=16", "model.depth=4", "model.heads=2",
    "model.width=16", "train.batch_size=16", "train.microbatches=4", "optim.lr=0.01",
    "optim.warmup_steps=0", "optim.weight_decay=0.1",
};

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int rank;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    pg_config cfg;
    pg_config_init(&cfg);
    for (size_t i = 0; i < sizeof DEFAULTS / sizeof *DEFAULTS; i++) pg_config_set(&cfg, DEFAULTS[i]);
    int steps = 5, c, rc = 0;
    char kv[256];
    static const struct option opts[] = {{"pp", required_argument, 0, 'p'},
                                         {"schedule", required_argument, 0, 's'},
                                         {"steps", required_argument, 0, 'k'},
                                         {0, 0, 0, 0}};
    while (!rc && (c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'p') snprintf(kv, sizeof kv, "parallel.pp=%s", optarg);
        else if (c == 's') snprintf(kv, sizeof kv, "parallel.schedule=%s", optarg);
        else if (c == 'k') {
            steps = atoi(optarg);
            continue;
        } else
            MPI_Abort(MPI_COMM_WORLD, 2);
        rc = pg_config_set(&cfg, kv);
    }
    pg_run *r;
    int reporter;
    if (rc || (rc = pg_run_create(&r, &cfg, MPI_COMM_WORLD, &reporter))) {
        fprintf(stderr, "test_tied: %s\n", pg_errmsg());
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    const pg_model *m = r->model;
    const pg_param *wte = &m->layers[0].params[0];
    size_t head_off = pg_model_param_count(m, 0, m->nlayers - 2);
    CHECK(wte->tied && m->layers[m->nlayers - 2].params[0].tied);
    float *first = NULL;
    for (int s = 1; s <= steps; s++) {
        pg_step_stats st;
        if (pg_engine_step(r->engine, &st)) {
            fprintf(stderr, "test_tied: rank %d: %s\n", rank, pg_errmsg());
            MPI_Abort(MPI_COMM_WORLD, 1);
        }
        float *all;
        size_t n;
        if (pg_run_gather_params(r, &all, &n)) MPI_Abort(MPI_COMM_WORLD, 1);
        if (rank == 0) {
            int same = memcmp(all, all + head_off, sizeof(float) * wte->n) == 0;
            CHECK_MSG(same, "step %d: tied copies differ", s);
            if (!first) {
                first = malloc(sizeof(float) * wte->n);
                memcpy(first, all, sizeof(float) * wte->n);
            } else if (s == steps) {
                CHECK_MSG(memcmp(first, all, sizeof(float) * wte->n) != 0,
                          "the embedding did not change");
            }
            printf("step %d: loss %.6f, tied copies %s\n", s, st.loss,
                   same ? "bitwise equal" : "DIFFER");
        }
        free(all);
    }
    free(first);
    pg_run_free(r);
    int status = rank == 0 ? pg_test_summary("test_tied") : 0;
    MPI_Bcast(&status, 1, MPI_INT, 0, MPI_COMM_WORLD);
    MPI_Finalize();
    return status;
}
