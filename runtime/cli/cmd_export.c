/* cmd_export.c: `pipegrid export CKPT --format hf -o DIR`: a checkpoint's
 * weights as a Hugging Face GPT-2 directory (io/checkpoint/weights.h). No MPI:
 * the checkpoint is the same whatever grid wrote it. */
#include "io/checkpoint/checkpoint.h"
#include "io/checkpoint/weights.h"
#include "runtime/base/error.h"
#include "runtime/cli/cli.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

static void help(FILE *f)
{
    fputs("usage: pipegrid export CKPT --format hf -o DIR\n"
          "\n"
          "Write the weights of a gpt checkpoint (a file, or a checkpoint directory: the\n"
          "file its `latest` names; saved on any grid) as a Hugging Face GPT-2 model:\n"
          "DIR/config.json and DIR/model.safetensors (float32), loadable with\n"
          "transformers' GPT2LMHeadModel.from_pretrained(DIR). `train --init-from DIR`\n"
          "starts a run from such a directory (docs/interop.md).\n"
          "\n"
          "options:\n"
          "      --format hf     the output format (the only one)\n"
          "  -o, --output DIR    the directory to write (created if needed)\n"
          "  -h, --help          this text\n"
          "\n"
          "example:\n"
          "  pipegrid export checkpoints --format hf -o gpt2-mine\n"
          "  python -c 'import transformers as t; t.GPT2LMHeadModel.from_pretrained(\"gpt2-mine\")'\n",
          f);
}

int pg_cmd_export(int argc, char **argv)
{
    static const struct option opts[] = {
        {"format", required_argument, 0, 'f'}, {"output", required_argument, 0, 'o'},
        {"help", no_argument, 0, 'h'},         {0, 0, 0, 0},
    };
    const char *format = NULL, *out = NULL;
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'f': format = optarg; break;
        case 'o': out = optarg; break;
        case 'h': help(stdout); return PG_EXIT_OK;
        case ':':
            fprintf(stderr, "pipegrid: error: option '%s' needs a value (see pipegrid export "
                            "--help)\n", argv[optind - 1]);
            return PG_EXIT_USAGE;
        default:
            fprintf(stderr, "pipegrid: error: unknown option '%s' (see pipegrid export "
                            "--help)\n", argv[optind - 1]);
            return PG_EXIT_USAGE;
        }
    }
    if (optind != argc - 1 || !out || !format) {
        pg_cli_error("export needs one CKPT, --format hf and -o DIR (see pipegrid export --help)");
        return PG_EXIT_USAGE;
    }
    if (strcmp(format, "hf")) {
        pg_error(PG_EINVAL, "--format: unknown format '%s' (expected hf)", format);
        pg_cli_error(pg_errmsg());
        return PG_EXIT_USAGE;
    }
    char path[4096];
    pg_weights w;
    int rc = pg_ckpt_resolve(argv[optind], ".", path, sizeof path);
    if (!rc) rc = pg_weights_from_ckpt(&w, path);
    if (!rc) {
        rc = pg_weights_to_hf(&w, out);
        if (!rc)
            printf("exported %s (step %lld) to %s: config.json, model.safetensors (GPT-2: "
                   "vocab %d, ctx %d, %d layers, %d heads, width %d%s)\n",
                   path, (long long)w.step, out, w.cfg.model.vocab, w.cfg.model.ctx,
                   w.cfg.model.depth, w.cfg.model.heads, w.cfg.model.width,
                   w.cfg.model.tied ? ", tied head" : ", untied head");
        pg_weights_free(&w);
    }
    if (rc) {
        pg_cli_error(pg_errmsg());
        return PG_EXIT_FAIL;
    }
    return PG_EXIT_OK;
}
