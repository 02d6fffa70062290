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

    /* value checks */
    pg_config_init(&c);
    pg_config_set(&c, "optim.name=lamb");
    EXPECT_ERROR(pg_config_check(&c), "optim.name: unknown optimizer 'lamb'");
    pg_config_init(&c);
    pg_config_set(&c, "train.microbatches=0");
    EXPECT_ERROR(pg_config_check(&c), "train.microbatches: must be >= 1");

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
    free(text);
    return pg_test_summary("test_config");
}
