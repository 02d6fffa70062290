/* config.c: the key table, INI parsing through inih, overrides, checks. */
#include "runtime/config/config.h"

#include "runtime/base/error.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

typedef enum { T_INT, T_LONG, T_DOUBLE, T_STR } key_type;

typedef struct key_def {
    const char *section, *key;
    key_type type;
    size_t offset, size;
    const char *def;
    const char *help;
} key_def;

#define K(sec, name, T, field, def, help) \
    {sec, name, T, offsetof(pg_config, field), sizeof(((pg_config *)0)->field), def, help}

static const key_def KEYS[] = {
    K("model", "type", T_STR, model.type, "gpt",
      "model family: gpt (GPT-2 style decoder, keys vocab..tied) | mlp (model.layers)"),
    K("model", "input_dim", T_INT, model.input_dim, "32", "input features per sample (mlp)"),
    K("model", "layers", T_STR, model.layers, "linear:128 gelu resmlp:256 resmlp:256 resmlp:256 layernorm linear:64 gelu linear:8 mse",
      "layer list, e.g. 'linear:64 gelu resmlp:128 layernorm linear:8 mse' (docs/config.md)"),
    K("model", "vocab", T_INT, model.vocab, "256",
      "gpt: vocabulary size (256 = byte-level tokens); the dataset's must not exceed it"),
    K("model", "ctx", T_INT, model.ctx, "64", "gpt: context length T (tokens per sample)"),
    K("model", "depth", T_INT, model.depth, "4", "gpt: transformer blocks (n_layer)"),
    K("model", "heads", T_INT, model.heads, "4", "gpt: attention heads per block (n_head)"),
    K("model", "width", T_INT, model.width, "64", "gpt: model width C (n_embd)"),
    K("model", "tied", T_INT, model.tied, "1",
      "gpt: 1 = the LM head reuses the token embedding (GPT-2), 0 = its own matrix"),
    K("data", "source", T_STR, data.source, "auto",
      "auto (tokens for gpt, teacher for mlp) | teacher: a fixed random network labels "
      "random inputs (mlp) | tokens: windows of a token dataset (gpt)"),
    K("data", "path", T_STR, data.path, "",
      "tokens: HDF5 token dataset (pipegrid prep); empty = the built-in corpus "
      "(/usr/share/common-licenses, byte-level)"),
    K("data", "val_fraction", T_DOUBLE, data.val_fraction, "0.1",
      "tokens: share of the token stream (its end) held out for validation"),
    K("data", "teacher_hidden", T_INT, data.teacher_hidden, "64", "teacher's hidden width"),
    K("data", "seed", T_LONG, data.seed, "1234", "seed of the task (teacher, samples)"),
    K("train", "steps", T_INT, train.steps, "600", "optimizer steps"),
    K("train", "batch_size", T_INT, train.batch_size, "16",
      "global batch: samples per step over all replicas"),
    K("train", "microbatches", T_INT, train.microbatches, "4",
      "microbatches per replica per step; must divide batch_size/dp"),
    K("train", "seed", T_LONG, train.seed, "42", "seed of the initial weights"),
    K("train", "log_every", T_INT, train.log_every, "10", "log a line every N steps"),
    K("train", "eval_every", T_INT, train.eval_every, "100",
      "validation loss every N steps and at the end (0 = never; needs a validation split)"),
    K("train", "eval_batches", T_INT, train.eval_batches, "4",
      "global batches of validation samples per evaluation"),
    K("optim", "name", T_STR, optim.name, "adamw", "adamw | sgd (with momentum)"),
    K("optim", "lr", T_DOUBLE, optim.lr, "0.003", "peak learning rate"),
    K("optim", "beta1", T_DOUBLE, optim.beta1, "0.9", "AdamW beta1"),
    K("optim", "beta2", T_DOUBLE, optim.beta2, "0.999", "AdamW beta2"),
    K("optim", "eps", T_DOUBLE, optim.eps, "1e-8", "AdamW epsilon"),
    K("optim", "weight_decay", T_DOUBLE, optim.weight_decay, "0.0",
      "decoupled weight decay (matrices only)"),
    K("optim", "momentum", T_DOUBLE, optim.momentum, "0.9", "SGD momentum"),
    K("optim", "clip_norm", T_DOUBLE, optim.clip_norm, "1.0",
      "clip the global gradient norm to this (0 = off)"),
    K("optim", "warmup_steps", T_INT, optim.warmup_steps, "20", "linear warmup steps"),
    K("optim", "decay", T_STR, optim.decay, "cosine", "none | cosine (to min_lr_ratio*lr)"),
    K("optim", "min_lr_ratio", T_DOUBLE, optim.min_lr_ratio, "0.1", "final lr / peak lr"),
    K("parallel", "pp", T_INT, parallel.pp, "1", "pipeline stages"),
    K("parallel", "dp", T_INT, parallel.dp, "0",
      "data-parallel replicas (0 = ranks / pp)"),
    K("parallel", "schedule", T_STR, parallel.schedule, "1f1b",
      "gpipe | 1f1b | interleaved | zbh1 | zbv | file (docs/schedules.md)"),
    K("parallel", "chunks", T_INT, parallel.chunks, "0",
      "model chunks (stages) per rank; 0 = the schedule's own (2 for interleaved and zbv)"),
    K("parallel", "schedule_file", T_STR, parallel.schedule_file, "",
      "schedule file for schedule=file: one line per rank, actions like 0F0 0I0 0W0"),
    K("parallel", "partition", T_STR, parallel.partition, "auto",
      "auto (balance estimated cost) | uniform | layers per stage, e.g. 3,3,2"),
    K("parallel", "order", T_STR, parallel.order, "auto",
      "which grid cell each rank takes: auto (cheapest predicted communication for the "
      "node topology, docs/placement.md) | replica-major (rank = replica*pp + stage: a "
      "pipeline on consecutive ranks, so on one node) | stage-major (rank = stage*dp + "
      "replica: a stage group on consecutive ranks)"),
    K("parallel", "bucket_mb", T_DOUBLE, parallel.bucket_mb, "-1",
      "gradient allreduce bucket size in MiB: buckets launch during the last backward, "
      "from the last layer back (0 = one bucket per stage, launched after its backward; "
      "-1 = 25 on CUDA, 1 on the CPU)"),
    K("placement", "bind", T_STR, placement.bind, "auto",
      "auto (bind each rank to its cores and NUMA memory when every rank of the node gets "
      "its own core and no launcher bound it) | cores (always; error when oversubscribed) "
      "| none"),
    K("placement", "net_gbs", T_DOUBLE, placement.net_gbs, "12.5",
      "bandwidth of one NIC between nodes in GB/s, for choosing the order"),
    K("placement", "cross_rail", T_DOUBLE, placement.cross_rail, "0.5",
      "bandwidth factor between NICs on different rails (rail = NIC position by PCI bus id)"),
    K("placement", "gpu_links", T_STR, placement.gpu_links, "",
      "NVLink for topologies without it, used as NVLink read from hwloc: nvlink:GBS (every "
      "GPU pair of a node, GB/s one way) | file:PATH (lines 'BUSID BUSID GBS') | empty = "
      "the topology's, or NVML's on a live node (docs/placement.md)"),
    K("runtime", "device", T_STR, runtime.device, "cpu",
      "compute backend: cpu | cuda (one GPU per rank; needs a CUDA build) | auto (cuda when "
      "a GPU is visible, else cpu with a one-line note)"),
    K("runtime", "precision", T_STR, runtime.precision, "fp32",
      "matrix products on cuda: fp32 | tf32 | bf16 (tensor cores, fp32 master weights; "
      "tolerances in docs/gpu.md); the CPU computes in fp32"),
    K("runtime", "kernels", T_STR, runtime.kernels, "fused",
      "fused | reference: the fused kernels (classifier loss and dlogits in place, no (N,V) "
      "probability buffer; on cuda also the sorted embedding backward and split column sums) "
      "or the plain path they replace, to rule one out without a rebuild"),
    K("runtime", "comm", T_STR, runtime.comm, "auto",
      "communication backend: mpi (host memory; device buffers staged through it) | nccl "
      "(CUDA device buffers: gradient allreduce and pipeline sends; needs runtime.device=cuda) "
      "| auto (on cuda: nccl for the gradient allreduce, staged mpi for pipeline sends)"),
    K("runtime", "threads", T_INT, runtime.threads, "0",
      "BLAS threads per rank (0 = cores per node / ranks per node)"),
    K("runtime", "peak_gflops", T_DOUBLE, runtime.peak_gflops, "0",
      "peak GFLOP/s of one rank's device, the denominator of MFU in --metrics "
      "(0 = MFU not reported)"),
    K("runtime", "watchdog_s", T_DOUBLE, runtime.watchdog_s, "300",
      "watchdog: seconds one action (forward, backward, a wait on a peer, the step-end "
      "allreduce, a checkpoint save, ...) may take before the job is ended (0 = off; "
      "docs/reliability.md)"),
    K("runtime", "on_nonfinite", T_STR, runtime.on_nonfinite, "stop",
      "NaN/Inf in the loss or gradients (checked on every stage before the optimizer step): "
      "stop (one line naming the step and the first stage where it appeared, exit 1) | "
      "skip (skip the optimizer step on every rank, log a line, go on)"),
    K("checkpoint", "dir", T_STR, checkpoint.dir, "checkpoints",
      "directory of the HDF5 checkpoints (step_NNNNNNNN.h5) and the `latest` pointer"),
    K("checkpoint", "every", T_INT, checkpoint.every, "0",
      "save every N steps and after the last step (0 = never; docs/checkpoint-format.md)"),
    K("checkpoint", "keep", T_INT, checkpoint.keep, "3",
      "keep the newest K checkpoints, never the one resumed from (0 = keep all)"),
    K("checkpoint", "async", T_INT, checkpoint.async, "0",
      "1: copy the state to host memory and write it while training continues"),
    K("checkpoint", "on_error", T_STR, checkpoint.on_error, "stop",
      "a failed save (full disk, I/O error, NaN/Inf in the state; its file is removed and "
      "`latest` still names the previous checkpoint): stop (one line, exit 1) | continue "
      "(one line, training goes on)"),
    K("runtime", "halt_file", T_STR, runtime.halt_file, "",
      "when this file exists at a step boundary, checkpoint and exit 75 as on SIGUSR1/SIGTERM "
      "(docs/slurm.md); empty = none"),
};
#define NKEYS (sizeof KEYS / sizeof KEYS[0])

static const key_def *find_key(const char *section, const char *key)
{
    for (size_t i = 0; i < NKEYS; i++)
        if (!strcmp(KEYS[i].section, section) && !strcmp(KEYS[i].key, key)) return &KEYS[i];
    return NULL;
}

static int section_known(const char *section)
{
    for (size_t i = 0; i < NKEYS; i++)
        if (!strcmp(KEYS[i].section, section)) return 1;
    return 0;
}

/* Store `value` into the field of `k`; `where` prefixes error messages. */
static int store(pg_config *c, const key_def *k, const char *value, int append, const char *where)
{
    char *field = (char *)c + k->offset;
    char *end = NULL;
    errno = 0;
    switch (k->type) {
    case T_INT: {
        long v = strtol(value, &end, 10);
        if (end == value || *end || errno || v < INT_MIN || v > INT_MAX)
            return pg_error(PG_EINVAL, "%s: %s.%s: expected an integer, got '%s'", where,
                            k->section, k->key, value);
        *(int *)field = (int)v;
        break;
    }
    case T_LONG: {
        long v = strtol(value, &end, 10);
        if (end == value || *end || errno)
            return pg_error(PG_EINVAL, "%s: %s.%s: expected an integer, got '%s'", where,
                            k->section, k->key, value);
        *(long *)field = v;
        break;
    }
    case T_DOUBLE: {
        double v = strtod(value, &end);
        if (end == value || *end || errno || !isfinite(v))
            return pg_error(PG_EINVAL, "%s: %s.%s: expected a number, got '%s'", where,
                            k->section, k->key, value);
        *(double *)field = v;
        break;
    }
    case T_STR: {
        size_t have = append ? strlen(field) : 0;
        size_t need = have + (append ? 1 : 0) + strlen(value) + 1;
        if (need > k->size)
            return pg_error(PG_EINVAL, "%s: %s.%s: value longer than %zu characters", where,
                            k->section, k->key, k->size - 1);
        if (append) {
            field[have] = ' ';
            strcpy(field + have + 1, value);
        } else {
            strcpy(field, value);
        }
        break;
    }
    }
    return 0;
}

/* ---- INI parsing: inih does the syntax; a reader counts lines so that
 * messages can name them (Debian's inih is built without line numbers). ---- */

typedef struct parse_state {
    pg_config *cfg;
    const char *origin;
    const char *text; /* remaining input */
    int line;
    int continuation;    /* current line starts with whitespace */
    int overlong;        /* a line exceeded inih's buffer */
    int err;             /* first error (pg_err), 0 if none */
    unsigned char seen[sizeof KEYS / sizeof KEYS[0]];
} parse_state;

static char *read_line(char *buf, int size, void *stream)
{
    parse_state *st = stream;
    if (!*st->text) return NULL;
    const char *nl = strchr(st->text, '\n');
    size_t len = nl ? (size_t)(nl - st->text) + 1 : strlen(st->text);
    st->line++;
    st->continuation = (st->text[0] == ' ' || st->text[0] == '\t');
    if (len >= (size_t)size) {
        if (!st->overlong) st->overlong = st->line;
        len = (size_t)size - 1;
        memcpy(buf, st->text, len);
        buf[len] = '\0';
        st->text = nl ? nl + 1 : st->text + strlen(st->text);
        return buf;
    }
    memcpy(buf, st->text, len);
    buf[len] = '\0';
    st->text += len;
    return buf;
}

static int on_key(void *user, const char *section, const char *name, const char *value)
{
    parse_state *st = user;
    if (st->err) return 0;
    char where[512];
    snprintf(where, sizeof where, "%s:%d", st->origin, st->line);
    if (!section_known(section)) {
        st->err = pg_error(PG_EINVAL,
                           "%s: unknown section [%s] (known: model, data, train, optim, "
                           "parallel, placement, runtime, checkpoint)",
                           where, section);
        return 0;
    }
    const key_def *k = find_key(section, name);
    if (!k) {
        st->err = pg_error(PG_EINVAL, "%s: unknown key '%s' in section [%s]", where, name,
                           section);
        return 0;
    }
    size_t idx = (size_t)(k - KEYS);
    int append = st->continuation && st->seen[idx];
    if (st->seen[idx] && !append) {
        st->err = pg_error(PG_EINVAL, "%s: key '%s' in [%s] given twice", where, name, section);
        return 0;
    }
    if (st->continuation && k->type != T_STR) {
        st->err = pg_error(PG_EINVAL, "%s: %s.%s does not continue over lines", where, section,
                           name);
        return 0;
    }
    st->seen[idx] = 1;
    int rc = store(st->cfg, k, value, append, where);
    if (rc) st->err = rc;
    return rc == 0;
}

int pg_config_load_string(pg_config *c, const char *text, const char *origin)
{
    parse_state st = {.cfg = c, .origin = origin, .text = text};
    int rc = ini_parse_stream(read_line, &st, on_key, &st);
    if (st.overlong)
        return pg_error(PG_EFORMAT, "%s:%d: line too long (split a long value over indented lines)",
                        origin, st.overlong);
    if (st.err) return st.err;
    if (rc > 0)
        return pg_error(PG_EFORMAT,
                        "%s:%d: malformed line (expected '[section]', 'key = value' or a "
                        "comment)",
                        origin, rc);
    if (rc < 0) return pg_error(PG_EIO, "%s: cannot parse", origin);
    return 0;
}

int pg_config_load_file(pg_config *c, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return pg_error(PG_EIO, "cannot open config file '%s': %s", path, strerror(errno));
    char *text = NULL;
    size_t len = 0, cap = 0;
    char chunk[4096];
    size_t got;
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (len + got + 1 > cap) {
            cap = (len + got + 1) * 2;
            char *t = realloc(text, cap);
            if (!t) {
                free(text);
                fclose(f);
                return pg_error(PG_ENOMEM, "%s: out of memory reading config", path);
            }
            text = t;
        }
        memcpy(text + len, chunk, got);
        len += got;
    }
    int read_err = ferror(f);
    fclose(f);
    if (read_err) {
        free(text);
        return pg_error(PG_EIO, "cannot read config file '%s'", path);
    }
    if (!text) return 0; /* empty file: nothing to apply */
    text[len] = '\0';
    if (strlen(text) != len) {
        free(text);
        return pg_error(PG_EFORMAT, "%s: not a text file (contains NUL bytes)", path);
    }
    int rc = pg_config_load_string(c, text, path);
    free(text);
    return rc;
}

int pg_config_init(pg_config *c)
{
    memset(c, 0, sizeof *c);
    for (size_t i = 0; i < NKEYS; i++) {
        int rc = store(c, &KEYS[i], KEYS[i].def, 0, "built-in default");
        if (rc) return rc;
    }
    return 0;
}

int pg_config_set(pg_config *c, const char *assignment)
{
    const char *eq = strchr(assignment, '=');
    const char *dot = strchr(assignment, '.');
    if (!eq || !dot || dot > eq)
        return pg_error(PG_EINVAL, "--set '%s': expected section.key=value", assignment);
    char section[64], key[64];
    size_t slen = (size_t)(dot - assignment), klen = (size_t)(eq - dot - 1);
    if (slen == 0 || slen >= sizeof section || klen == 0 || klen >= sizeof key)
        return pg_error(PG_EINVAL, "--set '%s': expected section.key=value", assignment);
    memcpy(section, assignment, slen);
    section[slen] = '\0';
    memcpy(key, dot + 1, klen);
    key[klen] = '\0';
    const key_def *k = find_key(section, key);
    if (!k) return pg_error(PG_EINVAL, "--set: unknown key '%s.%s'", section, key);
    const char *where = "--set";
    return store(c, k, eq + 1, 0, where);
}

static int one_of(const char *v, const char *const *names)
{
    for (; *names; names++)
        if (!strcmp(v, *names)) return 1;
    return 0;
}

/* placement.gpu_links: nvlink:GBS or file:PATH (topology/nvlink.h reads the file) */
static int gpu_links_ok(const char *v)
{
    if (!strncmp(v, "file:", 5)) return v[5] != '\0';
    if (strncmp(v, "nvlink:", 7)) return 0;
    char *end = NULL;
    double g = strtod(v + 7, &end);
    return end != v + 7 && !*end && g > 0 && g <= 1e6;
}

int pg_config_check(const pg_config *c)
{
    static const char *const types[] = {"mlp", "gpt", NULL};
    static const char *const sources[] = {"auto", "teacher", "tokens", NULL};
    static const char *const optims[] = {"adamw", "sgd", NULL};
    static const char *const decays[] = {"none", "cosine", NULL};
    static const char *const orders[] = {"auto", "replica-major", "stage-major", NULL};
    static const char *const binds[] = {"auto", "cores", "none", NULL};
    static const char *const devices[] = {"auto", "cpu", "cuda", NULL};
    static const char *const precisions[] = {"fp32", "tf32", "bf16", NULL};
    static const char *const comms[] = {"auto", "mpi", "nccl", NULL};
    static const char *const kernels[] = {"fused", "reference", NULL};
    if (!one_of(c->model.type, types))
        return pg_error(PG_EINVAL, "model.type: unknown model type '%s' (expected mlp or gpt)",
                        c->model.type);
    if (!one_of(c->data.source, sources))
        return pg_error(PG_EINVAL, "data.source: unknown data source '%s' (expected auto, teacher or tokens)",
                        c->data.source);
    if (!one_of(c->optim.name, optims))
        return pg_error(PG_EINVAL, "optim.name: unknown optimizer '%s' (expected adamw or sgd)",
                        c->optim.name);
    if (!one_of(c->optim.decay, decays))
        return pg_error(PG_EINVAL, "optim.decay: unknown decay '%s' (expected none or cosine)",
                        c->optim.decay);
    if (!one_of(c->parallel.order, orders))
        return pg_error(PG_EINVAL,
                        "parallel.order: unknown order '%s' (expected auto, replica-major or "
                        "stage-major)",
                        c->parallel.order);
    static const char *const nonfinite[] = {"stop", "skip", NULL};
    if (!one_of(c->runtime.on_nonfinite, nonfinite))
        return pg_error(PG_EINVAL,
                        "runtime.on_nonfinite: unknown value '%s' (expected stop or skip)",
                        c->runtime.on_nonfinite);
    static const char *const on_error[] = {"stop", "continue", NULL};
    if (!one_of(c->checkpoint.on_error, on_error))
        return pg_error(PG_EINVAL,
                        "checkpoint.on_error: unknown value '%s' (expected stop or continue)",
                        c->checkpoint.on_error);
    if (!one_of(c->placement.bind, binds))
        return pg_error(PG_EINVAL,
                        "placement.bind: unknown value '%s' (expected auto, cores or none)",
                        c->placement.bind);
    if (!one_of(c->runtime.device, devices))
        return pg_error(PG_EINVAL, "runtime.device: unknown device '%s' (expected auto, cpu or cuda)",
                        c->runtime.device);
    if (!one_of(c->runtime.precision, precisions))
        return pg_error(PG_EINVAL,
                        "runtime.precision: unknown precision '%s' (expected fp32, tf32 or bf16)",
                        c->runtime.precision);
    if (!one_of(c->runtime.kernels, kernels))
        return pg_error(PG_EINVAL,
                        "runtime.kernels: unknown value '%s' (expected fused or reference)",
                        c->runtime.kernels);
    if (!one_of(c->runtime.comm, comms))
        return pg_error(PG_EINVAL, "runtime.comm: unknown backend '%s' (expected auto, mpi or nccl)",
                        c->runtime.comm);
    if (!(c->placement.net_gbs > 0))
        return pg_error(PG_EINVAL, "placement.net_gbs: must be > 0, got %g", c->placement.net_gbs);
    if (c->placement.gpu_links[0] && !gpu_links_ok(c->placement.gpu_links))
        return pg_error(PG_EINVAL,
                        "placement.gpu_links: expected nvlink:GBS (GB/s > 0, every GPU pair of a "
                        "node) or file:PATH, got '%s'",
                        c->placement.gpu_links);
    if (!(c->placement.cross_rail > 0) || c->placement.cross_rail > 1)
        return pg_error(PG_EINVAL, "placement.cross_rail: must lie in (0, 1], got %g",
                        c->placement.cross_rail);
    if ((!(c->parallel.bucket_mb >= 0) || c->parallel.bucket_mb > 65536) &&
        c->parallel.bucket_mb != -1)
        return pg_error(PG_EINVAL,
                        "parallel.bucket_mb: must lie in [0, 65536] MiB or be -1 (by device), "
                        "got %g",
                        c->parallel.bucket_mb);
    if (!(c->runtime.peak_gflops >= 0))
        return pg_error(PG_EINVAL, "runtime.peak_gflops: must be >= 0, got %g",
                        c->runtime.peak_gflops);
    if (c->model.input_dim < 1 || c->model.input_dim > (1 << 20))
        return pg_error(PG_EINVAL, "model.input_dim: must lie in [1, 1048576], got %d",
                        c->model.input_dim);
    if (!strcmp(c->model.type, "gpt")) {
        if (c->model.vocab < 2 || c->model.vocab > (1 << 24))
            return pg_error(PG_EINVAL, "model.vocab: must lie in [2, 16777216], got %d",
                            c->model.vocab);
        if (c->model.ctx < 1 || c->model.ctx > 65536)
            return pg_error(PG_EINVAL, "model.ctx: must lie in [1, 65536], got %d", c->model.ctx);
        if (c->model.depth < 1 || c->model.depth > 1024)
            return pg_error(PG_EINVAL, "model.depth: must lie in [1, 1024], got %d",
                            c->model.depth);
        if (c->model.heads < 1 || c->model.width < 1 || c->model.width > 65536 ||
            c->model.width % c->model.heads)
            return pg_error(PG_EINVAL,
                            "model.width=%d must be positive and divisible by model.heads=%d",
                            c->model.width, c->model.heads);
        if (c->model.tied != 0 && c->model.tied != 1)
            return pg_error(PG_EINVAL, "model.tied: expected 0 or 1, got %d", c->model.tied);
    }
    if (!(c->data.val_fraction >= 0 && c->data.val_fraction < 1))
        return pg_error(PG_EINVAL, "data.val_fraction: must lie in [0, 1), got %g",
                        c->data.val_fraction);
    if (c->train.eval_every < 0 || c->train.eval_batches < 1)
        return pg_error(PG_EINVAL, "train.eval_every must be >= 0 and train.eval_batches >= 1, "
                                   "got %d and %d",
                        c->train.eval_every, c->train.eval_batches);
    if (c->data.teacher_hidden < 1 || c->data.teacher_hidden > (1 << 20))
        return pg_error(PG_EINVAL, "data.teacher_hidden: must lie in [1, 1048576], got %d",
                        c->data.teacher_hidden);
    if (c->train.steps < 0)
        return pg_error(PG_EINVAL, "train.steps: must be >= 0, got %d", c->train.steps);
    if (c->train.batch_size < 1 || c->train.batch_size > (1 << 20))
        return pg_error(PG_EINVAL, "train.batch_size: must lie in [1, 1048576], got %d",
                        c->train.batch_size);
    if (c->train.microbatches < 1)
        return pg_error(PG_EINVAL, "train.microbatches: must be >= 1, got %d",
                        c->train.microbatches);
    if (c->train.log_every < 1)
        return pg_error(PG_EINVAL, "train.log_every: must be >= 1, got %d", c->train.log_every);
    if (!(c->optim.lr > 0))
        return pg_error(PG_EINVAL, "optim.lr: must be > 0, got %g", c->optim.lr);
    if (c->optim.beta1 < 0 || c->optim.beta1 >= 1 || c->optim.beta2 < 0 || c->optim.beta2 >= 1)
        return pg_error(PG_EINVAL, "optim.beta1/beta2: must lie in [0, 1)");
    if (!(c->optim.eps > 0))
        return pg_error(PG_EINVAL, "optim.eps: must be > 0, got %g", c->optim.eps);
    if (c->optim.weight_decay < 0 || c->optim.clip_norm < 0 || c->optim.momentum < 0)
        return pg_error(PG_EINVAL,
                        "optim.weight_decay, clip_norm and momentum must be >= 0");
    if (c->optim.warmup_steps < 0)
        return pg_error(PG_EINVAL, "optim.warmup_steps: must be >= 0");
    if (c->optim.min_lr_ratio < 0 || c->optim.min_lr_ratio > 1)
        return pg_error(PG_EINVAL, "optim.min_lr_ratio: must lie in [0, 1], got %g",
                        c->optim.min_lr_ratio);
    if (c->parallel.pp < 1)
        return pg_error(PG_EINVAL, "parallel.pp: must be >= 1, got %d", c->parallel.pp);
    if (c->parallel.dp < 0)
        return pg_error(PG_EINVAL, "parallel.dp: must be >= 0, got %d", c->parallel.dp);
    if (c->parallel.chunks < 0)
        return pg_error(PG_EINVAL, "parallel.chunks: must be >= 0, got %d", c->parallel.chunks);
    if (!strcmp(c->parallel.schedule, "file") && !c->parallel.schedule_file[0])
        return pg_error(PG_EINVAL, "parallel.schedule=file needs parallel.schedule_file");
    if (c->checkpoint.every < 0 || c->checkpoint.keep < 0)
        return pg_error(PG_EINVAL, "checkpoint.every and checkpoint.keep: must be >= 0");
    if (c->checkpoint.async != 0 && c->checkpoint.async != 1)
        return pg_error(PG_EINVAL, "checkpoint.async: expected 0 or 1, got %d",
                        c->checkpoint.async);
    if (!c->checkpoint.dir[0]) return pg_error(PG_EINVAL, "checkpoint.dir: must not be empty");
    if (c->runtime.threads < 0)
        return pg_error(PG_EINVAL, "runtime.threads: must be >= 0, got %d", c->runtime.threads);
    if (!(c->runtime.watchdog_s >= 0))
        return pg_error(PG_EINVAL, "runtime.watchdog_s: must be >= 0 seconds (0 = off), got %g",
                        c->runtime.watchdog_s);
    return 0;
}

static void dump_value(const pg_config *c, const key_def *k, FILE *f)
{
    const char *field = (const char *)c + k->offset;
    switch (k->type) {
    case T_INT: fprintf(f, "%d", *(const int *)field); break;
    case T_LONG: fprintf(f, "%ld", *(const long *)field); break;
    case T_DOUBLE: fprintf(f, "%.17g", *(const double *)field); break;
    case T_STR: fputs(field, f); break;
    }
}

double pg_config_bucket_mb(const pg_config *c, const char *device)
{
    if (c->parallel.bucket_mb != -1) return c->parallel.bucket_mb;
    return strcmp(device, "cpu") ? 25.0 : 1.0;
}

void pg_config_dump(const pg_config *c, FILE *f)
{
    const char *section = "";
    for (size_t i = 0; i < NKEYS; i++) {
        if (strcmp(section, KEYS[i].section)) {
            section = KEYS[i].section;
            fprintf(f, "[%s]\n", section);
        }
        fprintf(f, "%s = ", KEYS[i].key);
        dump_value(c, &KEYS[i], f);
        fputc('\n', f);
    }
}

void pg_config_print_keys(FILE *f)
{
    for (size_t i = 0; i < NKEYS; i++) {
        char name[64];
        snprintf(name, sizeof name, "%s.%s", KEYS[i].section, KEYS[i].key);
        fprintf(f, "  %-24s %s\n  %-24s default: %s\n", name, KEYS[i].help, "", KEYS[i].def);
    }
}
