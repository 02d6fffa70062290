/* generate.h: text generation with a key/value cache on one rank
 * (`pipegrid sample`, docs/sampling.md).
 *
 * A generator runs a gpt's layers (embed, blocks, final LayerNorm, head) one
 * token at a time. Each block keeps the keys and values of every position fed
 * so far (the KV cache: 2 x depth x ctx x C floats), so the next token costs one
 * row through every matmul and one attention row over the cached positions:
 * O(C^2 + V C + t C) for position t, where a forward of the whole prefix costs
 * O(t (C^2 + V C) + t^2 C). Feeding token x at position t gives the logits of
 * position t, the same as the full forward's row t (tests/unit/test_generate.c).
 *
 * A pipeline of generators, one per stage of a gpt split by blocks, passes
 * one row (C floats) per token from each stage to the next (`mpiexec -n P
 * pipegrid sample`); each stage caches the keys and values of its own blocks.
 *
 * The stage's tensors must be in host memory (the CPU backend). */
#ifndef PG_GENERATE_H
#define PG_GENERATE_H

#include "runtime/model/stage.h"

#include <stdint.h>

typedef struct pg_gen pg_gen;

/* A generator over st: every layer of a gpt but the loss
 * (pg_stage_create(..., 0, m->nlayers - 1, pg_ops_cpu(), ...)), or a pipeline
 * stage of it: layers [lo, hi) with hi <= nlayers - 1, the final norm and head
 * together on the last. */
int pg_gen_create(pg_gen **g, const pg_stage *st);
void pg_gen_free(pg_gen *g);

/* Feed `token` at the next position and write the (V) logits that follow it.
 * Fails when the cache is full (pg_gen_pos == ctx): pg_gen_reset first. */
int pg_gen_feed(pg_gen *g, int token, float *logits);

/* One position through this stage: the first stage takes `token`, the others
 * `in` (C floats from the previous stage); the last writes the (V) logits to
 * out, the others their (C) output row. */
int pg_gen_step(pg_gen *g, int token, const float *in, float *out);
int pg_gen_has_embed(const pg_gen *g);
int pg_gen_has_head(const pg_gen *g);
int pg_gen_width(const pg_gen *g);

/* Positions fed since the last reset; the model's context. */
int pg_gen_pos(const pg_gen *g);
int pg_gen_ctx(const pg_gen *g);
int pg_gen_vocab(const pg_gen *g);

/* Empty the cache (position 0). */
void pg_gen_reset(pg_gen *g);

/* Draw a token from logits (V): softmax(logits / temperature) restricted to
 * the top_k largest (top_k <= 0: all), with u uniform in [0, 1);
 * temperature 0 takes the largest (ties: the lowest id). */
int pg_gen_pick(pg_gen *g, const float *logits, double temperature, int top_k, double u);

#endif
