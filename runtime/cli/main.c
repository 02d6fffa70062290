/* main.c: `pipegrid <command> ...` dispatch and top-level help. */
#include "runtime/cli/cli.h"

#include <stdio.h>
#include <string.h>

static void usage(FILE *f)
{
    fputs("usage: pipegrid <command> [options]\n"
          "\n"
          "Hybrid data-parallel + pipeline-parallel training over MPI.\n"
          "\n"
          "commands:\n"
          "  train      train a model on a pp x dp grid of MPI ranks\n"
          "  schedule   print, check and simulate a pipeline schedule (no MPI needed)\n"
          "  topo       plan ranks onto nodes: GPU, cores, NUMA, NIC and rank order (dry run)\n"
          "  plan       choose pp, dp, microbatches, schedule, partition and rank order for a\n"
          "             model on a cluster, by predicted step time (no MPI needed)\n"
          "  prep       turn text (byte-level) or a token file (.bin, .npy) into an HDF5\n"
          "             token dataset for a GPT\n"
          "  ckpt       inspect or verify an HDF5 checkpoint (no MPI needed)\n"
          "  trace      summarize or draw a trace of 'train --trace DIR' (no MPI needed)\n"
          "  export     a gpt checkpoint as a Hugging Face GPT-2 directory (no MPI needed)\n"
          "  sample     generate text from a gpt checkpoint (KV cache; one rank or a pipeline)\n"
          "\n"
          "examples:\n"
          "  mpiexec -n 4 pipegrid train --pp 2 --dp 2          # the built-in job (a small GPT)\n"
          "  mpiexec -n 8 pipegrid train --config my.ini --pp 4 --schedule gpipe\n"
          "  pipegrid schedule --pp 4 --microbatches 8 --schedule 1f1b\n"
          "  pipegrid topo --xml node.xml --nodes 4 --pp 4 --dp 16 -c my.ini\n"
          "\n"
          "Run 'pipegrid <command> --help' for a command's options.\n",
          f);
}

void pg_cli_error(const char *msg) { fprintf(stderr, "pipegrid: error: %s\n", msg); }

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return PG_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
        usage(stdout);
        return PG_EXIT_OK;
    }
    if (!strcmp(cmd, "train")) return pg_cmd_train(argc - 1, argv + 1);
    if (!strcmp(cmd, "schedule")) return pg_cmd_schedule(argc - 1, argv + 1);
    if (!strcmp(cmd, "topo")) return pg_cmd_topo(argc - 1, argv + 1);
    if (!strcmp(cmd, "plan")) return pg_cmd_plan(argc - 1, argv + 1);
    if (!strcmp(cmd, "prep")) return pg_cmd_prep(argc - 1, argv + 1);
    if (!strcmp(cmd, "ckpt")) return pg_cmd_ckpt(argc - 1, argv + 1);
    if (!strcmp(cmd, "trace")) return pg_cmd_trace(argc - 1, argv + 1);
    if (!strcmp(cmd, "export")) return pg_cmd_export(argc - 1, argv + 1);
    if (!strcmp(cmd, "sample")) return pg_cmd_sample(argc - 1, argv + 1);
    fprintf(stderr, "pipegrid: error: unknown command '%s' (try 'pipegrid --help')\n", cmd);
    return PG_EXIT_USAGE;
}
