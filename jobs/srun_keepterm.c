/* srun_keepterm.c: an LD_PRELOAD library for srun alone (jobs/pipegrid-run.sh
 * starts srun with it) that keeps srun from acting on SIGTERM.
 *
 * srun answers a SIGTERM by killing its tasks with SIGKILL at once ("srun:
 * forcing job termination"). When Slurm ends or requeues a job (scontrol
 * requeue, preemption, scancel, a time limit) it sends SIGTERM to every
 * process of the job, srun included, and SIGKILL KillWait seconds later. The
 * ranks catch that SIGTERM to finish the step and write a checkpoint
 * (runtime/guard/halt.h), which they cannot do once srun has killed them.
 *
 * srun takes its signals in one thread with sigwait() on a set it keeps
 * blocked everywhere. Here SIGTERM is taken out of the sets sigwait() is
 * given and ignored: it stays blocked and pending, and srun waits for its
 * tasks as for any step Slurm ends ("Waiting up to KillWait+2 seconds for job
 * step to finish"). Slurm's SIGKILL still ends everything after KillWait.
 * The constructor takes this library out of LD_PRELOAD, so the tasks srun
 * starts do not load it. */
#define _GNU_SOURCE /* RTLD_NEXT */
#include <dlfcn.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

static int (*real_sigwait)(const sigset_t *, int *);

/* LD_PRELOAD without the entries that name this library. */
static void drop_self(void)
{
    const char *v = getenv("LD_PRELOAD");
    if (!v) return;
    size_t n = strlen(v);
    char *out = malloc(n + 1), *copy = strdup(v);
    if (!out || !copy) {
        free(out);
        free(copy);
        return;
    }
    out[0] = 0;
    for (char *save = NULL, *t = strtok_r(copy, " :", &save); t; t = strtok_r(NULL, " :", &save)) {
        if (strstr(t, "pg_srun_keepterm")) continue;
        if (out[0]) strcat(out, ":");
        strcat(out, t);
    }
    if (out[0]) setenv("LD_PRELOAD", out, 1);
    else unsetenv("LD_PRELOAD");
    free(out);
    free(copy);
}

__attribute__((constructor)) static void keepterm_init(void)
{
    real_sigwait = (int (*)(const sigset_t *, int *))dlsym(RTLD_NEXT, "sigwait");
    signal(SIGTERM, SIG_IGN);
    drop_self();
}

int sigwait(const sigset_t *set, int *sig)
{
    sigset_t s = *set;
    sigdelset(&s, SIGTERM);
    return real_sigwait(&s, sig);
}
