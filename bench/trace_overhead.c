/* trace_overhead.c: what tracing costs, in one run.
 *
 *   mpiexec -n 2 pg_trace_overhead_bench [section.key=value ...]
 *
 * (1) Step time, tracing on vs off: ROUNDS rounds of three BLOCK-step
 *     blocks, two with tracing off and one on (pg_trace_start /
 *     pg_trace_stop), in rotating order; a block's step time is the mean of
 *     rank 0's steps after the first (which follows pg_trace_start's barrier
 *     in traced blocks; untimed in all blocks alike). On a shared machine
 *     the load drifts by tens of percent between blocks, so each round gives
 *     a ratio on / off and, as the noise reference, off' / off; the medians
 *     are printed with their quartiles.
 * (2) Per trace point, timed over many calls against the same loop without
 *     the call: the off path (one load and a branch, trace.h) and the on path
 *     (an append to the buffer). Times the trace points a step passes (the
 *     spans one traced step records, mean over ranks) and divided by the step
 *     time, they give the cost of tracing off against a build without trace
 *     calls, and the cost of tracing on without the machine's noise. Writing
 *     the files happens after training and is not counted.
 * Default job: a 2-stage pipeline (pp=2) of an MLP, 1F1B, 8 microbatches. */
#include "bench/benchrun.h"

#include "runtime/observe/trace.h"

#define WHO "pg_trace_overhead_bench"

static const char *const DEFAULTS[] = {
    "parallel.pp=2", "parallel.dp=1", "model.type=mlp", "model.input_dim=256",
    "model.layers=linear:256 relu linear:256 relu linear:256 relu linear:256 mse",
    "train.batch_size=64", "train.microbatches=8", "runtime.threads=1", NULL};

/* Seconds per iteration of n iterations of the empty loop (call = 0) or of a
 * loop around one trace point (call = 1; on or off as the tracer is). The
 * compiler barrier makes every iteration reload the flag, as a real call
 * site does. */
static double loop(long n, int call)
{
    double t0 = pg_now();
    for (long i = 0; i < n; i++) {
        __asm__ volatile("" ::: "memory");
        if (call) pg_trace_span(PG_SPAN_FORWARD, 0.0, 1.0, 0, (int)i, 0);
    }
    return (pg_now() - t0) / (double)n;
}

static double block(pg_run *r, int traced, int steps, double *spans)
{
    if (traced && pg_trace_start(MPI_COMM_WORLD, r->grid->stage, r->grid->replica))
        MPI_Abort(MPI_COMM_WORLD, 1);
    double sum = 0.0;
    pg_step_stats s;
    bench_step(r, &s, WHO); /* not timed: after pg_trace_start's collectives */
    long before = pg_trace_count();
    for (int i = 0; i < steps; i++) {
        bench_step(r, &s, WHO);
        sum += s.step_time;
    }
    if (traced) {
        *spans += (double)(pg_trace_count() - before) / steps;
        pg_trace_stop();
    }
    return sum / steps;
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    pg_run *r = bench_run(DEFAULTS, argc, argv, WHO);
    enum { BLOCK = 5, ROUNDS = 21 };
    double off[ROUNDS], on[ROUNDS], ratio[ROUNDS], aa[ROUNDS], spans = 0.0;
    block(r, 0, 3, &spans);
    for (int k = 0; k < ROUNDS; k++) {
        double t[3]; /* off, on, off' in the order k, k+1, k+2 (mod 3) */
        for (int j = 0; j < 3; j++) {
            int which = (k + j) % 3;
            t[which] = block(r, which == 1, BLOCK, &spans);
        }
        off[k] = t[0];
        on[k] = t[1];
        ratio[k] = t[1] / t[0];
        aa[k] = t[2] / t[0];
    }
    spans /= ROUNDS;
    MPI_Allreduce(MPI_IN_PLACE, &spans, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
    spans /= size;
    double mo = bench_median(off, ROUNDS), mn = bench_median(on, ROUNDS);
    double mr = bench_median(ratio, ROUNDS), q1 = ratio[ROUNDS / 4], q3 = ratio[3 * ROUNDS / 4];
    double ma = bench_median(aa, ROUNDS), a1 = aa[ROUNDS / 4], a3 = aa[3 * ROUNDS / 4];
    /* per trace point: off, then on (the buffer holds n_on spans of 32 bytes) */
    long n_off = 100000000L, n_on = 2000000L;
    loop(n_off / 10, 1);
    double base = loop(n_off, 0), with_off = loop(n_off, 1);
    if (pg_trace_start(MPI_COMM_WORLD, r->grid->stage, r->grid->replica)) MPI_Abort(MPI_COMM_WORLD, 1);
    loop(n_on, 1); /* grow the buffer first */
    pg_trace_stop();
    if (pg_trace_start(MPI_COMM_WORLD, r->grid->stage, r->grid->replica)) MPI_Abort(MPI_COMM_WORLD, 1);
    double base_on = loop(n_on, 0), with_on = loop(n_on, 1);
    pg_trace_stop();
    if (rank == 0) {
        double c_off = with_off - base, c_on = with_on - base_on;
        bench_machine(stdout, WHO);
        printf("grid pp=%d x dp=%d, schedule %s, %d microbatches; %d rounds of 3 %d-step blocks\n",
               r->grid->pp, r->grid->dp, r->cfg.parallel.schedule, r->cfg.train.microbatches,
               ROUNDS, BLOCK);
        printf("step, tracing off            %8.3f ms (median block)\n", mo * 1e3);
        printf("step, tracing on             %8.3f ms (median block)\n", mn * 1e3);
        printf("on / off, median of rounds   %8.4f (quartiles %.4f .. %.4f)\n", mr, q1, q3);
        printf("off' / off (noise), median   %8.4f (quartiles %.4f .. %.4f)\n", ma, a1, a3);
        printf("trace points per step        %8.1f per rank\n", spans);
        printf("trace point, tracing off     %8.3f ns\n", c_off * 1e9);
        printf("trace point, tracing on      %8.3f ns\n", c_on * 1e9);
        printf("tracing off vs no calls      %8.5f%% of the step\n", 100.0 * spans * c_off / mo);
        printf("tracing on vs off, per point %8.5f%% of the step\n", 100.0 * spans * c_on / mo);
    }
    MPI_Barrier(MPI_COMM_WORLD);
    pg_run_free(r);
    MPI_Finalize();
    return 0;
}
