/* test_kernels.c: the CPU backend's fused kernels against the plain ops they
 * replace (runtime.kernels=fused vs reference). The fused classifier
 * (ops.h xent_fused) must give bitwise the losses of xent_forward and the
 * dlogits of xent_backward, over rows wider than any block and with labels
 * at both ends of the vocabulary. */
#include "runtime/base/rng.h"
#include "runtime/compute/ops.h"
#include "tests/support/testlib.h"

#include <stdlib.h>
#include <string.h>

static void test_xent_fused(int N, int V, float spread)
{
    const pg_ops *o = pg_ops_cpu();
    size_t n = (size_t)N * V;
    float *logits = malloc(sizeof(float) * n), *probs = malloc(sizeof(float) * n);
    float *dl = malloc(sizeof(float) * n), *inplace = malloc(sizeof(float) * n);
    float *loss_ref = malloc(sizeof(float) * N), *loss = malloc(sizeof(float) * N);
    int *labels = malloc(sizeof(int) * N);
    pg_rng r;
    pg_rng_init(&r, 11, 0, 0);
    for (size_t i = 0; i < n; i++) logits[i] = spread * (float)pg_rng_normal(&r);
    for (int i = 0; i < N; i++) labels[i] = i == 0 ? 0 : i == 1 ? V - 1 : (int)(pg_rng_u64(&r) % V);
    float scale = 1.0f / (float)N;
    o->xent_forward(loss_ref, probs, logits, labels, N, V);
    o->xent_backward(dl, probs, labels, scale, N, V);
    memcpy(inplace, logits, sizeof(float) * n);
    o->xent_fused(loss, inplace, labels, scale, N, V);
    CHECK_MSG(!memcmp(loss, loss_ref, sizeof(float) * N),
              "xent_fused N=%d V=%d: losses differ from xent_forward", N, V);
    CHECK_MSG(!memcmp(inplace, dl, sizeof(float) * n),
              "xent_fused N=%d V=%d: dlogits differ from xent_backward", N, V);
    printf("xent_fused N=%-4d V=%-5d spread %-4g: bitwise the forward+backward pair\n", N, V,
           spread);
    free(logits), free(probs), free(dl), free(inplace), free(loss_ref), free(loss), free(labels);
}

int main(void)
{
    test_xent_fused(37, 257, 1.0f);
    test_xent_fused(5, 50257, 4.0f); /* GPT-2's vocabulary */
    test_xent_fused(64, 2, 30.0f);   /* saturated softmax */
    return pg_test_summary("test_kernels");
}
