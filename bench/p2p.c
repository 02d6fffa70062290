/* p2p.c: the time to pass an activation between two pipeline stages, the way
 * the engine does it (collectives/comm.h: receives posted ahead, non-blocking
 * sends, completion by pg_wait's polling loop), against a raw MPI ping-pong
 * (MPI_Send / MPI_Recv) of the same bytes, in one run.
 *
 *   mpiexec -n 2 pg_p2p_bench [ROUNDS]
 *
 * For each size, ROUNDS (default 9) blocks of each method alternate, so drift
 * in the machine's load hits both; each block times N round trips, giving a
 * one-way time (round trip / 2). Prints the machine, its load average and,
 * per size, the median block of each method and their ratio, then the best
 * block of each and their ratio (the cost without interference from other
 * processes on a shared machine). */
#include "collectives/comm.h"

#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* N raw round trips; returns seconds. */
static double raw(float *buf, int n, int iters, int rank)
{
    int peer = 1 - rank;
    MPI_Barrier(MPI_COMM_WORLD);
    double t0 = MPI_Wtime();
    for (int i = 0; i < iters; i++) {
        if (rank == 0) {
            MPI_Send(buf, n, MPI_FLOAT, peer, 1, MPI_COMM_WORLD);
            MPI_Recv(buf, n, MPI_FLOAT, peer, 2, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        } else {
            MPI_Recv(buf, n, MPI_FLOAT, peer, 1, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            MPI_Send(buf, n, MPI_FLOAT, peer, 2, MPI_COMM_WORLD);
        }
    }
    return MPI_Wtime() - t0;
}

/* N round trips as the engine moves an activation forward and its gradient
 * back: the receive is posted before it is needed, the send is non-blocking,
 * and both complete through pg_wait. */
static double engine_style(pg_comm *c, float *out, float *in, int n, int iters, int rank)
{
    int peer = 1 - rank;
    pg_req rr = {0}, sr = {0};
    int rc = 0;
    MPI_Barrier(MPI_COMM_WORLD);
    double t0 = MPI_Wtime();
    rc |= c->ops->irecv(c, in, (size_t)n, peer, rank == 0 ? 2 : 1, &rr);
    for (int i = 0; i < iters && !rc; i++) {
        if (rank == 0) {
            rc |= c->ops->isend(c, out, (size_t)n, peer, 1, &sr);
            rc |= pg_wait(c, &rr, 60, "the gradient", NULL);
            if (i + 1 < iters) rc |= c->ops->irecv(c, in, (size_t)n, peer, 2, &rr);
            rc |= pg_wait(c, &sr, 60, "the activation send", NULL);
        } else {
            rc |= pg_wait(c, &rr, 60, "the activation", NULL);
            if (i + 1 < iters) rc |= c->ops->irecv(c, in, (size_t)n, peer, 1, &rr);
            rc |= c->ops->isend(c, out, (size_t)n, peer, 2, &sr);
            rc |= pg_wait(c, &sr, 60, "the gradient send", NULL);
        }
    }
    double t = MPI_Wtime() - t0;
    if (rc) {
        fprintf(stderr, "pg_p2p_bench: rank %d: communication failed\n", rank);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    return t;
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (size != 2) {
        if (rank == 0) fprintf(stderr, "pg_p2p_bench: run it on 2 ranks (mpiexec -n 2)\n");
        MPI_Finalize();
        return 2;
    }
    int rounds = argc > 1 ? atoi(argv[1]) : 9;
    if (rounds < 1) rounds = 1;
    static const size_t bytes[] = {256, 4096, 65536, 1 << 20, 8 << 20};
    enum { NS = sizeof bytes / sizeof bytes[0] };
    float *a = calloc(bytes[NS - 1] / 4, sizeof(float)), *b = calloc(bytes[NS - 1] / 4, sizeof(float));
    double *tr = malloc(sizeof(double) * (size_t)rounds), *tp = malloc(sizeof(double) * (size_t)rounds);
    pg_comm *c;
    if (!a || !b || !tr || !tp || pg_comm_mpi_create(&c, MPI_COMM_WORLD)) MPI_Abort(MPI_COMM_WORLD, 1);
    if (rank == 0) {
        char host[256] = "?", load[128] = "?";
        gethostname(host, sizeof host);
        FILE *f = fopen("/proc/loadavg", "r");
        if (f && fgets(load, sizeof load, f)) load[strcspn(load, "\n")] = 0;
        if (f) fclose(f);
        printf("pg_p2p_bench: host %s, %ld cores, load average %s\n", host,
               sysconf(_SC_NPROCESSORS_ONLN), load);
        printf("one-way time of one message (us) over %d alternating blocks\n", rounds);
        printf("%10s %8s | %10s %10s %6s | %10s %10s %6s\n", "bytes", "trips", "raw median",
               "pg median", "ratio", "raw best", "pg best", "ratio");
    }
    for (int s = 0; s < NS; s++) {
        int n = (int)(bytes[s] / sizeof(float));
        long it = (long)((64 << 20) / bytes[s]);
        int iters = it > 2000 ? 2000 : it < 20 ? 20 : (int)it;
        raw(a, n, iters / 4 + 1, rank); /* warm-up: connections, registration */
        engine_style(c, a, b, n, iters / 4 + 1, rank);
        for (int r = 0; r < rounds; r++) {
            tr[r] = raw(a, n, iters, rank) / iters / 2;
            tp[r] = engine_style(c, a, b, n, iters, rank) / iters / 2;
        }
        double mr = median(tr, rounds) * 1e6, mp = median(tp, rounds) * 1e6;
        double br = tr[0] * 1e6, bp = tp[0] * 1e6; /* sorted by median() */
        if (rank == 0)
            printf("%10zu %8d | %10.2f %10.2f %6.2f | %10.2f %10.2f %6.2f\n", bytes[s], iters, mr,
                   mp, mp / mr, br, bp, bp / br);
        fflush(stdout);
    }
    pg_comm_destroy(c);
    free(a);
    free(b);
    free(tr);
    free(tp);
    MPI_Finalize();
    return 0;
}
