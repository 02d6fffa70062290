/* trainrun.c: see trainrun.h. */
#include "tests/support/trainrun.h"

#include "runtime/base/error.h"
#include "runtime/engine/run.h"
#include "runtime/model/model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int pg_trainrun_go(const pg_config *cfg, MPI_Comm world, int steps, pg_trainrun *out)
{
    memset(out, 0, sizeof *out);
    int reporter, rank;
    MPI_Comm_rank(world, &rank);
    pg_run *r;
    int rc = pg_run_create(&r, cfg, world, &reporter);
    if (rc) {
        if (reporter) fprintf(stderr, "trainrun: %s\n", pg_errmsg());
        return rc;
    }
    out->steps = steps;
    out->losses = calloc((size_t)steps, sizeof(double));
    for (int s = 0; s < steps && !rc; s++) {
        pg_step_stats st;
        rc = pg_engine_step(r->engine, &st);
        if (rc) {
            fprintf(stderr, "trainrun: rank %d: %s\n", rank, pg_errmsg());
            MPI_Abort(MPI_COMM_WORLD, 1);
        }
        out->losses[s] = st.loss;
    }
    rc = pg_run_gather_params(r, &out->params, &out->nparams);
    pg_run_free(r);
    return rc;
}

void pg_trainrun_free(pg_trainrun *r)
{
    free(r->losses);
    free(r->params);
    memset(r, 0, sizeof *r);
}

int pg_trainrun_compare(const pg_config *cfg, const pg_trainrun *a, const pg_trainrun *b,
                        double rtol, const char *label)
{
    int bad = 0;
    for (int s = 0; s < a->steps; s++) {
        double d = fabs(a->losses[s] - b->losses[s]) / fmax(fabs(a->losses[s]), 1e-30);
        int ok = rtol == 0 ? memcmp(&a->losses[s], &b->losses[s], sizeof(double)) == 0
                           : d <= rtol;
        if (!ok) {
            fprintf(stderr, "%s: step %d loss %.9g vs reference %.9g (rel %.3g)\n", label, s + 1,
                    b->losses[s], a->losses[s], d);
            bad++;
        }
    }
    if (a->nparams != b->nparams) {
        fprintf(stderr, "%s: %zu parameters vs %zu\n", label, b->nparams, a->nparams);
        return bad + 1;
    }
    pg_model *m;
    if (pg_model_create(&m, cfg)) {
        fprintf(stderr, "%s: %s\n", label, pg_errmsg());
        return bad + 1;
    }
    size_t off = 0;
    double worst = 0.0;
    for (int l = 0; l < m->nlayers; l++) {
        for (int p = 0; p < m->layers[l].nparams; p++) {
            const pg_param *P = &m->layers[l].params[p];
            const float *x = a->params + off, *y = b->params + off;
            double num = 0.0, den = 0.0;
            for (size_t i = 0; i < P->n; i++) {
                double d = (double)y[i] - x[i];
                num += d * d;
                den += (double)x[i] * x[i];
            }
            double rel = den > 0 ? sqrt(num / den) : sqrt(num);
            if (rel > worst) worst = rel;
            int ok = rtol == 0 ? memcmp(x, y, sizeof(float) * P->n) == 0 : rel <= rtol;
            if (!ok) {
                fprintf(stderr, "%s: layers.%d.%s differs: relative %.3g\n", label, l, P->name,
                        rel);
                bad++;
            }
            off += P->n;
        }
    }
    printf("%s: %d steps, final loss %.9g (reference %.9g), worst tensor rel diff %.3g: %s\n",
           label, a->steps, b->losses[a->steps - 1], a->losses[a->steps - 1], worst,
           bad ? "MISMATCH" : "ok");
    pg_model_free(m);
    return bad;
}

int pg_trainrun_tiny_mlp(pg_config *cfg)
{
    static const char *const keys[] = {
        "model.type=mlp",
        "model.input_dim=8",
        "model.layers=linear:24 relu resmlp:32 layernorm linear:16 gelu linear:4 mse",
        "data.teacher_hidden=16",
        "train.batch_size=96",
        "optim.lr=0.01",
        "parallel.partition=uniform",
    };
    int rc = pg_config_init(cfg);
    for (size_t i = 0; i < sizeof keys / sizeof *keys && !rc; i++) rc = pg_config_set(cfg, keys[i]);
    return rc;
}
