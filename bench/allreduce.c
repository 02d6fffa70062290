/* allreduce.c: gradient-allreduce bus bandwidth over the data-parallel groups
 * of a pp x dp grid, the way the engine does it (MPI_Iallreduce of floats,
 * completed with the yielding wait of collectives/comm.h). The scaling
 * driver (jobs/scaling.py) runs it after each training run with the size of
 * the largest stage's gradients.
 *
 *   mpiexec -n N pg_allreduce_bench --floats F [--dp D] [--iters K]
 *
 * The N ranks form N/D groups of D ranks (the stage groups of the
 * replica-major order: rank % (N/D)), all reducing at once. Rank 0 prints one
 * JSON line: bytes per allreduce, mean seconds per allreduce (slowest group),
 * algorithm bandwidth bytes/time and bus bandwidth algbw * 2(D-1)/D (the
 * nccl-tests convention: what each link carries in a ring allreduce). */
#include "collectives/comm.h"
#include "runtime/base/error.h"

#include <getopt.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    long floats = 0;
    int dp = size, iters = 20, c;
    static const struct option opts[] = {{"floats", required_argument, 0, 'f'},
                                         {"dp", required_argument, 0, 'd'},
                                         {"iters", required_argument, 0, 'i'},
                                         {0, 0, 0, 0}};
    while ((c = getopt_long(argc, argv, "f:d:i:", opts, NULL)) != -1) {
        if (c == 'f') floats = atol(optarg);
        else if (c == 'd') dp = atoi(optarg);
        else if (c == 'i') iters = atoi(optarg);
        else floats = -1;
    }
    if (floats <= 0 || floats > (1L << 30) || dp < 1 || size % dp || iters < 1) {
        if (rank == 0)
            fprintf(stderr, "usage: mpiexec -n N pg_allreduce_bench --floats F [--dp D] "
                            "[--iters K]   (F > 0, D divides N)\n");
        MPI_Finalize();
        return 2;
    }
    int groups = size / dp;
    MPI_Comm group;
    MPI_Comm_split(MPI_COMM_WORLD, rank % groups, rank, &group);
    float *buf = calloc((size_t)floats, sizeof *buf);
    if (!buf) MPI_Abort(MPI_COMM_WORLD, 1);
    int rc = 0;
    double t = 0;
    for (int it = -2; it < iters && !rc; it++) { /* two warm-up rounds */
        MPI_Barrier(MPI_COMM_WORLD);
        double t0 = MPI_Wtime();
        MPI_Request req;
        MPI_Iallreduce(MPI_IN_PLACE, buf, (int)floats, MPI_FLOAT, MPI_SUM, group, &req);
        rc = pg_wait_mpi(&req, 1, 300, "the benchmark allreduce");
        if (it >= 0) t += MPI_Wtime() - t0;
    }
    if (rc) {
        fprintf(stderr, "pg_allreduce_bench: rank %d: %s\n", rank, pg_errmsg());
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    double mean = t / iters, slowest;
    MPI_Reduce(&mean, &slowest, 1, MPI_DOUBLE, MPI_MAX, 0, MPI_COMM_WORLD);
    if (rank == 0) {
        double bytes = 4.0 * (double)floats, algbw = bytes / slowest / 1e9;
        printf("{\"floats\": %ld, \"bytes\": %.0f, \"dp\": %d, \"groups\": %d, \"iters\": %d, "
               "\"time_s\": %.6g, \"algbw_gbs\": %.6g, \"busbw_gbs\": %.6g}\n",
               floats, bytes, dp, groups, iters, slowest, algbw,
               algbw * 2.0 * (dp - 1) / dp);
    }
    free(buf);
    MPI_Comm_free(&group);
    MPI_Finalize();
    return 0;
}
