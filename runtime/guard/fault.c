/* fault.c: PIPEGRID_FAULT (see fault.h). */
#include "runtime/guard/fault.h"

#include "runtime/base/error.h"
#include "runtime/guard/watchdog.h"

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { F_NONE, F_HANG, F_KILL, F_STOP, F_NAN, F_ENOSPC, F_EIO, F_TERM };

static struct {
    int kind, rank, step, mb;
    int points[4]; /* the points A names, -1 padded */
    char action[16];
} plan;
static atomic_int fired;

#define USAGE "expected KIND:rank=R,step=K,action=A[,mb=M] (KIND hang|kill|stop|nan|enospc|eio|term)"

/* The points an action name covers; 0 when the name is unknown. */
static int points_of(const char *name, int out[4])
{
    static const struct {
        const char *name;
        int p[4];
    } T[] = {
        {"forward", {PG_F, -1, -1, -1}},
        {"backward", {PG_B, PG_I, PG_W, -1}},
        {"send", {PG_SEND_F, PG_SEND_B, -1, -1}},
        {"recv", {PG_RECV_F, PG_RECV_B, -1, -1}},
        {"allreduce", {PG_REDUCE, PG_FAULT_PHASE(PG_PHASE_ALLREDUCE), -1, -1}},
        {"optimizer", {PG_FAULT_PHASE(PG_PHASE_OPTIMIZER), -1, -1, -1}},
        {"checkpoint", {PG_FAULT_PHASE(PG_PHASE_CKPT_WRITE), -1, -1, -1}},
        {"ckpt-create", {PG_FAULT_PHASE(PG_PHASE_CKPT_CREATE), -1, -1, -1}},
        {"ckpt-write", {PG_FAULT_PHASE(PG_PHASE_CKPT_WRITE), -1, -1, -1}},
        {"ckpt-sync", {PG_FAULT_PHASE(PG_PHASE_CKPT_SYNC), -1, -1, -1}},
        {"ckpt-commit", {PG_FAULT_PHASE(PG_PHASE_CKPT_COMMIT), -1, -1, -1}},
        {"halt", {PG_FAULT_PHASE(PG_PHASE_HALT), -1, -1, -1}},
    };
    for (size_t i = 0; i < sizeof T / sizeof T[0]; i++)
        if (!strcmp(name, T[i].name)) {
            memcpy(out, T[i].p, sizeof T[i].p);
            return 1;
        }
    return 0;
}

/* A non-negative integer, the whole string. */
static int parse_int(const char *s, int *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (!*s || *end || v < 0 || v > 1000000000) return 0;
    *out = (int)v;
    return 1;
}

int pg_fault_init(int rank)
{
    plan.kind = F_NONE;
    atomic_store(&fired, 0);
    const char *v = getenv("PIPEGRID_FAULT");
    if (!v || !*v) return 0;
    char buf[256];
    if (strlen(v) >= sizeof buf)
        return pg_error(PG_EINVAL, "PIPEGRID_FAULT: too long; " USAGE);
    snprintf(buf, sizeof buf, "%s", v);
    char *colon = strchr(buf, ':');
    if (!colon) return pg_error(PG_EINVAL, "PIPEGRID_FAULT='%s': " USAGE, v);
    *colon = 0;
    int kind = !strcmp(buf, "hang") ? F_HANG : !strcmp(buf, "kill") ? F_KILL
             : !strcmp(buf, "stop") ? F_STOP : !strcmp(buf, "nan") ? F_NAN
             : !strcmp(buf, "enospc") ? F_ENOSPC : !strcmp(buf, "eio") ? F_EIO
             : !strcmp(buf, "term") ? F_TERM : F_NONE;
    if (kind == F_NONE)
        return pg_error(PG_EINVAL, "PIPEGRID_FAULT='%s': unknown kind '%s'; " USAGE, v, buf);
    int r = -1, step = -1, mb = -1, pts[4] = {-1, -1, -1, -1};
    char action[16] = "";
    for (char *save = NULL, *kv = strtok_r(colon + 1, ",", &save); kv;
         kv = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(kv, '=');
        if (!eq) return pg_error(PG_EINVAL, "PIPEGRID_FAULT='%s': '%s' is not KEY=VALUE; " USAGE, v, kv);
        *eq = 0;
        const char *val = eq + 1;
        int ok = !strcmp(kv, "rank")   ? parse_int(val, &r)
               : !strcmp(kv, "step")   ? parse_int(val, &step)
               : !strcmp(kv, "mb")     ? parse_int(val, &mb)
               : !strcmp(kv, "action") ? points_of(val, pts)
                                       : -1;
        if (ok < 0) return pg_error(PG_EINVAL, "PIPEGRID_FAULT='%s': unknown key '%s'; " USAGE, v, kv);
        if (!ok)
            return pg_error(PG_EINVAL, "PIPEGRID_FAULT='%s': bad %s '%s' (%s)", v, kv, val,
                            !strcmp(kv, "action")
                                ? "expected forward, backward, send, recv, allreduce, "
                                  "optimizer, checkpoint, ckpt-create, ckpt-write, ckpt-sync, "
                                  "ckpt-commit or halt"
                                : "expected a non-negative integer");
        if (!strcmp(kv, "action")) snprintf(action, sizeof action, "%s", val);
    }
    if (r < 0 || step < 1 || !action[0])
        return pg_error(PG_EINVAL, "PIPEGRID_FAULT='%s': needs rank, step (>= 1) and action; " USAGE, v);
    if (kind == F_NAN && pts[0] != PG_F && pts[0] != PG_B)
        return pg_error(PG_EINVAL, "PIPEGRID_FAULT='%s': nan needs action=forward or backward", v);
    int ckpt = pts[0] >= PG_FAULT_PHASE(PG_PHASE_CKPT_CREATE) &&
               pts[0] <= PG_FAULT_PHASE(PG_PHASE_CKPT_COMMIT);
    if ((kind == F_ENOSPC || kind == F_EIO) && !ckpt)
        return pg_error(PG_EINVAL, "PIPEGRID_FAULT='%s': %s needs a checkpoint action (checkpoint, "
                                   "ckpt-create, ckpt-write, ckpt-sync or ckpt-commit)", v, buf);
    if (r != rank) return 0;
    plan.kind = kind;
    plan.rank = r;
    plan.step = step;
    plan.mb = mb;
    memcpy(plan.points, pts, sizeof pts);
    snprintf(plan.action, sizeof plan.action, "%s", action);
    return 0;
}

int pg_fault_hit(int point, int step, int mb)
{
    if (plan.kind == F_NONE || step != plan.step || (plan.mb >= 0 && mb != plan.mb)) return 0;
    int match = 0;
    for (int i = 0; i < 4; i++) match |= plan.points[i] == point;
    if (!match || atomic_exchange(&fired, 1)) return 0;
    static const char *what[] = {"", "hang", "kill -9", "SIGSTOP", "NaN", "ENOSPC", "EIO", "SIGTERM"};
    char at[32] = "";
    if (mb >= 0) snprintf(at, sizeof at, ", microbatch %d", mb);
    fprintf(stderr, "pipegrid: fault injected: rank %d: %s at %s of step %d%s (PIPEGRID_FAULT)\n",
            plan.rank, what[plan.kind], plan.action, step, at);
    fflush(stderr);
    if (plan.kind == F_KILL) raise(SIGKILL);
    if (plan.kind == F_STOP) raise(SIGSTOP);
    if (plan.kind == F_TERM) { /* preemption reaching this rank mid-step: training goes on */
        raise(SIGTERM);
        return 0;
    }
    if (plan.kind == F_HANG || plan.kind == F_STOP) /* stopped: only SIGCONT gets here */
        for (;;) sleep(1000);
    return plan.kind == F_ENOSPC ? ENOSPC : plan.kind == F_EIO ? EIO : 1;
}
