/* schedule_gen.c: built-in schedule generators and communication insertion.
 *
 * GPipe, 1F1B and interleaved 1F1B are written out by their textbook rules;
 * the zero-bubble family (ZB-H1, ZB-V) comes from schedule_zb.c. */
#include "runtime/schedule/schedule.h"

#include "runtime/base/error.h"

#include <stdlib.h>
#include <string.h>

const char *const pg_schedule_names[] = {"gpipe", "1f1b", "interleaved", "zbh1", "zbv", NULL};

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

/* Interleaved 1F1B (Megatron-LM's virtual pipeline): rank r owns the v
 * stages r, r+pp, ..., r+(v-1)pp. Microbatches go in rounds: forwards of
 * chunk 0 for the round's microbatches, then chunk 1 for the same, ...;
 * backwards in the same rounds with the chunks in reverse. The warm-up is
 * (pp-1-r)*2 + (v-1)*g forwards (g: the first round's size), then one forward
 * and one backward alternately. Megatron needs m to be a multiple of pp
 * (rounds of exactly pp); here m is split into floor(m/pp) rounds of sizes
 * differing by at most one, each >= pp, so a forward never waits for its
 * previous chunk and every m >= pp keeps the textbook bubble; m < pp runs
 * one short round (valid, with the waits that implies). */
static int gen_interleaved(pg_schedule *s)
{
    int P = s->pp, V = s->nstages / P, M = s->nmb, n = V * M;
    int rounds = M / P > 0 ? M / P : 1, big = (M + rounds - 1) / rounds;
    pg_action *fseq = malloc(sizeof(pg_action) * (size_t)n);
    pg_action *bseq = malloc(sizeof(pg_action) * (size_t)n);
    int rc = 0;
    if (!fseq || !bseq) rc = pg_error(PG_ENOMEM, "schedule: out of memory");
    for (int r = 0; r < P && !rc; r++) {
        int k = 0;
        for (int i = 0, g0 = 0; i < rounds; i++) {
            int gs = M / rounds + (i < M % rounds);
            for (int c = 0; c < V; c++)
                for (int mb = g0; mb < g0 + gs; mb++, k++) {
                    fseq[k] = (pg_action){PG_F, c * P + r, mb};
                    bseq[k] = (pg_action){PG_B, (V - 1 - c) * P + r, mb};
                }
            g0 += gs;
        }
        int warmup = (P - 1 - r) * 2 + (V - 1) * big;
        if (warmup > n) warmup = n;
        for (int i = 0; i < warmup && !rc; i++) rc = pg_schedule_push(s, r, fseq[i]);
        for (int i = 0; i < n - warmup && !rc; i++) {
            rc = pg_schedule_push(s, r, fseq[warmup + i]);
            if (!rc) rc = pg_schedule_push(s, r, bseq[i]);
        }
        for (int i = n - warmup; i < n && !rc; i++) rc = pg_schedule_push(s, r, bseq[i]);
    }
    free(fseq);
    free(bseq);
    return rc;
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
    int vmin = 1, vmax = 1; /* chunks per rank the schedule supports */
    if (!strcmp(name, "gpipe")) gen = gen_gpipe;
    else if (!strcmp(name, "1f1b")) gen = gen_1f1b;
    else if (!strcmp(name, "interleaved")) gen = gen_interleaved, vmin = 2, vmax = 64;
    else if (!strcmp(name, "zbh1")) gen = pg_gen_zbh1;
    else if (!strcmp(name, "zbv")) gen = pg_gen_zbv, vmin = vmax = 2;
    else
        return pg_error(PG_EINVAL,
                        "unknown schedule '%s' (expected gpipe, 1f1b, interleaved, zbh1 or zbv)",
                        name);
    if (v == 0) v = vmin;
    if (v < vmin || v > vmax) {
        if (vmin == vmax)
            return pg_error(PG_EINVAL, "schedule %s runs %d model chunk%s per rank, got %d", name,
                            vmin, vmin > 1 ? "s" : "", v);
        return pg_error(PG_EINVAL, "schedule %s runs %d to %d model chunks per rank, got %d",
                        name, vmin, vmax, v);
    }
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
