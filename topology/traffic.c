/* traffic.c: the bytes one training step moves between grid neighbours. */
#include "topology/order.h"

#include "runtime/base/error.h"

#include <stdlib.h>

int pg_traffic_create(pg_traffic **out, const pg_model *m, const pg_schedule *s, const int *first,
                      int dp, pg_shape mb)
{
    *out = NULL;
    pg_traffic *t = calloc(1, sizeof *t);
    int pp = s->pp;
    if (t) {
        t->p2p = calloc((size_t)(pp * pp), sizeof *t->p2p);
        t->grad = calloc((size_t)pp, sizeof *t->grad);
    }
    if (!t || !t->p2p || !t->grad) {
        pg_traffic_free(t);
        return pg_error(PG_ENOMEM, "traffic: out of memory");
    }
    t->pp = pp;
    t->dp = dp;
    t->nmb = s->nmb;
    for (int k = 0; k + 1 < s->nstages; k++) {
        int a = s->stage_rank[k], b = s->stage_rank[k + 1];
        if (a == b) continue; /* handed over in memory */
        /* activations (rows, width) forward and their gradients back, fp32 */
        double bytes = 2.0 * s->nmb * pg_rows(mb) * m->layers[first[k + 1] - 1].out_width * 4.0;
        int i = a < b ? a : b, j = a < b ? b : a;
        t->p2p[i * pp + j] += bytes;
    }
    for (int k = 0; k < s->nstages; k++)
        t->grad[s->stage_rank[k]] += 4.0 * (double)pg_model_param_count(m, first[k], first[k + 1]);
    *out = t;
    return 0;
}

void pg_traffic_free(pg_traffic *t)
{
    if (!t) return;
    free(t->p2p);
    free(t->grad);
    free(t);
}
