/* stage.h: one model stage as built on the rank that owns it.
 *
 * A stage holds a contiguous range of the model's layers, one allocation for
 * their parameters and one for their gradients (tensors are carved out of
 * them, so a stage's gradients are one contiguous vector for allreduce and
 * checkpoints), and the per-microbatch activation buffers ("slots"). */
#ifndef PG_STAGE_H
#define PG_STAGE_H

#include "runtime/model/model.h"

#include <stdint.h>

/* Everything one microbatch keeps on a stage between its forward and its
 * backward: act[k] is the input of layer k (act[L] the stage output), grad[k]
 * its gradient; saved[k] and gsaved[k] are layer k's own state. */
typedef struct pg_slot {
    int mb;              /* microbatch held, -1 when free */
    pg_shape shape;
    float **act, **grad; /* [L+1] */
    float **saved, **gsaved; /* [L] */
    float *losses;       /* (N) per-row losses (last stage) */
    int *tokens;         /* (N) inputs of a token model (first stage) */
    float *target;       /* (N, target_width) (last stage, float targets) */
    int *labels;         /* (N) (last stage, class labels) */
    void *block;         /* the one allocation behind all of the above */
    size_t bytes;
    int pending_sends;   /* engine: sends still reading this slot */
    int finished;        /* engine: backward done, free once sends complete */
} pg_slot;

typedef struct pg_stage {
    int id, nstages;     /* model stage index among nstages */
    int lo, hi;          /* layers [lo, hi) */
    int nlayers;
    pg_layer *layers;    /* copies of the model's layers, tensors bound */
    const pg_model *model;
    const pg_ops *ops;
    size_t nparams;      /* floats */
    float *params, *grads;
    int nslots;
    pg_slot **slots;     /* grown on demand; peak = in-flight microbatches */
    /* optional hook, called after each layer k of a forward (weight = 0),
     * backward_input (0) or backward_weight (1): the engine launches gradient
     * buckets and drives communication from it */
    void (*after_layer)(void *ctx, struct pg_stage *st, int k, int weight);
    void *hook_ctx;
    size_t slot_bytes_peak;
} pg_stage;

/* Build stage `id` of `nstages` with layers [lo, hi), allocate its tensors and
 * initialise them from `seed` (each tensor from its own keyed stream, so
 * values do not depend on the partition). */
int pg_stage_create(pg_stage **st, const pg_model *m, int id, int nstages, int lo, int hi,
                    const pg_ops *o, uint64_t seed);
void pg_stage_free(pg_stage *st);

static inline int pg_stage_is_first(const pg_stage *st) { return st->id == 0; }
static inline int pg_stage_is_last(const pg_stage *st) { return st->id == st->nstages - 1; }

/* Widths of the stage's input and output activations (per row). */
int pg_stage_in_width(const pg_stage *st);
int pg_stage_out_width(const pg_stage *st);

/* A free slot for microbatch `mb` of `shape` (reused or newly allocated);
 * the slot found for mb if it is already held. NULL on allocation failure. */
pg_slot *pg_stage_slot(pg_stage *st, int mb, pg_shape shape);
pg_slot *pg_stage_find_slot(pg_stage *st, int mb);
void pg_stage_release_slot(pg_stage *st, pg_slot *sl);

/* Run the stage's layers on one microbatch. mb carries shape and targets;
 * backward_input writes grad[0] only when need_input_grad. */
void pg_stage_forward(pg_stage *st, pg_slot *sl, const pg_mb *mb);
void pg_stage_backward_input(pg_stage *st, pg_slot *sl, const pg_mb *mb, int need_input_grad);
void pg_stage_backward_weight(pg_stage *st, pg_slot *sl, const pg_mb *mb);

void pg_stage_zero_grads(pg_stage *st);

#endif
