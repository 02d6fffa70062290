/* ckpt_layout.h: what a checkpoint holds for a model (internal to io/).
 *
 * The layout is derived from the model alone, never from the grid: one
 * dataset per (state, parameter tensor), named "<group>/layers.<i>.<name>"
 * where <i> is the layer's index in the model's layer list and <name> the
 * parameter's local name. New layer kinds need no checkpoint code: whatever
 * parameters a kind declares (pg_layer_add_param) are saved and loaded. */
#ifndef PG_CKPT_LAYOUT_H
#define PG_CKPT_LAYOUT_H

#include "runtime/engine/run.h"
#include "runtime/model/model.h"

#include <hdf5.h>

#include <stddef.h>
#include <stdint.h>

/* The tensor states a checkpoint stores per parameter. */
typedef enum pg_ckpt_state {
    PG_CKPT_PARAMS,     /* /params: the weights */
    PG_CKPT_EXP_AVG,    /* /optim/exp_avg: AdamW first moment */
    PG_CKPT_EXP_AVG_SQ, /* /optim/exp_avg_sq: AdamW second moment */
    PG_CKPT_MOMENTUM,   /* /optim/momentum: SGD momentum buffer */
} pg_ckpt_state;

#define PG_CKPT_MAX_STATES 3

/* One parameter tensor of the model. The copies of a tied tensor (pg_param
 * .tied: the gpt's embedding wte and head weight) are stored once, under the
 * first copy's name: later copies are entries with `copy` set whose `name`
 * is the first copy's; they are loaded from it and never written. */
typedef struct pg_ckpt_tensor {
    char name[96];    /* dataset name: "layers.<i>.<name>" */
    int copy;         /* 1: a later copy of a tied tensor, stored under `name` */
    int layer, param; /* model layer index, index of the parameter in it */
    const char *kind; /* layer kind name */
    int ndim;
    uint64_t dims[2];
    size_t n;         /* elements */
} pg_ckpt_tensor;

/* The states for optimizer `optim` ("adamw" | "sgd"): params first. Returns
 * how many (0 for an unknown optimizer). */
int pg_ckpt_states(const char *optim, pg_ckpt_state states[PG_CKPT_MAX_STATES]);

/* The HDF5 group of a state, e.g. "/optim/exp_avg". */
const char *pg_ckpt_group(pg_ckpt_state s);

/* Every parameter tensor of the model, in model order (malloc'd), tied
 * copies included (marked `copy`). */
int pg_ckpt_tensors(const pg_model *m, pg_ckpt_tensor **t, int *n);

/* Where this rank keeps tensor t of state s: backend memory of one of its
 * stages, or NULL when no local stage holds that layer. */
float *pg_ckpt_local(const pg_run *r, const pg_ckpt_tensor *t, pg_ckpt_state s);

/* Rows [lo, hi) of t's first dimension that `replica` of `dp` writes or
 * reads: the replicas of a stage share every tensor in row blocks. */
void pg_ckpt_rows(const pg_ckpt_tensor *t, int replica, int dp, uint64_t *lo, uint64_t *hi);

/* Elements per row of t's first dimension. */
static inline size_t pg_ckpt_row_len(const pg_ckpt_tensor *t)
{
    return t->ndim == 2 ? (size_t)t->dims[1] : 1;
}

/* The root attributes of a checkpoint file. */
typedef struct pg_ckpt_header {
    int64_t version, step, optim_t, data_position, pp, dp, microbatches, nranks;
    char *optimizer, *schedule, *config, *created, *writer; /* malloc'd */
    pg_config cfg; /* the saved configuration, parsed */
} pg_ckpt_header;

/* Read and check the root attributes of open file `f` (named `path` in
 * messages): format, version, step, optimizer, config (parsed). */
int pg_ckpt_read_header(hid_t f, const char *path, pg_ckpt_header *h);
void pg_ckpt_header_free(pg_ckpt_header *h);

/* Open dataset `name` (tensor t) of file f, check it is float32 of t's
 * shape and read its crc32 attribute. On failure returns -1 with *rc set to
 * a pg_err whose message names `path` and the dataset. */
hid_t pg_ckpt_open_tensor(hid_t f, const char *path, const char *name, const pg_ckpt_tensor *t,
                          uint32_t *crc, int *rc);

/* Per-run checkpoint state (r->ckpt): the file resumed from, which pruning
 * keeps, and the save in flight (ckpt_save.c). */
struct pg_ckpt {
    char *resumed_from;    /* realpath of the checkpoint loaded, or NULL */
    struct pg_ckpt_job *job; /* asynchronous save in flight, or NULL */
    double last_bytes, last_seconds, last_stall; /* the last completed save */
};

/* r->ckpt, created on first use; NULL (with a message) when out of memory. */
struct pg_ckpt *pg_ckpt_of(pg_run *r);

/* Collectives of the checkpoint code over `comm` that yield the CPU while
 * they wait (MPICH's blocking calls busy-poll): in-place allreduce and
 * broadcast. Safe from the background writer's thread. 0 or PG_ECOMM. */
int pg_ckpt_allreduce(void *buf, int n, MPI_Datatype type, MPI_Op op, MPI_Comm comm);
int pg_ckpt_bcast(void *buf, int n, MPI_Datatype type, int root, MPI_Comm comm);

/* The CRC-32 of tensor t from the CRC-32s of the row blocks of dp replicas
 * (pg_ckpt_rows), parts[k] being replica k's. */
uint32_t pg_ckpt_combine(const pg_ckpt_tensor *t, const uint32_t *parts, int dp);

/* Index of the first NaN or Inf among x[0, n), or n when all are finite. */
size_t pg_ckpt_nonfinite(const float *x, size_t n);

/* The CRC-32 of the root attributes of file f (format version 2): for each
 * covered attribute in a fixed order, "name=value\n" with strings as they are
 * and integers in decimal, comma-separated (docs/checkpoint-format.md).
 * -1 when one is missing. */
int pg_ckpt_attrs_crc(hid_t f, uint32_t *crc);

/* CRC-32 (zlib's, the one Python's zlib.crc32 computes) of n bytes, and of
 * the concatenation of two blocks from their CRCs. */
uint32_t pg_crc32(uint32_t crc, const void *p, size_t n);
uint32_t pg_crc32_combine(uint32_t crc1, uint32_t crc2, uint64_t len2);

#endif
