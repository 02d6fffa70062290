/* test_halt.c: the stop request (runtime/guard/halt.h) reaches every rank at the
 * same step boundary, whichever rank got it and however it came: no request,
 * the halt file (made by rank 0), none again once it is gone, the configured
 * halt signal (SIGUSR2 here) on the last rank only, then SIGTERM on rank 0
 * (which outranks it in the reason). An unknown halt signal is refused. */
#include "runtime/base/error.h"
#include "runtime/guard/halt.h"
#include "tests/support/testlib.h"

#include <mpi.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    /* one path for all ranks; rank 0 creates the file */
    int pid = (int)getpid();
    MPI_Bcast(&pid, 1, MPI_INT, 0, MPI_COMM_WORLD);
    char file[128], why[256], expect[160];
    snprintf(file, sizeof file, "/tmp/pg_test_halt.%d", pid);
    snprintf(expect, sizeof expect, "halt file %s", file);
    CHECK(pg_halt_install(file, NULL) == 0);
    CHECK(pg_halt_install(file, "TSTP") == PG_EINVAL);
    CHECK_MSG(strstr(pg_errmsg(), "runtime.halt_signal: unknown signal 'TSTP'") != NULL, "%s",
              pg_errmsg());
    CHECK(pg_halt_install(file, "SIGUSR2") == 0);

    CHECK(pg_halt_agree(MPI_COMM_WORLD, 30, why, sizeof why) == 0);

    if (rank == 0) {
        FILE *f = fopen(file, "w");
        CHECK(f != NULL);
        if (f) fclose(f);
    }
    MPI_Barrier(MPI_COMM_WORLD);
    int h = pg_halt_agree(MPI_COMM_WORLD, 30, why, sizeof why);
    CHECK_MSG(h == 1 && !strcmp(why, expect), "rank %d: %d '%s'", rank, h, h ? why : "");
    MPI_Barrier(MPI_COMM_WORLD);
    if (rank == 0) unlink(file);
    MPI_Barrier(MPI_COMM_WORLD);
    CHECK(pg_halt_agree(MPI_COMM_WORLD, 30, why, sizeof why) == 0);

    if (rank == size - 1) raise(SIGUSR2); /* handled: sets the flag only */
    h = pg_halt_agree(MPI_COMM_WORLD, 30, why, sizeof why);
    CHECK_MSG(h == 1 && !strcmp(why, "SIGUSR2"), "rank %d: %d '%s'", rank, h, h ? why : "");

    if (rank == 0) raise(SIGTERM); /* outranks SIGUSR2 in the reason */
    h = pg_halt_agree(MPI_COMM_WORLD, 30, why, sizeof why);
    CHECK_MSG(h == 1 && !strcmp(why, "SIGTERM"), "rank %d: %d '%s'", rank, h, h ? why : "");
    int failures = pg_test_failures, all;
    MPI_Allreduce(&failures, &all, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    MPI_Finalize();
    return rank == 0 ? pg_test_summary("test_halt") : (all != 0);
}
