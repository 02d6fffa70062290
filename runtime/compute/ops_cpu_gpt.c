/* ops_cpu_gpt.c: the CPU backend of the GPT entries of ops.h (embedding and
 * causal multi-head attention). The attention products of each (sample,
 * head) pair are BLAS calls on strided views of qkv: q, k, v of head h are
 * the columns [h*hs, (h+1)*hs) of the three C-wide thirds of each row, read
 * with a leading dimension of 3C, so nothing is copied or transposed. */
#include "runtime/compute/ops_cpu_gpt.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

void pg_cpu_embedding_forward(float *out, const int *tokens, const float *wte, const float *wpe,
                              int B, int T, int C)
{
    // out (B,T,C) = wte[tokens] + wpe[t]
    for (int b = 0; b < B; b++) {
        for (int t = 0; t < T; t++) {
            float *o = out + ((size_t)b * T + t) * C;
            const float *te = wte + (size_t)tokens[b * T + t] * C;
            const float *pe = wpe + (size_t)t * C;
            for (int c = 0; c < C; c++) o[c] = te[c] + pe[c];
        }
    }
}

void pg_cpu_embedding_backward_weight(float *dwte, float *dwpe, const float *dout,
                                      const int *tokens, int B, int T, int C)
{
    // dwte (V,C) += scatter(dout), dwpe (maxT,C) += sum_b dout[b]; rows in (b, t) order
    for (int b = 0; b < B; b++) {
        for (int t = 0; t < T; t++) {
            const float *d = dout + ((size_t)b * T + t) * C;
            float *pe = dwpe + (size_t)t * C;
            for (int c = 0; c < C; c++) pe[c] += d[c];
            if (!dwte) continue;
            float *te = dwte + (size_t)tokens[b * T + t] * C;
            for (int c = 0; c < C; c++) te[c] += d[c];
        }
    }
}

void pg_cpu_attention_forward(float *out, float *att, const float *qkv, int B, int T, int C,
                              int NH)
{
    int hs = C / NH, C3 = 3 * C;
    float scale = 1.0f / sqrtf((float)hs);
    for (int b = 0; b < B; b++) {
        for (int h = 0; h < NH; h++) {
            const float *q = qkv + (size_t)b * T * C3 + (size_t)h * hs; // (T,hs), ld 3C
            const float *k = q + C;
            const float *v = q + 2 * C;
            float *a = att + ((size_t)b * NH + h) * T * T; // (T,T)
            // a = scale * q @ k^T   (T,T)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, T, hs, scale, q, C3, k, C3,
                        0.0f, a, T);
            // causal softmax of each row t over s <= t; s > t set to 0
            for (int t = 0; t < T; t++) {
                float *row = a + (size_t)t * T;
                float mx = row[0];
                for (int s = 1; s <= t; s++) mx = row[s] > mx ? row[s] : mx;
                float sum = 0.0f;
                for (int s = 0; s <= t; s++) {
                    row[s] = expf(row[s] - mx);
                    sum += row[s];
                }
                float inv = 1.0f / sum;
                for (int s = 0; s <= t; s++) row[s] *= inv;
                for (int s = t + 1; s < T; s++) row[s] = 0.0f;
            }
            // out_h (T,hs), ld C = a (T,T) @ v (T,hs)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T, hs, T, 1.0f, a, T, v, C3,
                        0.0f, out + (size_t)b * T * C + (size_t)h * hs, C);
        }
    }
}

void pg_cpu_attention_backward(float *dqkv, float *datt, const float *dout, const float *qkv,
                               const float *att, int B, int T, int C, int NH)
{
    int hs = C / NH, C3 = 3 * C;
    float scale = 1.0f / sqrtf((float)hs);
    for (int b = 0; b < B; b++) {
        for (int h = 0; h < NH; h++) {
            size_t qo = (size_t)b * T * C3 + (size_t)h * hs;
            const float *q = qkv + qo, *k = q + C, *v = q + 2 * C;
            float *dq = dqkv + qo, *dk = dq + C, *dv = dq + 2 * C;
            const float *a = att + ((size_t)b * NH + h) * T * T;    // (T,T)
            float *da = datt + ((size_t)b * NH + h) * T * T;        // (T,T)
            const float *dout_h = dout + (size_t)b * T * C + (size_t)h * hs; // (T,hs), ld C
            // da = dout_h @ v^T (T,T); dv = a^T @ dout_h (T,hs)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, T, hs, 1.0f, dout_h, C, v,
                        C3, 0.0f, da, T);
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, T, hs, T, 1.0f, a, T, dout_h, C,
                        0.0f, dv, C3);
            // softmax backward, in place: ds = scale * a * (da - sum_s a*da); 0 above diagonal
            for (int t = 0; t < T; t++) {
                const float *ar = a + (size_t)t * T;
                float *dr = da + (size_t)t * T;
                float dot = 0.0f;
                for (int s = 0; s <= t; s++) dot += ar[s] * dr[s];
                for (int s = 0; s <= t; s++) dr[s] = scale * ar[s] * (dr[s] - dot);
                for (int s = t + 1; s < T; s++) dr[s] = 0.0f;
            }
            // dq = ds @ k (T,hs); dk = ds^T @ q (T,hs)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T, hs, T, 1.0f, da, T, k, C3,
                        0.0f, dq, C3);
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, T, hs, T, 1.0f, da, T, q, C3,
                        0.0f, dk, C3);
        }
    }
}
