/* tied.c: gradient sum over the copies of a tied tensor (see tied.h). */
#include "runtime/model/tied.h"

#include "runtime/base/error.h"

#include <stdlib.h>

struct pg_tied {
    const pg_ops *ops;
    pg_param *mine[2]; /* local copies: [0] embedding, [1] head (either may be NULL) */
    float *buf;        /* the peer's gradient (remote case) */
    pg_comm *pipe;
    int peer, tag;
};

/* The tied tensor of a stage: the first stage's embedding copy (which == 0)
 * or the head's copy (which == 1). */
static pg_param *find_tied(pg_stage *st, int which)
{
    for (int l = 0; l < st->nlayers; l++) {
        pg_layer *L = &st->layers[l];
        for (int p = 0; p < L->nparams; p++)
            if (L->params[p].tied && ((L->index == 0) == (which == 0))) return &L->params[p];
    }
    return NULL;
}

int pg_tied_create(pg_tied **out, pg_stage **stages, int nlocal, pg_comm *pipe, int peer, int tag)
{
    *out = NULL;
    pg_param *copy[2] = {NULL, NULL};
    for (int i = 0; i < nlocal; i++)
        for (int w = 0; w < 2; w++)
            if (!copy[w]) copy[w] = find_tied(stages[i], w);
    if (!copy[0] && !copy[1]) return 0;
    pg_tied *t = calloc(1, sizeof *t);
    if (!t) return pg_error(PG_ENOMEM, "tied embedding: out of memory");
    t->ops = stages[0]->ops;
    t->mine[0] = copy[0];
    t->mine[1] = copy[1];
    t->pipe = pipe;
    t->peer = peer;
    t->tag = tag;
    pg_param *one = copy[0] ? copy[0] : copy[1];
    if (!copy[0] || !copy[1]) {
        if (!(t->buf = t->ops->alloc(sizeof(float) * one->n))) {
            free(t);
            return pg_error(PG_ENOMEM, "tied embedding: out of memory for %zu floats", one->n);
        }
    }
    *out = t;
    return 0;
}

void pg_tied_free(pg_tied *t)
{
    if (!t) return;
    if (t->buf) t->ops->free(t->buf);
    free(t);
}

int pg_tied_reduce(pg_tied *t, double timeout)
{
    if (!t) return 0;
    const pg_ops *o = t->ops;
    if (t->mine[0] && t->mine[1]) { /* both copies here: a + b once, copied to both */
        pg_param *a = t->mine[0], *b = t->mine[1];
        o->add(a->g, a->g, b->g, a->n);
        o->copy(b->g, a->g, sizeof(float) * a->n);
        return 0;
    }
    pg_param *p = t->mine[0] ? t->mine[0] : t->mine[1];
    o->sync(); /* the gradient is complete before it is sent */
    pg_req send = {0}, recv = {0};
    int rc = t->pipe->ops->irecv(t->pipe, t->buf, p->n, t->peer, t->tag, &recv);
    if (!rc) rc = t->pipe->ops->isend(t->pipe, p->g, p->n, t->peer, t->tag, &send);
    if (!rc) rc = pg_wait(t->pipe, &recv, timeout, "the tied embedding gradient exchange", NULL);
    if (!rc) rc = pg_wait(t->pipe, &send, timeout, "the tied embedding gradient exchange", NULL);
    if (rc) return rc;
    o->add(p->g, p->g, t->buf, p->n); /* mine + theirs: the same bits on both sides */
    return 0;
}

double pg_tied_stage_sumsq(const pg_stage *st)
{
    const pg_ops *o = st->ops;
    pg_param *head = find_tied((pg_stage *)st, 1);
    if (!head) return o->sumsq(st->grads, st->nparams);
    size_t end = head->offset + head->n;
    return o->sumsq(st->grads, head->offset) + o->sumsq(st->grads + end, st->nparams - end);
}
