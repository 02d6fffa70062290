/* generate.c: one-token-at-a-time gpt forward with a KV cache (see
 * generate.h). The projections go through the backend's matmul (one row);
 * the attention row over the cache is two sgemv calls per head (CPU: the
 * cache is host memory). */
#include "runtime/model/generate.h"

#include "runtime/base/error.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct cand {
    float logit;
    int id;
} cand;

/* the block's parameters, in gpt.c's order */
enum { LN1_W, LN1_B, QKV_W, QKV_B, PROJ_W, PROJ_B, LN2_W, LN2_B, FC_W, FC_B, FCP_W, FCP_B };

struct pg_gen {
    const pg_stage *st;
    const pg_ops *o;
    int V, T, C, NH, depth, pos;
    const pg_layer *embed, *norm, *head; /* NULL when the stage lacks them */
    const pg_layer **blocks; /* [depth] this stage's blocks */
    float *k, *v;            /* (depth, T, C) each: the cache */
    float *x, *ln, *qkv, *y, *h, *att, *tmp; /* one row each: C, C, 3C, C, 4C, T, C */
    float mean, rstd;
    struct cand *cand;       /* [V] scratch of pg_gen_pick */
};

void pg_gen_free(pg_gen *g)
{
    if (!g) return;
    free(g->blocks);
    free(g->k);
    free(g->v);
    free(g->x);
    free(g->cand);
    free(g);
}

int pg_gen_create(pg_gen **out, const pg_stage *st)
{
    *out = NULL;
    const pg_model *m = st->model;
    const pg_layer *first = &m->layers[0];
    int has_head = st->hi == m->nlayers - 1;
    if (m->input != PG_INPUT_TOKENS || strcmp(first->kind->name, "embed") || st->hi < 1 ||
        st->hi > m->nlayers - 1 || st->lo >= st->hi ||
        (has_head && (st->nlayers < 2 + (st->lo == 0) ||
                      strcmp(st->layers[st->nlayers - 1].kind->name, "lmhead"))))
        return pg_error(PG_EINVAL, "generation needs the layers of a gpt up to its head at most, "
                                   "the head with the final norm");
    pg_gen *g = calloc(1, sizeof *g);
    if (!g) return pg_error(PG_ENOMEM, "generation: out of memory");
    g->st = st;
    g->o = st->ops;
    g->embed = st->lo == 0 ? &st->layers[0] : NULL;
    g->norm = has_head ? &st->layers[st->nlayers - 2] : NULL;
    g->head = has_head ? &st->layers[st->nlayers - 1] : NULL;
    g->depth = st->nlayers - (g->embed != NULL) - 2 * has_head;
    g->V = first->arg.embed.vocab;
    g->T = first->arg.embed.ctx;
    g->C = first->out_width;
    g->blocks = calloc((size_t)g->depth, sizeof *g->blocks);
    size_t cache = (size_t)g->depth * g->T * g->C;
    g->k = malloc(sizeof(float) * cache);
    g->v = malloc(sizeof(float) * cache);
    size_t C = (size_t)g->C;
    g->x = malloc(sizeof(float) * (11 * C + (size_t)g->T));
    g->cand = malloc(sizeof *g->cand * (size_t)g->V);
    if (!g->blocks || !g->k || !g->v || !g->x || !g->cand) {
        pg_gen_free(g);
        return pg_error(PG_ENOMEM, "generation: out of memory for the cache (%zu floats)",
                        2 * cache);
    }
    g->ln = g->x + C;
    g->qkv = g->ln + C;
    g->y = g->qkv + 3 * C;
    g->h = g->y + C;
    g->tmp = g->h + 4 * C;
    g->att = g->tmp + C;
    for (int b = 0; b < g->depth; b++) {
        g->blocks[b] = &st->layers[(g->embed != NULL) + b];
        if (strcmp(g->blocks[b]->kind->name, "block")) {
            int rc = pg_error(PG_EINVAL, "generation: layer %d is %s, expected a block",
                              g->blocks[b]->index, g->blocks[b]->kind->name);
            pg_gen_free(g);
            return rc;
        }
    }
    g->NH = g->depth ? g->blocks[0]->arg.heads : 1;
    *out = g;
    return 0;
}

int pg_gen_pos(const pg_gen *g) { return g->pos; }
int pg_gen_ctx(const pg_gen *g) { return g->T; }
int pg_gen_vocab(const pg_gen *g) { return g->V; }
void pg_gen_reset(pg_gen *g) { g->pos = 0; }

/* y (C) = causal attention of position t's query over cached positions 0..t
 * of block b, head by head. */
static void attend(pg_gen *g, int b, int t)
{
    int C = g->C, hs = C / g->NH;
    float scale = 1.0f / sqrtf((float)hs);
    const float *K = g->k + (size_t)b * g->T * C, *Vv = g->v + (size_t)b * g->T * C;
    for (int h = 0; h < g->NH; h++) {
        const float *q = g->qkv + h * hs;
        // scores (t+1) = scale * K_h (t+1, hs; ld C) @ q (hs)
        cblas_sgemv(CblasRowMajor, CblasNoTrans, t + 1, hs, scale, K + h * hs, C, q, 1, 0.0f,
                    g->att, 1);
        float mx = -INFINITY, sum = 0.0f;
        for (int s = 0; s <= t; s++) mx = g->att[s] > mx ? g->att[s] : mx;
        for (int s = 0; s <= t; s++) {
            g->att[s] = expf(g->att[s] - mx);
            sum += g->att[s];
        }
        // y_h (hs) = V_h^T (hs, t+1) @ p (t+1), p = att / sum
        cblas_sgemv(CblasRowMajor, CblasTrans, t + 1, hs, 1.0f / sum, Vv + h * hs, C, g->att, 1,
                    0.0f, g->y + h * hs, 1);
    }
}

int pg_gen_feed(pg_gen *g, int token, float *logits)
{
    return pg_gen_step(g, token, NULL, logits);
}

int pg_gen_has_embed(const pg_gen *g) { return g->embed != NULL; }
int pg_gen_has_head(const pg_gen *g) { return g->head != NULL; }
int pg_gen_width(const pg_gen *g) { return g->C; }

int pg_gen_step(pg_gen *g, int token, const float *in, float *out)
{
    if (g->pos >= g->T)
        return pg_error(PG_EINVAL, "generation: the context of %d positions is full", g->T);
    const pg_ops *o = g->o;
    int t = g->pos, C = g->C;
    if (g->embed) {
        if (token < 0 || token >= g->V)
            return pg_error(PG_EINVAL, "generation: token %d outside the vocabulary [0, %d)",
                            token, g->V);
        // x (C) = wte[token] + wpe[t]
        const float *wte = g->embed->params[0].w, *wpe = g->embed->params[1].w;
        for (int i = 0; i < C; i++) g->x[i] = wte[(size_t)token * C + i] + wpe[(size_t)t * C + i];
    } else {
        memcpy(g->x, in, sizeof(float) * (size_t)C); // the previous stage's row (C)
    }
    for (int b = 0; b < g->depth; b++) {
        const pg_param *p = g->blocks[b]->params;
        o->layernorm_forward(g->ln, &g->mean, &g->rstd, g->x, p[LN1_W].w, p[LN1_B].w, 1, C);
        o->matmul_forward(g->qkv, g->ln, p[QKV_W].w, p[QKV_B].w, 1, C, 3 * C); // (3C)
        size_t row = ((size_t)b * g->T + t) * C;
        memcpy(g->k + row, g->qkv + C, sizeof(float) * (size_t)C);  // cache k (C)
        memcpy(g->v + row, g->qkv + 2 * C, sizeof(float) * (size_t)C); // cache v (C)
        attend(g, b, t);                                                // y (C)
        o->matmul_forward(g->tmp, g->y, p[PROJ_W].w, p[PROJ_B].w, 1, C, C);
        o->add(g->x, g->x, g->tmp, (size_t)C);                          // residual
        o->layernorm_forward(g->ln, &g->mean, &g->rstd, g->x, p[LN2_W].w, p[LN2_B].w, 1, C);
        o->matmul_forward(g->h, g->ln, p[FC_W].w, p[FC_B].w, 1, C, 4 * C); // (4C)
        o->gelu_forward(g->h, g->h, (size_t)4 * C);
        o->matmul_forward(g->tmp, g->h, p[FCP_W].w, p[FCP_B].w, 1, 4 * C, C);
        o->add(g->x, g->x, g->tmp, (size_t)C);                          // residual
    }
    if (g->head) {
        const pg_param *n = g->norm->params;
        o->layernorm_forward(g->ln, &g->mean, &g->rstd, g->x, n[0].w, n[1].w, 1, C);
        o->matmul_forward(out, g->ln, g->head->params[0].w, NULL, 1, C, g->V); // logits (V)
    } else {
        memcpy(out, g->x, sizeof(float) * (size_t)C); // to the next stage (C)
    }
    g->pos++;
    return 0;
}


static int by_logit(const void *a, const void *b)
{
    const cand *x = a, *y = b;
    if (x->logit != y->logit) return x->logit < y->logit ? 1 : -1;
    return x->id - y->id;
}

int pg_gen_pick(pg_gen *g, const float *logits, double temperature, int top_k, double u)
{
    int V = g->V;
    if (temperature <= 0.0) {
        int best = 0;
        for (int i = 1; i < V; i++)
            if (logits[i] > logits[best]) best = i;
        return best;
    }
    cand *c = g->cand;
    for (int i = 0; i < V; i++) c[i] = (cand){logits[i], i};
    qsort(c, (size_t)V, sizeof *c, by_logit); // largest first, ties by id
    int k = top_k > 0 && top_k < V ? top_k : V;
    double sum = 0.0;
    for (int i = 0; i < k; i++) sum += exp(((double)c[i].logit - c[0].logit) / temperature);
    double target = u * sum, acc = 0.0;
    int pick = c[k - 1].id;
    for (int i = 0; i < k; i++) {
        acc += exp(((double)c[i].logit - c[0].logit) / temperature);
        if (acc > target) {
            pick = c[i].id;
            break;
        }
    }
    return pick;
}
