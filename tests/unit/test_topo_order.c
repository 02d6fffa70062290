/* test_topo_order.c: the order cost model against numbers worked out by hand
 * (docs/placement.md gives the model), on real captures.
 *
 *  A. 2 DGX-2 nodes, pp=2 x dp=16, pipeline traffic only (1.5 GB per replica
 *     per step): replica-major keeps each pipeline on NVSwitch (150 GB/s):
 *     0.01 s; stage-major sends all 16 pipelines through each node's one
 *     assumed NIC (12.5 GB/s / 16 flows): 1.92 s. auto -> replica-major.
 *  B. the same grid, gradients only (1 GB per stage): stage-major rings stay
 *     on NVSwitch: 2*15/16 GB / 150 GB/s = 0.0125 s; replica-major rings
 *     cross nodes twice, two rings share each NIC: 1.875 GB / 6.25 GB/s =
 *     0.3 s. auto -> stage-major.
 *  C. 2 Lassen nodes, pp=4 x dp=2, 1 GB between each pair of stages:
 *     replica-major runs a pipeline per node, whose middle hop crosses the
 *     sockets (PCIe SYS, 5 GB/s): 1/12 + 1/5 = 0.2833 s; "tile 2x2 pipe"
 *     keeps stage pairs on one PCIe switch (12 GB/s) and crosses nodes from
 *     mlx5_1 to mlx5_0, another rail (12.5 x 0.5 GB/s): 1/12 + 1/6.25 =
 *     0.2433 s. auto -> tile 2x2 pipe.
 * Plus: the chosen cells form a permutation, a named order is honoured,
 * and the bytes add up. */
#include "runtime/base/error.h"
#include "tests/support/testlib.h"
#include "topology/order.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static pg_traffic *traffic(int pp, int dp)
{
    pg_traffic *t = calloc(1, sizeof *t);
    t->pp = pp;
    t->dp = dp;
    t->nmb = 1;
    t->p2p = calloc((size_t)(pp * pp), sizeof(double));
    t->grad = calloc((size_t)pp, sizeof(double));
    return t;
}

static const pg_order_cost *find(const pg_order_table *o, const char *name)
{
    for (int i = 0; i < o->n; i++)
        if (!strcmp(o->c[i].name, name)) return &o->c[i];
    CHECK_MSG(0, "no candidate '%s'", name);
    return NULL;
}

static int near(double a, double b) { return fabs(a - b) <= 1e-9 * fmax(fabs(a), fabs(b)); }

/* nodes x R ranks numbered node by node */
static pg_order_table *run(const char *xml, int nodes, int R, const pg_traffic *tr,
                           const char *order, pg_topo **tp, pg_node_plan **pp)
{
    static int node[256], slot[256];
    for (int r = 0; r < nodes * R; r++) node[r] = r / R, slot[r] = r % R;
    pg_topo *t = NULL;
    pg_node_plan *p = NULL;
    pg_order_table *o = NULL;
    if (pg_topo_load(&t, xml) || pg_node_plan_create(&p, t, R, 1, 1)) {
        CHECK_MSG(0, "%s: %s", xml, pg_errmsg());
        return NULL;
    }
    pg_bw bw;
    pg_bw_defaults(&bw);
    pg_layout L = {nodes * R, nodes, node, slot, p};
    CHECK_MSG(pg_order_choose(&o, &L, tr, &bw, order) == 0, "%s", pg_errmsg());
    *tp = t;
    *pp = p;
    if (o) { /* every candidate is a permutation of the grid */
        for (int i = 0; i < o->n; i++) {
            char *seen = calloc((size_t)(nodes * R), 1);
            for (int r = 0; r < nodes * R; r++) {
                int c = o->c[i].cell[r];
                CHECK(c >= 0 && c < nodes * R && !seen[c]);
                if (c >= 0 && c < nodes * R) seen[c] = 1;
            }
            free(seen);
        }
    }
    return o;
}

static void done(pg_order_table *o, pg_topo *t, pg_node_plan *p, pg_traffic *tr)
{
    pg_order_table_free(o);
    pg_node_plan_free(p);
    pg_topo_free(t);
    pg_traffic_free(tr);
}

int main(void)
{
    const char *dgx2 = "topologies/hwloc-nvidiaDGX2.xml", *lassen = "topologies/mpibind-coral-lassen.xml";
    pg_topo *t;
    pg_node_plan *p;

    /* A: pipeline traffic only */
    pg_traffic *tr = traffic(2, 16);
    tr->p2p[0 * 2 + 1] = 1.5e9;
    pg_order_table *o = run(dgx2, 2, 16, tr, "auto", &t, &p);
    if (o) {
        const pg_order_cost *rm = find(o, "replica-major"), *sm = find(o, "stage-major");
        CHECK_MSG(rm && near(rm->t_p2p, 0.01) && rm->p2p_out == 0 && near(rm->p2p_in, 24e9),
                  "A replica-major: %g s, %g B out", rm ? rm->t_p2p : -1, rm ? rm->p2p_out : -1);
        CHECK_MSG(sm && near(sm->t_p2p, 1.92) && near(sm->p2p_out, 24e9), "A stage-major: %g s",
                  sm ? sm->t_p2p : -1);
        CHECK_MSG(!strcmp(o->c[o->chosen].name, "replica-major"), "A chose %s",
                  o->c[o->chosen].name);
    }
    done(o, t, p, tr);

    /* B: gradients only */
    tr = traffic(2, 16);
    tr->grad[0] = tr->grad[1] = 1e9;
    o = run(dgx2, 2, 16, tr, "auto", &t, &p);
    if (o) {
        const pg_order_cost *rm = find(o, "replica-major"), *sm = find(o, "stage-major");
        CHECK_MSG(sm && near(sm->t_ar, 0.0125) && sm->ar_out == 0 && near(sm->ar_in, 60e9),
                  "B stage-major: %g s", sm ? sm->t_ar : -1);
        CHECK_MSG(rm && near(rm->t_ar, 0.3) && near(rm->ar_out, 7.5e9) && near(rm->ar_in, 52.5e9),
                  "B replica-major: %g s, %g B out, %g B in", rm ? rm->t_ar : -1,
                  rm ? rm->ar_out : -1, rm ? rm->ar_in : -1);
        CHECK_MSG(!strcmp(o->c[o->chosen].name, "stage-major"), "B chose %s",
                  o->c[o->chosen].name);
    }
    done(o, t, p, tr);

    /* C: rails and PCIe classes on Lassen */
    tr = traffic(4, 2);
    tr->p2p[0 * 4 + 1] = tr->p2p[1 * 4 + 2] = tr->p2p[2 * 4 + 3] = 1e9;
    o = run(lassen, 2, 4, tr, "auto", &t, &p);
    if (o) {
        const pg_order_cost *rm = find(o, "replica-major"), *tile = find(o, "tile 2x2 pipe");
        CHECK_MSG(rm && near(rm->t_p2p, 1.0 / 12 + 1.0 / 5), "C replica-major: %g s",
                  rm ? rm->t_p2p : -1);
        CHECK_MSG(tile && near(tile->t_p2p, 1.0 / 12 + 1.0 / 6.25), "C tile 2x2 pipe: %g s",
                  tile ? tile->t_p2p : -1);
        CHECK_MSG(!strcmp(o->c[o->chosen].name, "tile 2x2 pipe"), "C chose %s",
                  o->c[o->chosen].name);
    }
    done(o, t, p, tr);

    /* a named order is honoured even when it costs more */
    tr = traffic(4, 2);
    tr->p2p[0 * 4 + 1] = tr->p2p[1 * 4 + 2] = tr->p2p[2 * 4 + 3] = 1e9;
    o = run(lassen, 2, 4, tr, "stage-major", &t, &p);
    if (o) {
        CHECK(!strcmp(o->c[o->chosen].name, "stage-major"));
        for (int r = 0; r < 8; r++) CHECK(o->c[o->chosen].cell[r] == r);
    }
    done(o, t, p, tr);
    return pg_test_summary("test_topo_order");
}
