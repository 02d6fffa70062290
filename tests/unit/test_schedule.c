/* test_schedule.c: generated schedules are valid and have the textbook
 * bubble; broken schedules are rejected with rank, action and reason. */
#include "runtime/base/error.h"
#include "runtime/schedule/schedule.h"
#include "runtime/schedule/simulate.h"
#include "tests/support/testlib.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define EXPECT_REJECT(text, ...)                                                          \
    do {                                                                                  \
        pg_schedule *s_ = NULL;                                                           \
        int rc_ = pg_schedule_parse(&s_, text, "bad.txt", 0);                             \
        CHECK_MSG(rc_ != 0, "accepted: %s", text);                                        \
        const char *want_[] = {__VA_ARGS__, NULL};                                        \
        for (int i_ = 0; want_[i_]; i_++)                                                 \
            CHECK_MSG(strstr(pg_errmsg(), want_[i_]), "message '%s' lacks '%s'",          \
                      pg_errmsg(), want_[i_]);                                            \
        pg_schedule_free(s_);                                                             \
    } while (0)

/* pg_schedule_marks on every rank: one last use per (stage, microbatch) a
 * rank touches, after every other action on it; one final weight gradient per
 * stage with a backward, after every other B or W of that stage. */
static void check_marks(const pg_schedule *s)
{
    for (int r = 0; r < s->pp; r++) {
        int len = s->len[r];
        unsigned char *use = calloc((size_t)len + 1, 1), *grad = calloc((size_t)len + 1, 1);
        pg_schedule_marks(s, r, use, grad);
        for (int i = 0; i < len; i++) {
            pg_action a = s->acts[r][i];
            int uses = 0, grads = 0, last_use = -1, last_grad = -1;
            for (int j = 0; j < len; j++) {
                pg_action b = s->acts[r][j];
                if (b.stage != a.stage) continue;
                if (a.mb >= 0 && b.mb == a.mb) uses += use[j], last_use = j;
                if (b.kind == PG_B || b.kind == PG_W) grads += grad[j], last_grad = j;
            }
            if (a.mb >= 0) CHECK_MSG(uses == 1 && use[last_use], "%s rank %d action %d: last use",
                                     s->name, r, i);
            if (last_grad >= 0) CHECK_MSG(grads == 1 && grad[last_grad], "%s rank %d: final grad",
                                          s->name, r);
        }
        free(use);
        free(grad);
    }
}

int main(void)
{
    /* every built-in schedule validates, and with unit costs (F=1, B=2) its
     * step is (m+p-1)*3 units: bubble (p-1)/(m+p-1) on every rank */
    const char *names[] = {"gpipe", "1f1b"};
    for (int n = 0; n < 2; n++)
        for (int pp = 1; pp <= 8; pp *= 2)
            for (int m = 1; m <= 16; m += 3) {
                pg_schedule *s;
                CHECK_MSG(pg_schedule_build(&s, names[n], pp, 1, m) == 0, "%s pp=%d m=%d: %s",
                          names[n], pp, m, pg_errmsg());
                pg_sim_result r;
                CHECK(pg_simulate_uniform(s, 1, 1, 1, &r) == 0);
                CHECK_MSG(fabs(r.step_time - 3.0 * (m + pp - 1)) < 1e-9,
                          "%s pp=%d m=%d: step %g", names[n], pp, m, r.step_time);
                for (int k = 0; k < pp; k++)
                    CHECK(fabs(r.bubble[k] - (double)(pp - 1) / (m + pp - 1)) < 1e-9);
                /* memory: GPipe holds all m microbatches; 1F1B at most pp - rank */
                int want0 = n == 0 ? m : (m < pp ? m : pp);
                CHECK_MSG(r.peak_inflight[0] == want0, "%s pp=%d m=%d: peak %d", names[n], pp, m,
                          r.peak_inflight[0]);
                pg_sim_result_free(&r);
                pg_schedule_free(s);
            }
    /* interleaved (v chunks, unit cost per chunk): the textbook bubble
     * 3(p-1) units for every m >= pp, multiple of pp or not */
    for (int v = 2; v <= 3; v++)
        for (int pp = 2; pp <= 8; pp++)
            for (int m = pp; m <= 3 * pp + 2; m++) {
                pg_schedule *s;
                CHECK_MSG(pg_schedule_build(&s, "interleaved", pp, v, m) == 0,
                          "interleaved v=%d pp=%d m=%d: %s", v, pp, m, pg_errmsg());
                if (!s) continue;
                CHECK(s->nstages == v * pp && s->stage_rank[pp + 1] == 1);
                pg_sim_result r;
                CHECK(pg_simulate_uniform(s, 1, 1, 1, &r) == 0);
                CHECK_MSG(fabs(r.step_time - 3.0 * (v * m + pp - 1)) < 1e-9,
                          "interleaved v=%d pp=%d m=%d: step %g", v, pp, m, r.step_time);
                pg_sim_result_free(&r);
                pg_schedule_free(s);
            }
    /* ZB-H1: step 3m + p - 1 units (bubble a third of 1F1B's), peak in
     * flight at most pp on every rank; ZB-V: at most 6m + 2(p-1) with the stages in a
     * V (rank 0 holds the first and the last) and at most 2pp in flight.
     * Both valid for every m, also m < pp. */
    for (int pp = 1; pp <= 8; pp++)
        for (int m = 1; m <= 32; m += (m < 8 ? 1 : 5)) {
            pg_schedule *s;
            pg_sim_result r;
            CHECK_MSG(pg_schedule_build(&s, "zbh1", pp, 0, m) == 0, "zbh1 pp=%d m=%d: %s", pp, m,
                      pg_errmsg());
            CHECK(pg_simulate_uniform(s, 1, 1, 1, &r) == 0);
            if (m >= pp)
                CHECK_MSG(fabs(r.step_time - (3.0 * m + pp - 1)) < 1e-9, "zbh1 pp=%d m=%d: step %g",
                          pp, m, r.step_time);
            for (int k = 0; k < pp; k++) CHECK(r.peak_inflight[k] <= pp);
            pg_sim_result_free(&r);
            pg_schedule_free(s);
            CHECK_MSG(pg_schedule_build(&s, "zbv", pp, 0, m) == 0, "zbv pp=%d m=%d: %s", pp, m,
                      pg_errmsg());
            if (!s) continue;
            CHECK(s->nstages == 2 * pp && s->stage_rank[0] == 0 && s->stage_rank[2 * pp - 1] == 0);
            CHECK(pg_simulate_uniform(s, 1, 1, 1, &r) == 0);
            if (m >= 2 * pp)
                CHECK_MSG(r.step_time <= 6.0 * m + 2 * (pp - 1) + 1e-9, "zbv pp=%d m=%d: step %g",
                          pp, m, r.step_time);
            for (int k = 0; k < pp; k++) CHECK(r.peak_inflight[k] <= 2 * pp);
            check_marks(s);
            pg_sim_result_free(&r);
            pg_schedule_free(s);
        }
    pg_schedule *s;
    CHECK(pg_schedule_build(&s, "zbv", 2, 3, 4) != 0);
    CHECK(strstr(pg_errmsg(), "schedule zbv runs 2 model chunks per rank, got 3"));
    CHECK(pg_schedule_build(&s, "1f1b", 2, 2, 4) != 0);
    CHECK(pg_schedule_build(&s, "chimera", 2, 1, 2) != 0);
    CHECK(strstr(pg_errmsg(), "unknown schedule 'chimera'"));

    /* a compute-only file gets its communication added and runs */
    CHECK(pg_schedule_parse(&s, "0F0 0F1 0B0 0B1\n1F0 1B0 1F1 1B1\n", "ok.txt", 0) == 0);
    if (s) {
        CHECK(s->pp == 2 && s->nstages == 2 && s->nmb == 2);
        pg_schedule_free(s);
    }
    /* split backward I/W is valid */
    CHECK(pg_schedule_parse(&s, "0F0 0I0 0W0\n1F0 1I0 1W0\n", "iw.txt", 0) == 0);
    pg_schedule_free(s);

    /* deadlock: rank 0 waits for a gradient before sending the activation
     * that rank 1 needs to produce it */
    EXPECT_REJECT("0F0 0RECV_B0 0B0 0SEND_F0 0REDUCE OPTIM\n"
                  "1RECV_F0 1F0 1B0 1SEND_B0 1REDUCE OPTIM\n",
                  "bad.txt", "deadlock", "rank 0 at 0RECV_B0", "rank 1 at 1RECV_F0");
    /* a missing backward */
    EXPECT_REJECT("0F0 0F1 0B0\n1F0 1F1 1B0 1B1\n", "rank 0", "0F1", "no backward");
    /* backward before forward */
    EXPECT_REJECT("0B0 0F0\n1F0 1B0\n", "rank 0", "0B0", "backward before its forward");
    /* W before I */
    EXPECT_REJECT("0F0 0W0 0I0\n1F0 1B0\n", "rank 0", "W before its I");
    /* a stage on two ranks */
    EXPECT_REJECT("0F0 0B0 1F0\n1B0\n", "rank 1 runs 1B0, but stage 1 belongs to rank 0");
    /* unreadable action */
    EXPECT_REJECT("0F0 0X0\n", "cannot read action '0X0'");
    /* the action text round-trips */
    char buf[32];
    pg_action a;
    CHECK(pg_action_parse("12SEND_B7", &a) == 0 && a.kind == PG_SEND_B && a.stage == 12 && a.mb == 7);
    CHECK(!strcmp(pg_action_str(a, buf), "12SEND_B7"));
    CHECK(pg_action_parse("3REDUCE", &a) == 0 && a.kind == PG_REDUCE && a.stage == 3);
    return pg_test_summary("test_schedule");
}
