/* cmd_export.c: `pipegrid export CKPT --format hf -o DIR`: a checkpoint's
 * weights as a Hugging Face GPT-2 directory (io/checkpoint/weights.h). No MPI:
 * the checkpoint is the same whatever grid wrote it. */
#include "io/checkpoint/checkpoint.h"
#include "io/checkpoint/weights.h"
#include "runtime/base/error.h"
#include "runtime/cli/cli.h"
#include "runtime/cli/options.h"

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

enum { O_HELP = 1, O_FORMAT, O_OUT };
static const pg_opt export_opts[] = {
    {"format", 0, 1, NULL, O_FORMAT}, {"output", 'o', 1, NULL, O_OUT},
    {"help", 'h', 0, NULL, O_HELP},   PG_OPTS_END,
};

/* Parse, then export; 1 after --help; *usage set when the command line is at
 * fault. */
static int export(int argc, char **argv, int *usage)
{
    const char *format = NULL, *out = NULL, *v;
    pg_opts o;
    int id;
    pg_opts_init(&o, "export", export_opts, argc, argv);
    while ((id = pg_opts_next(&o, &v)) > 0) {
        if (id == O_HELP) return 1;
        if (id == O_FORMAT) format = v;
        if (id == O_OUT) out = v;
    }
    *usage = 1;
    if (id < 0) return id;
    if (o.rest != argc - 1 || !out || !format)
        return pg_error(PG_EINVAL, "export needs one CKPT, --format hf and -o DIR (see pipegrid "
                                   "export --help)");
    if (strcmp(format, "hf"))
        return pg_error(PG_EINVAL, "--format: unknown format '%s' (expected hf)", format);
    *usage = 0;
    char path[4096];
    pg_weights w;
    int rc = pg_ckpt_resolve(argv[o.rest], ".", path, sizeof path);
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
    return rc;
}

int pg_cmd_export(int argc, char **argv)
{
    int usage = 0, rc = export(argc, argv, &usage);
    return pg_cli_status(rc, usage, help);
}
