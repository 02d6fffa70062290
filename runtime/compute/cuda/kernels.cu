/* kernels.cu: the CUDA backend's own kernels (kernels.h). The formulas are
 * those of the CPU backend (runtime/compute/ops_cpu.c, ops_cpu_gpt.c), written the
 * same way (same tanh form in GELU, 1/sqrtf in LayerNorm, p = e * (1/sum)
 * in softmax) so that fp32 results agree to rounding. Reductions have a
 * fixed order: warp shuffles, or one thread per column walking the rows. */
#include "runtime/compute/cuda/check.h"
#include "runtime/compute/cuda/kernels.h"
#include "runtime/compute/gelu.h"

#include <cub/device/device_radix_sort.cuh>
#include <math.h>

#define LN_EPS 1e-5f

/* Blocks for n elements (0 for none); kernels loop over the rest past 2^20. */
static unsigned blocks_for(size_t n, unsigned threads)
{
    size_t b = (n + threads - 1) / threads;
    return b > (1u << 20) ? 1u << 20 : (unsigned)b;
}

/* Launch kernel k with `grid` blocks of `block` threads on stream s and check
 * the launch; nothing at all for an empty grid (zero rows or elements), which
 * CUDA refuses as an invalid configuration instead of doing nothing. */
#define LAUNCH(k, grid, block, s, ...)              \
    do {                                            \
        unsigned grid_ = (unsigned)(grid);          \
        if (grid_ > 0) {                            \
            k<<<grid_, block, 0, s>>>(__VA_ARGS__); \
            PG_KERNEL_CHECK();                      \
        }                                           \
    } while (0)

#define GRID_STRIDE(i, n) \
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < (n); i += (size_t)gridDim.x * blockDim.x)

__device__ __forceinline__ float warp_sum(float v)
{
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

__device__ __forceinline__ float warp_max(float v)
{
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

/* ---- bias and column sums ---- */

__global__ void bias_fill_k(float *out, const float *bias, size_t n, int OC)
{
    GRID_STRIDE(i, n) out[i] = bias[i % OC];
}

void pgk_bias_fill(cudaStream_t s, float *out, const float *bias, int N, int OC)
{
    size_t n = (size_t)N * OC;
    LAUNCH(bias_fill_k, blocks_for(n, 256), 256, s, out, bias, n, OC);
}

/* Column reductions: block (32,32), column c = blockIdx.x*32 + tx; thread
 * row ty sums rows ty, ty+32, ...; the 32 partials are added in ty order. */
__global__ void colsum_k(float *dst, const float *src, int N, int C)
{
    __shared__ float part[32][33];
    int c = blockIdx.x * 32 + threadIdx.x;
    float acc = 0.0f;
    if (c < C)
        for (int i = threadIdx.y; i < N; i += 32) acc += src[(size_t)i * C + c];
    part[threadIdx.y][threadIdx.x] = acc;
    __syncthreads();
    if (threadIdx.y == 0 && c < C) {
        float sum = 0.0f;
        for (int k = 0; k < 32; k++) sum += part[k][threadIdx.x];
        dst[c] += sum;
    }
}

void pgk_colsum_add(cudaStream_t s, float *dst, const float *src, int N, int C)
{
    LAUNCH(colsum_k, (C + 31) / 32, dim3(32, 32), s, dst, src, N, C);
}

/* Split column reductions (runtime.kernels=fused): enough blocks to fill the
 * SMs when C is small. Pass 1, grid (C/32, S): block (32,8) of row chunk s
 * sums its rows into part (S,C); pass 2 adds the S partials of each column in
 * s order. Both orders are fixed: deterministic run to run. */
static int split_chunks(int N)
{
    int s = N / 256;
    return s < 1 ? 1 : s > 128 ? 128 : s;
}

__global__ void colsum_part_k(float *part, const float *src, int N, int C, int rows)
{
    __shared__ float p[8][33];
    int c = blockIdx.x * 32 + threadIdx.x, i0 = blockIdx.y * rows;
    int i1 = min(N, i0 + rows);
    float acc = 0.0f;
    if (c < C)
        for (int i = i0 + threadIdx.y; i < i1; i += 8) acc += src[(size_t)i * C + c];
    p[threadIdx.y][threadIdx.x] = acc;
    __syncthreads();
    if (threadIdx.y == 0 && c < C) {
        float sum = 0.0f;
        for (int k = 0; k < 8; k++) sum += p[k][threadIdx.x];
        part[(size_t)blockIdx.y * C + c] = sum;
    }
}

__global__ void colsum_finish_k(float *dst, const float *part, int S, int C)
{
    int c = blockIdx.x * blockDim.x + threadIdx.x;
    if (c >= C) return;
    float sum = 0.0f;
    for (int s = 0; s < S; s++) sum += part[(size_t)s * C + c];
    dst[c] += sum;
}

size_t pgk_split_bytes(int N, int C) { return 2 * sizeof(float) * (size_t)split_chunks(N) * C; }

void pgk_colsum_add_split(cudaStream_t s, float *scratch, float *dst, const float *src, int N,
                          int C)
{
    if (N <= 0 || C <= 0) return;
    int S = split_chunks(N), rows = (N + S - 1) / S;
    colsum_part_k<<<dim3((C + 31) / 32, S), dim3(32, 8), 0, s>>>(scratch, src, N, C, rows);
    PG_KERNEL_CHECK();
    colsum_finish_k<<<(C + 255) / 256, 256, 0, s>>>(dst, scratch, S, C);
    PG_KERNEL_CHECK();
}

/* ---- elementwise ---- */

__global__ void relu_forward_k(float *out, const float *inp, size_t n)
{
    GRID_STRIDE(i, n) out[i] = inp[i] > 0.0f ? inp[i] : 0.0f;
}

__global__ void relu_backward_k(float *dinp, const float *inp, const float *dout, size_t n,
                                float beta)
{
    GRID_STRIDE(i, n)
    {
        float g = inp[i] > 0.0f ? dout[i] : 0.0f;
        dinp[i] = beta != 0.0f ? dinp[i] + g : g;
    }
}

__global__ void gelu_forward_k(float *out, const float *inp, size_t n)
{
    GRID_STRIDE(i, n) out[i] = pg_gelu(inp[i]);
}

__global__ void gelu_backward_k(float *dinp, const float *inp, const float *dout, size_t n,
                                float beta)
{
    GRID_STRIDE(i, n)
    {
        float g = pg_gelu_grad(inp[i]) * dout[i];
        dinp[i] = beta != 0.0f ? dinp[i] + g : g;
    }
}

__global__ void add_k(float *out, const float *a, const float *b, size_t n)
{
    GRID_STRIDE(i, n) out[i] = a[i] + b[i];
}

__global__ void scale_k(float *x, float k, size_t n)
{
    GRID_STRIDE(i, n) x[i] *= k;
}

void pgk_relu_forward(cudaStream_t s, float *out, const float *inp, size_t n)
{
    LAUNCH(relu_forward_k, blocks_for(n, 256), 256, s, out, inp, n);
}

void pgk_relu_backward(cudaStream_t s, float *dinp, const float *inp, const float *dout, size_t n,
                       float beta)
{
    LAUNCH(relu_backward_k, blocks_for(n, 256), 256, s, dinp, inp, dout, n, beta);
}

void pgk_gelu_forward(cudaStream_t s, float *out, const float *inp, size_t n)
{
    LAUNCH(gelu_forward_k, blocks_for(n, 256), 256, s, out, inp, n);
}

void pgk_gelu_backward(cudaStream_t s, float *dinp, const float *inp, const float *dout, size_t n,
                       float beta)
{
    LAUNCH(gelu_backward_k, blocks_for(n, 256), 256, s, dinp, inp, dout, n, beta);
}

void pgk_add(cudaStream_t s, float *out, const float *a, const float *b, size_t n)
{
    LAUNCH(add_k, blocks_for(n, 256), 256, s, out, a, b, n);
}

void pgk_scale(cudaStream_t s, float *x, float k, size_t n)
{
    LAUNCH(scale_k, blocks_for(n, 256), 256, s, x, k, n);
}

/* ---- LayerNorm: one warp per row, 8 rows per block ---- */

__global__ void layernorm_forward_k(float *out, float *mean, float *rstd, const float *inp,
                                    const float *w, const float *b, int N, int C)
{
    int row = blockIdx.x * 8 + threadIdx.y, lane = threadIdx.x;
    if (row >= N) return;
    const float *x = inp + (size_t)row * C;
    float *o = out + (size_t)row * C;
    float m = 0.0f;
    for (int c = lane; c < C; c += 32) m += x[c];
    m = warp_sum(m) / C;
    float var = 0.0f;
    for (int c = lane; c < C; c += 32) var += (x[c] - m) * (x[c] - m);
    var = warp_sum(var) / C;
    float s = 1.0f / sqrtf(var + LN_EPS);
    for (int c = lane; c < C; c += 32) o[c] = (x[c] - m) * s * w[c] + b[c];
    if (lane == 0) {
        mean[row] = m;
        rstd[row] = s;
    }
}

__global__ void layernorm_backward_input_k(float *dinp, const float *dout, const float *inp,
                                           const float *w, const float *mean, const float *rstd,
                                           int N, int C, float beta)
{
    int row = blockIdx.x * 8 + threadIdx.y, lane = threadIdx.x;
    if (row >= N) return;
    const float *d = dout + (size_t)row * C;
    const float *x = inp + (size_t)row * C;
    float *dx = dinp + (size_t)row * C;
    float m = mean[row], s = rstd[row];
    float dm = 0.0f, dnm = 0.0f;
    for (int c = lane; c < C; c += 32) {
        float norm = (x[c] - m) * s;
        float dnorm = w[c] * d[c];
        dm += dnorm;
        dnm += dnorm * norm;
    }
    dm = warp_sum(dm) / C;
    dnm = warp_sum(dnm) / C;
    for (int c = lane; c < C; c += 32) {
        float norm = (x[c] - m) * s;
        float g = (w[c] * d[c] - dm - norm * dnm) * s;
        dx[c] = beta != 0.0f ? dx[c] + g : g;
    }
}

__global__ void layernorm_backward_weight_k(float *dw, float *db, const float *dout,
                                            const float *inp, const float *mean,
                                            const float *rstd, int N, int C)
{
    __shared__ float pw[32][33], pb[32][33];
    int c = blockIdx.x * 32 + threadIdx.x;
    float aw = 0.0f, ab = 0.0f;
    if (c < C)
        for (int i = threadIdx.y; i < N; i += 32) {
            float d = dout[(size_t)i * C + c];
            aw += (inp[(size_t)i * C + c] - mean[i]) * rstd[i] * d;
            ab += d;
        }
    pw[threadIdx.y][threadIdx.x] = aw;
    pb[threadIdx.y][threadIdx.x] = ab;
    __syncthreads();
    if (threadIdx.y == 0 && c < C) {
        float sw = 0.0f, sb = 0.0f;
        for (int k = 0; k < 32; k++) {
            sw += pw[k][threadIdx.x];
            sb += pb[k][threadIdx.x];
        }
        dw[c] += sw;
        db[c] += sb;
    }
}

/* The split form of layernorm_backward_weight_k (runtime.kernels=fused), as
 * colsum_part_k: pw, pb (S,C) partials of row chunks, then added in order. */
__global__ void layernorm_backward_weight_part_k(float *pw, float *pb, const float *dout,
                                                 const float *inp, const float *mean,
                                                 const float *rstd, int N, int C, int rows)
{
    __shared__ float sw[8][33], sb[8][33];
    int c = blockIdx.x * 32 + threadIdx.x, i0 = blockIdx.y * rows;
    int i1 = min(N, i0 + rows);
    float aw = 0.0f, ab = 0.0f;
    if (c < C)
        for (int i = i0 + threadIdx.y; i < i1; i += 8) {
            float d = dout[(size_t)i * C + c];
            aw += (inp[(size_t)i * C + c] - mean[i]) * rstd[i] * d;
            ab += d;
        }
    sw[threadIdx.y][threadIdx.x] = aw;
    sb[threadIdx.y][threadIdx.x] = ab;
    __syncthreads();
    if (threadIdx.y == 0 && c < C) {
        float w = 0.0f, b = 0.0f;
        for (int k = 0; k < 8; k++) {
            w += sw[k][threadIdx.x];
            b += sb[k][threadIdx.x];
        }
        pw[(size_t)blockIdx.y * C + c] = w;
        pb[(size_t)blockIdx.y * C + c] = b;
    }
}

void pgk_layernorm_backward_weight_split(cudaStream_t s, float *scratch, float *dw, float *db,
                                         const float *dout, const float *inp, const float *mean,
                                         const float *rstd, int N, int C)
{
    if (N <= 0 || C <= 0) return;
    int S = split_chunks(N), rows = (N + S - 1) / S;
    float *pw = scratch, *pb = scratch + (size_t)S * C;
    layernorm_backward_weight_part_k<<<dim3((C + 31) / 32, S), dim3(32, 8), 0, s>>>(
        pw, pb, dout, inp, mean, rstd, N, C, rows);
    PG_KERNEL_CHECK();
    colsum_finish_k<<<(C + 255) / 256, 256, 0, s>>>(dw, pw, S, C);
    PG_KERNEL_CHECK();
    colsum_finish_k<<<(C + 255) / 256, 256, 0, s>>>(db, pb, S, C);
    PG_KERNEL_CHECK();
}

void pgk_layernorm_forward(cudaStream_t s, float *out, float *mean, float *rstd, const float *inp,
                           const float *w, const float *b, int N, int C)
{
    LAUNCH(layernorm_forward_k, (N + 7) / 8, dim3(32, 8), s, out, mean, rstd, inp, w, b, N, C);
}

void pgk_layernorm_backward_input(cudaStream_t s, float *dinp, const float *dout,
                                  const float *inp, const float *w, const float *mean,
                                  const float *rstd, int N, int C, float beta)
{
    LAUNCH(layernorm_backward_input_k, (N + 7) / 8, dim3(32, 8), s, dinp, dout, inp, w, mean,
                                                                    rstd, N, C, beta);
}

void pgk_layernorm_backward_weight(cudaStream_t s, float *dw, float *db, const float *dout,
                                   const float *inp, const float *mean, const float *rstd, int N,
                                   int C)
{
    LAUNCH(layernorm_backward_weight_k, (C + 31) / 32, dim3(32, 32), s, dw, db, dout, inp, mean,
                                                                        rstd, N, C);
}

/* ---- embedding ---- */

__global__ void embedding_forward_k(float *out, const int *tokens, const float *wte,
                                    const float *wpe, int T, int C, size_t n)
{
    GRID_STRIDE(i, n)
    {
        size_t row = i / C;
        int c = (int)(i % C), t = (int)(row % T);
        out[i] = wte[(size_t)tokens[row] * C + c] + wpe[(size_t)t * C + c];
    }
}

/* dwpe: one thread per (t, c), summing over b in order */
__global__ void embedding_backward_wpe_k(float *dwpe, const float *dout, int B, int T, int C)
{
    size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x;
    if (i >= (size_t)T * C) return;
    float acc = dwpe[i];
    for (int b = 0; b < B; b++) acc += dout[(size_t)b * T * C + i];
    dwpe[i] = acc;
}

/* dwte: one thread per column c walks the rows in (b, t) order, so rows with
 * the same token add up in a fixed order without atomics */
__global__ void embedding_backward_wte_k(float *dwte, const float *dout, const int *tokens, int N,
                                         int C)
{
    int c = blockIdx.x * blockDim.x + threadIdx.x;
    if (c >= C) return;
    for (int r = 0; r < N; r++) dwte[(size_t)tokens[r] * C + c] += dout[(size_t)r * C + c];
}

void pgk_embedding_forward(cudaStream_t s, float *out, const int *tokens, const float *wte,
                           const float *wpe, int B, int T, int C)
{
    size_t n = (size_t)B * T * C;
    LAUNCH(embedding_forward_k, blocks_for(n, 256), 256, s, out, tokens, wte, wpe, T, C, n);
}

void pgk_embedding_backward_weight(cudaStream_t s, float *dwte, float *dwpe, const float *dout,
                                   const int *tokens, int B, int T, int C)
{
    size_t tc = (size_t)T * C;
    LAUNCH(embedding_backward_wpe_k, (unsigned)((tc + 255) / 256), 256, s, dwpe, dout, B, T, C);
    if (!dwte) return;
    LAUNCH(embedding_backward_wte_k, (C + 127) / 128, 128, s, dwte, dout, tokens, B * T, C);
}

/* The sorted embedding backward (runtime.kernels=fused): the (token, row)
 * pairs are sorted by token with CUB's radix sort, which is stable, so each
 * token's rows stay in (b, t) order; block i starts a run of equal tokens (or
 * exits) and its threads walk the run per column. Every dwte row adds its
 * gradient rows in the order embedding_backward_wte_k does: bitwise its
 * results, with a block per distinct token instead of C threads in all. */
__global__ void iota_k(int *x, int n)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) x[i] = i;
}

__global__ void embedding_backward_wte_sorted_k(float *dwte, const float *dout, const int *tok,
                                                const int *row, int N, int C)
{
    int i = blockIdx.x;
    if (i > 0 && tok[i] == tok[i - 1]) return; /* not the start of a run */
    int t = tok[i];
    for (int c = threadIdx.x; c < C; c += blockDim.x) {
        float acc = dwte[(size_t)t * C + c];
        for (int j = i; j < N && tok[j] == t; j++) acc += dout[(size_t)row[j] * C + c];
        dwte[(size_t)t * C + c] = acc;
    }
}

/* Scratch layout: sorted tokens (N), rows (N), sorted rows (N), CUB's temp. */
static size_t sort_temp_bytes(int N)
{
    size_t temp = 0;
    cub::DeviceRadixSort::SortPairs(NULL, temp, (const int *)NULL, (int *)NULL,
                                    (const int *)NULL, (int *)NULL, N);
    return temp;
}

size_t pgk_embedding_sort_bytes(int N) { return 3 * sizeof(int) * (size_t)N + sort_temp_bytes(N); }

void pgk_embedding_backward_sorted(cudaStream_t s, void *scratch, float *dwte, float *dwpe,
                                   const float *dout, const int *tokens, int B, int T, int C)
{
    int N = B * T;
    if (N <= 0 || C <= 0) return;
    size_t tc = (size_t)T * C;
    embedding_backward_wpe_k<<<(unsigned)((tc + 255) / 256), 256, 0, s>>>(dwpe, dout, B, T, C);
    PG_KERNEL_CHECK();
    if (!dwte) return;
    int *tok = (int *)scratch, *row = tok + N, *row_sorted = row + N;
    void *temp = row_sorted + N;
    size_t temp_bytes = sort_temp_bytes(N);
    iota_k<<<(N + 255) / 256, 256, 0, s>>>(row, N);
    PG_KERNEL_CHECK();
    PG_CUDA_CHECK(cub::DeviceRadixSort::SortPairs(temp, temp_bytes, tokens, tok, row, row_sorted,
                                                  N, 0, (int)(8 * sizeof(int)), s));
    embedding_backward_wte_sorted_k<<<N, 128, 0, s>>>(dwte, dout, tok, row_sorted, N, C);
    PG_KERNEL_CHECK();
}

/* ---- causal softmax: one warp per row ---- */

__global__ void causal_softmax_k(float *att, int R, int T)
{
    int r = blockIdx.x * 8 + threadIdx.y, lane = threadIdx.x;
    if (r >= R) return;
    int t = r % T;
    float *row = att + (size_t)r * T;
    float mx = -INFINITY;
    for (int s = lane; s <= t; s += 32) mx = fmaxf(mx, row[s]);
    mx = warp_max(mx);
    float sum = 0.0f;
    for (int s = lane; s <= t; s += 32) {
        float e = expf(row[s] - mx);
        row[s] = e;
        sum += e;
    }
    float inv = 1.0f / warp_sum(sum);
    for (int s = lane; s < T; s += 32) row[s] = s <= t ? row[s] * inv : 0.0f;
}

__global__ void causal_softmax_backward_k(float *datt, const float *att, int R, int T,
                                          float scale)
{
    int r = blockIdx.x * 8 + threadIdx.y, lane = threadIdx.x;
    if (r >= R) return;
    int t = r % T;
    const float *a = att + (size_t)r * T;
    float *d = datt + (size_t)r * T;
    float dot = 0.0f;
    for (int s = lane; s <= t; s += 32) dot += a[s] * d[s];
    dot = warp_sum(dot);
    for (int s = lane; s < T; s += 32) d[s] = s <= t ? scale * a[s] * (d[s] - dot) : 0.0f;
}

void pgk_causal_softmax(cudaStream_t s, float *att, int R, int T)
{
    LAUNCH(causal_softmax_k, (R + 7) / 8, dim3(32, 8), s, att, R, T);
}

void pgk_causal_softmax_backward(cudaStream_t s, float *datt, const float *att, int R, int T,
                                 float scale)
{
    LAUNCH(causal_softmax_backward_k, (R + 7) / 8, dim3(32, 8), s, datt, att, R, T, scale);
}

/* ---- losses ---- */

__global__ void mse_forward_k(float *losses, const float *out, const float *target, int N, int D)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= N) return;
    float acc = 0.0f;
    for (int d = 0; d < D; d++) {
        float e = out[(size_t)i * D + d] - target[(size_t)i * D + d];
        acc += e * e;
    }
    losses[i] = acc / D;
}

__global__ void mse_backward_k(float *dout, const float *out, const float *target, float k,
                               size_t n)
{
    GRID_STRIDE(i, n) dout[i] = k * (out[i] - target[i]);
}

/* one block of 512 threads per row of V logits */
__device__ float block_reduce(float v, float *sh, int is_max)
{
    v = is_max ? warp_max(v) : warp_sum(v);
    int w = threadIdx.x / 32, lane = threadIdx.x % 32, nw = blockDim.x / 32;
    __syncthreads(); /* sh may still be read from the previous reduction */
    if (lane == 0) sh[w] = v;
    __syncthreads();
    float r = is_max ? -INFINITY : 0.0f;
    for (int k = 0; k < nw; k++) r = is_max ? fmaxf(r, sh[k]) : r + sh[k];
    return r;
}

__global__ void xent_forward_k(float *losses, float *probs, const float *logits,
                               const int *labels, int V)
{
    __shared__ float sh[32];
    size_t i = blockIdx.x;
    const float *z = logits + i * V;
    float *p = probs + i * V;
    float mx = -INFINITY;
    for (int v = threadIdx.x; v < V; v += blockDim.x) mx = fmaxf(mx, z[v]);
    mx = block_reduce(mx, sh, 1);
    float sum = 0.0f;
    for (int v = threadIdx.x; v < V; v += blockDim.x) {
        float e = expf(z[v] - mx);
        p[v] = e;
        sum += e;
    }
    float inv = 1.0f / block_reduce(sum, sh, 0);
    for (int v = threadIdx.x; v < V; v += blockDim.x) p[v] *= inv;
    __syncthreads();
    if (threadIdx.x == 0) losses[i] = -logf(p[labels[i]]);
}

__global__ void xent_backward_k(float *dlogits, const float *probs, const int *labels,
                                float scale, int V, size_t n)
{
    GRID_STRIDE(i, n)
    {
        float d = scale * probs[i];
        if ((int)(i % V) == labels[i / V]) d -= scale;
        dlogits[i] = d;
    }
}

/* The fused classifier: one block per row i; z (V) = logits row, overwritten
 * with exp(z - max), then with dlogits. Same arithmetic as xent_forward_k and
 * xent_backward_k, in the same order, so the results are bitwise theirs. */
__global__ void xent_fused_k(float *losses, float *logits, const int *labels, float scale, int V)
{
    __shared__ float sh[32];
    size_t i = blockIdx.x;
    float *z = logits + i * V;
    float mx = -INFINITY;
    for (int v = threadIdx.x; v < V; v += blockDim.x) mx = fmaxf(mx, z[v]);
    mx = block_reduce(mx, sh, 1);
    float sum = 0.0f;
    for (int v = threadIdx.x; v < V; v += blockDim.x) {
        float e = expf(z[v] - mx);
        z[v] = e;
        sum += e;
    }
    float inv = 1.0f / block_reduce(sum, sh, 0); /* its barriers publish every z[v] */
    int label = labels[i];
    if (threadIdx.x == 0) losses[i] = -logf(z[label] * inv);
    __syncthreads(); /* z[label] is read before anyone overwrites it */
    for (int v = threadIdx.x; v < V; v += blockDim.x) {
        float d = scale * (z[v] * inv);
        z[v] = v == label ? d - scale : d;
    }
}

void pgk_mse_forward(cudaStream_t s, float *losses, const float *out, const float *target, int N,
                     int D)
{
    LAUNCH(mse_forward_k, (N + 127) / 128, 128, s, losses, out, target, N, D);
}

void pgk_mse_backward(cudaStream_t s, float *dout, const float *out, const float *target,
                      float scale, int N, int D)
{
    size_t n = (size_t)N * D;
    LAUNCH(mse_backward_k, blocks_for(n, 256), 256, s, dout, out, target, 2.0f * scale / D, n);
}

void pgk_xent_forward(cudaStream_t s, float *losses, float *probs, const float *logits,
                      const int *labels, int N, int V)
{
    LAUNCH(xent_forward_k, N, 512, s, losses, probs, logits, labels, V);
}

void pgk_xent_backward(cudaStream_t s, float *dlogits, const float *probs, const int *labels,
                       float scale, int N, int V)
{
    size_t n = (size_t)N * V;
    LAUNCH(xent_backward_k, blocks_for(n, 256), 256, s, dlogits, probs, labels, scale, V, n);
}

void pgk_xent_fused(cudaStream_t s, float *losses, float *logits, const int *labels, float scale,
                    int N, int V)
{
    if (N <= 0) return;
    xent_fused_k<<<N, 512, 0, s>>>(losses, logits, labels, scale, V);
    PG_KERNEL_CHECK();
}

/* ---- optimizer and norm ---- */

__global__ void adamw_k(float *p, const float *g, float *m, float *v, size_t n, float lr,
                        float beta1, float beta2, float eps, float wd, float step, float bc2_sqrt)
{
    GRID_STRIDE(i, n)
    {
        float mi = beta1 * m[i] + (1.0f - beta1) * g[i];
        float vi = beta2 * v[i] + (1.0f - beta2) * g[i] * g[i];
        float pi = p[i] * (1.0f - lr * wd);
        m[i] = mi;
        v[i] = vi;
        p[i] = pi - step * mi / (sqrtf(vi) / bc2_sqrt + eps);
    }
}

__global__ void sgd_k(float *p, const float *g, float *buf, size_t n, float lr, float mu, float wd)
{
    GRID_STRIDE(i, n)
    {
        float b = mu * buf[i] + g[i] + wd * p[i];
        buf[i] = b;
        p[i] -= lr * b;
    }
}

__global__ void sumsq_k(double *part, const float *x, size_t n)
{
    __shared__ double sh[256];
    double acc = 0.0;
    GRID_STRIDE(i, n) acc += (double)x[i] * x[i];
    sh[threadIdx.x] = acc;
    __syncthreads();
    for (int k = 128; k > 0; k >>= 1) {
        if ((int)threadIdx.x < k) sh[threadIdx.x] += sh[threadIdx.x + k];
        __syncthreads();
    }
    if (threadIdx.x == 0) part[blockIdx.x] = sh[0];
}

void pgk_adamw(cudaStream_t s, float *p, const float *g, float *m, float *v, size_t n, float lr,
               float beta1, float beta2, float eps, float wd, float step, float bc2_sqrt)
{
    LAUNCH(adamw_k, blocks_for(n, 256), 256, s, p, g, m, v, n, lr, beta1, beta2, eps, wd, step,
                                               bc2_sqrt);
}

void pgk_sgd(cudaStream_t s, float *p, const float *g, float *buf, size_t n, float lr, float mu,
             float wd)
{
    LAUNCH(sgd_k, blocks_for(n, 256), 256, s, p, g, buf, n, lr, mu, wd);
}

void pgk_sumsq_partials(cudaStream_t s, double *part, const float *x, size_t n)
{
    LAUNCH(sumsq_k, PGK_SUMSQ_BLOCKS, 256, s, part, x, n);
}
