/* overlap.c: how much of the gradient allreduce the backward hides, at dp=2.
 *
 *   mpiexec -n 2 pg_overlap_bench [section.key=value ...]
 *
 * In one run: (1) traced training steps of an MLP with 8 MB of gradients
 * (dp=2, pp=1, one microbatch by default), and from the trace, per step, the
 * time each rank was blocked on gradient buckets after its last backward
 * (wait_allreduce spans). The replica that finishes its backward last waits
 * only for the communication the backward did not hide; the others also
 * wait for it (imbalance between replicas, large on a shared machine). So
 * the exposed allreduce of a step is the least wait in each stage group,
 * averaged over stage groups; the mean over all ranks (what --metrics
 * reports as exposed_comm) is printed too. (2) The same buckets
 * (collectives/buckets.h, same parallel.bucket_mb) allreduced alone after a
 * barrier, nothing else running, launch to completion, max over ranks.
 * Prints the medians and exposed / alone. */
#include "bench/benchrun.h"

#include "collectives/buckets.h"
#include "runtime/observe/trace_read.h"

#define WHO "pg_overlap_bench"

static const char *const DEFAULTS[] = {
    "parallel.dp=2", "parallel.pp=1", "model.type=mlp", "model.input_dim=512",
    "model.layers=linear:512 relu linear:512 relu linear:512 relu linear:512 relu "
    "linear:512 relu linear:512 relu linear:512 relu linear:512 mse",
    "train.batch_size=128", "train.microbatches=1", "runtime.threads=1", NULL};

/* Per step of the trace in dir: the least wait_allreduce time in each stage
 * group, mean over groups (last[k]), and the mean over ranks (mean[k]). */
static int exposed_from_trace(const char *dir, int steps, double *last, double *mean)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/trace.json", dir);
    pg_trace_file *t;
    if (pg_trace_load(path, &t)) return -1;
    int S = 0;
    for (int i = 0; i < t->nranks; i++)
        if (t->ranks[i].stage + 1 > S) S = t->ranks[i].stage + 1;
    double *least = malloc(sizeof(double) * (size_t)S);
    for (int k = 0; k < steps; k++) {
        int step = t->ranks[0].step0 + k;
        for (int s = 0; s < S; s++) least[s] = 1e30;
        mean[k] = last[k] = 0.0;
        for (int i = 0; i < t->nranks; i++) {
            const pg_tr_rank *r = &t->ranks[i];
            double a = r->step_t[step - r->step0], w = 0.0;
            double b = step - r->step0 + 1 < r->nsteps ? r->step_t[step - r->step0 + 1] : 1e30;
            for (int j = 0; j < r->nspans; j++)
                if (r->spans[j].kind == PG_SPAN_WAIT_ALLREDUCE && r->spans[j].t0 >= a &&
                    r->spans[j].t0 < b)
                    w += r->spans[j].t1 - r->spans[j].t0;
            mean[k] += w / t->nranks;
            if (w < least[r->stage]) least[r->stage] = w;
        }
        for (int s = 0; s < S; s++) last[k] += least[s] / S;
    }
    free(least);
    pg_trace_file_free(t);
    return 0;
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int rank;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    pg_run *r = bench_run(DEFAULTS, argc, argv, WHO);
    enum { WARM = 3, STEPS = 25, REPS = 25 };
    double exposed[STEPS], mean[STEPS], step[STEPS], compute[STEPS], alone[REPS];
    pg_step_stats s;
    for (int i = 0; i < WARM; i++) bench_step(r, &s, WHO);
    char dir[64] = "/tmp/pg_overlap_XXXXXX";
    if (rank == 0 && !mkdtemp(dir)) MPI_Abort(MPI_COMM_WORLD, 1);
    MPI_Bcast(dir, sizeof dir, MPI_CHAR, 0, MPI_COMM_WORLD);
    if (pg_trace_start(MPI_COMM_WORLD, r->grid->stage, r->grid->replica)) MPI_Abort(MPI_COMM_WORLD, 1);
    for (int i = 0; i < STEPS; i++) {
        bench_step(r, &s, WHO);
        step[i] = s.step_time;
        compute[i] = s.compute_time;
    }
    int reporter;
    if (pg_trace_write(dir, &reporter)) {
        if (reporter) fprintf(stderr, WHO ": error: %s\n", pg_errmsg());
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    if (rank == 0) {
        if (exposed_from_trace(dir, STEPS, exposed, mean)) {
            fprintf(stderr, WHO ": error: %s\n", pg_errmsg());
            MPI_Abort(MPI_COMM_WORLD, 1);
        }
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        if (system(cmd)) fprintf(stderr, WHO ": could not remove %s\n", dir);
    }
    /* the same buckets alone */
    pg_comm *group;
    size_t nfloat = 0;
    int n = pg_engine_nstages(r->engine);
    pg_buckets **b = calloc((size_t)n, sizeof *b);
    size_t bucket = (size_t)(pg_config_bucket_mb(&r->cfg, r->ops->name) * 1024 * 1024 /
                             sizeof(float));
    if (!b || pg_comm_mpi_create(&group, r->grid->stage_group)) MPI_Abort(MPI_COMM_WORLD, 1);
    for (int i = 0; i < n; i++) {
        pg_stage *st = pg_engine_stage(r->engine, i);
        nfloat += st->nparams;
        if (pg_buckets_create(&b[i], group, st->grads, st->nparams, bucket, st->id))
            MPI_Abort(MPI_COMM_WORLD, 1);
    }
    for (int k = -2; k < REPS; k++) {
        MPI_Barrier(MPI_COMM_WORLD);
        double t0 = pg_now(), waited;
        for (int i = 0; i < n; i++)
            if (pg_buckets_finish(b[i], 60, &waited)) MPI_Abort(MPI_COMM_WORLD, 1);
        double t = pg_now() - t0;
        MPI_Allreduce(MPI_IN_PLACE, &t, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
        if (k >= 0) alone[k] = t;
    }
    double me = bench_median(exposed, STEPS), ma = bench_median(alone, REPS);
    double mm = bench_median(mean, STEPS);
    double ms = bench_median(step, STEPS), mc = bench_median(compute, STEPS);
    if (rank == 0) {
        bench_machine(stdout, WHO);
        printf("grid pp=%d x dp=%d, schedule %s, %d microbatches, %zu gradient floats (%.1f MB) "
               "per rank in buckets of %g MiB\n",
               r->grid->pp, r->grid->dp, r->cfg.parallel.schedule, r->cfg.train.microbatches,
               nfloat, nfloat * 4 / 1e6, pg_config_bucket_mb(&r->cfg, r->ops->name));
        printf("step (median of %d)          %8.3f ms (compute %.3f ms)\n", STEPS, ms * 1e3,
               mc * 1e3);
        printf("exposed allreduce per step  %8.3f ms (the last replica's wait)\n", me * 1e3);
        printf("blocked, mean over ranks    %8.3f ms (with waiting for the slower replica)\n",
               mm * 1e3);
        printf("same allreduce alone        %8.3f ms (median of %d)\n", ma * 1e3, REPS);
        printf("exposed / alone             %8.1f%%\n", 100.0 * me / ma);
    }
    for (int i = 0; i < n; i++) pg_buckets_free(b[i]);
    free(b);
    pg_comm_destroy(group);
    pg_run_free(r);
    MPI_Finalize();
    return 0;
}
