/* test_ckpt_resume.c: resuming from a checkpoint, on the same grid and on others.
 *
 *   mpiexec -n 4 test_ckpt_resume [--steps N] [--at K]
 *
 * The reference trains N steps straight on pp=2 x dp=2. Then a run on the
 * same grid trains K steps and saves (pg_ckpt_save), is freed, and a new run
 * built from scratch loads the checkpoint (pg_ckpt_load) and trains the
 * remaining N-K steps: losses and final weights must be bitwise identical to
 * the reference. The same checkpoint is then resumed on pp=4 x dp=1 (gpipe,
 * 3 microbatches), pp=1 x dp=4 (1f1b, 2 microbatches) and pp=2 x dp=2 with the
 * interleaved and ZB-V schedules (other model stage boundaries): losses and
 * weights within 1e-5 relative of the reference. A state holding a NaN is
 * refused by the save on every rank and leaves the committed file alone. */
#define _GNU_SOURCE
#include "io/checkpoint/checkpoint.h"
#include "runtime/base/error.h"
#include "runtime/config/config.h"
#include "runtime/engine/run.h"
#include "tests/support/testlib.h"
#include "tests/support/trainrun.h"

#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* on top of the tiny MLP (tests/support/trainrun.h) */
static const char *const DEFAULTS[] = {
    "optim.name=adamw",
    "optim.warmup_steps=2",
    "optim.decay=cosine",
    "optim.weight_decay=0.01",
    "parallel.pp=2",
    "parallel.dp=2",
    "checkpoint.keep=2",
};

static void die(const char *what)
{
    fprintf(stderr, "test_ckpt_resume: %s: %s\n", what, pg_errmsg());
    MPI_Abort(MPI_COMM_WORLD, 1);
}

/* Train steps [from, to) of run r, recording losses into out->losses. */
static void train(pg_run *r, int from, int to, pg_trainrun *out)
{
    for (int s = from; s < to; s++) {
        pg_step_stats st;
        if (pg_engine_step(r->engine, &st)) die("step");
        out->losses[s] = st.loss;
    }
}

/* Build a run of cfg, load `path`, train to `steps`, gather the weights. */
static void resume(const pg_config *cfg, const char *path, int at, int steps, pg_trainrun *out)
{
    pg_run *r;
    int reporter;
    if (pg_run_create(&r, cfg, MPI_COMM_WORLD, &reporter)) die("run");
    if (pg_ckpt_load(r, path)) die("load");
    CHECK_MSG(pg_engine_steps_done(r->engine) == at, "resumed at step %d, expected %d",
              pg_engine_steps_done(r->engine), at);
    train(r, at, steps, out);
    if (pg_run_gather_params(r, &out->params, &out->nparams)) die("gather");
    pg_run_free(r);
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int rank;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    int steps = 10, at = 5, c;
    static const struct option opts[] = {{"steps", required_argument, 0, 'n'},
                                         {"at", required_argument, 0, 'k'},
                                         {0, 0, 0, 0}};
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'n') steps = atoi(optarg);
        else if (c == 'k') at = atoi(optarg);
    }
    pg_config cfg;
    CHECK(pg_trainrun_tiny_mlp(&cfg) == 0);
    for (size_t i = 0; i < sizeof DEFAULTS / sizeof *DEFAULTS; i++)
        CHECK(pg_config_set(&cfg, DEFAULTS[i]) == 0);
    char dir[64] = "/tmp/pg_ckpt_resume_XXXXXX";
    if (rank == 0 && !mkdtemp(dir)) die("mkdtemp");
    MPI_Bcast(dir, sizeof dir, MPI_CHAR, 0, MPI_COMM_WORLD);
    snprintf(cfg.checkpoint.dir, sizeof cfg.checkpoint.dir, "%s", dir);

    pg_trainrun ref;
    if (pg_trainrun_go(&cfg, MPI_COMM_WORLD, steps, &ref)) die("reference");

    /* train `at` steps, save, free everything */
    pg_trainrun got = {.steps = steps, .losses = calloc((size_t)steps, sizeof(double))};
    pg_run *r;
    int reporter;
    if (pg_run_create(&r, &cfg, MPI_COMM_WORLD, &reporter)) die("run");
    train(r, 0, at, &got);
    if (pg_ckpt_save(r, dir)) die("save");
    /* a NaN in the state is never saved: every rank gets the error, the step's
     * committed file and `latest` stay as they were */
    {
        pg_stage *st = pg_engine_stage(r->engine, 0);
        float keep = st->params[0];
        if (rank == 1) st->params[0] = NAN;
        int rc = pg_ckpt_save(r, dir);
        CHECK_MSG(rc == PG_ENUMERIC && strstr(pg_errmsg(), "refusing to save step") &&
                      strstr(pg_errmsg(), "holds NaN/Inf") && strstr(pg_errmsg(), "rank 1"),
                  "rank %d: saving a NaN gave %d: %s", rank, rc, pg_errmsg());
        st->params[0] = keep;
        char saved[128];
        snprintf(saved, sizeof saved, "%s/step_%08d.h5", dir, at);
        CHECK_MSG(pg_ckpt_verify(saved, NULL) == 0, "after the refused save: %s", pg_errmsg());
    }
    pg_run_free(r);
    char path[128];
    if (pg_ckpt_resolve("latest", dir, path, sizeof path)) die("resolve");
    char want[128];
    snprintf(want, sizeof want, "%s/step_%08d.h5", dir, at);
    CHECK_MSG(!strcmp(path, want), "latest names %s, expected %s", path, want);

    int bad = 0;
    resume(&cfg, path, at, steps, &got);
    if (rank == 0) bad += pg_trainrun_compare(&cfg, &ref, &got, 0.0, "resume on pp=2 x dp=2 (bitwise)");
    free(got.params);
    got.params = NULL;

    struct { int pp, dp, m; const char *sched; } grids[] = {{4, 1, 3, "gpipe"}, {1, 4, 2, "1f1b"},
                                                                {2, 2, 4, "interleaved"}, {2, 2, 3, "zbv"}};
    for (int g = 0; g < 4; g++) {
        pg_config other = cfg;
        other.parallel.pp = grids[g].pp;
        other.parallel.dp = grids[g].dp;
        other.train.microbatches = grids[g].m;
        snprintf(other.parallel.schedule, sizeof other.parallel.schedule, "%s", grids[g].sched);
        resume(&other, path, at, steps, &got);
        char label[96];
        snprintf(label, sizeof label, "resume on pp=%d x dp=%d %s m=%d", grids[g].pp, grids[g].dp,
                 grids[g].sched, grids[g].m);
        if (rank == 0) bad += pg_trainrun_compare(&cfg, &ref, &got, 1e-5, label);
        free(got.params);
        got.params = NULL;
    }
    if (rank == 0) {
        CHECK_MSG(bad == 0, "%d mismatches", bad);
        char cmd[160];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        if (system(cmd)) fprintf(stderr, "could not remove %s\n", dir);
    }
    pg_trainrun_free(&ref);
    pg_trainrun_free(&got);
    int status = rank == 0 ? pg_test_summary("test_ckpt_resume") : 0;
    MPI_Bcast(&status, 1, MPI_INT, 0, MPI_COMM_WORLD);
    MPI_Finalize();
    return status;
}
