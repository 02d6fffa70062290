/* reliability_cost.c: what the watchdog hooks and the NaN/Inf checks cost a
 * training step (docs/reliability.md).
 *
 *   mpiexec -n 2 pg_reliability_cost_bench [section.key=value ...]
 *
 * (1) Per call, timed over many calls: the watchdog hooks of one action
 *     (pg_watchdog_action, then a wait described and cleared, as a blocking
 *     receive does), with the watchdog thread off and on.
 * (2) Per check: one ops->sumsq over a buffer of the size the engine checks
 *     (a forward output of a non-last stage, an input gradient of a non-first
 *     stage, per microbatch).
 * Multiplied by rank 0's counts per step (its schedule's actions; its
 * microbatches' checks) and divided by its median step time (watchdog on),
 * they give the share of the step. Default job: a 2-stage pipeline of an MLP,
 * 1F1B, 8 microbatches. */
#include "bench/benchrun.h"

#include "collectives/comm.h"
#include "runtime/guard/watchdog.h"

#define WHO "pg_reliability_cost_bench"
#define STEPS 40
#define CALLS 1000000L

static const char *const DEFAULTS[] = {
    "parallel.pp=2", "parallel.dp=1", "model.type=mlp", "model.input_dim=256",
    "model.layers=linear:256 relu linear:256 relu linear:256 relu linear:256 mse",
    "train.batch_size=64", "train.microbatches=8", "runtime.threads=1", NULL};

/* Seconds per action of the hooks. */
static double hooks(long n)
{
    double t0 = pg_now();
    for (long i = 0; i < n; i++) {
        pg_watchdog_action((pg_action){PG_F, 0, (int)(i & 7)});
        pg_watchdog_wait("1RECV_F3 (microbatch 3, from rank 0)");
        pg_watchdog_wait(NULL);
    }
    return (pg_now() - t0) / (double)n;
}

int main(int argc, char **argv)
{
    int level;
    MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &level);
    pg_run *r = bench_run(DEFAULTS, argc, argv, WHO);
    const pg_config *c = &r->cfg;
    double off = hooks(CALLS);
    if (pg_watchdog_start(300, r->grid->rank)) MPI_Abort(MPI_COMM_WORLD, 1);
    pg_watchdog_coords(r->grid->stage, r->grid->replica);
    double on = hooks(CALLS);
    /* the checks of this rank's stages: count per step and floats each */
    int M = c->train.microbatches;
    size_t rows = (size_t)(c->train.batch_size / (r->grid->dp * M)) * (size_t)r->model->T;
    double checks = 0.0, t_check = 0.0;
    for (int i = 0; i < pg_engine_nstages(r->engine); i++) {
        pg_stage *st = pg_engine_stage(r->engine, i);
        size_t n[2] = {pg_stage_is_last(st) ? 0 : rows * (size_t)pg_stage_out_width(st),
                       pg_stage_is_first(st) ? 0 : rows * (size_t)pg_stage_in_width(st)};
        for (int k = 0; k < 2; k++) {
            if (!n[k]) continue;
            float *buf = r->ops->alloc(sizeof(float) * n[k]);
            if (!buf) MPI_Abort(MPI_COMM_WORLD, 1);
            volatile double sink = 0.0;
            double t0 = pg_now();
            for (int j = 0; j < 2000; j++) sink += r->ops->sumsq(buf, n[k]);
            t_check += M * (pg_now() - t0) / 2000;
            checks += M;
            r->ops->free(buf);
        }
    }
    double step[STEPS];
    pg_step_stats s;
    bench_step(r, &s, WHO); /* warm-up */
    for (int i = 0; i < STEPS; i++) {
        bench_step(r, &s, WHO);
        step[i] = s.step_time;
    }
    double t_step = bench_median(step, STEPS);
    int actions = r->sched->len[r->grid->stage];
    pg_watchdog_stop();
    if (r->grid->rank == 0) {
        bench_machine(stdout, WHO);
        printf("grid pp=%d x dp=%d, schedule %s, %d microbatches, model %s\n", r->grid->pp,
               r->grid->dp, c->parallel.schedule, M, c->model.layers);
        printf("step (median of %d, watchdog on)      %9.3f ms\n", STEPS, t_step * 1e3);
        printf("watchdog hooks per action, off       %9.1f ns\n", off * 1e9);
        printf("watchdog hooks per action, on        %9.1f ns\n", on * 1e9);
        printf("actions per step (rank 0)            %9d\n", actions);
        printf("watchdog on, share of the step       %9.4f%%\n", 100.0 * actions * on / t_step);
        printf("NaN checks per step (rank 0)         %9.0f, %.3f ms in all\n", checks,
               t_check * 1e3);
        printf("NaN checks, share of the step        %9.4f%%\n", 100.0 * t_check / t_step);
    }
    pg_run_free(r);
    MPI_Finalize();
    return 0;
}
