/* layer.h: what a layer is.
 *
 * A layer kind is a table of functions (forward, backward split into an
 * input-gradient and a weight-gradient part, cost); a layer is one configured
 * instance of a kind at a position of the model's layer list.
 *
 * Memory contract, per microbatch (the engine owns all buffers):
 *   in    (N, in_width)   the layer's input, kept until its backward is done
 *   out   (N, out_width)  the layer's output (the next layer's input)
 *   saved (saved_floats)  what forward keeps for backward (pre-activations...)
 *   dout  (N, out_width)  gradient of the loss w.r.t. out, kept until W runs
 *   din   (N, in_width)   written (=) by backward_input; NULL when no input
 *                         gradient is needed (first layer of the model)
 *   gsaved(gsaved_floats) what backward_input keeps for backward_weight
 * where N = B*T rows. backward_weight accumulates (+=) into the parameter
 * gradients. Running backward_input then backward_weight is the full backward
 * (B); schedules may run them apart (zero-bubble's I and W). */
#ifndef PG_LAYER_H
#define PG_LAYER_H

#include "runtime/compute/ops.h"

#include <stddef.h>
#include <stdio.h>

#define PG_MAX_PARAMS 16

/* A microbatch: B samples of T positions each. */
typedef struct pg_shape {
    int B, T;
} pg_shape;

static inline int pg_rows(pg_shape s) { return s.B * s.T; }

typedef enum pg_init { PG_INIT_ZERO, PG_INIT_ONE, PG_INIT_NORMAL } pg_init;

/* One parameter tensor of a layer. */
typedef struct pg_param {
    char name[48];   /* local name, e.g. "fc1.weight"; global: "layers.<index>.<name>" */
    int ndim;
    int dims[2];
    size_t n;        /* elements */
    size_t offset;   /* element offset into its stage's parameter buffer */
    pg_init init;
    float std;       /* for PG_INIT_NORMAL */
    int decay;       /* weight decay applies (matrices, not biases or norms) */
    int tied;        /* a copy of the tied token embedding (gpt: embed wte, lmhead weight):
                        initialised from the stream of layer 0's tensor 0, gradients summed
                        over the copies every step (tied.h) */
    float *w, *g;    /* value and gradient (backend memory), set by the stage */
} pg_param;

/* Inputs and targets of one microbatch, in backend memory, and where the
 * loss layer puts its per-row losses. */
typedef struct pg_mb {
    pg_shape shape;
    const int *tokens;   /* (B,T) token ids: token models, first stage */
    const float *target; /* (B,T,D) regression targets: last stage */
    const int *labels;   /* (B,T) class labels: last stage */
    float *losses;       /* (B*T) per-row loss, written by the loss layer */
    float loss_scale;    /* dL/d(row loss): 1 / rows in the global batch */
} pg_mb;

typedef struct pg_layer pg_layer;

typedef struct pg_layer_kind {
    const char *name;
    const char *usage; /* e.g. "linear:OUT" */
    int is_loss;       /* last layer: consumes targets, out_width = 0 */
    /* Parse `args` (text after "name:", may be ""), set out_width from
     * in_width, declare parameters. Error via pg_error naming the layer. */
    int (*configure)(pg_layer *l, const char *args);
    size_t (*saved_floats)(const pg_layer *l, pg_shape s);
    size_t (*gsaved_floats)(const pg_layer *l, pg_shape s);
    /* `in` is the stage's activation buffer; a loss layer's forward may
     * overwrite it with its input gradient (the fused classifier, loss.c),
     * which its backward_input then hands on. */
    void (*forward)(const pg_layer *l, const pg_ops *o, const pg_mb *mb, const float *in,
                    float *out, float *saved);
    void (*backward_input)(const pg_layer *l, const pg_ops *o, const pg_mb *mb, const float *in,
                           const float *saved, const float *dout, float *din, float *gsaved);
    void (*backward_weight)(const pg_layer *l, const pg_ops *o, const pg_mb *mb,
                            const float *in, const float *saved, const float *dout,
                            const float *gsaved);
    /* FLOPs of the forward pass of one microbatch (backward counts twice). */
    double (*flops)(const pg_layer *l, pg_shape s);
} pg_layer_kind;

struct pg_layer {
    const pg_layer_kind *kind;
    int index;           /* position in the model's layer list */
    int in_width, out_width;
    int nparams;
    pg_param params[PG_MAX_PARAMS];
    /* the settings of the layer's kind, filled by its configure */
    union {
        int bias;                         /* linear: 1 = with a bias vector */
        int hidden;                       /* resmlp: hidden width H */
        struct { int vocab, ctx; } embed; /* embed: vocabulary V, context T */
        int heads;                        /* block: attention heads NH */
        struct {
            double seconds[3]; /* forward, input and weight gradient */
            int per_sample;    /* 1: seconds per sample, 0: per microbatch */
        } emulated;
    } arg;
    int glue;            /* partition: 1 = always in the stage of the next layer (gpt
                            embedding), -1 = of the previous one (final norm, head) */
    int reference;       /* runtime.kernels=reference: the plain path instead of the fused
                            kernels (the model sets it after configure) */
    const pg_ops *ops;   /* the backend of the stage holding this copy (buffer sizes
                            that depend on it); NULL in the model's list: the CPU's */
};

/* Declare a parameter tensor (called from configure). */
pg_param *pg_layer_add_param(pg_layer *l, const char *name, int d0, int d1, pg_init init,
                             float std, int decay);

/* Shared entries for kinds that keep nothing or have no weights. */
size_t pg_layer_nothing_saved(const pg_layer *l, pg_shape s);
void pg_layer_no_weight_grad(const pg_layer *l, const pg_ops *o, const pg_mb *mb,
                             const float *in, const float *saved, const float *dout,
                             const float *gsaved);

/* Find a kind by name; NULL if unknown. */
const pg_layer_kind *pg_layer_kind_find(const char *name);

/* Print "name usage" for every kind (one per line). */
void pg_layer_kinds_print(FILE *f);

/* Time (seconds) an emulated layer spends on a microbatch of shape s in
 * forward (phase 0), input-gradient (1) and weight-gradient (2); 0 for real
 * layers. */
double pg_layer_fixed_time(const pg_layer *l, int phase, pg_shape s);

#endif
