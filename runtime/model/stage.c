/* stage.c: parameter memory, initialisation and per-microbatch slots. */
#include "runtime/model/stage.h"

#include "runtime/base/error.h"
#include "runtime/base/rng.h"

#include <stdlib.h>
#include <string.h>

static int init_tensor(const pg_ops *o, pg_param *p, int layer, int idx, uint64_t seed)
{
    float *host = malloc(sizeof(float) * p->n);
    if (!host) return pg_error(PG_ENOMEM, "stage: out of memory initialising %s", p->name);
    pg_rng r;
    /* the copies of a tied tensor share the stream of the first (layer 0, tensor 0) */
    if (p->tied) layer = idx = 0;
    pg_rng_init(&r, seed, (uint64_t)layer, (uint64_t)idx);
    for (size_t i = 0; i < p->n; i++) {
        switch (p->init) {
        case PG_INIT_ZERO: host[i] = 0.0f; break;
        case PG_INIT_ONE: host[i] = 1.0f; break;
        case PG_INIT_NORMAL: host[i] = (float)(p->std * pg_rng_normal(&r)); break;
        }
    }
    o->upload(p->w, host, sizeof(float) * p->n);
    free(host);
    return 0;
}

int pg_stage_create(pg_stage **out, const pg_model *m, int id, int nstages, int lo, int hi,
                    const pg_ops *o, uint64_t seed)
{
    *out = NULL;
    pg_stage *st = calloc(1, sizeof *st);
    if (!st) return pg_error(PG_ENOMEM, "stage: out of memory");
    st->id = id;
    st->nstages = nstages;
    st->lo = lo;
    st->hi = hi;
    st->nlayers = hi - lo;
    st->model = m;
    st->ops = o;
    st->layers = malloc(sizeof(pg_layer) * (size_t)st->nlayers);
    if (!st->layers) goto nomem;
    memcpy(st->layers, m->layers + lo, sizeof(pg_layer) * (size_t)st->nlayers);
    for (int l = 0; l < st->nlayers; l++) st->layers[l].ops = o;
    st->nparams = pg_model_param_count(m, lo, hi);
    st->params = o->alloc(sizeof(float) * st->nparams);
    st->grads = o->alloc(sizeof(float) * st->nparams);
    if (!st->params || !st->grads) goto nomem;
    size_t off = 0;
    for (int l = 0; l < st->nlayers; l++) {
        pg_layer *L = &st->layers[l];
        for (int p = 0; p < L->nparams; p++) {
            pg_param *P = &L->params[p];
            P->offset = off;
            P->w = st->params + off;
            P->g = st->grads + off;
            off += P->n;
            int rc = init_tensor(o, P, L->index, p, seed);
            if (rc) {
                pg_stage_free(st);
                return rc;
            }
        }
    }
    *out = st;
    return 0;
nomem:
    pg_stage_free(st);
    return pg_error(PG_ENOMEM, "stage %d: out of memory for %zu parameters", id,
                    pg_model_param_count(m, lo, hi));
}

void pg_stage_free(pg_stage *st)
{
    if (!st) return;
    for (int i = 0; i < st->nslots; i++) {
        pg_slot *sl = st->slots[i];
        st->ops->free(sl->block);
        free(sl->act);
        free(sl);
    }
    free(st->slots);
    if (st->params) st->ops->free(st->params);
    if (st->grads) st->ops->free(st->grads);
    free(st->layers);
    free(st);
}

int pg_stage_in_width(const pg_stage *st)
{
    if (pg_stage_is_first(st) && st->model->input == PG_INPUT_TOKENS) return 0;
    return st->layers[0].in_width;
}

int pg_stage_out_width(const pg_stage *st) { return st->layers[st->nlayers - 1].out_width; }

/* Lay out a slot's buffers inside one allocation (floats and ints are both
 * 4 bytes; every piece is rounded to 16 elements for alignment). */
static size_t slot_layout(const pg_stage *st, pg_slot *sl, pg_shape s, char *base)
{
    size_t N = (size_t)pg_rows(s), off = 0;
#define TAKE(ptr, type, count)                                   \
    do {                                                         \
        if (base) ptr = (type *)(base + off * 4);                \
        off += ((size_t)(count) + 15) / 16 * 16;                 \
    } while (0)
    int L = st->nlayers;
    for (int k = 0; k <= L; k++) {
        size_t w = k < L ? (size_t)st->layers[k].in_width : (size_t)pg_stage_out_width(st);
        TAKE(sl->act[k], float, N * w);
        TAKE(sl->grad[k], float, N * w);
    }
    for (int k = 0; k < L; k++) {
        TAKE(sl->saved[k], float, st->layers[k].kind->saved_floats(&st->layers[k], s));
        TAKE(sl->gsaved[k], float, st->layers[k].kind->gsaved_floats(&st->layers[k], s));
    }
    if (pg_stage_is_last(st)) {
        TAKE(sl->losses, float, N);
        if (st->model->target == PG_TARGET_FLOAT)
            TAKE(sl->target, float, N * st->model->target_width);
        else
            TAKE(sl->labels, int, N);
    }
    if (pg_stage_is_first(st) && st->model->input == PG_INPUT_TOKENS) TAKE(sl->tokens, int, N);
#undef TAKE
    return off * 4;
}

pg_slot *pg_stage_find_slot(pg_stage *st, int mb)
{
    for (int i = 0; i < st->nslots; i++)
        if (st->slots[i]->mb == mb) return st->slots[i];
    return NULL;
}

pg_slot *pg_stage_slot(pg_stage *st, int mb, pg_shape s)
{
    pg_slot *sl = pg_stage_find_slot(st, mb);
    if (sl) return sl;
    for (int i = 0; i < st->nslots; i++) {
        pg_slot *c = st->slots[i];
        if (c->mb == -1 && c->shape.B == s.B && c->shape.T == s.T) {
            c->mb = mb;
            return c;
        }
    }
    pg_slot **grown = realloc(st->slots, sizeof(pg_slot *) * (size_t)(st->nslots + 1));
    if (!grown) return NULL;
    st->slots = grown;
    sl = calloc(1, sizeof *sl);
    if (!sl) return NULL;
    int L = st->nlayers;
    /* one array for the four pointer tables */
    sl->act = calloc((size_t)(4 * L + 2), sizeof(float *));
    if (!sl->act) {
        free(sl);
        return NULL;
    }
    sl->grad = sl->act + (L + 1);
    sl->saved = sl->grad + (L + 1);
    sl->gsaved = sl->saved + L;
    sl->bytes = slot_layout(st, sl, s, NULL);
    sl->block = st->ops->alloc(sl->bytes);
    if (!sl->block) {
        free(sl->act);
        free(sl);
        return NULL;
    }
    slot_layout(st, sl, s, sl->block);
    sl->shape = s;
    sl->mb = mb;
    st->slots[st->nslots++] = sl;
    size_t total = 0;
    for (int i = 0; i < st->nslots; i++) total += st->slots[i]->bytes;
    if (total > st->slot_bytes_peak) st->slot_bytes_peak = total;
    return sl;
}

void pg_stage_release_slot(pg_stage *st, pg_slot *sl)
{
    (void)st;
    sl->mb = -1;
    sl->pending_sends = 0;
    sl->finished = 0;
}

static pg_mb slot_mb(const pg_slot *sl, const pg_mb *mb)
{
    pg_mb m = *mb;
    m.tokens = sl->tokens;
    m.target = sl->target;
    m.labels = sl->labels;
    m.losses = sl->losses;
    return m;
}

void pg_stage_forward(pg_stage *st, pg_slot *sl, const pg_mb *mb)
{
    pg_mb m = slot_mb(sl, mb);
    for (int k = 0; k < st->nlayers; k++) {
        pg_layer *l = &st->layers[k];
        l->kind->forward(l, st->ops, &m, sl->act[k], sl->act[k + 1], sl->saved[k]);
        if (st->after_layer) st->after_layer(st->hook_ctx, st, k, 0);
    }
}

void pg_stage_backward_input(pg_stage *st, pg_slot *sl, const pg_mb *mb, int need_input_grad)
{
    pg_mb m = slot_mb(sl, mb);
    for (int k = st->nlayers - 1; k >= 0; k--) {
        pg_layer *l = &st->layers[k];
        float *din = (k > 0 || need_input_grad) ? sl->grad[k] : NULL;
        l->kind->backward_input(l, st->ops, &m, sl->act[k], sl->saved[k], sl->grad[k + 1], din,
                                sl->gsaved[k]);
        if (st->after_layer) st->after_layer(st->hook_ctx, st, k, 0);
    }
}

void pg_stage_backward_weight(pg_stage *st, pg_slot *sl, const pg_mb *mb)
{
    pg_mb m = slot_mb(sl, mb);
    for (int k = st->nlayers - 1; k >= 0; k--) {
        pg_layer *l = &st->layers[k];
        l->kind->backward_weight(l, st->ops, &m, sl->act[k], sl->saved[k], sl->grad[k + 1],
                                 sl->gsaved[k]);
        if (st->after_layer) st->after_layer(st->hook_ctx, st, k, 1);
    }
}

void pg_stage_zero_grads(pg_stage *st) { st->ops->zero(st->grads, sizeof(float) * st->nparams); }
