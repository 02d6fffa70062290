/* data.h: where samples come from.
 *
 * A data source returns samples by global sample index: sample i is the same
 * whichever rank asks and in whatever order, so each replica can read its own
 * disjoint slice and a run gives the same data on any grid (and resumes at a
 * given index). Buffers are host memory; any of them may be NULL when the
 * caller does not need that part (inputs on the first stage, targets on the
 * last). Shapes: x (count, T, input_width), tokens (count, T),
 * target (count, T, target_width), labels (count, T). */
#ifndef PG_DATA_H
#define PG_DATA_H

#include "runtime/config/config.h"
#include "runtime/model/model.h"

#include <stdint.h>

typedef struct pg_data pg_data;
struct pg_data {
    const char *name;
    int (*get)(pg_data *d, int64_t first, int count, float *x, int *tokens, float *target,
               int *labels);
    void (*destroy)(pg_data *d);
    int split;           /* 0: training samples, 1: validation samples (set by the
                            caller; only sources with val_samples > 0 have them) */
    int64_t val_samples; /* distinct validation samples (0: no validation split) */
    double bytes_per_token; /* text bytes per token over the dataset (1 for byte-level,
                               about 3 for a BPE), for bits per byte; 0 when unknown */
};

/* A fixed random teacher network (input -> tanh hidden -> outputs) labels
 * Gaussian inputs: regression targets for an mse model, the argmax class for
 * an xent model. */
int pg_data_teacher_create(pg_data **d, const pg_config *c, const pg_model *m);

/* Language-model windows of a token stream (data_tokens.c): the HDF5
 * dataset data.path, or the built-in corpus when data.path is empty. */
int pg_data_tokens_create(pg_data **d, const pg_config *c, const pg_model *m);

/* The source the configuration names. */
int pg_data_create(pg_data **d, const pg_config *c, const pg_model *m);

static inline void pg_data_destroy(pg_data *d)
{
    if (d) d->destroy(d);
}

#endif
