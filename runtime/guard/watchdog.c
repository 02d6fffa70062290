/* watchdog.c: the per-rank watchdog thread (see watchdog.h). */
#define _GNU_SOURCE
#include "runtime/guard/watchdog.h"

#include "runtime/base/clock.h"
#include "runtime/base/error.h"
#include "runtime/base/wait.h"
#include "runtime/guard/fault.h"

#include <errno.h>
#include <mpi.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* A rank blocked in a wait fires this much later than one stuck in its own
 * work, so that the cause of a stall reports before its victims. */
#define WAIT_GRACE_S 1.0
#define TICK_NS 100000000L /* 100 ms between checks */
#define FORWARD_NS 500000000L /* 500 ms for the launcher to forward the report */

static struct {
    int on;         /* the thread runs; set before it starts, cleared after the join */
    pthread_t main; /* only the main thread records */
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stop;
    double timeout;
    int multiple; /* MPI_THREAD_MULTIPLE: the thread may call MPI_Abort */
    /* what the rank does; under mu */
    int rank, stage, replica, step;
    int point; /* pg_act_kind, or PG_FAULT_PHASE(pg_phase) */
    pg_action act;
    double since;
    char wait[192];
} W = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER,
       .stage = -1, .replica = -1, .point = PG_FAULT_PHASE(PG_PHASE_SETUP)};
static atomic_int claimed;

const char *pg_phase_name(pg_phase p)
{
    static const char *N[PG_PHASES] = {
        [PG_PHASE_SETUP] = "setup",
        [PG_PHASE_ALLREDUCE] = "allreduce (step end: gradients, statistics)",
        [PG_PHASE_OPTIMIZER] = "optimizer step",
        [PG_PHASE_CHECKPOINT] = "checkpoint save",
        [PG_PHASE_CKPT_CREATE] = "checkpoint create",
        [PG_PHASE_CKPT_WRITE] = "checkpoint write",
        [PG_PHASE_CKPT_SYNC] = "checkpoint sync",
        [PG_PHASE_CKPT_COMMIT] = "checkpoint commit",
        [PG_PHASE_HALT] = "halt agreement",
        [PG_PHASE_EVAL] = "evaluation",
        [PG_PHASE_FINISH] = "finish",
    };
    return p >= 0 && p < PG_PHASES ? N[p] : "?";
}

static const char *kind_name(int kind)
{
    static const char *N[PG_ACT_KINDS] = {
        [PG_F] = "forward",     [PG_B] = "backward",  [PG_I] = "backward, input gradient",
        [PG_W] = "backward, weight gradient",         [PG_SEND_F] = "send",
        [PG_RECV_F] = "receive", [PG_SEND_B] = "send", [PG_RECV_B] = "receive",
        [PG_REDUCE] = "gradient allreduce",           [PG_OPTIM] = "step end",
    };
    return kind >= 0 && kind < PG_ACT_KINDS ? N[kind] : "?";
}

/* The report line (under mu). */
static void format(char *buf, size_t n, double age)
{
    char who[96], what[128];
    int len = snprintf(who, sizeof who, "rank %d", W.rank);
    if (W.stage >= 0)
        len += snprintf(who + len, sizeof who - (size_t)len, " (stage %d, replica %d)", W.stage,
                        W.replica);
    if (W.step > 0) snprintf(who + len, sizeof who - (size_t)len, ", step %d", W.step);
    if (W.point < PG_ACT_KINDS) {
        char a[32];
        pg_action_str(W.act, a);
        if (W.act.mb >= 0)
            snprintf(what, sizeof what, "%s (%s, microbatch %d)", a, kind_name(W.act.kind),
                     W.act.mb);
        else
            snprintf(what, sizeof what, "%s (%s)", a, kind_name(W.act.kind));
    } else {
        snprintf(what, sizeof what, "the %s", pg_phase_name(W.point - PG_ACT_KINDS));
    }
    snprintf(buf, n,
             "pipegrid: watchdog: %s: %s has run %.1f s > runtime.watchdog_s=%g, %s%s; "
             "ending the job\n",
             who, what, age, W.timeout, W.wait[0] ? "waiting on " : "not waiting on any rank",
             W.wait);
}

static void *watch(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&W.mu);
    while (!W.stop) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += TICK_NS;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        int rc = pthread_cond_timedwait(&W.cv, &W.mu, &ts);
        if (W.stop) break;
        if (rc != ETIMEDOUT) continue;
        double age = pg_now() - W.since;
        if (age <= W.timeout + (W.wait[0] ? WAIT_GRACE_S : 0.0)) continue;
        char line[1024];
        format(line, sizeof line, age);
        pthread_mutex_unlock(&W.mu);
        if (pg_watchdog_claim()) {
            /* one write(2): the line stays whole among other ranks' output;
             * then give the launcher time to forward it: an abort can tear
             * the job down before mpiexec has drained the rank's pipe (a
             * lost line was seen under load) */
            ssize_t ignored = write(STDERR_FILENO, line, strlen(line));
            (void)ignored;
            nanosleep(&(struct timespec){0, FORWARD_NS}, NULL);
        }
        if (W.multiple) MPI_Abort(MPI_COMM_WORLD, 1 /* PG_EXIT_FAIL */);
        raise(SIGKILL);
    }
    pthread_mutex_unlock(&W.mu);
    return NULL;
}

int pg_watchdog_start(double timeout_s, int rank)
{
    W.rank = rank;
    if (timeout_s <= 0 || W.on) return 0;
    int level = MPI_THREAD_SINGLE;
    MPI_Query_thread(&level);
    W.multiple = level == MPI_THREAD_MULTIPLE;
    W.timeout = timeout_s;
    W.main = pthread_self();
    W.since = pg_now();
    W.stop = 0;
    W.on = 1;
    if (pthread_create(&W.thread, NULL, watch, NULL)) {
        W.on = 0;
        return pg_error(PG_EINVAL, "watchdog: cannot start its thread");
    }
    pg_wait_set_watcher(pg_watchdog_wait);
    return 0;
}

void pg_watchdog_stop(void)
{
    if (!W.on) return;
    pthread_mutex_lock(&W.mu);
    W.stop = 1;
    pthread_cond_signal(&W.cv);
    pthread_mutex_unlock(&W.mu);
    pthread_join(W.thread, NULL);
    pg_wait_set_watcher(NULL);
    W.on = 0;
}

/* Recording is for the main thread only (a background checkpoint writer
 * also waits, on its own schedule). */
static int recording(void) { return W.on && pthread_equal(pthread_self(), W.main); }

void pg_watchdog_coords(int stage, int replica)
{
    pthread_mutex_lock(&W.mu);
    W.stage = stage;
    W.replica = replica;
    pthread_mutex_unlock(&W.mu);
}

void pg_watchdog_step(int step)
{
    pthread_mutex_lock(&W.mu);
    W.step = step;
    pthread_mutex_unlock(&W.mu);
}

/* Enter `point` (restart the clock), then fire a planned fault. */
static int enter(int point, pg_action a)
{
    if (recording()) {
        pthread_mutex_lock(&W.mu);
        W.point = point;
        W.act = a;
        W.since = pg_now();
        W.wait[0] = 0;
        pthread_mutex_unlock(&W.mu);
    }
    return pg_fault_hit(point, W.step, a.mb);
}

int pg_watchdog_action(pg_action a) { return enter(a.kind, a); }

int pg_watchdog_phase(pg_phase p)
{
    return enter(PG_FAULT_PHASE(p), (pg_action){PG_OPTIM, -1, -1});
}

int pg_watchdog_wait(const char *what)
{
    if (!W.on) return 0;
    if (!recording()) return 1;
    pthread_mutex_lock(&W.mu);
    snprintf(W.wait, sizeof W.wait, "%s", what ? what : "");
    pthread_mutex_unlock(&W.mu);
    return 1;
}

int pg_watchdog_claim(void) { return !atomic_exchange(&claimed, 1); }
