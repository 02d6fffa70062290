/* ops_cpu_gpt.c: the CPU backend of the GPT entries of ops.h (embedding and
 * causal multi-head attention).
 *
 * Attention is computed per (sample, head) pair in tiles of ATT_TILE query
 * rows, flash-attention style: a tile [t0, t1) only meets the keys [0, t1)
 * (the masked upper triangle right of the tile is never computed), its scores
 * live in a tile x T scratch and never as a T x T matrix, and the forward
 * keeps only each row's log-sum-exp (B,NH,T). The backward recomputes a
 * tile's probabilities from q, k and the log-sum-exp. Each row's softmax is
 * exact over its whole key range (the tile's scores fit the scratch), so no
 * online rescaling is needed. Memory: saved B*NH*T floats plus a forward tile per
 * worker, backward scratch two tiles (tile x T) per worker: linear in T. Every product is a BLAS call on
 * strided views of qkv: q, k, v of head h are the columns [h*hs, (h+1)*hs) of
 * the three C-wide thirds of each row, read with a leading dimension of 3C,
 * so nothing is copied or transposed. Pairs are independent (each writes its
 * own rows and columns) and spread over up to PG_CPU_WORKERS threads
 * (cpu_threads.h), each with its own scratch tiles and single-threaded BLAS
 * calls; the result does not depend on the thread count. */
#include "runtime/compute/ops_cpu_gpt.h"

#include "runtime/compute/cpu_threads.h"
#include "runtime/compute/fastmath.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

#define ATT_TILE 64 /* query rows per tile */

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

static int att_rows(int T) { return T < ATT_TILE ? T : ATT_TILE; }

size_t pg_cpu_attention_saved_floats(int B, int T, int NH)
{
    // lse (B,NH,T) | forward scratch (workers, tile, T)
    return (size_t)B * NH * T + (size_t)PG_CPU_WORKERS * att_rows(T) * T;
}

size_t pg_cpu_attention_scratch_floats(int B, int T, int NH)
{
    (void)B, (void)NH;
    // per worker: P (tile,T) | dP (tile,T)
    return (size_t)PG_CPU_WORKERS * 2 * att_rows(T) * T;
}

/* Scores of query rows [t0, t1) against keys [0, t1), turned into probabilities
 * in place: s (t1-t0, t1), row i = query t0+i; entries s > t are set to 0. With
 * lse == NULL the softmax is computed and each row's log-sum-exp stored in
 * lse_out; otherwise p = exp(score - lse[t]) recomputes the forward's values. */
static void tile_probs(float *s, const float *q, const float *k, int t0, int t1, int hs, int C3,
                       float scale, const float *lse, float *lse_out)
{
    int nq = t1 - t0;
    // s (nq, t1) = scale * q[t0:t1] (nq,hs) @ k[0:t1]^T (hs,t1)
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, nq, t1, hs, scale, q + (size_t)t0 * C3,
                C3, k, C3, 0.0f, s, t1);
    for (int i = 0; i < nq; i++) {
        int t = t0 + i;
        float *row = s + (size_t)i * t1;
        if (lse) {
            float m = lse[t];
            for (int j = 0; j <= t; j++) row[j] = pg_expf(row[j] - m);
        } else {
            float mx = row[0];
            for (int j = 1; j <= t; j++) mx = row[j] > mx ? row[j] : mx;
            float sum = 0.0f;
            for (int j = 0; j <= t; j++) {
                row[j] = pg_expf(row[j] - mx);
                sum += row[j];
            }
            float inv = 1.0f / sum;
            for (int j = 0; j <= t; j++) row[j] *= inv;
            lse_out[t] = mx + logf(sum);
        }
        for (int j = t + 1; j < t1; j++) row[j] = 0.0f;
    }
}

void pg_cpu_attention_forward(float *out, float *att, const float *qkv, int B, int T, int C,
                              int NH)
{
    int hs = C / NH, C3 = 3 * C, R = att_rows(T);
    float scale = 1.0f / sqrtf((float)hs);
    float *scratch = att + (size_t)B * NH * T;
    int nw = pg_cpu_workers(B * NH), blas = pg_cpu_blas_single(nw);
#pragma omp parallel for num_threads(nw) schedule(static, 1)
    for (int pair = 0; pair < B * NH; pair++) {
        int b = pair / NH, h = pair % NH;
        const float *q = qkv + (size_t)b * T * C3 + (size_t)h * hs; // (T,hs), ld 3C
        const float *k = q + C, *v = q + 2 * C;
        float *lse = att + (size_t)pair * T;                  // (T)
        float *p = scratch + (size_t)pg_cpu_worker() * R * T; // (tile, T)
        float *o = out + (size_t)b * T * C + (size_t)h * hs;  // (T,hs), ld C
        for (int t0 = 0; t0 < T; t0 += R) {
            int t1 = t0 + R < T ? t0 + R : T;
            tile_probs(p, q, k, t0, t1, hs, C3, scale, NULL, lse);
            // o[t0:t1] (nq,hs) = p (nq,t1) @ v[0:t1] (t1,hs)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, t1 - t0, hs, t1, 1.0f, p, t1,
                        v, C3, 0.0f, o + (size_t)t0 * C, C);
        }
    }
    pg_cpu_blas_restore(blas);
}

void pg_cpu_attention_backward(float *dqkv, float *scratch, const float *dout, const float *qkv,
                               const float *att, int B, int T, int C, int NH)
{
    int hs = C / NH, C3 = 3 * C, R = att_rows(T);
    float scale = 1.0f / sqrtf((float)hs);
    int nw = pg_cpu_workers(B * NH), blas = pg_cpu_blas_single(nw);
#pragma omp parallel for num_threads(nw) schedule(static, 1)
    for (int pair = 0; pair < B * NH; pair++) {
        int b = pair / NH, h = pair % NH;
        size_t qo = (size_t)b * T * C3 + (size_t)h * hs;
        const float *q = qkv + qo, *k = q + C, *v = q + 2 * C;   // (T,hs), ld 3C
        float *dq = dqkv + qo, *dk = dq + C, *dv = dq + 2 * C;   // (T,hs), ld 3C
        const float *lse = att + (size_t)pair * T;
        const float *dO = dout + (size_t)b * T * C + (size_t)h * hs; // (T,hs), ld C
        float *p = scratch + (size_t)pg_cpu_worker() * 2 * R * T; // (tile,T)
        float *dp = p + (size_t)R * T;                             // (tile,T)
        /* Tiles from the last: the last one meets every key and writes dk, dv (=),
         * the earlier ones add into their prefix of rows. */
        int ntiles = (T + R - 1) / R;
        for (int tile = ntiles - 1; tile >= 0; tile--) {
            int t0 = tile * R, t1 = t0 + R < T ? t0 + R : T, nq = t1 - t0;
            float beta = tile == ntiles - 1 ? 0.0f : 1.0f;
            tile_probs(p, q, k, t0, t1, hs, C3, scale, lse, NULL);
            const float *dOt = dO + (size_t)t0 * C;
            // dv[0:t1] (t1,hs) (+)= p^T (t1,nq) @ dO[t0:t1] (nq,hs)
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, t1, hs, nq, 1.0f, p, t1, dOt, C,
                        beta, dv, C3);
            // dp (nq,t1) = dO[t0:t1] (nq,hs) @ v[0:t1]^T (hs,t1)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, nq, t1, hs, 1.0f, dOt, C, v, C3,
                        0.0f, dp, t1);
            // softmax backward: ds = scale * p * (dp - sum_s p*dp), in dp; 0 for s > t
            for (int i = 0; i < nq; i++) {
                int t = t0 + i;
                const float *pr = p + (size_t)i * t1;
                float *dr = dp + (size_t)i * t1;
                float dot = 0.0f;
                for (int j = 0; j <= t; j++) dot += pr[j] * dr[j];
                for (int j = 0; j <= t; j++) dr[j] = scale * pr[j] * (dr[j] - dot);
                for (int j = t + 1; j < t1; j++) dr[j] = 0.0f;
            }
            // dq[t0:t1] (nq,hs) = ds (nq,t1) @ k[0:t1] (t1,hs)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, nq, hs, t1, 1.0f, dp, t1, k,
                        C3, 0.0f, dq + (size_t)t0 * C3, C3);
            // dk[0:t1] (t1,hs) (+)= ds^T (t1,nq) @ q[t0:t1] (nq,hs)
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, t1, hs, nq, 1.0f, dp, t1,
                        q + (size_t)t0 * C3, C3, beta, dk, C3);
        }
    }
    pg_cpu_blas_restore(blas);
}
