/* test_lr.c: the learning-rate schedule (pg_optim_lr, runtime/model/optim.h):
 * a linear warmup over optim.warmup_steps to optim.lr, then constant
 * (optim.decay=none) or a cosine from lr down to min_lr_ratio * lr at the last
 * step (train.steps - 1). Values against the formulas written out here. */
#include "runtime/config/config.h"
#include "runtime/model/optim.h"
#include "tests/support/testlib.h"

#include <math.h>

static pg_config make(const char *decay, int warmup, int steps)
{
    pg_config c;
    char kv[64];
    CHECK(pg_config_init(&c) == 0);
    CHECK(pg_config_set(&c, "optim.lr=0.5") == 0);
    CHECK(pg_config_set(&c, "optim.min_lr_ratio=0.2") == 0);
    snprintf(kv, sizeof kv, "optim.decay=%s", decay);
    CHECK(pg_config_set(&c, kv) == 0);
    snprintf(kv, sizeof kv, "optim.warmup_steps=%d", warmup);
    CHECK(pg_config_set(&c, kv) == 0);
    snprintf(kv, sizeof kv, "train.steps=%d", steps);
    CHECK(pg_config_set(&c, kv) == 0);
    return c;
}

#define NEAR(a, b) CHECK_MSG(fabs((a) - (b)) <= 1e-12, "%s = %.17g, expected %.17g", #a, (a), (b))

int main(void)
{
    /* warmup 4 then cosine over steps 4..14 (11 steps: the middle is step 9) */
    pg_config c = make("cosine", 4, 15);
    NEAR(pg_optim_lr(&c, 0), 0.5 * 1 / 4);
    NEAR(pg_optim_lr(&c, 1), 0.5 * 2 / 4);
    NEAR(pg_optim_lr(&c, 3), 0.5);             /* warmup ends at the peak */
    NEAR(pg_optim_lr(&c, 4), 0.5);             /* cosine starts at the peak */
    NEAR(pg_optim_lr(&c, 9), (0.5 + 0.1) / 2); /* halfway: the mean of peak and floor */
    NEAR(pg_optim_lr(&c, 14), 0.1);            /* the last step: min_lr_ratio * lr */
    NEAR(pg_optim_lr(&c, 40), 0.1);            /* past the end (a resumed longer run): the floor */
    double lo = 0.1, progress = (6.0 - 4) / 10;
    NEAR(pg_optim_lr(&c, 6), lo + 0.5 * (1 + cos(M_PI * progress)) * (0.5 - lo));
    for (int s = 4; s < 14; s++)
        CHECK_MSG(pg_optim_lr(&c, s + 1) < pg_optim_lr(&c, s), "lr rises from step %d", s);

    /* no warmup: step 0 is the peak */
    c = make("cosine", 0, 3);
    NEAR(pg_optim_lr(&c, 0), 0.5);
    NEAR(pg_optim_lr(&c, 1), 0.3);
    NEAR(pg_optim_lr(&c, 2), 0.1);

    /* a cosine of one step has nowhere to go: the floor */
    c = make("cosine", 2, 3);
    NEAR(pg_optim_lr(&c, 2), 0.1);

    /* decay none: the peak after the warmup, for ever */
    c = make("none", 3, 10);
    NEAR(pg_optim_lr(&c, 0), 0.5 / 3);
    NEAR(pg_optim_lr(&c, 2), 0.5);
    NEAR(pg_optim_lr(&c, 9), 0.5);
    NEAR(pg_optim_lr(&c, 100), 0.5);
    return pg_test_summary("test_lr");
}
