/* schedule_gen.c: built-in schedule generators and communication insertion. */
#include "schedule.h"

#include "error.h"

#include <stdlib.h>
#include <string.h>

const char *const pg_schedule_names[] = {"gpipe", "1f1b", NULL};

#define PUSH(s, r, k, st, mb)                                                     \
    do {                                                                          \
        int rc_ = pg_schedule_push((s), (r), (pg_action){(k), (st), (mb)});       \
        if (rc_) return rc_;                                                      \
    } while (0)

/* GPipe: all forwards, then all backwards. */
static int gen_gpipe(pg_schedule *s)
{
    for (int r = 0; r < s->pp; r++) {
        for (int mb = 0; mb < s->nmb; mb++) PUSH(s, r, PG_F, r, mb);
        for (int mb = 0; mb < s->nmb; mb++) PUSH(s, r, PG_B, r, mb);
    }
    return 0;
}

/* 1F1B (PipeDream-flush): pp-1-r warm-up forwards, then one forward and one
 * backward alternately, then the remaining backwards. At most pp-r
 * microbatches are in flight on rank r. */
static int gen_1f1b(pg_schedule *s)
{
    for (int r = 0; r < s->pp; r++) {
        int warmup = s->pp - 1 - r < s->nmb ? s->pp - 1 - r : s->nmb;
        for (int mb = 0; mb < warmup; mb++) PUSH(s, r, PG_F, r, mb);
        for (int i = 0; i < s->nmb - warmup; i++) {
            PUSH(s, r, PG_F, r, warmup + i);
            PUSH(s, r, PG_B, r, i);
        }
        for (int mb = s->nmb - warmup; mb < s->nmb; mb++) PUSH(s, r, PG_B, r, mb);
    }
    return 0;
}

int pg_schedule_add_comms(pg_schedule *s)
{
    int S = s->nstages;
    for (int r = 0; r < s->pp; r++) {
        int n = s->len[r];
        pg_action *old = s->acts[r];
        s->acts[r] = NULL;
        s->len[r] = s->cap[r] = 0;
        /* last action that accumulates each stage's weight gradients */
        int *last_grad = malloc(sizeof(int) * (size_t)S);
        if (!last_grad) {
            free(old);
            return pg_error(PG_ENOMEM, "schedule: out of memory");
        }
        for (int st = 0; st < S; st++) last_grad[st] = -1;
        for (int i = 0; i < n; i++)
            if (old[i].kind == PG_B || old[i].kind == PG_W) last_grad[old[i].stage] = i;
        int rc = 0;
        for (int i = 0; i < n && !rc; i++) {
            pg_action a = old[i];
            int st = a.stage;
            int prev_remote = st > 0 && s->stage_rank[st - 1] != r;
            int next_remote = st < S - 1 && s->stage_rank[st + 1] != r;
            if (a.kind == PG_F && prev_remote)
                rc = pg_schedule_push(s, r, (pg_action){PG_RECV_F, st, a.mb});
            if ((a.kind == PG_B || a.kind == PG_I) && next_remote && !rc)
                rc = pg_schedule_push(s, r, (pg_action){PG_RECV_B, st, a.mb});
            if (!rc) rc = pg_schedule_push(s, r, a);
            if (a.kind == PG_F && next_remote && !rc)
                rc = pg_schedule_push(s, r, (pg_action){PG_SEND_F, st, a.mb});
            if ((a.kind == PG_B || a.kind == PG_I) && prev_remote && !rc)
                rc = pg_schedule_push(s, r, (pg_action){PG_SEND_B, st, a.mb});
            if (last_grad[st] == i && !rc)
                rc = pg_schedule_push(s, r, (pg_action){PG_REDUCE, st, -1});
        }
        if (!rc) rc = pg_schedule_push(s, r, (pg_action){PG_OPTIM, -1, -1});
        free(last_grad);
        free(old);
        if (rc) return rc;
    }
    return 0;
}

int pg_schedule_build(pg_schedule **out, const char *name, int pp, int v, int nmb)
{
    *out = NULL;
    int (*gen)(pg_schedule *) = NULL;
    if (!strcmp(name, "gpipe")) gen = gen_gpipe;
    else if (!strcmp(name, "1f1b")) gen = gen_1f1b;
    else
        return pg_error(PG_EINVAL, "unknown schedule '%s' (expected gpipe or 1f1b)", name);
    if (v != 1)
        return pg_error(PG_EINVAL, "schedule %s runs one model chunk per rank, got v=%d", name,
                        v);
    pg_schedule *s;
    int rc = pg_schedule_new(&s, name, pp, pp * v, nmb);
    if (rc) return rc;
    if ((rc = gen(s)) || (rc = pg_schedule_add_comms(s)) || (rc = pg_schedule_validate(s))) {
        pg_schedule_free(s);
        return rc;
    }
    *out = s;
    return 0;
}
