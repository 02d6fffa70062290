/* schedule_check.c: validation and communication dry run of a schedule.
 *
 * The engine never blocks on a send (sends are non-blocking and completed
 * later), so the only waits are receives and the step-end collective (OPTIM
 * meets every rank). The dry run executes all action lists on that model: a
 * receive may run once its matching send has run; OPTIM once every rank has
 * reached its OPTIM. If no rank can move and some are not finished, the
 * schedule deadlocks and the message names each stuck rank and action. */
#include "runtime/schedule/schedule.h"

#include "runtime/base/error.h"

#include <stdlib.h>
#include <string.h>

typedef struct index {
    int S, M;
    /* position in the owner's list, -1 if absent, -2 if duplicated */
    int *f, *b, *i, *w, *send_f, *recv_f, *send_b, *recv_b;
} index_t;

static int *pos(index_t *x, int kind)
{
    switch (kind) {
    case PG_F: return x->f;
    case PG_B: return x->b;
    case PG_I: return x->i;
    case PG_W: return x->w;
    case PG_SEND_F: return x->send_f;
    case PG_RECV_F: return x->recv_f;
    case PG_SEND_B: return x->send_b;
    case PG_RECV_B: return x->recv_b;
    default: return NULL;
    }
}

static int fail_at(const pg_schedule *s, int r, int at, const char *why)
{
    char buf[32];
    return pg_error(PG_EINVAL, "schedule %s: rank %d, action %d (%s): %s", s->name, r, at,
                    pg_action_str(s->acts[r][at], buf), why);
}

static int check_structure(const pg_schedule *s, index_t *x)
{
    int S = s->nstages, M = s->nmb;
    char why[256], buf[32], buf2[32];
    for (int r = 0; r < s->pp; r++) {
        int optim = 0, *reduced = calloc((size_t)S, sizeof(int));
        if (!reduced) return pg_error(PG_ENOMEM, "schedule: out of memory");
        for (int at = 0; at < s->len[r]; at++) {
            pg_action a = s->acts[r][at];
            int rc = 0;
            if (a.kind < 0 || a.kind >= PG_ACT_KINDS) rc = fail_at(s, r, at, "unknown kind");
            else if (a.kind == PG_OPTIM) {
                if (at != s->len[r] - 1) rc = fail_at(s, r, at, "OPTIM must be the last action");
                optim = 1;
            } else if (a.stage < 0 || a.stage >= S) {
                snprintf(why, sizeof why, "stage out of range (0..%d)", S - 1);
                rc = fail_at(s, r, at, why);
            } else if (s->stage_rank[a.stage] != r) {
                snprintf(why, sizeof why, "stage %d belongs to rank %d", a.stage,
                         s->stage_rank[a.stage]);
                rc = fail_at(s, r, at, why);
            } else if (a.kind == PG_REDUCE) {
                if (reduced[a.stage]++) rc = fail_at(s, r, at, "stage reduced twice");
            } else if (a.mb < 0 || a.mb >= M) {
                snprintf(why, sizeof why, "microbatch out of range (0..%d)", M - 1);
                rc = fail_at(s, r, at, why);
            } else {
                if (reduced[a.stage] && (a.kind == PG_B || a.kind == PG_W))
                    rc = fail_at(s, r, at, "weight gradient after the stage's REDUCE");
                int *p = pos(x, a.kind);
                int k = a.stage * M + a.mb;
                if (p[k] != -1 && !rc) rc = fail_at(s, r, at, "action appears twice");
                p[k] = at;
            }
            if (rc) {
                free(reduced);
                return rc;
            }
        }
        for (int st = 0; st < S; st++)
            if (s->stage_rank[st] == r && !reduced[st]) {
                free(reduced);
                return pg_error(PG_EINVAL, "schedule %s: rank %d: stage %d has no REDUCE", s->name,
                                r, st);
            }
        free(reduced);
        if (!optim)
            return pg_error(PG_EINVAL, "schedule %s: rank %d: no OPTIM at the end", s->name, r);
    }
    /* per (stage, microbatch): counts, order, inputs, sends and receives */
    for (int st = 0; st < S; st++) {
        int r = s->stage_rank[st];
        int prev_remote = st > 0 && s->stage_rank[st - 1] != r;
        int next_remote = st < S - 1 && s->stage_rank[st + 1] != r;
        for (int mb = 0; mb < M; mb++) {
            int k = st * M + mb;
#define MISSING(what)                                                                           \
    return pg_error(PG_EINVAL, "schedule %s: rank %d: %s %s", s->name, r,                     \
                    pg_action_str((pg_action){PG_F, st, mb}, buf), what)
            if (x->f[k] < 0) MISSING("is missing (every stage runs every microbatch forward)");
            int bwd = x->b[k] >= 0 ? x->b[k] : x->i[k];
            if (x->b[k] >= 0 && (x->i[k] >= 0 || x->w[k] >= 0))
                MISSING("has both a full backward B and a split I/W");
            if (bwd < 0) MISSING("has no backward (B, or I and W)");
            if (x->b[k] < 0 && x->w[k] < 0) MISSING("has I but no W");
            if (bwd < x->f[k]) return fail_at(s, r, bwd, "backward before its forward");
            if (x->w[k] >= 0 && x->w[k] < x->i[k])
                return fail_at(s, r, x->w[k], "W before its I");
            /* inputs of F and of the backward */
            if (st > 0) {
                int need = prev_remote ? x->recv_f[k] : x->f[k - M];
                if (need < 0 || need > x->f[k]) {
                    snprintf(why, sizeof why, "input not available: expected %s earlier on rank %d",
                             prev_remote ? pg_action_str((pg_action){PG_RECV_F, st, mb}, buf2)
                                         : pg_action_str((pg_action){PG_F, st - 1, mb}, buf2),
                             r);
                    return fail_at(s, r, x->f[k], why);
                }
            }
            if (st < S - 1) {
                int nb = x->b[k + M] >= 0 ? x->b[k + M] : x->i[k + M];
                int need = next_remote ? x->recv_b[k] : nb;
                if (need < 0 || need > bwd) {
                    snprintf(why, sizeof why,
                             "output gradient not available: expected %s earlier on rank %d",
                             next_remote ? pg_action_str((pg_action){PG_RECV_B, st, mb}, buf2)
                                         : "the next stage's backward",
                             r);
                    return fail_at(s, r, bwd, why);
                }
            }
            /* communication exists exactly where a neighbour stage is remote */
            if ((x->send_f[k] >= 0) != next_remote || (x->recv_f[k] >= 0) != prev_remote ||
                (x->send_b[k] >= 0) != prev_remote || (x->recv_b[k] >= 0) != next_remote) {
                snprintf(why, sizeof why,
                         "send/receive actions do not match the stage owners (SEND_F/RECV_B "
                         "needed: %s, RECV_F/SEND_B needed: %s)",
                         next_remote ? "yes" : "no", prev_remote ? "yes" : "no");
                return fail_at(s, r, x->f[k], why);
            }
            if (x->send_f[k] >= 0 && x->send_f[k] < x->f[k])
                return fail_at(s, r, x->send_f[k], "sends an output before its forward");
            if (x->send_b[k] >= 0 && x->send_b[k] < bwd)
                return fail_at(s, r, x->send_b[k], "sends a gradient before its backward");
#undef MISSING
        }
    }
    return 0;
}

/* Can action a of rank r run, given what has run so far? */
static int ready(const pg_schedule *s, const index_t *x, const int *pc, pg_action a, int *optim_waiting)
{
    int M = s->nmb;
    if (a.kind == PG_RECV_F) {
        int sender = s->stage_rank[a.stage - 1];
        int at = x->send_f[(a.stage - 1) * M + a.mb];
        return at >= 0 && pc[sender] > at;
    }
    if (a.kind == PG_RECV_B) {
        int sender = s->stage_rank[a.stage + 1];
        int at = x->send_b[(a.stage + 1) * M + a.mb];
        return at >= 0 && pc[sender] > at;
    }
    if (a.kind == PG_OPTIM) return *optim_waiting == s->pp;
    return 1;
}

static int dry_run(const pg_schedule *s, const index_t *x)
{
    int *pc = calloc((size_t)s->pp, sizeof(int));
    if (!pc) return pg_error(PG_ENOMEM, "schedule: out of memory");
    int remaining = 0;
    for (int r = 0; r < s->pp; r++) remaining += s->len[r];
    for (;;) {
        int moved = 0, optim_waiting = 0;
        for (int r = 0; r < s->pp; r++)
            if (pc[r] == s->len[r] - 1 && s->acts[r][pc[r]].kind == PG_OPTIM) optim_waiting++;
        for (int r = 0; r < s->pp; r++) {
            while (pc[r] < s->len[r] && ready(s, x, pc, s->acts[r][pc[r]], &optim_waiting)) {
                pc[r]++;
                remaining--;
                moved = 1;
            }
        }
        if (remaining == 0) break;
        if (!moved) {
            char msg[900] = "", buf[32];
            size_t used = 0;
            for (int r = 0; r < s->pp && used < sizeof msg - 64; r++) {
                if (pc[r] >= s->len[r]) continue;
                used += (size_t)snprintf(msg + used, sizeof msg - used, "%srank %d at %s",
                                         used ? "; " : "", r,
                                         pg_action_str(s->acts[r][pc[r]], buf));
            }
            free(pc);
            return pg_error(PG_EINVAL,
                            "schedule %s: deadlock: no rank can make progress (each waits for a "
                            "message that is never sent): %s",
                            s->name, msg);
        }
    }
    free(pc);
    return 0;
}

int pg_schedule_validate(const pg_schedule *s)
{
    size_t n = (size_t)s->nstages * (size_t)s->nmb;
    index_t x = {.S = s->nstages, .M = s->nmb};
    int *all = malloc(sizeof(int) * n * 8);
    if (!all) return pg_error(PG_ENOMEM, "schedule: out of memory");
    for (size_t i = 0; i < n * 8; i++) all[i] = -1;
    x.f = all;
    x.b = all + n;
    x.i = all + 2 * n;
    x.w = all + 3 * n;
    x.send_f = all + 4 * n;
    x.recv_f = all + 5 * n;
    x.send_b = all + 6 * n;
    x.recv_b = all + 7 * n;
    int rc = check_structure(s, &x);
    if (!rc) rc = dry_run(s, &x);
    free(all);
    return rc;
}
