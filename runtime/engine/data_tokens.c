/* data_tokens.c: language-model samples from a token stream (data.source =
 * tokens): an HDF5 token dataset (data.path, io/dataset.h) or, when data.path
 * is empty, the built-in corpus (io/corpus.h).
 *
 * The stream is split once: the last data.val_fraction of the tokens are the
 * validation split, the rest the training split. Each split is cut into
 * non-overlapping windows of T+1 tokens at stride T; a sample is a window:
 * inputs its first T tokens, labels its last T. Training sample i (a global
 * index, the same on every grid) is window perm_e(i mod W) of epoch
 * e = i / W, where perm_e is a seeded shuffle of the W windows; validation
 * sample i is window i mod W_val, in order. */
#include "runtime/engine/data.h"

#include "io/corpus.h"
#include "io/dataset.h"
#include "runtime/base/error.h"
#include "runtime/base/rng.h"

#include <stdlib.h>
#include <string.h>

typedef struct tokens_src {
    pg_data base;
    pg_dataset *ds;   /* the HDF5 dataset, or NULL for the built-in corpus */
    int32_t *mem;     /* the built-in corpus */
    char where[1100]; /* "file:/tokens" for messages */
    int T;
    int64_t lo[2], nwin[2]; /* per split: first token, windows */
    uint64_t seed;
    int64_t *perm, perm_epoch;
    int32_t *win;     /* (T+1) */
} tokens_src;

static int read_window(tokens_src *s, int64_t first)
{
    if (s->mem) {
        memcpy(s->win, s->mem + first, sizeof(int32_t) * (size_t)(s->T + 1));
        return 0;
    }
    return pg_dataset_read(s->ds, first, s->T + 1, s->win);
}

/* The window of training sample i: a seeded shuffle per epoch. */
static int64_t train_window(tokens_src *s, int64_t i)
{
    int64_t W = s->nwin[0], epoch = i / W;
    if (epoch != s->perm_epoch) {
        pg_rng r;
        pg_rng_init(&r, s->seed, 3, (uint64_t)epoch);
        for (int64_t j = 0; j < W; j++) s->perm[j] = j;
        for (int64_t j = W - 1; j > 0; j--) {
            int64_t k = (int64_t)(pg_rng_u64(&r) % (uint64_t)(j + 1));
            int64_t t = s->perm[j];
            s->perm[j] = s->perm[k];
            s->perm[k] = t;
        }
        s->perm_epoch = epoch;
    }
    return s->perm[i % W];
}

static int tokens_get(pg_data *d, int64_t first, int count, float *x, int *tokens,
                      float *target, int *labels)
{
    (void)x, (void)target;
    tokens_src *s = (tokens_src *)d;
    int split = d->split ? 1 : 0, T = s->T;
    for (int n = 0; n < count; n++) {
        int64_t i = first + n;
        int64_t w = split ? i % s->nwin[1] : train_window(s, i);
        int rc = read_window(s, s->lo[split] + w * T);
        if (rc) return rc;
        if (tokens) memcpy(tokens + (size_t)n * T, s->win, sizeof(int) * (size_t)T);
        if (labels) memcpy(labels + (size_t)n * T, s->win + 1, sizeof(int) * (size_t)T);
    }
    return 0;
}

static void tokens_destroy(pg_data *d)
{
    tokens_src *s = (tokens_src *)d;
    pg_dataset_close(s->ds);
    free(s->mem);
    free(s->perm);
    free(s->win);
    free(s);
}

int pg_data_tokens_create(pg_data **out, const pg_config *c, const pg_model *m)
{
    *out = NULL;
    if (m->input != PG_INPUT_TOKENS)
        return pg_error(PG_EINVAL, "data.source=tokens needs a token model (model.type=gpt)");
    tokens_src *s = calloc(1, sizeof *s);
    if (!s) return pg_error(PG_ENOMEM, "data: out of memory");
    s->base.name = "tokens";
    s->base.get = tokens_get;
    s->base.destroy = tokens_destroy;
    s->T = m->T;
    s->seed = (uint64_t)c->data.seed;
    s->perm_epoch = -1;
    int64_t n, vocab;
    int rc = 0;
    if (c->data.path[0]) {
        if ((rc = pg_dataset_open(&s->ds, c->data.path))) goto fail;
        n = pg_dataset_ntokens(s->ds);
        vocab = pg_dataset_vocab(s->ds);
        int64_t bytes = pg_dataset_text_bytes(s->ds);
        s->base.bytes_per_token = bytes > 0 ? (double)bytes / (double)n : 0.0;
        snprintf(s->where, sizeof s->where, "%s:/tokens", c->data.path);
    } else {
        int64_t *docs, ndocs;
        if ((rc = pg_corpus_default(&s->mem, &n, &docs, &ndocs))) goto fail;
        free(docs);
        vocab = 256;
        s->base.bytes_per_token = 1.0;
        snprintf(s->where, sizeof s->where, "the built-in corpus (%s)", PG_CORPUS_DIR);
    }
    if (vocab > m->input_width) {
        rc = pg_error(PG_EINVAL, "%s: vocab_size %lld exceeds model.vocab=%d", s->where,
                      (long long)vocab, m->input_width);
        goto fail;
    }
    int64_t nval = (int64_t)((double)n * c->data.val_fraction);
    int64_t ntrain = n - nval;
    s->lo[0] = 0;
    s->lo[1] = ntrain;
    s->nwin[0] = (ntrain - 1) / s->T;
    s->nwin[1] = nval > 0 ? (nval - 1) / s->T : 0;
    if (s->nwin[0] < 1 || (nval > 0 && s->nwin[1] < 1)) {
        rc = pg_error(PG_EINVAL,
                      "%s: %lld tokens (%lld for training, %lld for validation with "
                      "data.val_fraction=%g) are too few for one window of model.ctx+1 = %d "
                      "tokens in each split",
                      s->where, (long long)n, (long long)ntrain, (long long)nval,
                      c->data.val_fraction, s->T + 1);
        goto fail;
    }
    s->base.val_samples = s->nwin[1];
    s->perm = malloc(sizeof(int64_t) * (size_t)s->nwin[0]);
    s->win = malloc(sizeof(int32_t) * (size_t)(s->T + 1));
    if (!s->perm || !s->win) {
        rc = pg_error(PG_ENOMEM, "data: out of memory");
        goto fail;
    }
    *out = &s->base;
    return 0;
fail:
    tokens_destroy(&s->base);
    return rc;
}
