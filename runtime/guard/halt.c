/* halt.c: signal handlers, the halt file and the step-boundary agreement. */
#define _GNU_SOURCE /* sigaction */
#include "runtime/guard/halt.h"

#include "runtime/base/error.h"
#include "runtime/base/wait.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

/* the request (0 = none), written only by the handlers; the largest code
 * wins the agreement: SIGTERM > the halt signal > the halt file */
enum { REQ_NONE, REQ_FILE, REQ_SIGNAL, REQ_TERM };
static volatile sig_atomic_t requested;
static char halt_file[1024];
static int halt_sig = SIGUSR1;

static const struct {
    const char *name;
    int sig;
} SIGNALS[] = {{"USR1", SIGUSR1}, {"USR2", SIGUSR2}, {"INT", SIGINT}, {"HUP", SIGHUP},
               {"QUIT", SIGQUIT}};
#define NSIGNALS (sizeof SIGNALS / sizeof SIGNALS[0])

static void on_signal(int sig)
{
    if (requested != REQ_TERM) requested = sig == SIGTERM ? REQ_TERM : REQ_SIGNAL;
}

static const char *signal_name(int sig)
{
    for (size_t i = 0; i < NSIGNALS; i++)
        if (SIGNALS[i].sig == sig) return SIGNALS[i].name;
    return "?";
}

int pg_halt_install(const char *file, const char *signame)
{
    int sig = SIGUSR1;
    if (signame && *signame) {
        const char *name = strncmp(signame, "SIG", 3) ? signame : signame + 3;
        sig = 0;
        for (size_t i = 0; i < NSIGNALS; i++)
            if (!strcmp(name, SIGNALS[i].name)) sig = SIGNALS[i].sig;
        if (!sig)
            return pg_error(PG_EINVAL,
                            "runtime.halt_signal: unknown signal '%s' (expected USR1, USR2, INT, "
                            "HUP or QUIT)",
                            signame);
    }
    snprintf(halt_file, sizeof halt_file, "%s", file ? file : "");
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    if (sigaction(sig, &sa, NULL) || sigaction(SIGTERM, &sa, NULL))
        return pg_error(PG_EINVAL, "cannot install the SIG%s/SIGTERM handlers", signal_name(sig));
    if (sig != halt_sig) signal(halt_sig, SIG_DFL);
    halt_sig = sig;
    return 0;
}

/* The local request's code. */
static int local_request(void)
{
    int r = requested;
    if (r) return r;
    struct stat st;
    return halt_file[0] && stat(halt_file, &st) == 0 ? REQ_FILE : REQ_NONE;
}

int pg_halt_agree(MPI_Comm world, double timeout, char *why, size_t n)
{
    int mine = local_request(), any = 0;
    MPI_Request req;
    MPI_Iallreduce(&mine, &any, 1, MPI_INT, MPI_MAX, world, &req);
    int rc = pg_wait_mpi(&req, 1, timeout, "the halt agreement at the step boundary");
    if (rc) return rc;
    if (any == REQ_NONE) return 0;
    if (any == REQ_FILE) snprintf(why, n, "halt file %s", halt_file);
    else if (any == REQ_SIGNAL) snprintf(why, n, "SIG%s", signal_name(halt_sig));
    else snprintf(why, n, "SIGTERM");
    return 1;
}
