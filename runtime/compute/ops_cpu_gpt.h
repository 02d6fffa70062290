/* ops_cpu_gpt.h: the CPU implementations of the GPT entries of ops.h
 * (embedding, causal attention); contracts as documented there. */
#ifndef PG_OPS_CPU_GPT_H
#define PG_OPS_CPU_GPT_H

#include <stddef.h>

void pg_cpu_embedding_forward(float *out, const int *tokens, const float *wte, const float *wpe,
                              int B, int T, int C);
void pg_cpu_embedding_backward_weight(float *dwte, float *dwpe, const float *dout,
                                      const int *tokens, int B, int T, int C);
void pg_cpu_attention_forward(float *out, float *att, const float *qkv, int B, int T, int C,
                              int NH);
void pg_cpu_attention_backward(float *dqkv, float *scratch, const float *dout, const float *qkv,
                               const float *att, int B, int T, int C, int NH);
size_t pg_cpu_attention_saved_floats(int B, int T, int NH);
size_t pg_cpu_attention_scratch_floats(int B, int T, int NH);

#endif
