/* weights.h: a model's weights in host memory, read without MPI from a
 * pipegrid checkpoint file or a Hugging Face GPT-2 directory, and written out
 * as a Hugging Face GPT-2 directory (docs/interop.md).
 *
 * The Hugging Face side is GPT2LMHeadModel's: DIR/config.json (vocab_size,
 * n_positions, n_embd, n_layer, n_head, activation_function gelu_new,
 * layer_norm_epsilon 1e-5, tie_word_embeddings) and DIR/model.safetensors
 * (float32; transformer.wte/wpe, transformer.h.<i>.ln_1, attn.c_attn,
 * attn.c_proj, ln_2, mlp.c_fc, mlp.c_proj, transformer.ln_f, lm_head when
 * untied). Its Conv1D weights are stored (in, out), the transpose of
 * pipegrid's (out, in); the q, k, v order of c_attn and the head layout inside
 * each are the same as pipegrid's attn.qkv. A config pipegrid's GPT cannot
 * represent (another activation, epsilon, inner width, attention scaling) is
 * refused naming the key. */
#ifndef PG_WEIGHTS_H
#define PG_WEIGHTS_H

#include "io/checkpoint/ckpt_layout.h"
#include "runtime/model/stage.h"

#include <stdio.h>

typedef struct pg_weights {
    pg_config cfg;      /* the model keys (a checkpoint: its whole recorded config) */
    pg_model *m;        /* the model cfg describes */
    pg_ckpt_tensor *t;  /* its parameter tensors in model order (pg_ckpt_tensors) */
    int nt;
    float **values;     /* [nt] host values; a tied copy shares its first copy's */
    int64_t step;       /* the checkpoint's step (0 for a Hugging Face directory) */
} pg_weights;

/* Read every parameter of checkpoint file `path` (CRC-32 checked). */
int pg_weights_from_ckpt(pg_weights *w, const char *path);

/* Set cfg's model keys (type gpt, vocab, ctx = n_positions, depth, heads,
 * width, tied) from DIR/config.json; other keys are left alone. */
int pg_hf_config_apply(const char *dir, pg_config *cfg);

/* Read DIR's weights for the model of `cfg` (a gpt whose vocab, depth, heads,
 * width and tied equal config.json's and whose ctx is at most n_positions:
 * the first ctx position embeddings are taken). */
int pg_weights_from_hf(pg_weights *w, const char *dir, const pg_config *cfg);

/* Write w (a gpt) as DIR/config.json and DIR/model.safetensors (DIR created
 * if needed; each file written whole, then renamed into place). */
int pg_weights_to_hf(const pg_weights *w, const char *dir);

/* Copy the values of the tensors that stage st holds into its parameters. */
void pg_weights_to_stage(const pg_weights *w, pg_stage *st);

void pg_weights_free(pg_weights *w);

#endif
