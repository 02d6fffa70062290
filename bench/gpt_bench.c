/* gpt_bench.c: GPT forward+backward throughput against the machine's sgemm,
 * in one process on the same BLAS threads (see bench/gpt_throughput.sh).
 *
 *   gpt_bench [--threads N] [--iters K] [--warmup W] [--batch B] [--compare]
 *             [--set section.key=value ...]
 *
 * Default model: depth 4, width 256, 4 heads, vocab 256, ctx 128, batch 8
 * (one stage holding the whole model, no MPI). Reports the median time of a
 * forward + backward (loss included), tokens/s, model FLOP/s (3 x the forward
 * FLOPs pipegrid counts, see pg_model_flops), the sgemm FLOP/s of 2048^3
 * products, and their ratio. --compare prints instead the one line that
 * bench/gpt_vs_torch.sh parses (no sgemm, whose matrices would count in the
 * peak RSS): "pipegrid: ms M tokens/s R rss_mb S". */
#include "runtime/base/error.h"
#include "runtime/base/rng.h"
#include "runtime/config/config.h"
#include "runtime/model/model.h"
#include "runtime/model/stage.h"

#include <cblas.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

static double sgemm_rate(int n, int reps)
{
    float *a = malloc(sizeof(float) * (size_t)n * n), *b = malloc(sizeof(float) * (size_t)n * n),
          *c = calloc((size_t)n * n, sizeof(float));
    for (size_t i = 0; i < (size_t)n * n; i++) a[i] = b[i] = (float)(i % 7) * 0.1f;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
    double best = 1e30;
    for (int r = 0; r < reps; r++) {
        double t0 = now();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, b, n, 0.0f, c,
                    n);
        double t = now() - t0;
        if (t < best) best = t;
    }
    free(a), free(b), free(c);
    return 2.0 * n * (double)n * n / best;
}

/* user + system CPU time of the process, seconds */
static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
           1e-6 * (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    int threads = 0, iters = 10, warmup = 2, B = 8, compare = 0, c;
    pg_config cfg;
    pg_config_init(&cfg);
    const char *defaults[] = {"model.type=gpt", "model.depth=4", "model.width=256",
                              "model.heads=4", "model.vocab=256", "model.ctx=128"};
    for (size_t i = 0; i < sizeof defaults / sizeof *defaults; i++) pg_config_set(&cfg, defaults[i]);
    static const struct option opts[] = {{"threads", required_argument, 0, 't'},
                                         {"iters", required_argument, 0, 'k'},
                                         {"warmup", required_argument, 0, 'w'},
                                         {"batch", required_argument, 0, 'b'},
                                         {"compare", no_argument, 0, 'c'},
                                         {"set", required_argument, 0, 's'},
                                         {0, 0, 0, 0}};
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 't') threads = atoi(optarg);
        else if (c == 'k') iters = atoi(optarg);
        else if (c == 'w') warmup = atoi(optarg);
        else if (c == 'b') B = atoi(optarg);
        else if (c == 'c') compare = 1;
        else if (c == 's' && pg_config_set(&cfg, optarg) == 0) continue;
        else {
            fprintf(stderr, "gpt_bench: bad arguments (%s)\n", pg_errmsg());
            return 2;
        }
    }
    if (threads > 0) openblas_set_num_threads(threads);
    pg_model *m;
    pg_stage *st;
    if (pg_config_check(&cfg) || pg_model_create(&m, &cfg) ||
        pg_stage_create(&st, m, 0, 1, 0, m->nlayers, pg_ops_cpu(), 1)) {
        fprintf(stderr, "gpt_bench: %s\n", pg_errmsg());
        return 1;
    }
    int T = m->T, N = B * T;
    pg_shape shape = {B, T};
    pg_slot *sl = pg_stage_slot(st, 0, shape);
    pg_rng r;
    pg_rng_init(&r, 1, 2, 3);
    for (int i = 0; i < N; i++) {
        sl->tokens[i] = (int)(pg_rng_u64(&r) % (uint64_t)m->input_width);
        sl->labels[i] = (int)(pg_rng_u64(&r) % (uint64_t)m->input_width);
    }
    pg_mb mb = {.shape = shape, .loss_scale = 1.0f / N};
    double fwd = pg_model_flops(m, 0, m->nlayers, shape);
    if (iters < 1 || iters > 1000 || warmup < 0 || B < 1) {
        fprintf(stderr, "gpt_bench: need 1 <= --iters <= 1000, --warmup >= 0, --batch >= 1\n");
        return 2;
    }
    for (int w = 0; w < warmup; w++) {
        pg_stage_forward(st, sl, &mb);
        pg_stage_backward_input(st, sl, &mb, 0);
        pg_stage_backward_weight(st, sl, &mb);
    }
    double tf = 0, tb = 0, *ts = malloc(sizeof(double) * iters), cpu0 = cpu_seconds();
    for (int k = 0; k < iters; k++) {
        double t0 = now();
        pg_stage_forward(st, sl, &mb);
        double t1 = now();
        pg_stage_backward_input(st, sl, &mb, 0);
        pg_stage_backward_weight(st, sl, &mb);
        double t2 = now();
        tb += t2 - t1;
        tf += t1 - t0;
        ts[k] = t2 - t0;
    }
    double cpu = (cpu_seconds() - cpu0) / iters;
    qsort(ts, (size_t)iters, sizeof *ts, cmp_double);
    double t = iters % 2 ? ts[iters / 2] : 0.5 * (ts[iters / 2 - 1] + ts[iters / 2]);
    free(ts);
    if (compare) {
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        printf("pipegrid: ms %.2f tokens/s %.0f rss_mb %.1f cpu_ms %.2f (median of %d, %d "
               "threads; cpu_ms = process CPU time per iteration, mean)\n",
               t * 1e3, N / t, ru.ru_maxrss / 1024.0, cpu * 1e3, iters,
               openblas_get_num_threads());
        pg_stage_free(st);
        pg_model_free(m);
        return 0;
    }
    double model_rate = 3.0 * fwd / t, gemm = sgemm_rate(2048, 3);
    printf("model: depth %d, width %d, heads %d, vocab %d, ctx %d, batch %d; %zu parameters\n",
           cfg.model.depth, cfg.model.width, cfg.model.heads, cfg.model.vocab, T, B,
           pg_model_unique_param_count(m));
    printf("threads: %d (OpenBLAS)\n", openblas_get_num_threads());
    printf("fwd+bwd: %.1f ms per batch, median (mean forward %.1f ms, backward %.1f ms), "
           "%.0f tokens/s\n",
           t * 1e3, tf / iters * 1e3, tb / iters * 1e3, N / t);
    printf("model FLOP/s: %.2f GFLOP/s (%.3g FLOP per batch, 3 x forward)\n", model_rate / 1e9,
           3.0 * fwd);
    printf("sgemm 2048^3: %.2f GFLOP/s\n", gemm / 1e9);
    printf("model / sgemm: %.1f%%\n", 100.0 * model_rate / gemm);
    pg_stage_free(st);
    pg_model_free(m);
    return 0;
}
