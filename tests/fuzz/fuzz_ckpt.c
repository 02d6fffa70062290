/* fuzz_ckpt.c: the checkpoint verifier and inspector (io/checkpoint/ckpt_verify.c),
 * which share the header reader and the per-tensor checks
 * (pg_ckpt_read_header, pg_ckpt_open_tensor in io/checkpoint/ckpt_load.c) with
 * `train --resume`; they need no MPI.
 *
 * Structure-aware, as fuzz_dataset.c: HDF5's parser is not the target. The
 * input picks a small model (mlp or gpt, tied or not, adamw or sgd) and the
 * target writes the checkpoint pipegrid would write for it (every root
 * attribute, every tensor with its crc32) with the HDF5 library, after
 * applying the edits the input chooses: the recorded config changed (other
 * sizes, another model, another optimizer, or raw input text), root
 * attributes deleted or given other values and types, tensors deleted,
 * given another dtype, rank or shape (including huge extents never
 * written), stored chunked and deflated, their crc32 wrong, missing or of
 * another type, bytes flipped inside their stored data, and unexpected
 * datasets added. The verifier must report each as one message, allocate
 * nothing a file's claims have not been checked against, and never crash. */
#include "io/checkpoint/checkpoint.h"
#include "io/checkpoint/ckpt_h5.h"
#include "io/checkpoint/ckpt_layout.h"
#include "tests/fuzz/fuzz_input.h"

#include <fcntl.h>
#include <string.h>

enum { MAX_DATASETS = 128, MAX_FLIPS = 4 };

typedef struct tensor_edit {
    int deleted, layout;   /* layout: 0 contiguous, 1 chunked, 2 chunked + deflate */
    int retyped, rank, unwritten;
    hid_t dtype;
    hsize_t dims[3];
    int crc_mode;          /* 0 right, 1 value, 2 absent, 3 string, 4 two values */
    uint32_t crc;
    int nflips;
    uint64_t flip_at[MAX_FLIPS];
} tensor_edit;

static const char *const root_names[] = {
    "format", "format_version", "step", "data_position", "optimizer_step", "optimizer",
    "config", "grid_pp", "grid_dp", "nranks", "schedule", "microbatches", "partition",
    "train_seed", "data_seed", "rng_state", "writer", "created"};
enum { NROOT = sizeof root_names / sizeof root_names[0] };

typedef struct root_edit {
    int mode; /* 0 as written, 1 deleted, 2 int64, 3 string, 4 int64 x3, 5 float */
    int64_t v;
    char s[48];
} root_edit;

/* The model the tensors are written for. */
static int model_config(fuzz_in *in, pg_config *c)
{
    static const char *const models[][6] = {
        {"model.type=mlp", "model.layers=linear:4 relu linear:2 mse", NULL},
        {"model.type=mlp", "model.input_dim=3", "model.layers=resmlp:5 layernorm linear:2 xent", NULL},
        {"model.type=gpt", "model.vocab=16", "model.ctx=4", "model.width=8", "model.depth=1", NULL},
        {"model.type=gpt", "model.vocab=12", "model.ctx=3", "model.width=4", "model.depth=1",
         "model.tied=0"},
    };
    pg_config_init(c);
    const char *const *m = models[fuzz_pick(in, 4)];
    for (int i = 0; i < 6 && m[i]; i++) pg_config_set(c, m[i]);
    if (fuzz_pick(in, 2)) pg_config_set(c, "optim.name=sgd");
    return pg_config_check(c);
}

/* The config attribute: the model's, edited, or raw input text. */
static char *recorded_config(fuzz_in *in, pg_config c)
{
    static const char *const keys[] = {"model.width", "model.vocab", "model.ctx", "model.depth",
                                       "model.heads", "model.input_dim", "model.tied",
                                       "optim.name", "model.layers", "model.type"};
    char *text = NULL;
    if (fuzz_pick(in, 8) == 0) { /* raw text from the input */
        size_t len = fuzz_take(in, 1);
        text = calloc(len + 1, 1);
        for (size_t i = 0; text && i < len; i++) text[i] = (char)fuzz_take(in, 1);
        return text;
    }
    for (unsigned e = fuzz_pick(in, 4) == 0 ? 1 + fuzz_pick(in, 3) : 0; e > 0; e--) {
        unsigned k = fuzz_pick(in, 10);
        char kv[128];
        if (k == 7) snprintf(kv, sizeof kv, "%s=%s", keys[k], fuzz_pick(in, 2) ? "sgd" : "adamw");
        else if (k == 8) snprintf(kv, sizeof kv, "%s=linear:%u relu linear:2 mse", keys[k],
                                  (unsigned)fuzz_take(in, 4));
        else if (k == 9) snprintf(kv, sizeof kv, "%s=%s", keys[k], fuzz_pick(in, 2) ? "gpt" : "mlp");
        else snprintf(kv, sizeof kv, "%s=%lld", keys[k], (long long)(int32_t)fuzz_take(in, 4));
        pg_config_set(&c, kv);
    }
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f) return NULL;
    pg_config_dump(&c, f);
    fclose(f);
    return text;
}

static void read_edits(fuzz_in *in, int D, tensor_edit *te, root_edit *re)
{
    const hid_t types[] = {H5T_IEEE_F32LE, H5T_IEEE_F64LE, H5T_STD_I32LE, H5T_IEEE_F32BE,
                           H5T_STD_U8LE};
    for (unsigned n = fuzz_pick(in, 8); n > 0; n--) {
        unsigned op = fuzz_pick(in, 8);
        if (op == 5) { /* a root attribute */
            root_edit *r = &re[fuzz_pick(in, NROOT)];
            r->mode = 1 + (int)fuzz_pick(in, 5);
            r->v = (int64_t)fuzz_take(in, fuzz_pick(in, 2) ? 8 : 1);
            for (size_t i = 0, len = fuzz_pick(in, sizeof r->s); i < len; i++)
                r->s[i] = (char)(' ' + fuzz_pick(in, 95));
            continue;
        }
        if (D == 0) continue;
        tensor_edit *t = &te[fuzz_pick(in, (unsigned)D)];
        switch (op) {
        case 0: t->deleted = 1; break;
        case 1:
            t->retyped = 1;
            t->dtype = types[fuzz_pick(in, 5)];
            t->rank = (int)fuzz_pick(in, 4);
            t->unwritten = fuzz_pick(in, 4) == 0;
            for (int i = 0; i < 3; i++)
                t->dims[i] = t->unwritten ? (hsize_t)1 << fuzz_pick(in, 24) : fuzz_pick(in, 9);
            break;
        case 2: t->crc_mode = 1; t->crc = (uint32_t)fuzz_take(in, 4); break;
        case 3: t->crc_mode = 2 + (int)fuzz_pick(in, 3); break;
        case 4:
            if (t->nflips < MAX_FLIPS) t->flip_at[t->nflips++] = fuzz_take(in, 4);
            break;
        case 6: t->deleted = 2; break; /* deleted, and an unexpected dataset added */
        case 7: t->layout = 1 + (int)fuzz_pick(in, 2); break;
        }
    }
}

static void put_root(hid_t f, const root_edit *r, const char *name, const char *str, int64_t v)
{
    int64_t three[3] = {r->v, r->v, r->v};
    double d = (double)r->v;
    switch (r->mode) {
    case 0: str ? pg_h5_put_str(f, name, str) : pg_h5_put_i64(f, name, &v, 1); break;
    case 1: break;
    case 2: pg_h5_put_i64(f, name, &r->v, 1); break;
    case 3: pg_h5_put_str(f, name, r->s); break;
    case 4: pg_h5_put_i64(f, name, three, 3); break;
    case 5: {
        hid_t sp = H5Screate(H5S_SCALAR);
        hid_t a = H5Acreate2(f, name, H5T_IEEE_F64LE, sp, H5P_DEFAULT, H5P_DEFAULT);
        if (a >= 0) {
            H5Awrite(a, H5T_NATIVE_DOUBLE, &d);
            H5Aclose(a);
        }
        H5Sclose(sp);
        break;
    }
    }
}

static void put_crc(hid_t d, const tensor_edit *e, uint32_t right)
{
    if (e->crc_mode == 0 || e->crc_mode == 1) pg_h5_put_u32(d, "crc32", e->crc_mode ? e->crc : right);
    else if (e->crc_mode == 3) pg_h5_put_str(d, "crc32", "0x1234");
    else if (e->crc_mode == 4) {
        int64_t two[2] = {right, right};
        pg_h5_put_i64(d, "crc32", two, 2);
    }
}

/* One tensor dataset as the edits say; returns its data's file offset
 * (contiguous only) and stored size for the flips. */
static haddr_t put_tensor(hid_t f, const char *name, const pg_ckpt_tensor *t, const tensor_edit *e,
                          hsize_t *stored)
{
    *stored = 0;
    hid_t lcpl = H5Pcreate(H5P_LINK_CREATE), dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_create_intermediate_group(lcpl, 1);
    hsize_t dims[3] = {t->dims[0], t->dims[1], 1};
    int rank = t->ndim;
    hid_t type = H5T_IEEE_F32LE;
    if (e->retyped) {
        memcpy(dims, e->dims, sizeof dims);
        rank = e->rank;
        type = e->dtype;
    }
    hsize_t total = 1;
    for (int i = 0; i < rank; i++) total *= dims[i];
    if ((e->layout || e->unwritten) && rank > 0 && total > 0) {
        hsize_t chunk[3];
        for (int i = 0; i < rank; i++) chunk[i] = dims[i] < 64 ? dims[i] : 64;
        H5Pset_chunk(dcpl, rank, chunk);
        if (e->layout == 2) H5Pset_deflate(dcpl, 1);
    }
    hid_t sp = rank ? H5Screate_simple(rank, dims, NULL) : H5Screate(H5S_SCALAR);
    hid_t d = H5Dcreate2(f, name, type, sp, lcpl, dcpl, H5P_DEFAULT);
    haddr_t off = HADDR_UNDEF;
    uint32_t crc = 0;
    if (d >= 0) {
        if (!e->unwritten && total > 0 && total <= (1 << 16)) {
            float *v = malloc(sizeof(float) * total);
            for (hsize_t i = 0; v && i < total; i++) v[i] = 0.01f * (float)(i % 97) - 0.3f;
            if (v) {
                H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, v);
                crc = pg_crc32(0, v, sizeof(float) * total);
            }
            free(v);
        }
        put_crc(d, e, crc);
        if (!e->layout && !e->unwritten) off = H5Dget_offset(d);
        *stored = H5Dget_storage_size(d);
        H5Dclose(d);
    }
    H5Sclose(sp);
    H5Pclose(dcpl);
    H5Pclose(lcpl);
    return off;
}

static FILE *devnull;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pg_h5_quiet();
    if (!devnull) devnull = fopen("/dev/null", "w");
    fuzz_in in = {data, size, 0};
    const char *path = fuzz_scratch("fuzz_ckpt");
    pg_config c;
    pg_model *m = NULL;
    pg_ckpt_tensor *t = NULL;
    int nt = 0;
    if (model_config(&in, &c) || pg_model_create(&m, &c) || pg_ckpt_tensors(m, &t, &nt)) {
        pg_model_free(m);
        return 0;
    }
    pg_ckpt_state states[PG_CKPT_MAX_STATES];
    int ns = pg_ckpt_states(pg_optim_names[c.optim.name], states), D = nt * ns;
    if (D > MAX_DATASETS) D = MAX_DATASETS;
    char *config = recorded_config(&in, c);
    tensor_edit te[MAX_DATASETS];
    root_edit re[NROOT];
    memset(te, 0, sizeof te);
    memset(re, 0, sizeof re);
    read_edits(&in, D, te, re);

    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    haddr_t off[MAX_DATASETS];
    hsize_t stored[MAX_DATASETS];
    if (f >= 0) {
        int64_t part[2] = {0, m->nlayers};
        for (int i = 0; i < NROOT; i++) {
            const char *n = root_names[i];
            const char *str = !strcmp(n, "format") ? PG_CKPT_FORMAT
                            : !strcmp(n, "optimizer") ? pg_optim_names[c.optim.name]
                            : !strcmp(n, "config") ? (config ? config : "")
                            : !strcmp(n, "schedule") ? "1f1b"
                            : !strcmp(n, "rng_state") || !strcmp(n, "writer") || !strcmp(n, "created") ? "fuzz"
                                                                                  : NULL;
            if (!strcmp(n, "partition") && re[i].mode == 0) pg_h5_put_i64(f, n, part, 2);
            else put_root(f, &re[i], n, str, !strcmp(n, "format_version") ? PG_CKPT_VERSION : 3);
        }
        for (int d = 0; d < D; d++) {
            off[d] = HADDR_UNDEF;
            const pg_ckpt_tensor *tt = &t[d % nt];
            if (tt->copy || te[d].deleted == 1) continue;
            char name[200];
            snprintf(name, sizeof name, "%s/%s%s", pg_ckpt_group(states[d / nt]), tt->name,
                     te[d].deleted == 2 ? ".stray" : "");
            off[d] = put_tensor(f, name, tt, &te[d], &stored[d]);
        }
        H5Fclose(f);
        int fd = open(path, O_RDWR);
        for (int d = 0; fd >= 0 && d < D; d++)
            for (int k = 0; k < te[d].nflips && off[d] != HADDR_UNDEF && stored[d] > 0; k++) {
                off_t at = (off_t)(off[d] + te[d].flip_at[k] % stored[d]);
                unsigned char b;
                if (pread(fd, &b, 1, at) == 1) {
                    b ^= (unsigned char)(1u << (te[d].flip_at[k] >> 24 & 7));
                    if (pwrite(fd, &b, 1, at) != 1) break;
                }
            }
        if (fd >= 0) close(fd);
        pg_ckpt_verify(path, NULL);
        pg_ckpt_inspect(path, devnull);
    }
    free(config);
    free(t);
    pg_model_free(m);
    return 0;
}
