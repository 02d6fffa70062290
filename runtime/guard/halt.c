/* halt.c: signal handlers, the halt file and the step-boundary agreement. */
#define _GNU_SOURCE /* sigaction */
#include "runtime/guard/halt.h"

#include "runtime/base/error.h"
#include "runtime/base/wait.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

/* the request, by signal number (0 = none); written only by the handler */
static volatile sig_atomic_t requested;
static char halt_file[1024];

static void on_signal(int sig)
{
    if (requested != SIGTERM) requested = sig;
}

int pg_halt_install(const char *file)
{
    snprintf(halt_file, sizeof halt_file, "%s", file ? file : "");
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGUSR1, &sa, NULL) || sigaction(SIGTERM, &sa, NULL))
        return pg_error(PG_EINVAL, "cannot install the SIGUSR1/SIGTERM handlers");
    return 0;
}

/* The local request as a number: the signal, or 1 for the halt file. */
static int local_request(void)
{
    int sig = requested;
    if (sig) return sig;
    struct stat st;
    return halt_file[0] && stat(halt_file, &st) == 0 ? 1 : 0;
}

int pg_halt_agree(MPI_Comm world, double timeout, char *why, size_t n)
{
    /* the largest code wins: SIGTERM (15) > SIGUSR1 (10) > halt file (1) */
    int mine = local_request(), any = 0;
    MPI_Request req;
    MPI_Iallreduce(&mine, &any, 1, MPI_INT, MPI_MAX, world, &req);
    int rc = pg_wait_mpi(&req, 1, timeout, "the halt agreement at the step boundary");
    if (rc) return rc;
    if (!any) return 0;
    if (any == 1) snprintf(why, n, "halt file %s", halt_file);
    else snprintf(why, n, "%s", any == SIGTERM ? "SIGTERM" : any == SIGUSR1 ? "SIGUSR1" : "a signal");
    return 1;
}
