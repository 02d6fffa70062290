/* test_config.c: INI parsing, overrides and their error messages. */
#include "runtime/base/error.h"
#include "runtime/config/config.h"
#include "tests/support/testlib.h"

#include <stdlib.h>
#include <string.h>

static int load(pg_config *c, const char *text)
{
    pg_config_init(c);
    return pg_config_load_string(c, text, "t.ini");
}

/* The call fails and its message contains `want`. */
#define EXPECT_ERROR(call, want)                                                           \
    do {                                                                                   \
        int rc_ = (call);                                                                  \
        CHECK_MSG(rc_ != 0, "expected an error containing '%s'", want);                    \
        CHECK_MSG(strstr(pg_errmsg(), want) != NULL, "message '%s' lacks '%s'", pg_errmsg(), \
                  want);                                                                   \
        CHECK_MSG(strchr(pg_errmsg(), '\n') == NULL, "message has several lines: %s",      \
                  pg_errmsg());                                                            \
    } while (0)

int main(void)
{
    pg_config c;
    CHECK(pg_config_init(&c) == 0);
    CHECK(pg_config_check(&c) == 0);
    CHECK(!strcmp(c.parallel.schedule, "1f1b"));

    /* values of every type, comments, a value continued over indented lines */
    CHECK(load(&c, "; comment\n# comment\n[train]\nsteps = 7 ; inline\nseed=-3\n"
                   "[optim]\nlr = 2.5e-4\n[model]\nlayers = linear:4\n  relu linear:2 mse\n") == 0);
    CHECK(c.train.steps == 7);
    CHECK(c.train.seed == -3);
    CHECK(c.optim.lr == 2.5e-4);
    CHECK(!strcmp(c.model.layers, "linear:4 relu linear:2 mse"));

    /* overrides */
    CHECK(pg_config_set(&c, "parallel.pp=4") == 0 && c.parallel.pp == 4);
    CHECK(pg_config_set(&c, "model.layers=linear:3 mse") == 0);
    CHECK(!strcmp(c.model.layers, "linear:3 mse"));

    /* errors name file, line and key */
    EXPECT_ERROR(load(&c, "[train]\nsteps = 3\nfoo = 1\n"), "t.ini:3: unknown key 'foo' in section [train]");
    EXPECT_ERROR(load(&c, "[bogus]\nx = 1\n"), "t.ini:2: unknown section [bogus]");
    EXPECT_ERROR(load(&c, "[train]\nthis line is broken\n"), "t.ini:2: malformed line");
    EXPECT_ERROR(load(&c, "[train]\nsteps = many\n"), "t.ini:2: train.steps: expected an integer, got 'many'");
    EXPECT_ERROR(load(&c, "[optim]\nlr = fast\n"), "optim.lr: expected a number");
    EXPECT_ERROR(load(&c, "[train]\nsteps = 1\nsteps = 2\n"), "t.ini:3: key 'steps' in [train] given twice");
    EXPECT_ERROR(pg_config_load_file(&c, "/nonexistent/x.ini"), "cannot open config file '/nonexistent/x.ini'");
    EXPECT_ERROR(pg_config_set(&c, "nodot=1"), "expected section.key=value");
    EXPECT_ERROR(pg_config_set(&c, "train.nope=1"), "unknown key 'train.nope'");

    /* values are checked when they are read, against the key's table row:
     * choices become enums, numbers must lie in their bounds; a refused value
     * leaves the old one */
    pg_config_init(&c);
    CHECK(c.optim.name == PG_OPTIM_ADAMW && c.model.type == PG_MODEL_GPT);
    EXPECT_ERROR(pg_config_set(&c, "optim.name=lamb"),
                 "--set: optim.name: unknown optimizer 'lamb' (expected adamw or sgd)");
    CHECK(c.optim.name == PG_OPTIM_ADAMW);
    CHECK(pg_config_set(&c, "optim.name=sgd") == 0 && c.optim.name == PG_OPTIM_SGD);
    CHECK(pg_config_set(&c, "runtime.precision=bf16") == 0 && c.runtime.precision == PG_PREC_BF16);
    EXPECT_ERROR(load(&c, "[runtime]\nthreads = 1\ndevice = gpu\n"),
                 "t.ini:3: runtime.device: unknown device 'gpu' (expected auto, cpu or cuda)");
    EXPECT_ERROR(pg_config_set(&c, "train.microbatches=0"), "train.microbatches: must be >= 1, got 0");
    CHECK(c.train.microbatches == 4);
    EXPECT_ERROR(load(&c, "[optim]\nlr = -0.5\n"), "t.ini:2: optim.lr: must be > 0, got -0.5");
    EXPECT_ERROR(pg_config_set(&c, "optim.lr=0"), "optim.lr: must be > 0, got 0");
    EXPECT_ERROR(pg_config_set(&c, "optim.beta1=1"), "optim.beta1: must lie in [0, 1), got 1");
    CHECK(pg_config_set(&c, "optim.beta1=0") == 0);
    EXPECT_ERROR(pg_config_set(&c, "placement.cross_rail=0"),
                 "placement.cross_rail: must lie in (0, 1], got 0");
    CHECK(pg_config_set(&c, "placement.cross_rail=1") == 0);
    EXPECT_ERROR(pg_config_set(&c, "train.batch_size=2000000"),
                 "train.batch_size: must lie in [1, 1048576], got 2000000");
    EXPECT_ERROR(pg_config_set(&c, "checkpoint.dir="), "checkpoint.dir: must not be empty");
    EXPECT_ERROR(pg_config_set_key(&c, "parallel.pp", "0", "--pp"), "--pp: parallel.pp: must be >= 1, got 0");
    EXPECT_ERROR(pg_config_set_key(&c, "parallel.nope", "1", "--x"), "--x: unknown key 'parallel.nope'");
    char values[64];
    pg_config_values("runtime.comm", values, sizeof values);
    CHECK(!strcmp(values, "auto | mpi | nccl"));
    pg_config_values("train.steps", values, sizeof values);
    CHECK(!strcmp(values, ""));

    /* the rules between keys stay in pg_config_check */
    pg_config_init(&c);
    CHECK(pg_config_set(&c, "model.heads=5") == 0);
    EXPECT_ERROR(pg_config_check(&c), "model.width=64 must be positive and divisible by model.heads=5");
    pg_config_init(&c);
    CHECK(pg_config_set(&c, "parallel.schedule=file") == 0);
    EXPECT_ERROR(pg_config_check(&c), "parallel.schedule=file needs parallel.schedule_file");

    /* a dump reads back to the same configuration */
    pg_config_init(&c);
    pg_config_set(&c, "optim.lr=0.125");
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    pg_config_dump(&c, f);
    fclose(f);
    pg_config d;
    CHECK(pg_config_init(&d) == 0);
    CHECK(pg_config_load_string(&d, text, "dump") == 0);
    CHECK(memcmp(&c, &d, sizeof c) == 0);
    /* each section once */
    CHECK(strstr(text, "[runtime]") && !strstr(strstr(text, "[runtime]") + 1, "[runtime]"));
    CHECK(strstr(text, "halt_file = ") < strstr(text, "[checkpoint]"));
    free(text);
    return pg_test_summary("test_config");
}
