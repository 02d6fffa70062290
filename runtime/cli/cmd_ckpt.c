/* ckpt.c: `pipegrid ckpt inspect|verify` (no MPI launcher needed). */
#include "io/checkpoint/checkpoint.h"
#include "runtime/base/error.h"
#include "runtime/cli/cli.h"

#include <stdio.h>
#include <string.h>

static void help(FILE *f)
{
    fputs("usage: pipegrid ckpt inspect PATH\n"
          "       pipegrid ckpt verify PATH [PATH ...]\n"
          "\n"
          "Look into pipegrid's HDF5 checkpoints (docs/checkpoint-format.md). PATH is a\n"
          "checkpoint file or a checkpoint directory (then the file its `latest` names).\n"
          "\n"
          "  inspect   step, grid and schedule at save, seeds, data position, and a table\n"
          "            of every tensor (dataset, shape, dtype, bytes, CRC-32)\n"
          "  verify    check the root attributes, that every tensor the recorded config\n"
          "            implies is present with the right shape and dtype, that each CRC-32\n"
          "            matches its data, and that nothing unexpected is there; one line per\n"
          "            problem naming the file and dataset; exit status 0 only when all\n"
          "            is well\n"
          "\n"
          "examples:\n"
          "  pipegrid ckpt inspect checkpoints                 # the latest checkpoint\n"
          "  pipegrid ckpt verify checkpoints/step_00000500.h5\n"
          "  h5dump -A checkpoints/step_00000500.h5           # the same, with HDF5's tools\n",
          f);
}

int pg_cmd_ckpt(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        help(argc < 2 ? stderr : stdout);
        return argc < 2 ? PG_EXIT_USAGE : PG_EXIT_OK;
    }
    int inspect = !strcmp(argv[1], "inspect"), verify = !strcmp(argv[1], "verify");
    if (!inspect && !verify) {
        pg_error(PG_EINVAL, "ckpt: unknown action '%s' (expected inspect or verify)", argv[1]);
        pg_cli_error(pg_errmsg());
        return PG_EXIT_USAGE;
    }
    if (argc < 3 || (inspect && argc > 3)) {
        pg_cli_error(inspect ? "ckpt inspect: expected one PATH (see pipegrid ckpt --help)"
                             : "ckpt verify: expected at least one PATH (see pipegrid ckpt --help)");
        return PG_EXIT_USAGE;
    }
    int status = PG_EXIT_OK;
    for (int i = 2; i < argc; i++) {
        char path[4096];
        int rc = pg_ckpt_resolve(argv[i], ".", path, sizeof path);
        if (!rc) rc = inspect ? pg_ckpt_inspect(path, stdout) : pg_ckpt_verify(path, stdout);
        if (rc) {
            pg_cli_error(pg_errmsg());
            status = PG_EXIT_FAIL;
        }
    }
    return status;
}
