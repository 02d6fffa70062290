/* optim.h: the optimizer over a rank's stages (AdamW or SGD with momentum)
 * and the learning-rate schedule. State tensors mirror each stage's
 * parameter buffer (same layout), so they can be checkpointed by name. */
#ifndef PG_OPTIM_H
#define PG_OPTIM_H

#include "runtime/config/config.h"
#include "runtime/model/stage.h"

typedef struct pg_optim {
    int adamw;             /* 1: AdamW, 0: SGD with momentum */
    float beta1, beta2, eps, weight_decay, momentum;
    int t;                 /* updates applied so far */
    int nstages;
    pg_stage **stages;
    float **m, **v;        /* [nstages] AdamW moments; m = SGD momentum, v unused */
} pg_optim;

int pg_optim_create(pg_optim **o, const pg_config *c, pg_stage **stages, int nstages);
void pg_optim_free(pg_optim *o);

/* Learning rate for 0-based step `step`: linear warmup, then constant or
 * cosine decay to min_lr_ratio * lr at the last step. */
double pg_optim_lr(const pg_config *c, int step);

/* Scale the gradients by grad_scale (clipping), then update every parameter
 * (weight decay only where the tensor asks for it). */
void pg_optim_step(pg_optim *o, double lr, float grad_scale);

#endif
