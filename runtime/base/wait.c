/* wait.c: the yielding wait and error agreement (wait.h). */
#include "runtime/base/wait.h"

#include "runtime/base/clock.h"
#include "runtime/base/error.h"

#include <sched.h>
#include <stdio.h>

static pg_wait_watcher watcher;

void pg_wait_set_watcher(pg_wait_watcher w) { watcher = w; }

/* Seconds a wait spins on the test before it starts yielding: a small
 * message between neighbours arrives within a few microseconds, and a yield
 * on a busy core can give the CPU away for a whole time slice (256-byte
 * transfers were 30-80x slower than a raw MPI ping-pong, docs/benchmarks.md);
 * a longer wait yields, so ranks that outnumber the cores still let each
 * other run. */
#define SPIN_S 50e-6

int pg_poll(int (*test)(void *ctx, int *done), void *ctx, double timeout, const char *what,
            double *waited)
{
    double t0 = pg_now();
    if (watcher && watcher(what)) timeout = 0; /* the watchdog thread owns the timeout */
    int rc = 0;
    for (unsigned polls = 0;; polls++) {
        int done = 0;
        if ((rc = test(ctx, &done)) || done) break;
        if (pg_now() - t0 > SPIN_S) sched_yield();
        if ((polls & 63) == 63 && timeout > 0 && pg_now() - t0 > timeout) {
            rc = pg_error(PG_ETIMEOUT, "watchdog: waited %.1f s for %s", pg_now() - t0, what);
            break;
        }
    }
    if (watcher) watcher(NULL);
    if (waited && !rc) *waited = pg_now() - t0;
    return rc;
}

typedef struct mpi_ctx {
    MPI_Request *reqs;
    int n;
} mpi_ctx;

static int test_mpi(void *ctx, int *done)
{
    mpi_ctx *x = ctx;
    /* one MPI_Test each: gcc 12 warns falsely on MPI_Testall with
     * MPI_STATUSES_IGNORE; a completed request becomes MPI_REQUEST_NULL */
    *done = 1;
    for (int i = 0; i < x->n; i++) {
        int flag = 0;
        MPI_Test(&x->reqs[i], &flag, MPI_STATUS_IGNORE);
        *done &= flag;
    }
    return 0;
}

int pg_wait_mpi(MPI_Request *reqs, int n, double timeout, const char *what)
{
    mpi_ctx x = {reqs, n};
    return pg_poll(test_mpi, &x, timeout, what, NULL);
}

int pg_agree(MPI_Comm m, int rc, int *reporter)
{
    int rank, size;
    MPI_Comm_rank(m, &rank);
    MPI_Comm_size(m, &size);
    int mine[2] = {rc ? rank : size, rc}, first[2];
    MPI_Allreduce(mine, first, 1, MPI_2INT, MPI_MINLOC, m);
    if (reporter) *reporter = (first[0] == rank && rc != 0);
    if (first[0] == size) return 0;
    /* the code travels as the MINLOC "index" of the lowest failing rank; its
     * message follows, so that every rank holds it */
    int code = first[1] ? first[1] : PG_EINVAL;
    char msg[1024] = "";
    if (rank == first[0]) snprintf(msg, sizeof msg, "%s", pg_errmsg());
    MPI_Bcast(msg, (int)sizeof msg, MPI_CHAR, first[0], m);
    return rank == first[0] ? code : pg_error(code, "%s", msg);
}
