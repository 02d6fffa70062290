/* test_gpu_step: full pp=1 training steps of a small GPT on the CUDA backend
 * against the CPU backend: per-step losses and every parameter tensor after
 * the steps within the precision's tolerance (fp32 1e-5, tf32 1e-3, bf16 2e-2,
 * norm-relative), with the fused kernels at every precision and the reference
 * ones at fp32 (runtime.kernels). SGD: AdamW divides each gradient element by its own
 * magnitude, which turns rounding-level differences of near-zero gradients
 * into lr-sized steps; its kernel is checked on its own in test_gpu_ops.
 * Exits 77 (skipped) without a GPU. */
#include "runtime/config/config.h"
#include "tests/gpu/gpu_common.h"
#include "tests/support/trainrun.h"

#include <mpi.h>

static const char *const SETS[] = {
    "model.type=gpt",      "model.depth=2",        "model.width=64",   "model.heads=4",
    "model.ctx=32",        "train.batch_size=8",   "train.microbatches=2",
    "optim.name=sgd",      "optim.lr=0.05",        "parallel.pp=1",    "parallel.dp=1",
};

static int run(const char *device, const char *precision, const char *kernels, pg_trainrun *out)
{
    pg_config cfg;
    pg_config_init(&cfg);
    for (size_t i = 0; i < sizeof SETS / sizeof *SETS; i++) CHECK(pg_config_set(&cfg, SETS[i]) == 0);
    char d[64], p[64], k[64];
    snprintf(d, sizeof d, "runtime.device=%s", device);
    snprintf(p, sizeof p, "runtime.precision=%s", precision);
    snprintf(k, sizeof k, "runtime.kernels=%s", kernels);
    CHECK(pg_config_set(&cfg, d) == 0);
    CHECK(pg_config_set(&cfg, p) == 0);
    CHECK(pg_config_set(&cfg, k) == 0);
    return pg_trainrun_go(&cfg, MPI_COMM_WORLD, 3, out);
}

int main(int argc, char **argv)
{
    pg_gpu_or_skip("test_gpu_step");
    MPI_Init(&argc, &argv);
    pg_config cfg;
    pg_config_init(&cfg);
    for (size_t i = 0; i < sizeof SETS / sizeof *SETS; i++) pg_config_set(&cfg, SETS[i]);
    pg_trainrun ref = {0};
    CHECK(run("cpu", "fp32", "reference", &ref) == 0);
    for (int p = 0; p < 4; p++) { /* fp32, tf32, bf16 fused; fp32 reference */
        const char *kernels = p < 3 ? "fused" : "reference";
        int prec = p % 3;
        pg_trainrun got = {0};
        int rc = run(pg_gpu_device(), pg_precision_names[prec], kernels, &got);
        CHECK_MSG(rc == 0, "cuda %s %s: %s", pg_precision_names[prec], kernels, pg_errmsg());
        if (!rc) {
            char label[64];
            snprintf(label, sizeof label, "%s %s %s vs cpu", pg_gpu_device(), pg_precision_names[prec],
                     kernels);
            int bad = pg_trainrun_compare(&cfg, &ref, &got, pg_prec_tol[prec], label);
            printf("%s: %d mismatches (tol %.0e); losses cpu %.6f cuda %.6f at step %d\n", label,
                   bad, pg_prec_tol[prec], ref.losses[ref.steps - 1], got.losses[got.steps - 1],
                   ref.steps);
            CHECK(bad == 0);
        }
        pg_trainrun_free(&got);
    }
    pg_trainrun_free(&ref);
    int rc = pg_test_summary("test_gpu_step");
    MPI_Finalize();
    return rc;
}
