/* test_invariant.c: the grid invariant.
 *
 *   mpiexec -n N test_invariant --pp P --schedule S[,S2...] --microbatches M[,M2...]
 *           [--steps K] [--config FILE] [--set sec.key=val ...]
 *
 * Rank 0 first trains the reference alone (pp=1, dp=1, one microbatch); then,
 * for every schedule and microbatch count listed, all N ranks train the same
 * model on the grid pp=P x dp=N/P twice. Passes when every loss and every
 * parameter tensor of each grid run equals the reference within 1e-5
 * relative (fp32; tensors compared by norm of the difference over norm of the
 * reference), and the two grid runs are bitwise identical. With several
 * microbatch counts and no train.batch_size given, the batch is the least
 * common multiple of dp x M over the list (so one reference serves all). */
#include "runtime/base/error.h"
#include "runtime/config/config.h"
#include "tests/support/testlib.h"
#include "tests/support/trainrun.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#define RTOL 1e-5

/* The tiny MLP (tests/support/trainrun.h: up to 7 stages, batch 96 divides by
 * dp x M for dp in {1,2,4} and M in {1,3,8}), with these keys on top. */
static const char *const DEFAULTS[] = {
    "optim.name=adamw",
    "optim.warmup_steps=0",
    "optim.decay=none",
    "optim.weight_decay=0.01",
};

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    pg_config cfg;
    CHECK(pg_trainrun_tiny_mlp(&cfg) == 0);
    for (size_t i = 0; i < sizeof DEFAULTS / sizeof *DEFAULTS; i++)
        CHECK(pg_config_set(&cfg, DEFAULTS[i]) == 0);
    int steps = 5, c, rc = 0, batch_set = 0;
    char label[256], scheds[512] = "", mbs[512] = "";
    static const struct option opts[] = {
        {"pp", required_argument, 0, 'p'},       {"schedule", required_argument, 0, 's'},
        {"microbatches", required_argument, 0, 'm'}, {"steps", required_argument, 0, 'k'},
        {"config", required_argument, 0, 'c'},   {"set", required_argument, 0, 'S'},
        {0, 0, 0, 0},
    };
    char kv[1100];
    while (!rc && (c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'p': snprintf(kv, sizeof kv, "parallel.pp=%s", optarg); rc = pg_config_set(&cfg, kv); break;
        case 's': snprintf(scheds, sizeof scheds, "%s", optarg); break;
        case 'm': snprintf(mbs, sizeof mbs, "%s", optarg); break;
        case 'k': steps = atoi(optarg); break;
        case 'c': rc = pg_config_load_file(&cfg, optarg); break;
        case 'S':
            rc = pg_config_set(&cfg, optarg);
            batch_set |= !strncmp(optarg, "train.batch_size=", 17);
            break;
        default: rc = PG_EINVAL; pg_error(rc, "bad arguments");
        }
    }
    if (rc) {
        if (rank == 0) fprintf(stderr, "test_invariant: %s\n", pg_errmsg());
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
    if (!scheds[0]) snprintf(scheds, sizeof scheds, "%s", cfg.parallel.schedule);
    if (!mbs[0]) snprintf(mbs, sizeof mbs, "%d", cfg.train.microbatches);
    int dp = size / cfg.parallel.pp, nm = 0, mlist[16];
    long batch = 1;
    for (char *save = NULL, *t = strtok_r(mbs, ",", &save); t && nm < 16;
         t = strtok_r(NULL, ",", &save)) {
        mlist[nm] = atoi(t);
        long a = batch, b = (long)dp * mlist[nm++];
        while (b) { long tmp = a % b; a = b; b = tmp; }
        batch = batch / a * dp * mlist[nm - 1];
    }
    if (!batch_set && nm > 1) cfg.train.batch_size = (int)batch;

    pg_trainrun ref = {0};
    if (rank == 0) {
        pg_config one = cfg;
        one.parallel.pp = 1;
        one.parallel.dp = 1;
        one.parallel.chunks = 0;
        one.train.microbatches = 1;
        strcpy(one.parallel.schedule, "1f1b");
        rc = pg_trainrun_go(&one, MPI_COMM_SELF, steps, &ref);
        if (rc) MPI_Abort(MPI_COMM_WORLD, 1);
    }
    int bad = 0;
    for (char *save = NULL, *sched = strtok_r(scheds, ",", &save); sched;
         sched = strtok_r(NULL, ",", &save)) {
        for (int k = 0; k < nm; k++) {
            pg_trainrun run1, run2;
            snprintf(cfg.parallel.schedule, sizeof cfg.parallel.schedule, "%s", sched);
            cfg.train.microbatches = mlist[k];
            snprintf(label, sizeof label, "pp=%d dp=%d %s v=%d m=%d batch=%d", cfg.parallel.pp,
                     dp, sched, cfg.parallel.chunks, mlist[k], cfg.train.batch_size);
            if (pg_trainrun_go(&cfg, MPI_COMM_WORLD, steps, &run1)) MPI_Abort(MPI_COMM_WORLD, 1);
            if (pg_trainrun_go(&cfg, MPI_COMM_WORLD, steps, &run2)) MPI_Abort(MPI_COMM_WORLD, 1);
            if (rank == 0) {
                bad += pg_trainrun_compare(&cfg, &ref, &run1, RTOL, label);
                char again[300];
                snprintf(again, sizeof again, "%s, repeated (bitwise)", label);
                bad += pg_trainrun_compare(&cfg, &run1, &run2, 0.0, again);
            }
            pg_trainrun_free(&run1);
            pg_trainrun_free(&run2);
        }
    }
    if (rank == 0) {
        CHECK_MSG(bad == 0, "%d mismatches", bad);
        pg_trainrun_free(&ref);
    }
    int status = rank == 0 ? pg_test_summary("test_invariant") : 0;
    MPI_Bcast(&status, 1, MPI_INT, 0, MPI_COMM_WORLD);
    MPI_Finalize();
    return status;
}
