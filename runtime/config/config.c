/* config.c: the key table (type, allowed values or bounds, default, help),
 * INI parsing through inih, overrides, the rules between keys. */
#include "runtime/config/config.h"

#include "runtime/base/error.h"
#include "runtime/base/files.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

const char *const pg_model_type_names[] = {"mlp", "gpt", NULL};
const char *const pg_data_source_names[] = {"auto", "teacher", "tokens", NULL};
const char *const pg_optim_names[] = {"adamw", "sgd", NULL};
const char *const pg_decay_names[] = {"none", "cosine", NULL};
const char *const pg_order_names[] = {"auto", "replica-major", "stage-major", NULL};
const char *const pg_bind_names[] = {"auto", "cores", "none", NULL};
const char *const pg_device_names[] = {"auto", "cpu", "cuda", NULL};
const char *const pg_precision_names[] = {"fp32", "tf32", "bf16", NULL};
const char *const pg_comm_names[] = {"auto", "mpi", "nccl", NULL};
const char *const pg_kernels_names[] = {"fused", "reference", NULL};
const char *const pg_ckpt_on_error_names[] = {"stop", "continue", NULL};
const char *const pg_on_nonfinite_names[] = {"stop", "skip", NULL};

/* T_ENUM: an int field holding the index of the value in `names` */
typedef enum { T_INT, T_LONG, T_DOUBLE, T_STR, T_ENUM } key_type;

/* bounds of a number: lo/hi, each closed unless flagged open; hi = INFINITY
 * for none; for T_STR, lo = 1 means the value must not be empty */
enum { LO_OPEN = 1, HI_OPEN = 2, OR_AUTO = 4 /* -1 is also allowed: "by device" etc. */ };

typedef struct key_def {
    const char *section, *key;
    key_type type;
    size_t offset, size;
    const char *def;
    const char *help;
    double lo, hi;
    int open;
    const char *const *names; /* T_ENUM */
    const char *noun;         /* T_ENUM: what a value is, for messages ("device") */
} key_def;

#define FIELD(field) offsetof(pg_config, field), sizeof(((pg_config *)0)->field)
/* numbers with bounds: [lo, hi], >= lo, > lo, [lo, hi), (lo, hi], [lo, hi] or -1,
 * none; strings */
#define RANGE(lo, hi) (lo), (hi), 0, NULL, NULL
#define ATLEAST(lo) (lo), INFINITY, 0, NULL, NULL
#define ABOVE(lo) (lo), INFINITY, LO_OPEN, NULL, NULL
#define BELOW(lo, hi) (lo), (hi), HI_OPEN, NULL, NULL
#define RANGE_ABOVE(lo, hi) (lo), (hi), LO_OPEN, NULL, NULL
#define RANGE_OR_AUTO(lo, hi) (lo), (hi), OR_AUTO, NULL, NULL
#define ANY -INFINITY, INFINITY, 0, NULL, NULL
#define NONEMPTY 1, INFINITY, 0, NULL, NULL
#define TEXT 0, 0, 0, NULL, NULL
#define K(sec, name, T, field, def, bounds, help) \
    {sec, name, T, FIELD(field), def, help, bounds}
/* a choice among names */
#define KE(sec, name, field, def, names, noun, help) \
    {sec, name, T_ENUM, FIELD(field), def, help, 0, 0, 0, names, noun}

static const key_def KEYS[] = {
    KE("model", "type", model.type, "gpt", pg_model_type_names, "model type",
       "model family: gpt (GPT-2 style decoder, keys vocab..tied) | mlp (model.layers)"),
    K("model", "input_dim", T_INT, model.input_dim, "32", RANGE(1, 1 << 20),
      "input features per sample (mlp)"),
    K("model", "layers", T_STR, model.layers, "linear:128 gelu resmlp:256 resmlp:256 resmlp:256 layernorm linear:64 gelu linear:8 mse", TEXT,
      "layer list, e.g. 'linear:64 gelu resmlp:128 layernorm linear:8 mse' (docs/config.md)"),
    K("model", "vocab", T_INT, model.vocab, "256", RANGE(2, 1 << 24),
      "gpt: vocabulary size (256 = byte-level tokens); the dataset's must not exceed it"),
    K("model", "ctx", T_INT, model.ctx, "64", RANGE(1, 65536),
      "gpt: context length T (tokens per sample)"),
    K("model", "depth", T_INT, model.depth, "4", RANGE(1, 1024),
      "gpt: transformer blocks (n_layer)"),
    K("model", "heads", T_INT, model.heads, "4", RANGE(1, 65536),
      "gpt: attention heads per block (n_head)"),
    K("model", "width", T_INT, model.width, "64", RANGE(1, 65536),
      "gpt: model width C (n_embd)"),
    K("model", "tied", T_INT, model.tied, "1", RANGE(0, 1),
      "gpt: 1 = the LM head reuses the token embedding (GPT-2), 0 = its own matrix"),
    KE("data", "source", data.source, "auto", pg_data_source_names, "data source",
       "auto (tokens for gpt, teacher for mlp) | teacher: a fixed random network labels "
      "random inputs (mlp) | tokens: windows of a token dataset (gpt)"),
    K("data", "path", T_STR, data.path, "", TEXT,
      "tokens: HDF5 token dataset (pipegrid prep); empty = the built-in corpus "
      "(/usr/share/common-licenses, byte-level)"),
    K("data", "val_fraction", T_DOUBLE, data.val_fraction, "0.1", BELOW(0, 1),
      "tokens: share of the token stream (its end) held out for validation"),
    K("data", "teacher_hidden", T_INT, data.teacher_hidden, "64", RANGE(1, 1 << 20),
      "teacher's hidden width"),
    K("data", "seed", T_LONG, data.seed, "1234", ANY,
      "seed of the task (teacher, samples)"),
    K("train", "steps", T_INT, train.steps, "600", ATLEAST(0),
      "optimizer steps"),
    K("train", "batch_size", T_INT, train.batch_size, "16", RANGE(1, 1 << 20),
      "global batch: samples per step over all replicas"),
    K("train", "microbatches", T_INT, train.microbatches, "4", ATLEAST(1),
      "microbatches per replica per step; must divide batch_size/dp"),
    K("train", "seed", T_LONG, train.seed, "42", ANY,
      "seed of the initial weights"),
    K("train", "log_every", T_INT, train.log_every, "10", ATLEAST(1),
      "log a line every N steps"),
    K("train", "eval_every", T_INT, train.eval_every, "100", ATLEAST(0),
      "validation loss every N steps and at the end (0 = never; needs a validation split)"),
    K("train", "eval_batches", T_INT, train.eval_batches, "4", ATLEAST(1),
      "global batches of validation samples per evaluation"),
    KE("optim", "name", optim.name, "adamw", pg_optim_names, "optimizer",
       "the optimizer (sgd: with momentum)"),
    K("optim", "lr", T_DOUBLE, optim.lr, "0.003", ABOVE(0),
      "peak learning rate"),
    K("optim", "beta1", T_DOUBLE, optim.beta1, "0.9", BELOW(0, 1),
      "AdamW beta1"),
    K("optim", "beta2", T_DOUBLE, optim.beta2, "0.999", BELOW(0, 1),
      "AdamW beta2"),
    K("optim", "eps", T_DOUBLE, optim.eps, "1e-8", ABOVE(0),
      "AdamW epsilon"),
    K("optim", "weight_decay", T_DOUBLE, optim.weight_decay, "0.0", ATLEAST(0),
      "decoupled weight decay (matrices only)"),
    K("optim", "momentum", T_DOUBLE, optim.momentum, "0.9", ATLEAST(0),
      "SGD momentum"),
    K("optim", "clip_norm", T_DOUBLE, optim.clip_norm, "1.0", ATLEAST(0),
      "clip the global gradient norm to this (0 = off)"),
    K("optim", "warmup_steps", T_INT, optim.warmup_steps, "20", ATLEAST(0),
      "linear warmup steps"),
    KE("optim", "decay", optim.decay, "cosine", pg_decay_names, "decay",
       "learning-rate decay after the warmup (cosine: to min_lr_ratio*lr at the last step)"),
    K("optim", "min_lr_ratio", T_DOUBLE, optim.min_lr_ratio, "0.1", RANGE(0, 1),
      "final lr / peak lr"),
    K("parallel", "pp", T_INT, parallel.pp, "1", ATLEAST(1),
      "pipeline stages"),
    K("parallel", "dp", T_INT, parallel.dp, "0", ATLEAST(0),
      "data-parallel replicas (0 = ranks / pp)"),
    K("parallel", "schedule", T_STR, parallel.schedule, "1f1b", TEXT,
      "gpipe | 1f1b | interleaved | zbh1 | zbv | file (docs/schedules.md)"),
    K("parallel", "chunks", T_INT, parallel.chunks, "0", ATLEAST(0),
      "model chunks (stages) per rank; 0 = the schedule's own (2 for interleaved and zbv)"),
    K("parallel", "schedule_file", T_STR, parallel.schedule_file, "", TEXT,
      "schedule file for schedule=file: one line per rank, actions like 0F0 0I0 0W0"),
    K("parallel", "partition", T_STR, parallel.partition, "auto", TEXT,
      "auto (balance estimated cost) | uniform | layers per stage, e.g. 3,3,2"),
    KE("parallel", "order", parallel.order, "auto", pg_order_names, "order",
       "which grid cell each rank takes: auto (cheapest predicted communication for the "
      "node topology, docs/placement.md) | replica-major (rank = replica*pp + stage: a "
      "pipeline on consecutive ranks, so on one node) | stage-major (rank = stage*dp + "
      "replica: a stage group on consecutive ranks)"),
    K("parallel", "bucket_mb", T_DOUBLE, parallel.bucket_mb, "-1", RANGE_OR_AUTO(0, 65536),
      "gradient allreduce bucket size in MiB: buckets launch during the last backward, "
      "from the last layer back (0 = one bucket per stage, launched after its backward; "
      "-1 = 25 on CUDA, 1 on the CPU)"),
    KE("placement", "bind", placement.bind, "auto", pg_bind_names, "value",
       "auto (bind each rank to its cores and NUMA memory when every rank of the node gets "
      "its own core and no launcher bound it) | cores (always; error when oversubscribed) "
      "| none"),
    K("placement", "net_gbs", T_DOUBLE, placement.net_gbs, "12.5", ABOVE(0),
      "bandwidth of one NIC between nodes in GB/s, for choosing the order"),
    K("placement", "cross_rail", T_DOUBLE, placement.cross_rail, "0.5", RANGE_ABOVE(0, 1),
      "bandwidth factor between NICs on different rails (rail = NIC position by PCI bus id)"),
    K("placement", "gpu_links", T_STR, placement.gpu_links, "", TEXT,
      "NVLink for topologies without it, used as NVLink read from hwloc: nvlink:GBS (every "
      "GPU pair of a node, GB/s one way) | file:PATH (lines 'BUSID BUSID GBS') | empty = "
      "the topology's, or NVML's on a live node (docs/placement.md)"),
    KE("runtime", "device", runtime.device, "cpu", pg_device_names, "device",
       "compute backend: cpu | cuda (one GPU per rank; needs a CUDA build) | auto (cuda when "
      "a GPU is visible, else cpu with a one-line note)"),
    KE("runtime", "precision", runtime.precision, "fp32", pg_precision_names, "precision",
       "matrix products on cuda: fp32 | tf32 | bf16 (tensor cores, fp32 master weights; "
      "tolerances in docs/gpu.md); the CPU computes in fp32"),
    KE("runtime", "kernels", runtime.kernels, "fused", pg_kernels_names, "value",
       "the fused kernels (classifier loss and dlogits in place, no (N,V) probability buffer; "
       "on cuda also the sorted embedding backward and split column sums) or the plain path "
       "they replace (reference), to rule one out without a rebuild"),
    KE("runtime", "comm", runtime.comm, "auto", pg_comm_names, "backend",
       "communication backend: mpi (host memory; device buffers staged through it) | nccl "
      "(CUDA device buffers: gradient allreduce and pipeline sends; needs runtime.device=cuda) "
      "| auto (on cuda: nccl for the gradient allreduce, staged mpi for pipeline sends)"),
    K("runtime", "threads", T_INT, runtime.threads, "0", ATLEAST(0),
      "BLAS threads per rank (0 = cores per node / ranks per node)"),
    K("runtime", "peak_gflops", T_DOUBLE, runtime.peak_gflops, "0", ATLEAST(0),
      "peak GFLOP/s of one rank's device, the denominator of MFU in --metrics "
      "(0 = MFU not reported)"),
    K("runtime", "watchdog_s", T_DOUBLE, runtime.watchdog_s, "300", ATLEAST(0),
      "watchdog: seconds one action (forward, backward, a wait on a peer, the step-end "
      "allreduce, a checkpoint save, ...) may take before the job is ended (0 = off; "
      "docs/reliability.md)"),
    KE("runtime", "on_nonfinite", runtime.on_nonfinite, "stop", pg_on_nonfinite_names, "value",
       "NaN/Inf in the loss or gradients (checked on every stage before the optimizer step): "
      "stop (one line naming the step and the first stage where it appeared, exit 1) | "
      "skip (skip the optimizer step on every rank, log a line, go on)"),
    K("runtime", "halt_file", T_STR, runtime.halt_file, "", TEXT,
      "when this file exists at a step boundary, checkpoint and exit 75 as on SIGTERM or the "
      "halt signal (docs/slurm.md); empty = none"),
    K("runtime", "halt_signal", T_STR, runtime.halt_signal, "USR1", TEXT,
      "signal that, like SIGTERM, makes every rank stop after the current step, checkpoint and "
      "exit 75: USR1 | USR2 | INT | HUP | QUIT (checked by runtime/guard/halt.c; sbatch "
      "--signal=NAME@SECONDS sends it to the ranks; docs/slurm.md)"),
    K("checkpoint", "dir", T_STR, checkpoint.dir, "checkpoints", NONEMPTY,
      "directory of the HDF5 checkpoints (step_NNNNNNNN.h5) and the `latest` pointer"),
    K("checkpoint", "every", T_INT, checkpoint.every, "0", ATLEAST(0),
      "save every N steps and after the last step (0 = never; docs/checkpoint-format.md)"),
    K("checkpoint", "keep", T_INT, checkpoint.keep, "3", ATLEAST(0),
      "keep the newest K checkpoints, never the one resumed from (0 = keep all)"),
    K("checkpoint", "async", T_INT, checkpoint.async, "0", RANGE(0, 1),
      "1: copy the state to host memory and write it while training continues"),
    KE("checkpoint", "on_error", checkpoint.on_error, "stop", pg_ckpt_on_error_names, "value",
       "a failed save (full disk, I/O error, NaN/Inf in the state; its file is removed and "
       "`latest` still names the previous checkpoint): stop (one line, exit 1) | continue "
       "(one line, training goes on)"),
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

/* names as "a, b or c" (sep ", ", last " or ") or "a | b | c" into buf */
static void list_names(const char *const *names, const char *sep, const char *last, char *buf,
                       size_t n)
{
    size_t len = 0;
    buf[0] = '\0';
    for (int i = 0; names[i] && len < n; i++)
        len += (size_t)snprintf(buf + len, n - len, "%s%s", i == 0 ? "" : names[i + 1] ? sep : last,
                                names[i]);
}

static int in_bounds(const key_def *k, double v)
{
    int lo_ok = (k->open & LO_OPEN) ? v > k->lo : v >= k->lo;
    int hi_ok = (k->open & HI_OPEN) ? v < k->hi : v <= k->hi;
    return (lo_ok && hi_ok) || ((k->open & OR_AUTO) && v == -1);
}

/* k's bounds as "must be > 0" or "must lie in [1, 1048576]" into buf; with
 * overflow (the value lies outside an int), the int's range bounds them */
static void bounds_rule(const key_def *k, int overflow, char *buf, size_t n)
{
    double lo = k->lo, hi = k->hi;
    if (overflow) {
        lo = lo < INT_MIN ? INT_MIN : lo;
        hi = hi > INT_MAX ? INT_MAX : hi;
    }
    if (isinf(hi))
        snprintf(buf, n, "must be %s %.15g", (k->open & LO_OPEN) ? ">" : ">=", lo);
    else
        snprintf(buf, n, "must lie in %c%.15g, %.15g%c%s", (k->open & LO_OPEN) ? '(' : '[', lo,
                 hi, (k->open & HI_OPEN) ? ')' : ']', (k->open & OR_AUTO) ? " or be -1" : "");
}

/* "optim.lr: must be > 0, got -0.5", "train.batch_size: must lie in [1, 1048576], got 0" */
static int out_of_bounds(const key_def *k, const char *value, int overflow, const char *where)
{
    char rule[96];
    bounds_rule(k, overflow, rule, sizeof rule);
    return pg_error(PG_EINVAL, "%s: %s.%s: %s, got %s", where, k->section, k->key, rule, value);
}

/* Convert `value` for key `k`, check it against the key's values or bounds,
 * and store it into its field; `where` (file:line or the option) prefixes
 * error messages. */
static int store(pg_config *c, const key_def *k, const char *value, int append, const char *where)
{
    char *field = (char *)c + k->offset;
    char *end = NULL;
    errno = 0;
    switch (k->type) {
    case T_INT: {
        long v = strtol(value, &end, 10);
        if (end == value || *end || (errno && errno != ERANGE))
            return pg_error(PG_EINVAL, "%s: %s.%s: expected an integer, got '%s'", where,
                            k->section, k->key, value);
        if (errno || v < INT_MIN || v > INT_MAX) return out_of_bounds(k, value, 1, where);
        if (!in_bounds(k, (double)v)) return out_of_bounds(k, value, 0, where);
        *(int *)field = (int)v;
        break;
    }
    case T_LONG: {
        long v = strtol(value, &end, 10);
        if (end == value || *end || (errno && errno != ERANGE))
            return pg_error(PG_EINVAL, "%s: %s.%s: expected an integer, got '%s'", where,
                            k->section, k->key, value);
        if (errno)
            return pg_error(PG_EINVAL, "%s: %s.%s: must lie in [%ld, %ld], got %s", where,
                            k->section, k->key, LONG_MIN, LONG_MAX, value);
        if (!in_bounds(k, (double)v)) return out_of_bounds(k, value, 0, where);
        *(long *)field = v;
        break;
    }
    case T_DOUBLE: {
        double v = strtod(value, &end);
        if (end == value || *end || errno || !isfinite(v))
            return pg_error(PG_EINVAL, "%s: %s.%s: expected a number, got '%s'", where,
                            k->section, k->key, value);
        if (!in_bounds(k, v)) return out_of_bounds(k, value, 0, where);
        *(double *)field = v;
        break;
    }
    case T_ENUM: {
        int i = 0;
        while (k->names[i] && strcmp(k->names[i], value)) i++;
        if (!k->names[i]) {
            char list[128];
            list_names(k->names, ", ", " or ", list, sizeof list);
            return pg_error(PG_EINVAL, "%s: %s.%s: unknown %s '%s' (expected %s)", where,
                            k->section, k->key, k->noun, value, list);
        }
        *(int *)field = i;
        break;
    }
    case T_STR: {
        if (k->lo > 0 && !append && !*value)
            return pg_error(PG_EINVAL, "%s: %s.%s: must not be empty", where, k->section, k->key);
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
    char *text;
    size_t len;
    int rc = pg_read_file(path, "config file", &text, &len);
    if (rc) return rc;
    if (strlen(text) != len)
        rc = pg_error(PG_EFORMAT, "%s: not a text file (contains NUL bytes)", path);
    else if (len)
        rc = pg_config_load_string(c, text, path);
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
    return store(c, k, eq + 1, 0, "--set");
}

static const key_def *find_dotted(const char *key)
{
    const char *dot = strchr(key, '.');
    for (size_t i = 0; dot && i < NKEYS; i++)
        if (!strncmp(KEYS[i].section, key, (size_t)(dot - key)) &&
            !KEYS[i].section[dot - key] && !strcmp(KEYS[i].key, dot + 1))
            return &KEYS[i];
    return NULL;
}

int pg_config_set_key(pg_config *c, const char *key, const char *value, const char *origin)
{
    const key_def *k = find_dotted(key);
    if (!k) return pg_error(PG_EINVAL, "%s: unknown key '%s'", origin, key);
    return store(c, k, value, 0, origin);
}

void pg_config_values(const char *key, char *buf, size_t n)
{
    const key_def *k = find_dotted(key);
    if (k && k->type == T_ENUM) list_names(k->names, " | ", " | ", buf, n);
    else if (n) buf[0] = '\0';
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
    if (c->placement.gpu_links[0] && !gpu_links_ok(c->placement.gpu_links))
        return pg_error(PG_EINVAL,
                        "placement.gpu_links: expected nvlink:GBS (GB/s > 0, every GPU pair of a "
                        "node) or file:PATH, got '%s'",
                        c->placement.gpu_links);
    if (c->model.type == PG_MODEL_GPT && c->model.width % c->model.heads)
        return pg_error(PG_EINVAL, "model.width=%d must be positive and divisible by model.heads=%d",
                        c->model.width, c->model.heads);
    if (!strcmp(c->parallel.schedule, "file") && !c->parallel.schedule_file[0])
        return pg_error(PG_EINVAL, "parallel.schedule=file needs parallel.schedule_file");
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
    case T_ENUM: fputs(k->names[*(const int *)field], f); break;
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
        fprintf(f, "  %-24s %s\n", name, KEYS[i].help);
        char rule[128];
        if (KEYS[i].type == T_ENUM) {
            list_names(KEYS[i].names, " | ", " | ", rule, sizeof rule);
            fprintf(f, "  %-24s values: %s\n", "", rule);
        } else if (KEYS[i].type != T_STR && !(isinf(KEYS[i].lo) && isinf(KEYS[i].hi))) {
            bounds_rule(&KEYS[i], 0, rule, sizeof rule);
            fprintf(f, "  %-24s %s\n", "", rule);
        }
        fprintf(f, "  %-24s default: %s\n", "", KEYS[i].def);
    }
}
