/* weights.c: model weights between pipegrid checkpoints, stages and Hugging
 * Face GPT-2 directories (see weights.h). Serial: no MPI. */
#include "io/checkpoint/weights.h"

#include "io/checkpoint/ckpt_h5.h"
#include "io/safetensors.h"
#include "runtime/base/error.h"
#include "runtime/base/files.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

void pg_weights_free(pg_weights *w)
{
    if (w->values)
        for (int i = 0; i < w->nt; i++)
            if (!w->t[i].copy) free(w->values[i]);
    free(w->values);
    free(w->t);
    pg_model_free(w->m);
    memset(w, 0, sizeof *w);
}

/* Model, tensor list and value pointers for w->cfg. */
static int prepare(pg_weights *w)
{
    int rc = pg_model_create(&w->m, &w->cfg);
    if (!rc) rc = pg_ckpt_tensors(w->m, &w->t, &w->nt);
    if (!rc && !(w->values = calloc((size_t)w->nt, sizeof *w->values)))
        rc = pg_error(PG_ENOMEM, "weights: out of memory");
    return rc;
}

/* The tensor a tied copy shares (the first one of its name). */
static int first_copy(const pg_weights *w, int i)
{
    for (int j = 0; j < i; j++)
        if (!w->t[j].copy && !strcmp(w->t[j].name, w->t[i].name)) return j;
    return i;
}

int pg_weights_from_ckpt(pg_weights *w, const char *path)
{
    memset(w, 0, sizeof *w);
    pg_h5_quiet();
    struct stat st;
    if (stat(path, &st)) return pg_error(PG_EIO, "cannot open '%s': %s", path, strerror(errno));
    if (H5Fis_hdf5(path) <= 0) return pg_error(PG_EFORMAT, "%s: not an HDF5 file", path);
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) return pg_error(PG_EFORMAT, "%s: cannot open as HDF5 (truncated or damaged)", path);
    pg_ckpt_header h;
    int rc = pg_ckpt_read_header(f, path, &h);
    if (!rc) {
        w->cfg = h.cfg;
        w->step = h.step;
        pg_ckpt_header_free(&h);
        rc = prepare(w);
    }
    for (int i = 0; i < w->nt && !rc; i++) {
        const pg_ckpt_tensor *t = &w->t[i];
        if (t->copy) {
            w->values[i] = w->values[first_copy(w, i)];
            continue;
        }
        char name[160];
        snprintf(name, sizeof name, "/params/%s", t->name);
        uint32_t want = 0;
        hid_t d = pg_ckpt_open_tensor(f, path, name, t, &want, &rc);
        if (rc) break;
        if (!(w->values[i] = malloc(sizeof(float) * t->n)))
            rc = pg_error(PG_ENOMEM, "%s: out of memory for %s", path, name);
        else if (H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, w->values[i]) < 0)
            rc = pg_error(PG_EIO, "%s: reading dataset %s failed", path, name);
        else if (pg_crc32(0, w->values[i], sizeof(float) * t->n) != want)
            rc = pg_error(PG_EFORMAT, "%s: dataset %s: CRC-32 mismatch: the checkpoint is "
                                      "corrupted", path, name);
        H5Dclose(d);
    }
    H5Fclose(f);
    if (rc) pg_weights_free(w);
    return rc;
}

void pg_weights_to_stage(const pg_weights *w, pg_stage *st)
{
    for (int i = 0; i < w->nt; i++) {
        const pg_ckpt_tensor *t = &w->t[i];
        if (t->layer < st->lo || t->layer >= st->hi) continue;
        size_t off = st->layers[t->layer - st->lo].params[t->param].offset;
        st->ops->upload(st->params + off, w->values[i], sizeof(float) * t->n);
    }
}

/* ---- Hugging Face GPT-2 ---- */

/* What pipegrid's GPT takes from config.json (GPT2Config's defaults where a
 * key is absent: save_pretrained leaves out keys equal to the defaults). */
typedef struct hf_config {
    int vocab, npos, width, depth, heads, tied;
} hf_config;

/* An integer key (def when absent): 0, or an error naming file and key. */
static int get_int(const cJSON *j, const char *path, const char *key, int def, int lo, int hi,
                   int *v)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(j, key);
    if (!x || cJSON_IsNull(x)) {
        *v = def;
        return 0;
    }
    if (!cJSON_IsNumber(x) || x->valuedouble != floor(x->valuedouble) || x->valuedouble < lo ||
        x->valuedouble > hi)
        return pg_error(PG_EFORMAT, "%s: %s: expected an integer in [%d, %d]", path, key, lo, hi);
    *v = (int)x->valuedouble;
    return 0;
}

static int read_hf_config(const char *dir, hf_config *hc)
{
    char path[1100];
    snprintf(path, sizeof path, "%s/config.json", dir);
    char *text = NULL;
    size_t len;
    int rc = pg_read_file(path, "Hugging Face config", &text, &len);
    if (rc) return rc;
    cJSON *j = cJSON_Parse(text);
    free(text);
    if (!cJSON_IsObject(j)) {
        cJSON_Delete(j);
        return pg_error(PG_EFORMAT, "%s: not a JSON object", path);
    }
    const cJSON *mt = cJSON_GetObjectItemCaseSensitive(j, "model_type");
    const cJSON *act = cJSON_GetObjectItemCaseSensitive(j, "activation_function");
    const cJSON *eps = cJSON_GetObjectItemCaseSensitive(j, "layer_norm_epsilon");
    const cJSON *tie = cJSON_GetObjectItemCaseSensitive(j, "tie_word_embeddings");
    const cJSON *scale = cJSON_GetObjectItemCaseSensitive(j, "scale_attn_weights");
    const cJSON *bylayer = cJSON_GetObjectItemCaseSensitive(j, "scale_attn_by_inverse_layer_idx");
    int inner = 0;
    if (!cJSON_IsString(mt) || strcmp(mt->valuestring, "gpt2"))
        rc = pg_error(PG_EFORMAT, "%s: model_type: expected \"gpt2\" (pipegrid reads GPT-2 "
                                  "models)", path);
    else if (act && (!cJSON_IsString(act) || (strcmp(act->valuestring, "gelu_new") &&
                                              strcmp(act->valuestring, "gelu_pytorch_tanh"))))
        rc = pg_error(PG_EFORMAT, "%s: activation_function: pipegrid's GPT uses the tanh GELU "
                                  "(gelu_new), got %s", path,
                      cJSON_IsString(act) ? act->valuestring : "a non-string");
    else if (eps && (!cJSON_IsNumber(eps) || fabs(eps->valuedouble - 1e-5) > 1e-12))
        rc = pg_error(PG_EFORMAT, "%s: layer_norm_epsilon: pipegrid's LayerNorm uses 1e-05, "
                                  "got %g", path, cJSON_IsNumber(eps) ? eps->valuedouble : NAN);
    else if (tie && !cJSON_IsBool(tie))
        rc = pg_error(PG_EFORMAT, "%s: tie_word_embeddings: expected true or false", path);
    else if ((scale && !cJSON_IsTrue(scale)) || (bylayer && !cJSON_IsFalse(bylayer)))
        rc = pg_error(PG_EFORMAT, "%s: attention scaling other than 1/sqrt(head size) "
                                  "(scale_attn_weights false or scale_attn_by_inverse_layer_idx "
                                  "true) is not pipegrid's GPT", path);
    if (!rc) rc = get_int(j, path, "vocab_size", 50257, 1, 1 << 24, &hc->vocab);
    if (!rc) rc = get_int(j, path, "n_positions", 1024, 1, 1 << 20, &hc->npos);
    if (!rc) rc = get_int(j, path, "n_embd", 768, 1, 1 << 16, &hc->width);
    if (!rc) rc = get_int(j, path, "n_layer", 12, 1, 1 << 16, &hc->depth);
    if (!rc) rc = get_int(j, path, "n_head", 12, 1, 1 << 16, &hc->heads);
    if (!rc) rc = get_int(j, path, "n_inner", 4 * hc->width, 1, 1 << 20, &inner);
    if (!rc && inner != 4 * hc->width)
        rc = pg_error(PG_EFORMAT, "%s: n_inner: pipegrid's MLP is 4 x n_embd = %d wide, got %d",
                      path, 4 * hc->width, inner);
    if (!rc && hc->width % hc->heads)
        rc = pg_error(PG_EFORMAT, "%s: n_embd %d is not divisible by n_head %d", path,
                      hc->width, hc->heads);
    hc->tied = !tie || cJSON_IsTrue(tie);
    cJSON_Delete(j);
    return rc;
}

int pg_hf_config_apply(const char *dir, pg_config *cfg)
{
    hf_config hc;
    int rc = read_hf_config(dir, &hc);
    char set[7][64];
    snprintf(set[0], 64, "model.type=gpt");
    snprintf(set[1], 64, "model.vocab=%d", hc.vocab);
    snprintf(set[2], 64, "model.ctx=%d", hc.npos);
    snprintf(set[3], 64, "model.depth=%d", hc.depth);
    snprintf(set[4], 64, "model.heads=%d", hc.heads);
    snprintf(set[5], 64, "model.width=%d", hc.width);
    snprintf(set[6], 64, "model.tied=%d", hc.tied);
    for (int i = 0; i < 7 && !rc; i++) rc = pg_config_set(cfg, set[i]);
    return rc;
}

/* The Hugging Face name of tensor t and whether HF stores it transposed
 * (Conv1D: (in, out)). Returns 1 for a tensor HF does not store (the tied
 * head's copy of wte), 0 otherwise, -1 for a layer kind with no GPT-2 name. */
static int hf_name(const pg_model *m, const pg_ckpt_tensor *t, char *name, size_t n,
                   int *transpose)
{
    const char *p = m->layers[t->layer].params[t->param].name;
    *transpose = 0;
    if (!strcmp(t->kind, "embed")) snprintf(name, n, "transformer.%s.weight", p);
    else if (!strcmp(t->kind, "layernorm")) snprintf(name, n, "transformer.ln_f.%s", p);
    else if (!strcmp(t->kind, "lmhead")) {
        if (t->copy) return 1;
        snprintf(name, n, "lm_head.weight");
    } else if (!strcmp(t->kind, "block")) {
        static const char *const map[][2] = {{"ln1.", "ln_1."},           {"ln2.", "ln_2."},
                                             {"attn.qkv.", "attn.c_attn."}, {"attn.proj.", "attn.c_proj."},
                                             {"mlp.fc.", "mlp.c_fc."},      {"mlp.proj.", "mlp.c_proj."}};
        for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
            size_t len = strlen(map[i][0]);
            if (strncmp(p, map[i][0], len)) continue;
            snprintf(name, n, "transformer.h.%d.%s%s", t->layer - 1, map[i][1], p + len);
            *transpose = i >= 2 && !strcmp(p + len, "weight");
            return 0;
        }
        return -1;
    } else {
        return -1;
    }
    return 0;
}

/* dst (cols, rows) = src (rows, cols)^T */
static void transpose(float *dst, const float *src, size_t rows, size_t cols)
{
    for (size_t r = 0; r < rows; r++)
        for (size_t c = 0; c < cols; c++) dst[c * rows + r] = src[r * cols + c];
}

static int check_model(const char *dir, const hf_config *hc, const pg_config *cfg)
{
    if (cfg->model.type != PG_MODEL_GPT)
        return pg_error(PG_EINVAL, "%s: a GPT-2 model, but model.type=%s", dir,
                        pg_model_type_names[cfg->model.type]);
    const struct { const char *hf, *pg; int a, b; } same[] = {
        {"vocab_size", "model.vocab", hc->vocab, cfg->model.vocab},
        {"n_layer", "model.depth", hc->depth, cfg->model.depth},
        {"n_head", "model.heads", hc->heads, cfg->model.heads},
        {"n_embd", "model.width", hc->width, cfg->model.width},
        {"tie_word_embeddings", "model.tied", hc->tied, cfg->model.tied},
    };
    for (size_t i = 0; i < sizeof same / sizeof same[0]; i++)
        if (same[i].a != same[i].b)
            return pg_error(PG_EINVAL, "%s/config.json: %s = %d, but %s = %d", dir, same[i].hf,
                            same[i].a, same[i].pg, same[i].b);
    if (cfg->model.ctx > hc->npos)
        return pg_error(PG_EINVAL, "%s/config.json: n_positions = %d, fewer than model.ctx = %d",
                        dir, hc->npos, cfg->model.ctx);
    return 0;
}

/* The name under which s holds HF tensor `name`: itself, or the unprefixed
 * name (as GPT2Model saves it); NULL when absent. */
static const char *find_hf(const pg_st *s, const char *name)
{
    for (int i = 0; i < pg_st_count(s); i++)
        if (!strcmp(pg_st_name(s, i), name)) return name;
    const char *bare = !strncmp(name, "transformer.", 12) ? name + 12 : NULL;
    if (bare)
        for (int i = 0; i < pg_st_count(s); i++)
            if (!strcmp(pg_st_name(s, i), bare)) return bare;
    return NULL;
}

int pg_weights_from_hf(pg_weights *w, const char *dir, const pg_config *cfg)
{
    memset(w, 0, sizeof *w);
    hf_config hc;
    int rc = read_hf_config(dir, &hc);
    if (!rc) rc = check_model(dir, &hc, cfg);
    if (rc) return rc;
    w->cfg = *cfg;
    if ((rc = prepare(w))) {
        pg_weights_free(w);
        return rc;
    }
    char path[1100];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    pg_st *s = NULL;
    rc = pg_st_open(&s, path);
    float *tmp = NULL;
    for (int i = 0; i < w->nt && !rc; i++) {
        const pg_ckpt_tensor *t = &w->t[i];
        char name[128];
        int tr, how = hf_name(w->m, t, name, sizeof name, &tr);
        if (how == 1 || t->copy) {
            w->values[i] = w->values[first_copy(w, i)];
            continue;
        }
        if (how < 0) {
            rc = pg_error(PG_EINVAL, "%s: layer kind %s has no GPT-2 tensor", dir, t->kind);
            break;
        }
        const char *found = find_hf(s, name);
        if (!found) {
            rc = pg_error(PG_EFORMAT, "%s: no tensor '%s'", path, name);
            break;
        }
        int nd;
        int64_t d[PG_ST_MAX_DIMS];
        pg_st_shape(s, found, &nd, d);
        int wpe = !strcmp(name, "transformer.wpe.weight");
        int64_t want0 = tr ? (int64_t)t->dims[1] : wpe ? hc.npos : (int64_t)t->dims[0];
        int64_t want1 = tr ? (int64_t)t->dims[0] : (int64_t)t->dims[1];
        if (nd != t->ndim || d[0] != want0 || (nd == 2 && d[1] != want1)) {
            rc = pg_error(PG_EFORMAT, t->ndim == 2 ? "%s: tensor '%s' has the wrong shape "
                                                     "(expected (%lld, %lld))"
                                                   : "%s: tensor '%s' has the wrong shape "
                                                     "(expected (%lld))",
                          path, found, (long long)want0, (long long)want1);
            break;
        }
        size_t whole = (size_t)want0 * (nd == 2 ? (size_t)want1 : 1);
        free(tmp);
        tmp = malloc(sizeof(float) * whole);
        w->values[i] = malloc(sizeof(float) * t->n);
        if (!tmp || !w->values[i]) rc = pg_error(PG_ENOMEM, "%s: out of memory", path);
        if (!rc) rc = pg_st_read(s, found, tmp, whole);
        if (rc) break;
        if (tr) transpose(w->values[i], tmp, (size_t)want0, (size_t)want1);
        else memcpy(w->values[i], tmp, sizeof(float) * t->n); /* wpe: its first ctx rows */
    }
    free(tmp);
    pg_st_close(s);
    if (rc) pg_weights_free(w);
    return rc;
}

static int write_config(const pg_weights *w, const char *path)
{
    const pg_config *c = &w->cfg;
    cJSON *j = cJSON_CreateObject();
    cJSON *arch = cJSON_AddArrayToObject(j, "architectures");
    cJSON_AddItemToArray(arch, cJSON_CreateString("GPT2LMHeadModel"));
    cJSON_AddStringToObject(j, "model_type", "gpt2");
    cJSON_AddNumberToObject(j, "vocab_size", c->model.vocab);
    cJSON_AddNumberToObject(j, "n_positions", c->model.ctx);
    cJSON_AddNumberToObject(j, "n_ctx", c->model.ctx);
    cJSON_AddNumberToObject(j, "n_embd", c->model.width);
    cJSON_AddNumberToObject(j, "n_layer", c->model.depth);
    cJSON_AddNumberToObject(j, "n_head", c->model.heads);
    cJSON_AddNullToObject(j, "n_inner");
    cJSON_AddStringToObject(j, "activation_function", "gelu_new");
    cJSON_AddNumberToObject(j, "layer_norm_epsilon", 1e-5);
    cJSON_AddNumberToObject(j, "resid_pdrop", 0.0); /* pipegrid trains without dropout */
    cJSON_AddNumberToObject(j, "embd_pdrop", 0.0);
    cJSON_AddNumberToObject(j, "attn_pdrop", 0.0);
    cJSON_AddNumberToObject(j, "initializer_range", 0.02);
    cJSON_AddBoolToObject(j, "scale_attn_weights", 1);
    cJSON_AddBoolToObject(j, "scale_attn_by_inverse_layer_idx", 0);
    cJSON_AddBoolToObject(j, "tie_word_embeddings", c->model.tied);
    cJSON_AddNullToObject(j, "bos_token_id");
    cJSON_AddNullToObject(j, "eos_token_id");
    cJSON_AddStringToObject(j, "dtype", "float32");
    cJSON_AddNumberToObject(j, "pipegrid_step", (double)w->step);
    char *text = cJSON_Print(j);
    cJSON_Delete(j);
    if (!text) return pg_error(PG_ENOMEM, "out of memory");
    char tmp[1200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    int rc = f ? 0 : pg_error(PG_EIO, "cannot create '%s': %s", tmp, strerror(errno));
    if (!rc && fprintf(f, "%s\n", text) < 0) rc = pg_error(PG_EIO, "%s: write failed", tmp);
    if (f && fclose(f) && !rc) rc = pg_error(PG_EIO, "%s: write failed", tmp);
    if (!rc && rename(tmp, path)) rc = pg_error(PG_EIO, "cannot rename '%s': %s", tmp, strerror(errno));
    if (rc && f) remove(tmp);
    free(text);
    return rc;
}

int pg_weights_to_hf(const pg_weights *w, const char *dir)
{
    if (w->cfg.model.type != PG_MODEL_GPT)
        return pg_error(PG_EINVAL, "export --format hf needs a gpt model, the checkpoint's is "
                                   "model.type=%s", pg_model_type_names[w->cfg.model.type]);
    if (mkdir(dir, 0777) && errno != EEXIST)
        return pg_error(PG_EIO, "cannot create directory '%s': %s", dir, strerror(errno));
    pg_st_tensor *out = calloc((size_t)w->nt, sizeof *out);
    char (*names)[128] = calloc((size_t)w->nt, sizeof *names);
    float **owned = calloc((size_t)w->nt, sizeof *owned);
    int rc = out && names && owned ? 0 : pg_error(PG_ENOMEM, "export: out of memory");
    int n = 0;
    for (int i = 0; i < w->nt && !rc; i++) {
        const pg_ckpt_tensor *t = &w->t[i];
        int tr, how = hf_name(w->m, t, names[n], sizeof names[n], &tr);
        if (how == 1 || t->copy) continue;
        if (how < 0) {
            rc = pg_error(PG_EINVAL, "export: layer kind %s has no GPT-2 tensor", t->kind);
            break;
        }
        out[n].name = names[n];
        out[n].ndim = t->ndim;
        out[n].dims[0] = (int64_t)(tr ? t->dims[1] : t->dims[0]);
        out[n].dims[1] = (int64_t)(tr ? t->dims[0] : t->dims[1]);
        out[n].data = w->values[i];
        if (tr) {
            if (!(owned[n] = malloc(sizeof(float) * t->n))) {
                rc = pg_error(PG_ENOMEM, "export: out of memory");
                break;
            }
            transpose(owned[n], w->values[i], t->dims[0], t->dims[1]);
            out[n].data = owned[n];
        }
        n++;
    }
    char path[1100];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    if (!rc) rc = pg_st_write(path, out, n);
    snprintf(path, sizeof path, "%s/config.json", dir);
    if (!rc) rc = write_config(w, path);
    for (int i = 0; owned && i < w->nt; i++) free(owned[i]);
    free(owned);
    free(names);
    free(out);
    return rc;
}
