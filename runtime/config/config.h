/* config.h: run configuration from INI files (inih), an embedded default,
 * and `section.key=value` overrides.
 *
 * Every key is one row of a table (config.c), which gives its type, default
 * and help; unknown sections or keys, malformed lines and bad values are
 * errors that name the file and line. The table also lets the whole
 * configuration be written back out (pg_config_dump), e.g. into checkpoints. */
#ifndef PG_CONFIG_H
#define PG_CONFIG_H

#include <stdio.h>

#define PG_STR_SHORT 32
#define PG_STR_LONG 1024

typedef struct pg_config {
    struct {
        char type[PG_STR_SHORT];   /* mlp | gpt */
        int input_dim;             /* feature width of an mlp model's input */
        char layers[PG_STR_LONG];  /* layer list, see docs/config.md */
        int vocab, ctx, depth, heads, width; /* gpt: tokens, context, blocks, heads, C */
        int tied;                  /* gpt: the head reuses the token embedding */
    } model;
    struct {
        char source[PG_STR_SHORT]; /* auto | teacher | tokens */
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
        char name[PG_STR_SHORT]; /* adamw | sgd */
        double lr, beta1, beta2, eps, weight_decay, momentum, clip_norm;
        int warmup_steps;
        char decay[PG_STR_SHORT]; /* none | cosine */
        double min_lr_ratio;
    } optim;
    struct {
        int pp, dp;                   /* dp = 0: inferred from the number of ranks */
        char schedule[PG_STR_SHORT];  /* gpipe | 1f1b | interleaved | zbh1 | zbv | file */
        int chunks;                   /* model chunks per rank; 0 = the schedule's own */
        char schedule_file[PG_STR_LONG]; /* for schedule = file */
        char partition[PG_STR_LONG];  /* auto | uniform | comma list of layers per stage */
        char order[PG_STR_SHORT];     /* auto | replica-major | stage-major */
        double bucket_mb;             /* gradient allreduce bucket, MiB (0 = one per stage;
                                         -1 = by device: pg_config_bucket_mb) */
    } parallel;
    struct {
        char bind[PG_STR_SHORT]; /* auto | cores | none */
        double net_gbs;          /* one NIC between nodes, GB/s (order cost model) */
        double cross_rail;       /* bandwidth factor between NICs of different rails */
        char gpu_links[PG_STR_LONG]; /* "" | nvlink:GBS | file:PATH (topology/nvlink.h) */
    } placement;
    struct {
        char device[PG_STR_SHORT];    /* auto | cpu | cuda (runtime/compute/device.h) */
        char precision[PG_STR_SHORT]; /* fp32 | tf32 | bf16 */
        char comm[PG_STR_SHORT];      /* auto | mpi | nccl (collectives/comm.h) */
        char kernels[PG_STR_SHORT];   /* fused | reference (docs/gpu.md) */
        int threads;               /* BLAS threads per rank; 0 = cores / ranks on the node */
        double watchdog_s;         /* seconds one action may take; 0 = no watchdog */
        char on_nonfinite[PG_STR_SHORT]; /* NaN/Inf before the optimizer: stop | skip */
        double peak_gflops;        /* one rank's peak GFLOP/s, for MFU; 0 = unknown */
        char halt_file[PG_STR_LONG]; /* stop cleanly when this file appears (runtime/guard/halt.h) */
    } runtime;
    struct {
        char dir[PG_STR_LONG]; /* where step_NNNNNNNN.h5 and `latest` live */
        int every;             /* save every N steps and at the last step; 0 = never */
        int keep;              /* keep the newest K checkpoints; 0 = all */
        int async;             /* 1: write from a host copy while training goes on */
        char on_error[PG_STR_SHORT]; /* a failed save: stop | continue (training goes on) */
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

/* Apply one override "section.key=value". */
int pg_config_set(pg_config *c, const char *assignment);

/* The gradient bucket size in MiB that parallel.bucket_mb means for a run on
 * compute backend `device` ("cpu", "cuda"): the key's value, or for -1 (the
 * default) 25 MiB on a device (NCCL launches are costly; PyTorch DDP's
 * default) and 1 MiB on the CPU (MPI, where small buckets overlap best). */
double pg_config_bucket_mb(const pg_config *c, const char *device);

/* Cross-key checks (ranges, known names); error names the key. */
int pg_config_check(const pg_config *c);

/* Write the configuration as INI text. */
void pg_config_dump(const pg_config *c, FILE *f);

/* Print every key with its default and help (for --help / docs). */
void pg_config_print_keys(FILE *f);

#endif
