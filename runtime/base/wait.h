/* wait.h: waiting on MPI without hogging the CPU, and agreeing on errors.
 *
 * Debian's MPICH (ch4:ucx) busy-polls inside blocking calls and never gives
 * the CPU away, which makes 4-8 ranks on 2 cores crawl. Every wait of pipegrid
 * therefore tests a non-blocking request, spinning briefly and then calling
 * sched_yield() between tests (pg_poll). While it waits, the loop tells the
 * registered watcher (the watchdog, runtime/guard/watchdog.h) what the rank
 * waits on; this file knows the watcher only as a function pointer, so the
 * base layer depends on nothing above it. */
#ifndef PG_WAIT_H
#define PG_WAIT_H

#include <mpi.h>

/* The watcher: called with what the rank now waits on, and with NULL when the
 * wait ends. Returns 1 when it owns the wait's timeout (a watchdog thread
 * runs), else 0. NULL (the default) unregisters. */
typedef int (*pg_wait_watcher)(const char *what);
void pg_wait_set_watcher(pg_wait_watcher w);

/* Poll test(ctx) until it sets *done (or returns an error): spin for 50 us,
 * then yield the CPU between polls. `what` is what the watcher reports. When
 * no watcher owns the timeout, after `timeout` seconds (> 0; <= 0: never) it
 * returns PG_ETIMEOUT with "watchdog: waited T s for <what>". *waited, if not
 * NULL, gets the seconds spent. */
int pg_poll(int (*test)(void *ctx, int *done), void *ctx, double timeout, const char *what,
            double *waited);

/* Complete n MPI requests with pg_poll. */
int pg_wait_mpi(MPI_Request *reqs, int n, double timeout, const char *what);

/* Agree on success over `m` (collective, for set-up phases and checkpoints):
 * every rank passes its own result and gets back the error code of the
 * lowest-numbered failing rank (0 if none) and that rank's message as its own
 * pg_errmsg(); *reporter (may be NULL) is 1 on that rank only, the one that
 * prints. Lets all ranks end together with one message instead of hanging. */
int pg_agree(MPI_Comm m, int rc, int *reporter);

#endif
