/* config.h: run configuration from INI files (inih), an embedded default,
 * and `section.key=value` overrides.
 *
 * Every key is one row of a table (config.c), which gives its type, its
 * allowed values (a choice) or bounds (a number), default and help. A value is
 * converted and checked once, when it is read: a choice becomes the enum
 * below, a number a number, so no later code compares strings; unknown
 * sections or keys, malformed lines and bad values are errors of one line that
 * name the file and line (or the option) and the key. pg_config_check keeps
 * the rules that tie several keys together. The table also writes the whole
 * configuration back out (pg_config_dump), e.g. into checkpoints, and lists
 * every key (pg_config_print_keys, docs/config.md). */
#ifndef PG_CONFIG_H
#define PG_CONFIG_H

#include <stdio.h>

#define PG_STR_SHORT 32
#define PG_STR_LONG 1024

/* The choices. Each enum's names, in enum order, are the NULL-terminated
 * arrays below them: the one place a choice's spelling lives. */
typedef enum pg_model_type { PG_MODEL_MLP, PG_MODEL_GPT } pg_model_type;
extern const char *const pg_model_type_names[];
typedef enum pg_data_source { PG_SOURCE_AUTO, PG_SOURCE_TEACHER, PG_SOURCE_TOKENS } pg_data_source;
extern const char *const pg_data_source_names[];
typedef enum pg_optim_kind { PG_OPTIM_ADAMW, PG_OPTIM_SGD } pg_optim_kind;
extern const char *const pg_optim_names[];
typedef enum pg_decay { PG_DECAY_NONE, PG_DECAY_COSINE } pg_decay;
extern const char *const pg_decay_names[];
typedef enum pg_order { PG_ORDER_AUTO, PG_ORDER_REPLICA_MAJOR, PG_ORDER_STAGE_MAJOR } pg_order;
extern const char *const pg_order_names[];
typedef enum pg_bind { PG_BIND_AUTO, PG_BIND_CORES, PG_BIND_NONE } pg_bind;
extern const char *const pg_bind_names[];
typedef enum pg_device_kind { PG_DEVICE_AUTO, PG_DEVICE_CPU, PG_DEVICE_CUDA } pg_device_kind;
extern const char *const pg_device_names[];
typedef enum pg_precision { PG_PREC_FP32, PG_PREC_TF32, PG_PREC_BF16 } pg_precision;
extern const char *const pg_precision_names[];
typedef enum pg_comm_kind { PG_COMM_AUTO, PG_COMM_MPI, PG_COMM_NCCL } pg_comm_kind;
extern const char *const pg_comm_names[];
typedef enum pg_kernels { PG_KERNELS_FUSED, PG_KERNELS_REFERENCE } pg_kernels;
extern const char *const pg_kernels_names[];
typedef enum pg_ckpt_on_error { PG_CKPT_STOP, PG_CKPT_CONTINUE } pg_ckpt_on_error;
extern const char *const pg_ckpt_on_error_names[];
typedef enum pg_on_nonfinite { PG_NONFINITE_STOP, PG_NONFINITE_SKIP } pg_on_nonfinite;
extern const char *const pg_on_nonfinite_names[];

typedef struct pg_config {
    struct {
        pg_model_type type;
        int input_dim;             /* feature width of an mlp model's input */
        char layers[PG_STR_LONG];  /* layer list, see docs/config.md */
        int vocab, ctx, depth, heads, width; /* gpt: tokens, context, blocks, heads, C */
        int tied;                  /* gpt: the head reuses the token embedding */
    } model;
    struct {
        pg_data_source source;
        char path[PG_STR_LONG];    /* tokens: HDF5 token dataset; "" = built-in corpus */
        double val_fraction;       /* tokens: share of the stream held out for eval */
        int teacher_hidden;        /* hidden width of the teacher network */
        long seed;                 /* seed of the task (teacher weights, samples) */
    } data;
    struct {
        int steps;
        int batch_size;   /* global batch, samples per step over all replicas */
        int microbatches; /* per replica per step */
        long seed;        /* seed of the initial weights */
        int log_every;
        int eval_every;   /* validation loss every N steps (0 = never) */
        int eval_batches; /* global batches per evaluation */
    } train;
    struct {
        pg_optim_kind name;
        double lr, beta1, beta2, eps, weight_decay, momentum, clip_norm;
        int warmup_steps;
        pg_decay decay;
        double min_lr_ratio;
    } optim;
    struct {
        int pp, dp;                   /* dp = 0: inferred from the number of ranks */
        char schedule[PG_STR_SHORT];  /* gpipe | 1f1b | interleaved | zbh1 | zbv | file */
        int chunks;                   /* model chunks per rank; 0 = the schedule's own */
        char schedule_file[PG_STR_LONG]; /* for schedule = file */
        char partition[PG_STR_LONG];  /* auto | uniform | comma list of layers per stage */
        pg_order order;
        double bucket_mb;             /* gradient allreduce bucket, MiB (0 = one per stage;
                                         -1 = by device: pg_config_bucket_mb) */
    } parallel;
    struct {
        pg_bind bind;
        double net_gbs;          /* one NIC between nodes, GB/s (order cost model) */
        double cross_rail;       /* bandwidth factor between NICs of different rails */
        char gpu_links[PG_STR_LONG]; /* "" | nvlink:GBS | file:PATH (topology/nvlink.h) */
    } placement;
    struct {
        pg_device_kind device; /* runtime/compute/device.h */
        pg_precision precision;
        pg_comm_kind comm;      /* collectives/comm.h */
        pg_kernels kernels;     /* docs/gpu.md */
        int threads;               /* BLAS threads per rank; 0 = cores / ranks on the node */
        double watchdog_s;         /* seconds one action may take; 0 = no watchdog */
        pg_on_nonfinite on_nonfinite; /* NaN/Inf before the optimizer */
        double peak_gflops;        /* one rank's peak GFLOP/s, for MFU; 0 = unknown */
        char halt_file[PG_STR_LONG]; /* stop cleanly when this file appears (runtime/guard/halt.h) */
        char halt_signal[PG_STR_SHORT]; /* ... or this signal (or SIGTERM) arrives: USR1 | USR2 | ... */
    } runtime;
    struct {
        char dir[PG_STR_LONG]; /* where step_NNNNNNNN.h5 and `latest` live */
        int every;             /* save every N steps and at the last step; 0 = never */
        int keep;              /* keep the newest K checkpoints; 0 = all */
        int async;             /* 1: write from a host copy while training goes on */
        pg_ckpt_on_error on_error; /* a failed save: stop, or continue (training goes on) */
    } checkpoint;
} pg_config;

/* Fill with the built-in defaults: the embedded default job (a small GPT on
 * the built-in corpus of Debian's license texts), so that `pipegrid train`
 * runs with no file at all. */
int pg_config_init(pg_config *c);

/* Apply an INI file on top of the current values. */
int pg_config_load_file(pg_config *c, const char *path);

/* Apply INI text; `origin` names it in error messages. */
int pg_config_load_string(pg_config *c, const char *text, const char *origin);

/* Apply one override "section.key=value" (--set names it in errors). */
int pg_config_set(pg_config *c, const char *assignment);

/* The gradient bucket size in MiB that parallel.bucket_mb means for a run on
 * compute backend `device` ("cpu", "cuda"): the key's value, or for -1 (the
 * default) 25 MiB on a device (NCCL launches are costly; PyTorch DDP's
 * default) and 1 MiB on the CPU (MPI, where small buckets overlap best). */
double pg_config_bucket_mb(const pg_config *c, const char *device);

/* Apply value to key "section.key"; `origin` names it in error messages (the
 * command-line option it came from, e.g. "--pp"). */
int pg_config_set_key(pg_config *c, const char *key, const char *value, const char *origin);

/* The rules between keys (each key's own type and range is checked when it is
 * read); the error names the keys. */
int pg_config_check(const pg_config *c);

/* The allowed values of choice key "section.key" as "a | b | c" into buf, or
 * "" when the key is not a choice. */
void pg_config_values(const char *key, char *buf, size_t n);

/* Write the configuration as INI text. */
void pg_config_dump(const pg_config *c, FILE *f);

/* Print every key with its default and help (for --help / docs). */
void pg_config_print_keys(FILE *f);

#endif
