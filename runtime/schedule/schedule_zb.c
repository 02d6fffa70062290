/* schedule_zb.c: zero-bubble schedules (ZB-H1, ZB-V) by greedy list scheduling.
 *
 * Zero Bubble Pipeline Parallelism (Qi et al., ICLR 2024) splits each
 * backward into I (input gradient, on the critical path) and W (weight
 * gradient, needed only before the optimizer step). Both schedules here come
 * from one generator that plays the step in unit time (F = I = W = 1, free
 * communication): whenever a rank is free it runs, by preference,
 *   1. an I whose output gradient is there (oldest microbatch first),
 *   2. an F whose input is there (oldest microbatch first, ties to the later
 *      stage), while the rank holds fewer than `limit` microbatch-stages in
 *      flight (forward done, W not yet) and, with `fi_1f1b`, fewer than
 *      pp - r between their F and their I (1F1B's count),
 *   3. the oldest deferred W,
 * else it idles; with `f_first` 2 comes before 1. W thus fills what would be bubble, and the limit bounds how
 * many activations wait for their W. Because the order comes from a play of
 * the step that respects every dependency, the result always passes the dry
 * run.
 *
 *   zbh1  one stage per rank (stage r on rank r); F and I in 1F1B's order
 *         (fi_1f1b, f_first), W deferred while fewer than pp are in
 *         flight: pp on every rank is 1F1B's peak on rank 0, so the peak
 *         activation memory over ranks is 1F1B's. Step (pp-1)(F+I-W) + m(F+I+W):
 *         the bubble is a third of 1F1B's when F=I=W (checked in
 *         tests/unit/test_schedule.c for pp <= 8, m <= 32).
 *   zbv   two stages per rank in a V: rank r owns stages r and 2pp-1-r, so
 *         rank 0 holds the first and the last stage; I first, limit 2pp
 *         stages of half the size (again 1F1B's peak memory). The step is
 *         2m(F+I+W) plus pp-1 to 2(pp-1) units: under 5% bubble from m = 4pp. */
#include "runtime/schedule/schedule.h"

#include "runtime/base/error.h"

#include <stdlib.h>
#include <string.h>

#define NEVER 0x3fffffff
#define STALLED 1 /* the memory limit left every rank waiting */

typedef struct zb_policy {
    int limit;     /* microbatch-stages in flight per rank (F done, W not yet) */
    int fi_1f1b;   /* at most pp - r microbatches between F and I on rank r, as in 1F1B */
    int f_first;   /* prefer a ready F to a ready I */
} zb_policy;

typedef struct zb {
    pg_schedule *s;
    int P, S, M;
    int *next_f, *next_i;  /* [S] next microbatch to run F / I on each stage */
    int *done_f, *done_i;  /* [S*M] tick when the result is there, NEVER before */
    int *busy, *inflight;  /* [P] tick the rank is free again; stages in flight */
    int *wq, *wq_head, *wq_len; /* [P][S*M] deferred W (stage*M+mb), FIFO */
} zb;

/* The best ready candidate of `kind` on rank r at tick t, or -1: the smallest
 * microbatch, ties to the later stage. Returns stage*M+mb. */
static int ready(const zb *g, int kind, int k, int t)
{
    int st = k / g->M;
    if (kind == PG_F) return st == 0 || g->done_f[k - g->M] <= t;
    return g->done_f[k] <= t && (st == g->S - 1 || g->done_i[k + g->M] <= t);
}

static int pick(const zb *g, int r, int kind, int t)
{
    int best = -1, best_mb = NEVER, best_st = -1;
    for (int st = 0; st < g->S; st++) {
        if (g->s->stage_rank[st] != r) continue;
        int mb = kind == PG_F ? g->next_f[st] : g->next_i[st];
        if (mb >= g->M) continue;
        int k = st * g->M + mb;
        if (!ready(g, kind, k, t)) continue;
        if (mb < best_mb || (mb == best_mb && st > best_st)) {
            best = k;
            best_mb = mb;
            best_st = st;
        }
    }
    return best;
}

static int play(zb *g, const zb_policy *pol)
{
    int P = g->P, S = g->S, M = g->M, SM = S * M;
    int left = 3 * SM;
    for (int t = 0; left > 0; t++) {
        int moving = 0; /* ranks busy at t */
        for (int r = 0; r < P; r++) {
            if (g->busy[r] > t) {
                moving = 1;
                continue;
            }
            pg_action a;
            int between = 0; /* microbatch-stages between their F and their I */
            for (int st = 0; st < S; st++)
                if (g->s->stage_rank[st] == r) between += g->next_f[st] - g->next_i[st];
            int may_f = g->inflight[r] < pol->limit &&
                        (!pol->fi_1f1b || between < P - r);
            int fk = may_f ? pick(g, r, PG_F, t) : -1, k = pick(g, r, PG_I, t);
            if (pol->f_first && fk >= 0) k = -1;
            if (k >= 0) {
                a = (pg_action){PG_I, k / M, k % M};
                g->next_i[a.stage]++;
                g->done_i[k] = t + 1;
                g->wq[r * SM + (g->wq_head[r] + g->wq_len[r]++) % SM] = k;
            } else if ((k = fk) >= 0) {
                a = (pg_action){PG_F, k / M, k % M};
                g->next_f[a.stage]++;
                g->done_f[k] = t + 1;
                g->inflight[r]++;
            } else if (g->wq_len[r] > 0) {
                k = g->wq[r * SM + g->wq_head[r]];
                g->wq_head[r] = (g->wq_head[r] + 1) % SM;
                g->wq_len[r]--;
                a = (pg_action){PG_W, k / M, k % M};
                g->inflight[r]--;
            } else {
                continue;
            }
            g->busy[r] = t + 1;
            moving = 1;
            left--;
            int rc = pg_schedule_push(g->s, r, a);
            if (rc) return rc;
        }
        if (!moving) return STALLED; /* every rank idle and nothing ready: never will be */
    }
    return 0;
}

static int generate(pg_schedule *s, const zb_policy *pol)
{
    zb g = {.s = s, .P = s->pp, .S = s->nstages, .M = s->nmb};
    size_t SM = (size_t)g.S * (size_t)g.M, P = (size_t)g.P;
    g.next_f = calloc((size_t)g.S, sizeof(int));
    g.next_i = calloc((size_t)g.S, sizeof(int));
    g.done_f = malloc(sizeof(int) * SM);
    g.done_i = malloc(sizeof(int) * SM);
    g.busy = calloc(P, sizeof(int));
    g.inflight = calloc(P, sizeof(int));
    g.wq = malloc(sizeof(int) * SM * P);
    g.wq_head = calloc(P, sizeof(int));
    g.wq_len = calloc(P, sizeof(int));
    int rc;
    if (!g.next_f || !g.next_i || !g.done_f || !g.done_i || !g.busy || !g.inflight || !g.wq ||
        !g.wq_head || !g.wq_len) {
        rc = pg_error(PG_ENOMEM, "schedule: out of memory");
    } else {
        for (size_t k = 0; k < SM; k++) g.done_f[k] = g.done_i[k] = NEVER;
        rc = play(&g, pol);
        if (rc == STALLED)
            rc = pg_error(PG_EINVAL, "schedule %s: generator stalled (pp=%d, %d stages, %d "
                                     "microbatches)", s->name, g.P, g.S, g.M);
    }
    free(g.next_f);
    free(g.next_i);
    free(g.done_f);
    free(g.done_i);
    free(g.busy);
    free(g.inflight);
    free(g.wq);
    free(g.wq_head);
    free(g.wq_len);
    return rc;
}

int pg_gen_zbh1(pg_schedule *s)
{
    zb_policy pol = {.limit = s->pp, .fi_1f1b = 1, .f_first = 1};
    return generate(s, &pol);
}

int pg_gen_zbv(pg_schedule *s)
{
    int P = s->pp;
    for (int st = 0; st < 2 * P; st++) s->stage_rank[st] = st < P ? st : 2 * P - 1 - st;
    zb_policy pol = {.limit = 2 * P};
    return generate(s, &pol);
}
