/* data_teacher.c: the synthetic teacher task (see data.h). */
#include "runtime/engine/data.h"

#include "runtime/base/error.h"
#include "runtime/base/rng.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct teacher {
    pg_data base;
    int D, H, O, labels;
    uint64_t seed;
    float *w1; /* (H, D) */
    float *w2; /* (O, H) */
    float *x, *h, *y; /* scratch for one sample */
} teacher;

static int teacher_get(pg_data *d, int64_t first, int count, float *x, int *tokens,
                       float *target, int *labels)
{
    (void)tokens;
    teacher *t = (teacher *)d;
    for (int n = 0; n < count; n++) {
        pg_rng r;
        pg_rng_init(&r, t->seed, 1, (uint64_t)(first + n));
        for (int i = 0; i < t->D; i++) t->x[i] = (float)pg_rng_normal(&r);
        if (x) memcpy(x + (size_t)n * t->D, t->x, sizeof(float) * t->D);
        if (!target && !labels) continue;
        for (int j = 0; j < t->H; j++) {
            double acc = 0.0;
            for (int i = 0; i < t->D; i++) acc += (double)t->w1[(size_t)j * t->D + i] * t->x[i];
            t->h[j] = (float)tanh(acc);
        }
        int best = 0;
        for (int o = 0; o < t->O; o++) {
            double acc = 0.0;
            for (int j = 0; j < t->H; j++) acc += (double)t->w2[(size_t)o * t->H + j] * t->h[j];
            t->y[o] = (float)acc;
            if (t->y[o] > t->y[best]) best = o;
        }
        if (target) memcpy(target + (size_t)n * t->O, t->y, sizeof(float) * t->O);
        if (labels) labels[n] = best;
    }
    return 0;
}

static void teacher_destroy(pg_data *d)
{
    teacher *t = (teacher *)d;
    free(t->w1);
    free(t->w2);
    free(t->x);
    free(t);
}

int pg_data_teacher_create(pg_data **out, const pg_config *c, const pg_model *m)
{
    *out = NULL;
    if (m->input != PG_INPUT_FEATURES || m->T != 1)
        return pg_error(PG_EINVAL, "data.source=teacher needs a feature model (model.type=mlp)");
    teacher *t = calloc(1, sizeof *t);
    if (!t) return pg_error(PG_ENOMEM, "data: out of memory");
    t->base.name = "teacher";
    t->base.get = teacher_get;
    t->base.destroy = teacher_destroy;
    t->D = m->input_width;
    t->H = c->data.teacher_hidden;
    t->O = m->target_width;
    t->seed = (uint64_t)c->data.seed;
    t->w1 = malloc(sizeof(float) * (size_t)t->H * t->D);
    t->w2 = malloc(sizeof(float) * (size_t)t->O * t->H);
    t->x = malloc(sizeof(float) * (size_t)(t->D + t->H + t->O));
    if (!t->w1 || !t->w2 || !t->x) {
        teacher_destroy(&t->base);
        return pg_error(PG_ENOMEM, "data: out of memory");
    }
    t->h = t->x + t->D;
    t->y = t->h + t->H;
    pg_rng r;
    pg_rng_init(&r, t->seed, 0, 0);
    for (size_t i = 0; i < (size_t)t->H * t->D; i++)
        t->w1[i] = (float)(pg_rng_normal(&r) / sqrt((double)t->D));
    /* tanh of a unit normal has variance ~0.39: scale so targets have ~unit variance */
    for (size_t i = 0; i < (size_t)t->O * t->H; i++)
        t->w2[i] = (float)(1.6 * pg_rng_normal(&r) / sqrt((double)t->H));
    *out = &t->base;
    return 0;
}

int pg_data_create(pg_data **d, const pg_config *c, const pg_model *m)
{
    pg_data_source src = c->data.source;
    if (src == PG_SOURCE_AUTO) src = m->input == PG_INPUT_TOKENS ? PG_SOURCE_TOKENS : PG_SOURCE_TEACHER;
    return src == PG_SOURCE_TEACHER ? pg_data_teacher_create(d, c, m)
                                    : pg_data_tokens_create(d, c, m);
}
