/* cli.h: the pipegrid command line. Each subcommand is one function taking
 * its own argv (argv[0] = the subcommand name) and returning the process exit
 * status. Exit codes are shared by all subcommands. */
#ifndef PG_CLI_H
#define PG_CLI_H

#include <stdio.h>

enum {
    PG_EXIT_OK = 0,
    PG_EXIT_FAIL = 1,  /* an error: message on stderr */
    PG_EXIT_USAGE = 2, /* bad command line */
    PG_EXIT_HALTED = 75, /* stopped on request (signal or halt file) after writing a
                            checkpoint: resume it (EX_TEMPFAIL; docs/slurm.md) */
};

int pg_cmd_train(int argc, char **argv);
int pg_cmd_schedule(int argc, char **argv);
int pg_cmd_topo(int argc, char **argv);
int pg_cmd_plan(int argc, char **argv);
int pg_cmd_prep(int argc, char **argv);
int pg_cmd_ckpt(int argc, char **argv);
int pg_cmd_trace(int argc, char **argv);
int pg_cmd_export(int argc, char **argv);
int pg_cmd_sample(int argc, char **argv);

/* Set this process's BLAS threads as `pipegrid train` gives each of
 * `ranks_on_node` ranks (runtime.threads, or the cores shared among them;
 * at least 1) before profiling layer costs; returns the count. */
struct pg_config;
int pg_cli_blas_threads(const struct pg_config *c, int ranks_on_node);

/* The set-up of the commands that plan for a topology (topo, plan): the
 * configuration from the command line o (pg_opts_config on the defaults), the
 * topology (xml, NULL = this machine), and whether the ranks use its GPUs:
 * --device (runtime.device) when given, else auto (the topology's GPUs when
 * it has them). 0 or a pg_err; *t is set (free it) even on a later error. */
struct pg_opts;
struct pg_topo;
int pg_cli_topo_setup(const struct pg_opts *o, const char *xml, struct pg_config *cfg,
                      struct pg_topo **t, int *use_gpus);

/* Print "pipegrid: error: <msg>" on stderr. */
void pg_cli_error(const char *msg);

#endif
