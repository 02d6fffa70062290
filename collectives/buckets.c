/* buckets.c: bucketed gradient allreduce (see buckets.h). */
#include "collectives/buckets.h"

#include "runtime/base/error.h"
#include "runtime/base/range.h"
#include "runtime/observe/trace.h"

#include <stdio.h>
#include <stdlib.h>

typedef struct bucket {
    size_t lo, hi; /* floats [lo, hi) of the gradient vector */
    pg_req req;
    int done;
    double t_launch;
    uint64_t range; /* NVTX range, launch to completion */
} bucket;

struct pg_buckets {
    pg_comm *group;
    float *grads;
    size_t n;
    int stage;
    int nb, next; /* buckets; next = first not launched (they launch in order) */
    bucket *b;
};

int pg_buckets_create(pg_buckets **out, pg_comm *group, float *grads, size_t n, size_t size,
                      int stage)
{
    *out = NULL;
    if (size == 0 || size > n) size = n ? n : 1;
    pg_buckets *bs = calloc(1, sizeof *bs);
    int nb = (int)((n + size - 1) / size);
    if (!bs || !(bs->b = calloc((size_t)(nb ? nb : 1), sizeof(bucket)))) {
        free(bs);
        return pg_error(PG_ENOMEM, "buckets: out of memory");
    }
    bs->group = group;
    bs->grads = grads;
    bs->n = n;
    bs->stage = stage;
    bs->nb = nb;
    for (int i = 0; i < nb; i++) {
        bs->b[i].hi = n - (size_t)i * size;
        bs->b[i].lo = bs->b[i].hi > size ? bs->b[i].hi - size : 0;
    }
    *out = bs;
    return 0;
}

void pg_buckets_free(pg_buckets *b)
{
    if (!b) return;
    free(b->b);
    free(b);
}

int pg_buckets_count(const pg_buckets *b) { return b->nb; }

int pg_buckets_ready(pg_buckets *b, size_t offset)
{
    while (b->next < b->nb && b->b[b->next].lo >= offset) {
        bucket *k = &b->b[b->next];
        int rc = b->group->ops->iallreduce(b->group, b->grads + k->lo, k->hi - k->lo, &k->req);
        if (rc) return rc;
        k->t_launch = pg_now();
        if (PG_RANGES) {
            char name[64];
            snprintf(name, sizeof name, "allreduce stage %d bucket %d", b->stage, b->next);
            k->range = pg_range_start(name);
        }
        b->next++;
    }
    return 0;
}

static void finished(pg_buckets *b, int i)
{
    bucket *k = &b->b[i];
    k->done = 1;
    pg_range_end(k->range);
    pg_trace_span(PG_SPAN_ALLREDUCE, k->t_launch, pg_now(), b->stage, i, -1);
}

int pg_buckets_poll(pg_buckets *b)
{
    for (int i = 0; i < b->next; i++) {
        bucket *k = &b->b[i];
        if (k->done) continue;
        int done = 0, rc = b->group->ops->test(b->group, &k->req, &done);
        if (rc) return rc;
        if (done) finished(b, i);
    }
    return 0;
}

int pg_buckets_finish(pg_buckets *b, double timeout, double *waited)
{
    *waited = 0.0;
    int rc = pg_buckets_ready(b, 0);
    for (int i = 0; i < b->nb && !rc; i++) {
        bucket *k = &b->b[i];
        if (k->done) continue;
        char what[96];
        snprintf(what, sizeof what, "the gradient allreduce of stage %d (bucket %d of %d)",
                 b->stage, i + 1, b->nb);
        double w = 0.0, t0 = pg_now();
        rc = pg_wait(b->group, &k->req, timeout, what, &w);
        if (rc) return rc;
        pg_trace_span(PG_SPAN_WAIT_ALLREDUCE, t0, pg_now(), b->stage, i, -1);
        *waited += w;
        finished(b, i);
    }
    for (int i = 0; i < b->nb; i++) b->b[i].done = 0;
    b->next = 0;
    return rc;
}
