/* test_planner.c: `pipegrid plan`'s search (runtime/planner/planner.h)
 * against step times worked out by hand, its memory filter, and its size.
 *
 *  A. 8 CPU ranks on one node, 8 emulated layers of 1 ms per sample for each
 *     of F, I and W, global batch 16, no latency, no step end: pp=1 x dp=8
 *     computes 2 samples x 8 layers x 3 ms = 48 ms whatever m is; pp=2 x
 *     dp=4 with 1F1B and m=4 (1 sample per microbatch: F = 4 ms, B = 8 ms per
 *     stage) takes (m + p - 1)(F + B) = 60 ms (within 1 us: the loss layer's
 *     FLOPs, the optimizer and the allreduce of the emulated weights add well
 *     under that). Every grid has pp x dp = 8,
 *     dp divides the batch, and the list is sorted by predicted step.
 *  B. The same with a memory cap at the median candidate's need: every kept
 *     candidate fits, the rest were counted as dropped.
 *  C. 128 nodes of 8 GPUs (DGX-2 capture) and a 48-block GPT: plans for 1,024
 *     ranks, in well under the 10 s the issue allows. */
#include "runtime/base/error.h"
#include "runtime/config/config.h"
#include "runtime/planner/planner.h"
#include "tests/support/testlib.h"
#include "topology/discover.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const pg_candidate *find(const pg_planner *p, int pp, int nmb, const char *sched)
{
    for (int k = 0; k < p->n; k++)
        if (p->c[k].pp == pp && p->c[k].nmb == nmb && !strcmp(p->c[k].schedule, sched) &&
            !p->c[k].balanced)
            return &p->c[k];
    return NULL;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(void)
{
    pg_config cfg;
    pg_topo *t = NULL;
    CHECK(pg_config_init(&cfg) == 0);
    CHECK(pg_config_set(&cfg, "model.type=mlp") == 0);
    CHECK(pg_config_set(&cfg, "model.input_dim=64") == 0);
    CHECK(pg_config_set(&cfg, "model.layers=8*emulated:f=1,i=1,w=1,per=sample,width=64,"
                              "params=1000 mse") == 0);
    CHECK(pg_config_set(&cfg, "train.batch_size=16") == 0);
    CHECK(pg_topo_load(&t, "topologies/hwloc-24em64t-2n6c2t-pci.xml") == 0);
    pg_planner_args a = {.cfg = &cfg, .topo = t, .nnodes = 1, .per_node = 8, .use_gpus = 0,
                         .mem_gbs = 1e12, .max_mb = 64};
    pg_bw_defaults(&a.bw);
    pg_planner p;
    int rc = pg_planner_run(&a, &p);
    CHECK_MSG(rc == 0, "%s", pg_errmsg());
    if (rc) return pg_test_summary("test_planner");

    /* A */
    CHECK(p.n > 20 && p.considered == p.n && p.over_mem == 0 && p.ranks == 8);
    for (int k = 0; k < p.n; k++) {
        const pg_candidate *c = &p.c[k];
        CHECK(c->pp * c->dp == 8 && 16 % (c->dp * c->nmb) == 0 &&
              c->mb_size == 16 / (c->dp * c->nmb));
        if (k) CHECK(c->step >= p.c[k - 1].step);
        CHECK(c->compute > 0 && c->bubble >= 0 && c->comm >= 0 && c->mem > 0);
    }
    for (int m = 1; m <= 2; m++) {
        const pg_candidate *c = find(&p, 1, m, "1f1b");
        CHECK_MSG(c && fabs(c->step - 0.048) < 1e-6, "pp=1 m=%d: %g s, want 0.048", m,
                  c ? c->step : -1.0);
    }
    const pg_candidate *c = find(&p, 2, 4, "1f1b");
    CHECK_MSG(c && fabs(c->step - 0.060) < 1e-6, "pp=2 1f1b m=4: %g s, want 0.060",
              c ? c->step : -1.0);
    CHECK(fabs(p.c[0].step - 0.048) < 1e-6); /* no plan beats no bubble */
    char why[512];
    pg_planner_reason(&p, 1, why, sizeof why);
    CHECK(strstr(why, "#1") != NULL);

    /* B */
    double *mem = malloc(sizeof(double) * (size_t)p.n);
    for (int k = 0; k < p.n; k++) mem[k] = p.c[k].mem;
    qsort(mem, (size_t)p.n, sizeof *mem, cmp_double);
    a.mem = mem[p.n / 2];
    int all = p.n;
    free(mem);
    pg_planner_free(&p);
    CHECK(pg_planner_run(&a, &p) == 0);
    CHECK(p.n > 0 && p.n < all && p.over_mem > 0 && p.n + p.over_mem == p.considered);
    for (int k = 0; k < p.n; k++) CHECK(p.c[k].mem <= a.mem);
    CHECK(p.fastest_over_mem.mem > a.mem);
    pg_planner_free(&p);
    pg_topo_free(t);

    /* C */
    pg_config big;
    CHECK(pg_config_init(&big) == 0);
    CHECK(pg_config_load_string(&big, "[model]\ntype = gpt\nvocab = 50304\nctx = 2048\n"
                                      "depth = 48\nheads = 25\nwidth = 1600\n"
                                      "[train]\nbatch_size = 2048\n",
                                "big") == 0);
    CHECK(pg_topo_load(&t, "topologies/hwloc-nvidiaDGX2.xml") == 0);
    pg_planner_args g = {.cfg = &big, .topo = t, .nnodes = 128, .per_node = 8, .use_gpus = 1,
                         .oversubscribe = 1, .mem = 80e9, .flops = 300e12, .mem_gbs = 2000,
                         .latency = 20e-6, .step_end = 100e-6, .max_mb = 64};
    pg_bw_defaults(&g.bw);
    rc = pg_planner_run(&g, &p);
    CHECK_MSG(rc == 0, "%s", pg_errmsg());
    CHECK(p.ranks == 1024 && p.n > 10 && p.over_mem > 0);
    CHECK_MSG(p.seconds < 10.0, "planning 1024 GPUs took %.2f s", p.seconds);
    for (int k = 0; k < p.n; k++) CHECK(p.c[k].pp * p.c[k].dp == 1024 && p.c[k].mem <= 80e9);
    printf("1024 GPUs: %d candidates, %d fit in 80 GB, %.3f s; best pp=%d dp=%d m=%d %s\n",
           p.considered, p.n, p.seconds, p.c[0].pp, p.c[0].dp, p.c[0].nmb, p.c[0].schedule);
    pg_planner_free(&p);
    pg_topo_free(t);
    return pg_test_summary("test_planner");
}
