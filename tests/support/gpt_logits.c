/* gpt_logits.c: logits of a gpt for one sequence, for tests that compare
 * pipegrid's forward with other implementations (tests/interop/hf.py).
 *
 *   gpt_logits SRC TOKENS OUT
 *
 * SRC is a pipegrid checkpoint (file or directory) or a Hugging Face GPT-2
 * directory (it has config.json); TOKENS holds T little-endian int32 ids
 * (T <= model.ctx); OUT receives the (T, V) float32 logits, row-major. One
 * process, CPU backend, the model's layers up to the head (no loss). */
#include "io/checkpoint/checkpoint.h"
#include "io/checkpoint/weights.h"
#include "runtime/base/error.h"
#include "runtime/compute/ops.h"
#include "runtime/model/stage.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int fail(const char *msg)
{
    fprintf(stderr, "gpt_logits: %s\n", msg);
    return 1;
}

int main(int argc, char **argv)
{
    if (argc != 4) return fail("usage: gpt_logits SRC TOKENS OUT");
    char cfgjson[4200], path[4096];
    snprintf(cfgjson, sizeof cfgjson, "%s/config.json", argv[1]);
    struct stat st;
    pg_weights w;
    pg_config cfg;
    int rc;
    if (!stat(cfgjson, &st)) {
        rc = pg_config_init(&cfg);
        if (!rc) rc = pg_hf_config_apply(argv[1], &cfg);
        if (!rc) rc = pg_weights_from_hf(&w, argv[1], &cfg);
    } else {
        rc = pg_ckpt_resolve(argv[1], ".", path, sizeof path);
        if (!rc) rc = pg_weights_from_ckpt(&w, path);
    }
    if (rc) return fail(pg_errmsg());
    FILE *f = fopen(argv[2], "rb");
    if (!f) return fail("cannot open TOKENS");
    int tokens[4096], T = (int)fread(tokens, 4, 4096, f);
    fclose(f);
    if (T < 1 || T > w.cfg.model.ctx) return fail("TOKENS: 1..ctx ids expected");
    const pg_model *m = w.m;
    pg_stage *s;
    if ((rc = pg_stage_create(&s, m, 0, 1, 0, m->nlayers - 1, pg_ops_cpu(), 1))) return fail(pg_errmsg());
    pg_weights_to_stage(&w, s);
    pg_shape shape = {1, T};
    pg_slot *sl = pg_stage_slot(s, 0, shape);
    memcpy(sl->tokens, tokens, sizeof(int) * (size_t)T);
    pg_mb mb = {.shape = shape, .tokens = sl->tokens};
    pg_stage_forward(s, sl, &mb);
    int V = w.cfg.model.vocab;
    f = fopen(argv[3], "wb");
    if (!f || fwrite(sl->act[s->nlayers], sizeof(float), (size_t)T * V, f) != (size_t)T * V)
        return fail("cannot write OUT");
    fclose(f);
    pg_stage_free(s);
    pg_weights_free(&w);
    return 0;
}
