/* options.h: one command-line parser for every subcommand.
 *
 * A subcommand lists its options as a table of pg_opt rows. An option that
 * sets a configuration key names the key: its value goes through the key
 * table (runtime/config/config.h), which converts and checks it and names the
 * option in its message, so `--pp 0` reads the same in every subcommand
 * ("--pp: parallel.pp: must be >= 1, got 0"). `--set SECTION.KEY=VALUE` and
 * `-c/--config FILE` are rows like any other (keys PG_OPT_SET and
 * PG_OPT_CONFIG). The config is then built in one order (pg_opts_config, on
 * top of the defaults): the --config file, then the named options and --set
 * overrides in command-line order. Other options come back to the subcommand by id; their
 * numbers go through pg_opt_int / pg_opt_num. Every error is returned (a pg_err
 * code, message kept by pg_error), never printed here: each subcommand prints
 * through its one error path (pg_cli_error). */
#ifndef PG_CLI_OPTIONS_H
#define PG_CLI_OPTIONS_H

#include "runtime/config/config.h"

#include <stdio.h>

#define PG_OPT_SET "--set"       /* key of the --set row */
#define PG_OPT_CONFIG "--config" /* key of the -c/--config row */
#define PG_OPT_MAX 128           /* configuration options per command line */

typedef struct pg_opt {
    const char *name; /* long name: "pp" for --pp */
    int letter;       /* short form ('m' for -m) or 0 */
    int arg;          /* 1: takes a value */
    const char *key;  /* the config key the value sets ("parallel.pp"), PG_OPT_SET,
                         PG_OPT_CONFIG, or NULL: handled by the subcommand */
    int id;           /* returned by pg_opts_next when key is NULL (> 0) */
} pg_opt;

/* Rows several subcommands share: the config file and overrides; the grid's
 * keys; the end of a table. */
#define PG_OPTS_CONFIG {"config", 'c', 1, PG_OPT_CONFIG, 0}, {"set", 0, 1, PG_OPT_SET, 0}
#define PG_OPTS_GRID                                                                         \
    {"pp", 0, 1, "parallel.pp", 0}, {"dp", 0, 1, "parallel.dp", 0},                          \
        {"microbatches", 'm', 1, "train.microbatches", 0},                                   \
        {"schedule", 0, 1, "parallel.schedule", 0}, {"order", 0, 1, "parallel.order", 0},      \
        {"device", 0, 1, "runtime.device", 0}
#define PG_OPTS_END {NULL, 0, 0, NULL, 0}

typedef struct pg_opts {
    const char *cmd;    /* "train": messages say "see pipegrid train --help" */
    const pg_opt *opts; /* ends with a row whose name is NULL */
    int argc;
    char **argv;
    const char *config; /* -c/--config FILE, or NULL */
    int nsets;          /* configuration options, in command-line order */
    struct {
        const char *key;    /* section.key, or PG_OPT_SET (value is key=value) */
        const char *value;
        const char *origin; /* "--pp" */
    } sets[PG_OPT_MAX];
    int rest; /* after pg_opts_next returned 0: index of the first positional argument */
} pg_opts;

/* Start parsing argv (argv[0] = the subcommand) against table opts. */
void pg_opts_init(pg_opts *o, const char *cmd, const pg_opt *opts, int argc, char **argv);

/* The next option for the subcommand: its id (> 0) with *value (NULL for a
 * flag); configuration options are recorded, not returned. 0 at the end (then
 * o->rest is the first positional argument), or a negative pg_err: an unknown
 * option, a missing value, too many options. */
int pg_opts_next(pg_opts *o, const char **value);

/* Whether a configuration option for key was given (named or through --set). */
int pg_opts_gave(const pg_opts *o, const char *key);

/* Apply to c (initialised: pg_config_init, perhaps more) the --config file,
 * then the recorded options in command-line order, then check the rules
 * between keys (pg_config_check). */
int pg_opts_config(const pg_opts *o, pg_config *c);

/* The exit status of a subcommand whose work returned rc: 1 = --help was
 * asked (help(stdout) is printed, exit 0); an error is printed through
 * pg_cli_error and ends with PG_EXIT_USAGE when the command line was at fault
 * (usage), else PG_EXIT_FAIL. */
int pg_cli_status(int rc, int usage, void (*help)(FILE *f));

/* Numbers of options that are not config keys: "--nodes: expected an integer
 * in [1, 1000000], got '0'". */
int pg_opt_int(const char *opt, const char *v, long lo, long hi, long *out);
int pg_opt_num(const char *opt, const char *v, double lo, double hi, double *out);

#endif
