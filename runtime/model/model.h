/* model.h: the full model as a layer list, known to every rank.
 *
 * Building a model configures every layer (widths, parameter shapes) but
 * allocates no tensors: each rank then builds only its own stages (stage.h).
 * Parameter names are global and grid-independent: "layers.<i>.<name>". */
#ifndef PG_MODEL_H
#define PG_MODEL_H

#include "runtime/config/config.h"
#include "runtime/model/layers/layer.h"

typedef enum pg_input_kind {
    PG_INPUT_FEATURES, /* float features (B, T, input_width) */
    PG_INPUT_TOKENS,   /* token ids (B, T) */
} pg_input_kind;

typedef enum pg_target_kind {
    PG_TARGET_FLOAT,  /* regression targets (B, T, target_width) */
    PG_TARGET_LABELS, /* class labels (B, T) in [0, target_width) */
} pg_target_kind;

typedef struct pg_model {
    pg_input_kind input;
    int input_width;  /* features per row, or vocabulary size for tokens */
    int T;            /* positions per sample (1 for feature models) */
    pg_target_kind target;
    int target_width; /* regression width or number of classes */
    int nlayers;      /* including the loss layer, which is last */
    pg_layer *layers;
} pg_model;

/* Build the model the configuration describes. */
int pg_model_create(pg_model **m, const pg_config *c);

/* Build a feature model from a layer list ("linear:64 relu ... mse"); each
 * item is KIND[:ARGS], optionally repeated as N*KIND[:ARGS]. */
int pg_model_from_layers(pg_model **m, int input_width, const char *layers);

void pg_model_free(pg_model *m);

/* Parameters (floats) of layers [lo, hi). */
size_t pg_model_param_count(const pg_model *m, int lo, int hi);

/* Parameters of the whole model counting tied copies once. */
size_t pg_model_unique_param_count(const pg_model *m);

/* Forward FLOPs of layers [lo, hi) for one microbatch. */
double pg_model_flops(const pg_model *m, int lo, int hi, pg_shape s);

#endif
