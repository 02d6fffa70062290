/* test_simulate.c: the simulator's cost model (latency, bandwidth, peak
 * activation bytes), the SVG timeline drawer, estimated layer costs and the
 * capped cost partition, against values worked out by hand. */
#include "runtime/base/error.h"
#include "runtime/model/model.h"
#include "runtime/partition/costs.h"
#include "runtime/partition/partition.h"
#include "runtime/schedule/schedule.h"
#include "runtime/schedule/simulate.h"
#include "runtime/schedule/timeline.h"
#include "tests/support/testlib.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p++) n++;
    return n;
}

int main(void)
{
    /* 1F1B, pp=2, m=1: F0 on rank 0 (1), message (lat + bytes/bw), F on rank 1
     * (2), B on rank 1 (3 + 4), message back, B on rank 0 (5 + 6) */
    pg_schedule *s;
    CHECK(pg_schedule_build(&s, "1f1b", 2, 1, 1) == 0);
    double f[2] = {1, 2}, i[2] = {5, 3}, w[2] = {6, 4}, bytes[2] = {100, 0}, act[2] = {10, 20};
    pg_sim_costs c = {f, i, w, bytes, act, 0.5, 200.0, 0.25, NULL};
    pg_sim_result r;
    CHECK(pg_simulate(s, &c, &r) == 0);
    /* 1 + (0.5 + 0.5) + 2 + 7 + (0.5 + 0 bytes of stage 0's gradient? no: stage 0's
     * output size, 100 / 200) + 11, then the optimizer 0.25 */
    double want = 1 + 1.0 + 2 + 7 + 1.0 + 11 + 0.25;
    CHECK_MSG(fabs(r.step_time - want) < 1e-12, "step %g, want %g", r.step_time, want);
    CHECK(fabs(r.busy[0] - 12) < 1e-12 && fabs(r.busy[1] - 9) < 1e-12);
    CHECK(r.peak_inflight[0] == 1 && r.peak_bytes[0] == 10 && r.peak_bytes[1] == 20);
    pg_tl_span *spans;
    int n;
    CHECK(pg_sim_spans(&r, &spans, &n) == 0 && n == 4);
    CHECK(spans[0].row == 0 && spans[0].kind == 'F' && spans[0].t0 == 0 && spans[0].t1 == 1);

    /* the SVG: one box per span, labels, row names, title */
    const char *names[2] = {"stage A", "stage B"};
    pg_timeline t = {.title = "test <1f1b>", .nrows = 2, .row_names = names, .spans = spans,
                     .nspans = n};
    char *buf = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&buf, &len);
    CHECK(pg_timeline_svg(&t, mem) == 0);
    fclose(mem);
    CHECK(!strncmp(buf, "<svg", 4) && strstr(buf, "</svg>"));
    CHECK(strstr(buf, "test &lt;1f1b&gt;") && strstr(buf, "stage B"));
    CHECK_MSG(count(buf, "<title>") == 4, "%d boxes", count(buf, "<title>"));
    CHECK(strstr(buf, ">F0<") && strstr(buf, ">B0<"));
    free(buf);
    free(spans);
    pg_sim_result_free(&r);
    pg_schedule_free(s);
    CHECK(pg_timeline_svg_file(&t, "/nonexistent-dir/x.svg") == PG_EIO);
    CHECK(strstr(pg_errmsg(), "cannot write '/nonexistent-dir/x.svg'"));

    /* ZB-H1 beats 1F1B's bubble by about 3x with F = I = W */
    pg_schedule *a, *b;
    CHECK(pg_schedule_build(&a, "1f1b", 4, 1, 8) == 0 && pg_schedule_build(&b, "zbh1", 4, 1, 8) == 0);
    pg_sim_result ra, rb;
    CHECK(pg_simulate_uniform(a, 1, 1, 1, &ra) == 0 && pg_simulate_uniform(b, 1, 1, 1, &rb) == 0);
    CHECK(fabs((ra.step_time - 24) / (rb.step_time - 24) - 3.0) < 1e-12);
    pg_sim_result_free(&ra);
    pg_sim_result_free(&rb);
    pg_schedule_free(a);
    pg_schedule_free(b);

    /* estimated costs of emulated layers are their fixed times; the capped
     * partition balances them and respects the memory cap */
    pg_model *m;
    CHECK(pg_model_from_layers(&m, 4,
                               "emulated:f=1,i=1,w=1 emulated:f=1,i=1,w=1 emulated:f=1,i=1,w=1 "
                               "emulated:f=1,i=1,w=1 emulated:f=4,i=4,w=4 emulated:f=4,i=4,w=4 "
                               "emulated:f=1,i=1,w=1 emulated:f=3,i=3,w=3 mse") == 0);
    pg_layer_costs lc;
    pg_shape shape = {2, 1};
    CHECK(pg_costs_estimate(m, shape, &lc) == 0);
    CHECK(fabs(lc.f[4] - 4e-3) < 1e-9 && fabs(lc.w[7] - 3e-3) < 1e-9);
    CHECK(lc.out_bytes[0] == 4.0 * 2 * 4); /* 2 rows of 4 floats */
    double cost[9], fixed[9] = {0}, mult[4] = {1, 1, 1, 1};
    for (int l = 0; l < 9; l++) cost[l] = lc.f[l] + lc.i[l] + lc.w[l];
    int first[5];
    CHECK(pg_partition_capped(m, 4, cost, fixed, lc.act_bytes, mult, DBL_MAX, first) == 0);
    CHECK_MSG(first[1] == 4 && first[2] == 5 && first[3] == 6 && first[4] == 9,
              "split %d %d %d %d", first[1], first[2], first[3], first[4]);
    /* each layer holds 2 x 2 rows x 4 floats = 64 bytes per microbatch: a cap of
     * 200 bytes allows at most 3 layers per stage (the last stage: 2 + loss) */
    CHECK(pg_partition_capped(m, 4, cost, fixed, lc.act_bytes, mult, 200, first) == 0);
    for (int st = 0; st < 4; st++) CHECK(first[st + 1] - first[st] <= 3);
    CHECK(pg_partition_capped(m, 4, cost, fixed, lc.act_bytes, mult, 100, first) != 0);
    CHECK(strstr(pg_errmsg(), "no split into 4 stages fits the memory cap"));
    pg_costs_free(&lc);
    pg_model_free(m);
    /* gradient allreduce: pp=1, m=2 (F0 F1 B0 B1 REDUCE OPTIM), F = 1, I = 1,
     * W = 2 (B = 3): the reduce starts with the last backward (t = 5) and the
     * optimizer (0.5) waits for it: short reduce (2) hidden behind B1 (ends
     * 8), long one (5) ends at 10 */
    {
        pg_schedule *s1;
        CHECK(pg_schedule_build(&s1, "1f1b", 1, 1, 2) == 0);
        double f1[1] = {1}, i1[1] = {1}, w1[1] = {2}, red[1] = {2};
        pg_sim_costs c1 = {f1, i1, w1, NULL, NULL, 0.0, 0.0, 0.5, red};
        pg_sim_result r1;
        CHECK(pg_simulate(s1, &c1, &r1) == 0);
        CHECK_MSG(fabs(r1.step_time - 8.5) < 1e-12, "hidden reduce: step %g, want 8.5",
                  r1.step_time);
        pg_sim_result_free(&r1);
        red[0] = 5;
        CHECK(pg_simulate(s1, &c1, &r1) == 0);
        CHECK_MSG(fabs(r1.step_time - 10.5) < 1e-12, "exposed reduce: step %g, want 10.5",
                  r1.step_time);
        pg_sim_result_free(&r1);
        pg_schedule_free(s1);
    }
    return pg_test_summary("test_simulate");
}
