/* mlp_pipe.c: pipegrid's side of bench/pipeline_vs_torch.sh: the training step
 * time of an MLP pipeline, median over steps, on the ranks it is launched with.
 *
 *   mpiexec -n 2 pg_mlp_pipe_bench [section.key=value ...]
 *
 * Default: pp=2 on 2 ranks, 8 linear layers of width 1024 (ReLU between, MSE
 * against the teacher's targets), batch 64 in 8 microbatches, 1F1B, SGD
 * (momentum 0.9, lr 1e-3, constant, no clipping), one BLAS thread per rank.
 * 3 warm-up steps, then 20 timed; prints rank 0's median step time:
 *   "pipegrid: step_ms M samples/s S (median of 20 steps)" */
#include "bench/benchrun.h"

#define WHO "pg_mlp_pipe_bench"

static const char *const DEFAULTS[] = {
    "parallel.pp=2", "parallel.dp=1", "parallel.schedule=1f1b", "model.type=mlp",
    "model.input_dim=1024",
    "model.layers=linear:1024 relu linear:1024 relu linear:1024 relu linear:1024 relu "
    "linear:1024 relu linear:1024 relu linear:1024 relu linear:1024 mse",
    "train.batch_size=64", "train.microbatches=8", "train.eval_every=0", "runtime.threads=1",
    "optim.name=sgd", "optim.lr=1e-3", "optim.momentum=0.9", "optim.clip_norm=0",
    "optim.warmup_steps=0", "optim.decay=none", NULL};

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int rank;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    pg_run *r = bench_run(DEFAULTS, argc, argv, WHO);
    enum { WARM = 3, STEPS = 20 };
    double step[STEPS];
    pg_step_stats s;
    for (int i = 0; i < WARM; i++) bench_step(r, &s, WHO);
    for (int i = 0; i < STEPS; i++) {
        MPI_Barrier(MPI_COMM_WORLD);
        double t0 = MPI_Wtime();
        bench_step(r, &s, WHO);
        MPI_Barrier(MPI_COMM_WORLD);
        step[i] = MPI_Wtime() - t0;
    }
    if (rank == 0) {
        double med = bench_median(step, STEPS);
        printf("pipegrid: step_ms %.2f samples/s %.0f (median of %d steps, loss %.4g)\n",
               med * 1e3, r->cfg.train.batch_size / med, STEPS, s.loss);
    }
    pg_run_free(r);
    MPI_Finalize();
    return 0;
}
