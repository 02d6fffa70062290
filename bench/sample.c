/* sample.c: time per generated token against its position, with the KV cache
 * (runtime/model/generate.h, what `pipegrid sample` does) and without it (a
 * forward of the whole prefix per token, what a generator without a cache
 * does), on one core (OpenBLAS 1 thread), random weights.
 *
 *   pg_sample_bench VOCAB CTX WIDTH DEPTH HEADS [REPEATS]
 *
 * A first pass warms up (untimed); the slot buffers of the full forward are
 * allocated outside the timed region. Each position's time is the fastest of
 * REPEATS passes (the machine is shared). Prints one row per block of ctx/8
 * positions: the mean milliseconds per token of each method over that block,
 * then the ratio of the last block's time to the first's for each (flat:
 * about 1). */
#include "runtime/base/clock.h"
#include "runtime/base/rng.h"
#include "runtime/compute/ops.h"
#include "runtime/config/config.h"
#include "runtime/model/generate.h"
#include "runtime/model/stage.h"

#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    if (argc < 6) {
        fprintf(stderr, "usage: pg_sample_bench VOCAB CTX WIDTH DEPTH HEADS [REPEATS]\n");
        return 2;
    }
    openblas_set_num_threads(1);
    pg_config c;
    pg_config_init(&c);
    const char *keys[] = {"vocab", "ctx", "width", "depth", "heads"};
    char set[64];
    pg_config_set(&c, "model.type=gpt");
    for (int i = 0; i < 5; i++) {
        snprintf(set, sizeof set, "model.%s=%s", keys[i], argv[1 + i]);
        if (pg_config_set(&c, set)) {
            fprintf(stderr, "bad %s\n", set);
            return 2;
        }
    }
    int reps = argc > 6 ? atoi(argv[6]) : 3, T = c.model.ctx, V = c.model.vocab;
    pg_model *m;
    pg_stage *st;
    pg_gen *g;
    if (pg_model_create(&m, &c) || pg_stage_create(&st, m, 0, 1, 0, m->nlayers - 1, pg_ops_cpu(), 1) ||
        pg_gen_create(&g, st)) {
        fprintf(stderr, "cannot build the model\n");
        return 1;
    }
    int *tok = malloc(sizeof(int) * (size_t)T);
    float *logits = malloc(sizeof(float) * (size_t)V);
    double *cached = calloc((size_t)T, sizeof(double)), *full = calloc((size_t)T, sizeof(double));
    pg_rng r;
    pg_rng_init(&r, 1, 2, 3);
    for (int t = 0; t < T; t++) tok[t] = (int)(pg_rng_u64(&r) % (uint64_t)V);
    for (int rep = 0; rep <= reps; rep++) { /* rep 0 warms up, untimed */
        pg_gen_reset(g);
        for (int t = 0; t < T; t++) {
            double t0 = pg_now();
            pg_gen_feed(g, tok[t], logits);
            double dt = pg_now() - t0;
            if (rep == 1 || (rep > 1 && dt < cached[t])) cached[t] = dt;
        }
        for (int t = 0; t < T; t++) { /* the whole prefix 0..t, then its last row */
            pg_shape s = {1, t + 1};
            pg_slot *sl = pg_stage_slot(st, 0, s); /* buffers: not timed */
            memcpy(sl->tokens, tok, sizeof(int) * (size_t)(t + 1));
            pg_mb mb = {.shape = s, .tokens = sl->tokens};
            double t0 = pg_now();
            pg_stage_forward(st, sl, &mb);
            double dt = pg_now() - t0;
            if (rep == 1 || (rep > 1 && dt < full[t])) full[t] = dt;
            pg_stage_release_slot(st, sl);
        }
    }
    printf("model: vocab %d, ctx %d, width %d, depth %d, heads %d; fastest of %d passes, 1 BLAS thread\n",
           V, T, c.model.width, c.model.depth, c.model.heads, reps);
    printf("| positions | KV cache ms/token | full forward ms/token | full / cache |\n|---|---|---|---|\n");
    int blk = T / 8 > 0 ? T / 8 : 1;
    double first_c = 0, first_f = 0, last_c = 0, last_f = 0;
    for (int b0 = 0; b0 < T; b0 += blk) {
        int b1 = b0 + blk < T ? b0 + blk : T;
        double sc = 0, sf = 0;
        for (int t = b0; t < b1; t++) sc += cached[t], sf += full[t];
        sc = sc / (b1 - b0) * 1e3;
        sf = sf / (b1 - b0) * 1e3;
        if (b0 == 0) first_c = sc, first_f = sf;
        last_c = sc, last_f = sf;
        printf("| %d-%d | %.3f | %.3f | %.1fx |\n", b0 + 1, b1, sc, sf, sf / sc);
    }
    printf("last block / first block: KV cache %.2fx, full forward %.2fx\n", last_c / first_c,
           last_f / first_f);
    pg_gen_free(g);
    pg_stage_free(st);
    pg_model_free(m);
    return 0;
}
