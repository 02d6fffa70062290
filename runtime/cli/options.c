/* options.c: the shared command-line parser (options.h), over getopt_long. */
#include "runtime/cli/options.h"

#include "runtime/base/error.h"
#include "runtime/cli/cli.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOPT 48 /* rows in one table, at most */

void pg_opts_init(pg_opts *o, const char *cmd, const pg_opt *opts, int argc, char **argv)
{
    memset(o, 0, sizeof *o);
    o->cmd = cmd;
    o->opts = opts;
    o->argc = argc;
    o->argv = argv;
    optind = 1; /* getopt's state starts over for each subcommand */
    opterr = 0;
}

int pg_opts_next(pg_opts *o, const char **value)
{
    struct option lo[NOPT + 1];
    char shorts[2 * NOPT + 2] = ":";
    int n = 0, ns = 1;
    for (; o->opts[n].name; n++) {
        if (n == NOPT) return pg_error(PG_EINVAL, "%s: more than %d options", o->cmd, NOPT);
        const pg_opt *r = &o->opts[n];
        lo[n] = (struct option){r->name, r->arg ? required_argument : no_argument, NULL, 256 + n};
        if (r->letter) {
            shorts[ns++] = (char)r->letter;
            if (r->arg) shorts[ns++] = ':';
        }
    }
    lo[n] = (struct option){0, 0, 0, 0};
    shorts[ns] = '\0';
    for (;;) {
        int c = getopt_long(o->argc, o->argv, shorts, lo, NULL);
        if (c == -1) {
            o->rest = optind;
            return 0;
        }
        if (c == ':')
            return pg_error(PG_EINVAL, "option '%s' needs a value (see pipegrid %s --help)",
                            o->argv[optind - 1], o->cmd);
        int i = -1;
        if (c >= 256) i = c - 256;
        for (int k = 0; k < n && i < 0 && c != '?'; k++)
            if (o->opts[k].letter == c) i = k;
        if (i < 0)
            return pg_error(PG_EINVAL, "unknown option '%s' (see pipegrid %s --help)",
                            o->argv[optind - 1], o->cmd);
        const pg_opt *r = &o->opts[i];
        *value = r->arg ? optarg : NULL;
        if (!r->key) return r->id;
        if (!strcmp(r->key, PG_OPT_CONFIG)) {
            o->config = optarg;
            continue;
        }
        if (o->nsets == PG_OPT_MAX)
            return pg_error(PG_EINVAL, "more than %d configuration options", PG_OPT_MAX);
        o->sets[o->nsets].key = r->key;
        o->sets[o->nsets].value = optarg;
        o->sets[o->nsets].origin = r->name;
        o->nsets++;
    }
}

int pg_opts_gave(const pg_opts *o, const char *key)
{
    size_t n = strlen(key);
    for (int i = 0; i < o->nsets; i++) {
        const char *k = o->sets[i].key, *v = o->sets[i].value;
        if (!strcmp(k, key) || (!strcmp(k, PG_OPT_SET) && !strncmp(v, key, n) && v[n] == '='))
            return 1;
    }
    return 0;
}

int pg_opts_config(const pg_opts *o, pg_config *c)
{
    int rc = 0;
    if (o->config) rc = pg_config_load_file(c, o->config);
    for (int i = 0; i < o->nsets && !rc; i++) {
        char origin[64];
        snprintf(origin, sizeof origin, "--%s", o->sets[i].origin);
        rc = !strcmp(o->sets[i].key, PG_OPT_SET)
                 ? pg_config_set(c, o->sets[i].value)
                 : pg_config_set_key(c, o->sets[i].key, o->sets[i].value, origin);
    }
    if (!rc) rc = pg_config_check(c);
    return rc;
}

int pg_opt_int(const char *opt, const char *v, long lo, long hi, long *out)
{
    char *end = NULL;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (end == v || *end || errno || x < lo || x > hi)
        return pg_error(PG_EINVAL, "%s: expected an integer in [%ld, %ld], got '%s'", opt, lo, hi,
                        v);
    *out = x;
    return 0;
}

int pg_opt_num(const char *opt, const char *v, double lo, double hi, double *out)
{
    char *end = NULL;
    double x = strtod(v, &end);
    if (end == v || *end || !(x >= lo && x <= hi))
        return pg_error(PG_EINVAL, "%s: expected a number in [%g, %g], got '%s'", opt, lo, hi, v);
    *out = x;
    return 0;
}

int pg_cli_status(int rc, int usage, void (*help)(FILE *f))
{
    if (rc == 1) {
        help(stdout);
        return PG_EXIT_OK;
    }
    if (!rc) return PG_EXIT_OK;
    pg_cli_error(pg_errmsg());
    return usage ? PG_EXIT_USAGE : PG_EXIT_FAIL;
}
