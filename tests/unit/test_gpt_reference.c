/* test_gpt_reference.c: the GPT layers against PyTorch.
 *
 * tests/fixtures/gpt_reference.bin (written by gpt_reference.py next to it)
 * holds a small GPT-2's weights, a batch, and PyTorch's logits, loss, every
 * parameter gradient and the losses of 10 AdamW steps. This test loads the
 * weights into a one-stage pipegrid model, runs forward, backward (input then
 * weight gradient) and the tied-embedding gradient sum, and requires logits,
 * loss and every gradient within 1e-4 relative (norm of the difference over
 * norm of the reference), then 10 AdamW steps whose losses match within 1e-4. */
#include "runtime/config/config.h"
#include "runtime/model/model.h"
#include "runtime/model/optim.h"
#include "runtime/model/stage.h"
#include "runtime/model/tied.h"
#include "tests/support/testlib.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define RTOL 1e-4
#define FIXTURE "fixtures/gpt_reference.bin"

typedef struct record {
    char name[49];
    int ndim, dims[4];
    size_t n;
    float *data;
} record;

static record recs[256];
static int nrecs;

static int load(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    char magic[8];
    int32_t count;
    if (fread(magic, 1, 8, f) != 8 || memcmp(magic, "PGFIX001", 8) ||
        fread(&count, 4, 1, f) != 1 || count < 1 || count > 256) {
        fclose(f);
        return -1;
    }
    for (int i = 0; i < count; i++) {
        record *r = &recs[i];
        int32_t nd;
        if (fread(r->name, 1, 48, f) != 48 || fread(&nd, 4, 1, f) != 1 || nd < 0 || nd > 4)
            break;
        r->ndim = nd;
        r->n = 1;
        for (int d = 0; d < nd; d++) {
            int32_t v;
            if (fread(&v, 4, 1, f) != 1) break;
            r->dims[d] = v;
            r->n *= (size_t)v;
        }
        r->data = malloc(sizeof(float) * r->n);
        if (fread(r->data, sizeof(float), r->n, f) != r->n) break;
        nrecs++;
    }
    fclose(f);
    return nrecs == count ? 0 : -1;
}

static const record *find(const char *name)
{
    for (int i = 0; i < nrecs; i++)
        if (!strcmp(recs[i].name, name)) return &recs[i];
    return NULL;
}

static void compare(const char *what, const float *got, const record *ref)
{
    double rel = pg_rel_diff(got, ref->data, ref->n);
    CHECK_MSG(rel <= RTOL, "%s: relative difference %.3g > %g", what, rel, RTOL);
    if (rel > RTOL) printf("  %-36s rel %.3g  FAIL\n", what, rel);
}

/* dlogits (N,V) = (softmax(PyTorch's logits) - onehot(labels)) / N, in double:
 * what the fused classifier leaves in place of the logits. */
static float *expected_dlogits(const record *logits, const record *labels, int N, int V)
{
    float *d = malloc(sizeof(float) * (size_t)N * V);
    for (int i = 0; i < N; i++) {
        const float *z = logits->data + (size_t)i * V;
        double mx = z[0], sum = 0.0;
        for (int v = 1; v < V; v++) mx = z[v] > mx ? z[v] : mx;
        for (int v = 0; v < V; v++) sum += exp((double)z[v] - mx);
        for (int v = 0; v < V; v++)
            d[(size_t)i * V + v] =
                (float)((exp((double)z[v] - mx) / sum - (v == (int)labels->data[i])) / N);
    }
    return d;
}

/* The whole check with the fused kernels (reference = 0: the logits are
 * overwritten with dlogits, checked against PyTorch's logits instead) or the
 * reference ones (runtime.kernels=reference). */
static void check(int reference)
{
    printf("runtime.kernels=%s\n", reference ? "reference" : "fused");
    const float *cf = find("config")->data;
    int V = (int)cf[0], T = (int)cf[1], C = (int)cf[2], NH = (int)cf[3], L = (int)cf[4],
        B = (int)cf[5], STEPS = (int)cf[6], N = B * T;
    pg_config cfg;
    pg_config_init(&cfg);
    char kv[128];
    const char *fixed[] = {"model.type=gpt", "model.tied=1", "optim.name=adamw",
                           "optim.beta1=0.9", "optim.beta2=0.999", "optim.eps=1e-8",
                           "optim.weight_decay=0.1"};
    for (size_t i = 0; i < sizeof fixed / sizeof *fixed; i++) CHECK(pg_config_set(&cfg, fixed[i]) == 0);
    CHECK(pg_config_set(&cfg, reference ? "runtime.kernels=reference" : "runtime.kernels=fused") == 0);
    snprintf(kv, sizeof kv, "model.vocab=%d", V), pg_config_set(&cfg, kv);
    snprintf(kv, sizeof kv, "model.ctx=%d", T), pg_config_set(&cfg, kv);
    snprintf(kv, sizeof kv, "model.width=%d", C), pg_config_set(&cfg, kv);
    snprintf(kv, sizeof kv, "model.heads=%d", NH), pg_config_set(&cfg, kv);
    snprintf(kv, sizeof kv, "model.depth=%d", L), pg_config_set(&cfg, kv);
    CHECK(pg_config_check(&cfg) == 0);

    const pg_ops *o = pg_ops_cpu();
    pg_model *m;
    pg_stage *st;
    CHECK(pg_model_create(&m, &cfg) == 0);
    CHECK(pg_stage_create(&st, m, 0, 1, 0, m->nlayers, o, 1) == 0);
    /* the fixture's weights, by global name */
    int nparams = 0;
    for (int l = 0; l < st->nlayers; l++) {
        for (int p = 0; p < st->layers[l].nparams; p++) {
            pg_param *P = &st->layers[l].params[p];
            char name[96];
            snprintf(name, sizeof name, "param:layers.%d.%s", l, P->name);
            const record *r = find(name);
            CHECK_MSG(r && r->n == P->n, "%s missing or of the wrong size", name);
            if (r && r->n == P->n) o->upload(P->w, r->data, sizeof(float) * P->n);
            nparams++;
        }
    }
    pg_shape shape = {B, T};
    pg_slot *sl = pg_stage_slot(st, 0, shape);
    const record *tok = find("tokens"), *lab = find("labels");
    for (int i = 0; i < N; i++) {
        sl->tokens[i] = (int)tok->data[i];
        sl->labels[i] = (int)lab->data[i];
    }
    pg_mb mb = {.shape = shape, .loss_scale = 1.0f / (float)N};
    pg_tied *tied;
    CHECK(pg_tied_create(&tied, &st, 1, NULL, 0, 0) == 0 && tied);

    /* forward: logits are the loss layer's input; the fused classifier leaves
     * dlogits there */
    pg_stage_forward(st, sl, &mb);
    if (reference) {
        compare("logits", sl->act[st->nlayers - 1], find("logits"));
    } else {
        const record *lg = find("logits");
        record want = *lg;
        want.data = expected_dlogits(lg, lab, N, V);
        compare("dlogits (in place of the logits)", sl->act[st->nlayers - 1], &want);
        free(want.data);
    }
    double loss = 0.0;
    for (int i = 0; i < N; i++) loss += sl->losses[i];
    loss /= N;
    double ref_loss = find("loss")->data[0];
    CHECK_MSG(fabs(loss - ref_loss) <= RTOL * fabs(ref_loss), "loss %.8f vs %.8f", loss, ref_loss);
    printf("forward: loss %.7f (PyTorch %.7f)\n", loss, ref_loss);

    /* backward: I then W, then the tied sum */
    pg_stage_zero_grads(st);
    pg_stage_backward_input(st, sl, &mb, 0);
    pg_stage_backward_weight(st, sl, &mb);
    CHECK(pg_tied_reduce(tied, 10.0) == 0);
    double worst = 0.0;
    for (int l = 0; l < st->nlayers; l++) {
        for (int p = 0; p < st->layers[l].nparams; p++) {
            pg_param *P = &st->layers[l].params[p];
            char name[96];
            snprintf(name, sizeof name, "grad:layers.%d.%s", l, P->name);
            const record *r = find(name);
            if (!r) continue;
            compare(name, P->g, r);
            double rel = pg_rel_diff(P->g, r->data, P->n);
            if (rel > worst) worst = rel;
        }
    }
    printf("backward: %d parameter gradients, worst relative difference %.3g\n", nparams, worst);

    /* 10 AdamW steps on the same batch (constant lr, no clipping) */
    pg_optim *opt;
    CHECK(pg_optim_create(&opt, &cfg, &st, 1) == 0);
    const record *ref = find("adamw_losses");
    double worst_step = 0.0;
    for (int s = 0; s < STEPS; s++) {
        pg_stage_zero_grads(st);
        pg_stage_forward(st, sl, &mb);
        double l = 0.0;
        for (int i = 0; i < N; i++) l += sl->losses[i];
        l /= N;
        double rel = fabs(l - ref->data[s]) / fabs(ref->data[s]);
        if (rel > worst_step) worst_step = rel;
        CHECK_MSG(rel <= RTOL, "AdamW step %d: loss %.7f vs PyTorch %.7f", s + 1, l, ref->data[s]);
        pg_stage_backward_input(st, sl, &mb, 0);
        pg_stage_backward_weight(st, sl, &mb);
        pg_tied_reduce(tied, 10.0);
        pg_optim_step(opt, 1e-2, 1.0f);
    }
    printf("adamw: %d steps, loss %.6f -> %.6f, worst relative difference %.3g\n", STEPS,
           ref->data[0], ref->data[STEPS - 1], worst_step);
    pg_optim_free(opt);
    pg_tied_free(tied);
    pg_stage_free(st);
    pg_model_free(m);
}

int main(void)
{
    if (load(FIXTURE)) {
        fprintf(stderr, "test_gpt_reference: cannot read %s\n", FIXTURE);
        return 1;
    }
    check(1);
    check(0);
    for (int i = 0; i < nrecs; i++) free(recs[i].data);
    return pg_test_summary("test_gpt_reference");
}
