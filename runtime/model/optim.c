/* optim.c: AdamW / SGD over carved parameter tensors. */
#include "runtime/model/optim.h"

#include "runtime/base/error.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int pg_optim_create(pg_optim **out, const pg_config *c, pg_stage **stages, int n)
{
    *out = NULL;
    pg_optim *o = calloc(1, sizeof *o);
    if (!o) return pg_error(PG_ENOMEM, "optim: out of memory");
    o->adamw = c->optim.name == PG_OPTIM_ADAMW;
    o->beta1 = (float)c->optim.beta1;
    o->beta2 = (float)c->optim.beta2;
    o->eps = (float)c->optim.eps;
    o->weight_decay = (float)c->optim.weight_decay;
    o->momentum = (float)c->optim.momentum;
    o->nstages = n;
    o->stages = stages;
    o->m = calloc((size_t)n, sizeof(float *));
    o->v = calloc((size_t)n, sizeof(float *));
    if (!o->m || !o->v) goto nomem;
    for (int s = 0; s < n; s++) {
        const pg_ops *ops = stages[s]->ops;
        size_t bytes = sizeof(float) * stages[s]->nparams;
        o->m[s] = ops->alloc(bytes);
        if (!o->m[s]) goto nomem;
        if (o->adamw && !(o->v[s] = ops->alloc(bytes))) goto nomem;
    }
    *out = o;
    return 0;
nomem:
    pg_optim_free(o);
    return pg_error(PG_ENOMEM, "optim: out of memory for optimizer state");
}

void pg_optim_free(pg_optim *o)
{
    if (!o) return;
    for (int s = 0; s < o->nstages; s++) {
        const pg_ops *ops = o->stages[s]->ops;
        if (o->m && o->m[s]) ops->free(o->m[s]);
        if (o->v && o->v[s]) ops->free(o->v[s]);
    }
    free(o->m);
    free(o->v);
    free(o);
}

double pg_optim_lr(const pg_config *c, int step)
{
    double lr = c->optim.lr;
    int warm = c->optim.warmup_steps;
    if (step < warm) return lr * (step + 1) / warm;
    if (c->optim.decay == PG_DECAY_COSINE) {
        int span = c->train.steps - warm;
        double progress = span > 1 ? (double)(step - warm) / (span - 1) : 1.0;
        if (progress > 1.0) progress = 1.0;
        double lo = lr * c->optim.min_lr_ratio;
        return lo + 0.5 * (1.0 + cos(M_PI * progress)) * (lr - lo);
    }
    return lr;
}

void pg_optim_step(pg_optim *o, double lr, float grad_scale)
{
    o->t++;
    for (int s = 0; s < o->nstages; s++) {
        pg_stage *st = o->stages[s];
        const pg_ops *ops = st->ops;
        if (grad_scale != 1.0f) ops->scale(st->grads, grad_scale, st->nparams);
        for (int l = 0; l < st->nlayers; l++) {
            const pg_layer *L = &st->layers[l];
            for (int p = 0; p < L->nparams; p++) {
                const pg_param *P = &L->params[p];
                float wd = P->decay ? o->weight_decay : 0.0f;
                if (o->adamw)
                    ops->adamw_update(P->w, P->g, o->m[s] + P->offset, o->v[s] + P->offset, P->n,
                                      (float)lr, o->beta1, o->beta2, o->eps, wd, o->t);
                else
                    ops->sgd_update(P->w, P->g, o->m[s] + P->offset, P->n, (float)lr,
                                    o->momentum, wd);
            }
        }
    }
}
