/* test_generate.c: the KV-cache generator (runtime/model/generate.h) against
 * the training forward. A random gpt (every tensor random, norms and biases
 * included) runs a sequence of ctx tokens through pg_stage_forward; feeding the
 * same tokens one at a time through the generator must give every row of
 * logits within 1e-5 relative; after a reset, the same again (the cache is
 * rewritten, not appended). pg_gen_pick: temperature 0 and top-k 1 take the
 * largest logit; the draws of a fixed u follow the softmax's cumulative sums. */
#include "runtime/base/rng.h"
#include "runtime/compute/ops.h"
#include "runtime/config/config.h"
#include "runtime/model/generate.h"
#include "runtime/model/stage.h"
#include "tests/support/testlib.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void)
{
    pg_config c;
    CHECK(pg_config_init(&c) == 0);
    CHECK(pg_config_set(&c, "model.type=gpt") == 0);
    CHECK(pg_config_set(&c, "model.vocab=61") == 0);
    CHECK(pg_config_set(&c, "model.ctx=24") == 0);
    CHECK(pg_config_set(&c, "model.width=32") == 0);
    CHECK(pg_config_set(&c, "model.heads=4") == 0);
    CHECK(pg_config_set(&c, "model.depth=3") == 0);
    pg_model *m;
    CHECK(pg_model_create(&m, &c) == 0);
    pg_stage *st;
    CHECK(pg_stage_create(&st, m, 0, 1, 0, m->nlayers - 1, pg_ops_cpu(), 5) == 0);
    pg_rng r;
    pg_rng_init(&r, 9, 1, 2);
    for (size_t i = 0; i < st->nparams; i++) st->params[i] = (float)(0.3 * pg_rng_normal(&r));
    int T = c.model.ctx, V = c.model.vocab, tokens[64];
    for (int t = 0; t < T; t++) tokens[t] = (int)(pg_rng_u64(&r) % (uint64_t)V);

    pg_shape shape = {1, T};
    pg_slot *sl = pg_stage_slot(st, 0, shape);
    CHECK(sl != NULL);
    memcpy(sl->tokens, tokens, sizeof(int) * (size_t)T);
    pg_mb mb = {.shape = shape, .tokens = sl->tokens};
    pg_stage_forward(st, sl, &mb);
    const float *full = sl->act[st->nlayers]; // (T,V)

    pg_gen *g;
    CHECK(pg_gen_create(&g, st) == 0);
    float *logits = malloc(sizeof(float) * (size_t)V);
    for (int pass = 0; pass < 2; pass++) {
        double worst = 0.0;
        pg_gen_reset(g);
        for (int t = 0; t < T; t++) {
            CHECK(pg_gen_feed(g, tokens[t], logits) == 0);
            double d = pg_rel_diff(logits, full + (size_t)t * V, (size_t)V);
            worst = d > worst ? d : worst;
        }
        printf("pass %d: %d positions, worst relative difference to the full forward %.2e\n",
               pass, T, worst);
        CHECK(worst < 1e-5);
        CHECK(pg_gen_pos(g) == T);
        CHECK(pg_gen_feed(g, 0, logits) != 0); /* the context is full */
    }

    /* picking */
    int best = 0;
    for (int i = 1; i < V; i++) best = logits[i] > logits[best] ? i : best;
    CHECK(pg_gen_pick(g, logits, 0.0, 0, 0.7) == best);
    CHECK(pg_gen_pick(g, logits, 1.0, 1, 0.999) == best);
    /* softmax of full logits, cumulative in sorted order: u just above 0 takes the largest */
    CHECK(pg_gen_pick(g, logits, 1.0, 0, 0.0) == best);
    /* frequencies of 4000 draws follow softmax(logits / 0.7) within 0.03 */
    int counts[64] = {0};
    pg_rng u;
    pg_rng_init(&u, 3, 4, 5);
    for (int i = 0; i < 4000; i++) counts[pg_gen_pick(g, logits, 0.7, 0, pg_rng_uniform(&u))]++;
    double z = 0.0, worst = 0.0;
    for (int i = 0; i < V; i++) z += exp((logits[i] - logits[best]) / 0.7);
    for (int i = 0; i < V; i++) {
        double p = exp((logits[i] - logits[best]) / 0.7) / z, f = counts[i] / 4000.0;
        worst = fabs(p - f) > worst ? fabs(p - f) : worst;
    }
    printf("sampling: 4000 draws at temperature 0.7, worst |frequency - probability| %.3f\n", worst);
    CHECK(worst < 0.03);
    /* top-k 2 never leaves the two largest */
    int second = best == 0 ? 1 : 0;
    for (int i = 0; i < V; i++) second = i != best && logits[i] > logits[second] ? i : second;
    for (int i = 0; i < 200; i++) {
        int k = pg_gen_pick(g, logits, 5.0, 2, pg_rng_uniform(&u));
        CHECK(k == best || k == second);
    }
    free(logits);
    pg_gen_free(g);
    pg_stage_free(st);
    pg_model_free(m);
    return pg_test_summary("test_generate");
}
