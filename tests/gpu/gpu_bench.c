/* gpu_bench.c: training throughput of a GPT-2-small-shaped model on one
 * device, and the matrix-product rate of the same backend in the same run
 * (tests/gpu/run.sh runs it on a GPU; it also runs on the CPU with small
 * --set overrides, which is how it is checked without a GPU).
 *
 *   gpu_bench [--device cuda|cpu] [--precision fp32|tf32|bf16] [--batch B]
 *             [--iters K] [--peak-tflops X] [--set section.key=value ...]
 *
 * Default model: 12 layers, width 768, 12 heads, vocab 50257, ctx 1024
 * (GPT-2 small), batch 8: one stage holding the whole model, no pipeline.
 * One iteration = forward, backward (input and weight gradients) and the
 * AdamW update of every parameter, timed to the device's completion.
 * Reports tokens/s; model FLOP/s (3 x the forward FLOPs pipegrid counts:
 * every matmul, causal attention over the key <= query pairs only); the
 * backend's GEMM rate on the MLP's (B*T, 4C, C) product on random inputs, at
 * the run's precision and at bf16; MFU against --peak-tflops (default: the
 * dense peak of an H100/H200 SXM at that precision: 67 fp32, 495 tf32, 989
 * bf16 TFLOP/s). The last line, "json: {...}", repeats the numbers for
 * scripts. */
#include "runtime/base/error.h"
#include "runtime/base/rng.h"
#include "runtime/compute/device.h"
#include "runtime/config/config.h"
#include "runtime/model/model.h"
#include "runtime/model/stage.h"

#include <getopt.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

/* FLOP/s of out (N,OC) = inp (N,C) @ w^T on backend o at its current
 * precision, best of reps, on random inputs in [-1, 1) (never zeros: they can
 * run faster than real data). */
static double gemm_rate(const pg_ops *o, int N, int C, int OC, int reps)
{
    size_t ni = (size_t)N * C, nw = (size_t)OC * C;
    float *h = malloc(sizeof(float) * (ni > nw ? ni : nw));
    float *inp = o->alloc(sizeof(float) * ni), *w = o->alloc(sizeof(float) * nw);
    float *out = o->alloc(sizeof(float) * (size_t)N * OC);
    double best = 1e30;
    if (!h || !inp || !w || !out) goto done;
    pg_rng r;
    pg_rng_init(&r, 4, 5, 6);
    for (size_t i = 0; i < ni; i++) h[i] = (float)(pg_rng_u64(&r) >> 11) * 0x1p-52f - 1.0f;
    o->upload(inp, h, sizeof(float) * ni);
    for (size_t i = 0; i < nw; i++) h[i] = (float)(pg_rng_u64(&r) >> 11) * 0x1p-52f - 1.0f;
    o->upload(w, h, sizeof(float) * nw);
    o->matmul_forward(out, inp, w, NULL, N, C, OC); /* warm up (algorithm choice) */
    o->sync();
    for (int k = 0; k < reps; k++) {
        double t0 = now();
        for (int j = 0; j < 5; j++) o->matmul_forward(out, inp, w, NULL, N, C, OC);
        o->sync();
        double t = (now() - t0) / 5;
        if (t < best) best = t;
    }
done:
    free(h);
    o->free(inp), o->free(w), o->free(out);
    return best < 1e30 ? 2.0 * N * (double)C * OC / best : 0.0;
}

int main(int argc, char **argv)
{
    int iters = 10, B = 8, c;
    double peak = 0.0;
    MPI_Init(&argc, &argv);
    pg_config cfg;
    pg_config_init(&cfg);
    const char *defaults[] = {"model.type=gpt", "model.depth=12", "model.width=768",
                              "model.heads=12", "model.vocab=50257", "model.ctx=1024",
                              "runtime.device=cuda"};
    for (size_t i = 0; i < sizeof defaults / sizeof *defaults; i++) pg_config_set(&cfg, defaults[i]);
    static const struct option opts[] = {{"device", required_argument, 0, 'd'},
                                         {"precision", required_argument, 0, 'p'},
                                         {"iters", required_argument, 0, 'k'},
                                         {"batch", required_argument, 0, 'b'},
                                         {"peak-tflops", required_argument, 0, 'P'},
                                         {"set", required_argument, 0, 's'},
                                         {0, 0, 0, 0}};
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'd' && !pg_config_set_key(&cfg, "runtime.device", optarg, "--device")) continue;
        else if (c == 'p' && !pg_config_set_key(&cfg, "runtime.precision", optarg, "--precision"))
            continue;
        else if (c == 'k') iters = atoi(optarg);
        else if (c == 'b') B = atoi(optarg);
        else if (c == 'P') peak = atof(optarg) * 1e12;
        else if (c == 's' && pg_config_set(&cfg, optarg) == 0) continue;
        else {
            fprintf(stderr, "gpu_bench: bad arguments (%s)\n", pg_errmsg());
            return 2;
        }
    }
    if (iters < 1 || B < 1) {
        fprintf(stderr, "gpu_bench: --iters and --batch must be >= 1\n");
        return 2;
    }
    const char *note = NULL;
    char desc[160] = "", bind_note[256] = "";
    const char *precision = pg_precision_names[cfg.runtime.precision];
    const pg_ops *o = pg_ops_select(cfg.runtime.device, &note);
    pg_model *m = NULL;
    pg_stage *st = NULL;
    if (!o || pg_device_bind(o, MPI_COMM_WORLD, NULL, desc, sizeof desc, bind_note, sizeof bind_note) ||
        (pg_device_precision(o, cfg.runtime.precision, &note), 0) || pg_config_check(&cfg) ||
        pg_model_create(&m, &cfg) || pg_stage_create(&st, m, 0, 1, 0, m->nlayers, o, 1)) {
        fprintf(stderr, "gpu_bench: %s\n", pg_errmsg());
        MPI_Finalize();
        return 1;
    }
    if (peak == 0.0) peak = (!strcmp(precision, "bf16") ? 989.4 : !strcmp(precision, "tf32") ? 494.7 : 66.9) * 1e12;
    int T = m->T, N = B * T, V = m->input_width;
    pg_shape shape = {B, T};
    pg_slot *sl = pg_stage_slot(st, 0, shape);
    float *mom = o->alloc(sizeof(float) * st->nparams), *var = o->alloc(sizeof(float) * st->nparams);
    int *tok = malloc(sizeof(int) * 2 * (size_t)N);
    if (!sl || !mom || !var || !tok) {
        fprintf(stderr, "gpu_bench: out of memory for batch %d (%s)\n", B, o->name);
        return 1;
    }
    pg_rng r;
    pg_rng_init(&r, 1, 2, 3);
    for (int i = 0; i < 2 * N; i++) tok[i] = (int)(pg_rng_u64(&r) % (uint64_t)V);
    o->upload(sl->tokens, tok, sizeof(int) * N);
    o->upload(sl->labels, tok + N, sizeof(int) * N);
    pg_mb mb = {.shape = shape, .loss_scale = 1.0f / N};
    double fwd = pg_model_flops(m, 0, m->nlayers, shape);
    double tf = 0, tb = 0, to = 0;
    for (int k = -2; k < iters; k++) { /* two warm-up iterations */
        double t0 = now();
        pg_stage_forward(st, sl, &mb);
        o->sync();
        double t1 = now();
        pg_stage_zero_grads(st);
        pg_stage_backward_input(st, sl, &mb, 0);
        pg_stage_backward_weight(st, sl, &mb);
        o->sync();
        double t2 = now();
        o->adamw_update(st->params, st->grads, mom, var, st->nparams, 1e-4f, 0.9f, 0.95f, 1e-8f,
                        0.0f, k + 3);
        o->sync();
        if (k >= 0) tf += t1 - t0, tb += t2 - t1, to += now() - t2;
    }
    double t = (tf + tb + to) / iters;
    int C = m->layers[1].in_width;
    double model_rate = 3.0 * fwd / t, gemm = gemm_rate(o, N, C, 4 * C, 3), gemm_bf16 = gemm;
    if (cfg.runtime.precision != PG_PREC_BF16) { /* the same product at bf16, for every run */
        pg_device_precision(o, PG_PREC_BF16, &note);
        gemm_bf16 = gemm_rate(o, N, C, 4 * C, 3);
        pg_device_precision(o, cfg.runtime.precision, &note);
    }
    printf("device: %s%s%s, precision %s\n", o->name, desc[0] ? " " : "", desc, precision);
    printf("model: depth %d, width %d, heads %d, vocab %d, ctx %d, batch %d; %zu parameters\n",
           cfg.model.depth, cfg.model.width, cfg.model.heads, cfg.model.vocab, T, B,
           pg_model_unique_param_count(m));
    printf("step: %.1f ms (forward %.1f, backward %.1f, adamw %.1f), %.0f tokens/s\n", t * 1e3,
           tf / iters * 1e3, tb / iters * 1e3, to / iters * 1e3, N / t);
    printf("model FLOP/s: %.2f TFLOP/s (%.4g FLOP per step, 3 x forward)\n", model_rate / 1e12,
           3.0 * fwd);
    printf("GEMM (%d x %d x %d, random inputs, same backend): %.2f TFLOP/s at %s, %.2f at bf16\n",
           N, 4 * C, C, gemm / 1e12, precision, gemm_bf16 / 1e12);
    printf("MFU: %.1f%% of %.1f TFLOP/s peak; model / GEMM rate: %.1f%%\n",
           100.0 * model_rate / peak, peak / 1e12, 100.0 * model_rate / gemm);
    /* one line for scripts (tests/gpu/run.sh collects it into summary.json) */
    printf("json: {\"precision\": \"%s\", \"device\": \"%s\", \"depth\": %d, \"width\": %d, "
           "\"heads\": %d, \"vocab\": %d, \"ctx\": %d, \"batch\": %d, \"iters\": %d, "
           "\"step_ms\": %.3f, \"forward_ms\": %.3f, \"backward_ms\": %.3f, \"adamw_ms\": %.3f, "
           "\"tokens_per_s\": %.1f, \"model_tflops\": %.3f, \"gemm_tflops\": %.3f, "
           "\"gemm_bf16_tflops\": %.3f, \"peak_tflops\": %.1f, \"mfu\": %.4f}\n",
           precision, o->name, cfg.model.depth, cfg.model.width, cfg.model.heads, cfg.model.vocab, T,
           B, iters, t * 1e3, tf / iters * 1e3, tb / iters * 1e3, to / iters * 1e3, N / t,
           model_rate / 1e12, gemm / 1e12, gemm_bf16 / 1e12, peak / 1e12, model_rate / peak);
    o->free(mom), o->free(var), free(tok);
    pg_stage_free(st);
    pg_model_free(m);
    MPI_Finalize();
    return 0;
}
