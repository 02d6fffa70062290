/* cmd_sample.c: `pipegrid sample SRC`: text from a gpt checkpoint (or a
 * Hugging Face GPT-2 directory) on one process, token by token with a KV cache
 * (runtime/model/generate.h). The tokenizer is the one the checkpoint's
 * dataset records (byte-level or BPE, io/bpe.h), or --tokenizer's. */
#include "io/bpe.h"
#include "io/checkpoint/checkpoint.h"
#include "io/dataset.h"
#include "io/checkpoint/weights.h"
#include "runtime/base/clock.h"
#include "runtime/base/error.h"
#include "runtime/base/rng.h"
#include "runtime/base/wait.h"
#include "runtime/cli/cli.h"
#include "runtime/cli/options.h"
#include "runtime/compute/ops.h"
#include "runtime/model/generate.h"

#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void help(FILE *f)
{
    fputs("usage: pipegrid sample SRC [options]\n"
          "       mpiexec -n P pipegrid sample SRC [options]\n"
          "\n"
          "Generate text with a gpt: SRC is a checkpoint (a file, or a checkpoint\n"
          "directory: the file its `latest` names) or a Hugging Face GPT-2 directory\n"
          "(config.json, model.safetensors). CPU; one process, or a pipeline of P ranks\n"
          "(the blocks split evenly, one row per token passed on). Each new token reuses\n"
          "the keys and values of the earlier ones (KV cache). Tokens: the checkpoint's\n"
          "dataset (data.path) names its tokenizer: a BPE dataset holds its\n"
          "tokenizer.json; byte-level data (the built-in corpus) takes the prompt's bytes\n"
          "as tokens and prints tokens as bytes. The same SRC, prompt, options and seed\n"
          "give the same text, on any number of ranks. When the context (model.ctx) is\n"
          "full, generation continues from the last half of it.\n"
          "\n"
          "options:\n"
          "  -p, --prompt TEXT       the text to continue (default: a newline)\n"
          "  -n, --tokens N          tokens to generate (default 200)\n"
          "  -t, --temperature T     softmax temperature; 0 = always the most likely\n"
          "                          token (default 0.8)\n"
          "  -k, --top-k K           draw among the K most likely tokens; 0 = all\n"
          "                          (default 40)\n"
          "  -s, --seed S            seed of the draws (default 1)\n"
          "      --tokenizer FILE    a Hugging Face tokenizer.json (byte-level BPE) instead\n"
          "                          of the dataset's\n"
          "  -h, --help              this text\n"
          "\n"
          "examples:\n"
          "  pipegrid sample checkpoints --prompt 'The licensee ' -n 300\n"
          "  pipegrid sample gpt2-mine --temperature 0\n",
          f);
}

/* The weights of SRC: a Hugging Face directory when it has config.json, else
 * a checkpoint. */
static int load(const char *src, pg_weights *w)
{
    char path[4096];
    struct stat st;
    snprintf(path, sizeof path, "%s/config.json", src);
    if (!stat(path, &st)) {
        pg_config cfg;
        int rc = pg_config_init(&cfg);
        if (!rc) rc = pg_hf_config_apply(src, &cfg);
        return rc ? rc : pg_weights_from_hf(w, src, &cfg);
    }
    int rc = pg_ckpt_resolve(src, ".", path, sizeof path);
    if (!rc) rc = pg_weights_from_ckpt(w, path);
    if (!rc && w->cfg.model.type != PG_MODEL_GPT) {
        rc = pg_error(PG_EINVAL, "%s: sample needs a gpt, the checkpoint's model is "
                                 "model.type=%s", path, pg_model_type_names[w->cfg.model.type]);
        pg_weights_free(w);
    }
    return rc;
}

typedef struct sample_args {
    const char *src, *prompt, *tokenizer;
    double n, temperature, top_k, seed;
} sample_args;

/* The BPE tokenizer to use, or NULL for bytes: --tokenizer, else the one the
 * checkpoint's dataset stores. */
static int tokenizer_of(const sample_args *a, const pg_weights *w, pg_bpe **b)
{
    *b = NULL;
    if (a->tokenizer) return pg_bpe_load(b, a->tokenizer);
    if (!w->cfg.data.path[0] || w->cfg.data.source == PG_SOURCE_TEACHER) return 0;
    pg_dataset *d;
    int rc = pg_dataset_open(&d, w->cfg.data.path);
    if (rc) {
        char why[1024];
        snprintf(why, sizeof why, "%s", pg_errmsg());
        return pg_error(rc, "the checkpoint's dataset names the tokenizer: %s (or give "
                            "--tokenizer)", why);
    }
    const char *kind = pg_dataset_tokenizer(d);
    char *json = NULL;
    if (!strcmp(kind, "bpe")) {
        rc = pg_dataset_tokenizer_json(d, &json);
        if (!rc) rc = pg_bpe_from_json(b, json, w->cfg.data.path);
    } else if (strcmp(kind, "bytes")) {
        rc = pg_error(PG_EINVAL, "%s: tokenizer '%s': sample can neither encode a prompt nor "
                                 "decode tokens with it (give --tokenizer)",
                      w->cfg.data.path, kind);
    }
    free(json);
    pg_dataset_close(d);
    return rc;
}

static void put_token(const pg_bpe *b, int t)
{
    size_t len;
    const unsigned char *s = b ? pg_bpe_bytes(b, t, &len) : NULL;
    if (s) fwrite(s, 1, len, stdout);
    else if (!b && t < 256) putchar(t);
    else printf("<%d>", t);
}

/* Every rank loads the weights and builds its stage; rank 0 prints. Returns
 * the exit status (errors printed once, by the rank whose message it is). */
static int generate(const sample_args *a, int rank, int size)
{
    pg_weights w;
    memset(&w, 0, sizeof w);
    int rc = load(a->src, &w);
    const pg_model *m = w.m;
    int V = rc ? 1 : w.cfg.model.vocab, T = w.cfg.model.ctx, n = (int)a->n;
    size_t plen = strlen(a->prompt);
    pg_stage *st = NULL;
    pg_gen *g = NULL;
    pg_bpe *bpe = NULL;
    int32_t *pids = NULL;
    int64_t np = 0, pcap = 0;
    int *hist = NULL;
    float *logits = malloc(sizeof(float) * (size_t)V);
    if (!rc && !logits) rc = pg_error(PG_ENOMEM, "sample: out of memory");
    if (!rc) rc = tokenizer_of(a, &w, &bpe);
    if (!rc && bpe) {
        rc = pg_bpe_encode(bpe, (const unsigned char *)a->prompt, plen, &pids, &np, &pcap);
        if (rc) {
            char why[512];
            snprintf(why, sizeof why, "%s", pg_errmsg());
            rc = pg_error(rc, "--prompt: %s", why);
        }
        plen = (size_t)np;
    }
    if (!rc && !(hist = malloc(sizeof(int) * (plen + (size_t)n + 1))))
        rc = pg_error(PG_ENOMEM, "sample: out of memory");
    for (size_t i = 0; i < plen && !rc; i++) {
        hist[i] = bpe ? pids[i] : (unsigned char)a->prompt[i];
        if (hist[i] >= V)
            rc = pg_error(PG_EINVAL, "--prompt: token %d at %zu is outside the model's "
                                     "vocabulary of %d", hist[i], i, V);
    }
    /* this rank's stage: blocks split evenly over the ranks, the embedding
     * with the first, the final norm and head with the last */
    int depth = w.cfg.model.depth, lo = 0, hi = rc ? 0 : m->nlayers - 1;
    if (!rc && size > depth)
        rc = pg_error(PG_EINVAL, "sample on %d ranks needs at least %d blocks, the model has "
                                 "%d (model.depth)", size, size, depth);
    if (!rc && size > 1) {
        int b0 = rank * depth / size, b1 = (rank + 1) * depth / size;
        lo = rank == 0 ? 0 : 1 + b0;
        hi = rank == size - 1 ? m->nlayers - 1 : 1 + b1;
    }
    if (!rc) rc = pg_stage_create(&st, m, rank, size, lo, hi, pg_ops_cpu(), 0);
    if (!rc) {
        pg_weights_to_stage(&w, st);
        rc = pg_gen_create(&g, st);
    }
    float *row = rc ? NULL : malloc(sizeof(float) * (size_t)w.cfg.model.width);
    if (!rc && !row) rc = pg_error(PG_ENOMEM, "sample: out of memory");
    int reporter;
    if ((rc = pg_agree(MPI_COMM_WORLD, rc, &reporter))) {
        if (reporter) pg_cli_error(pg_errmsg());
        rc = PG_EXIT_FAIL;
        goto out;
    }
    rc = PG_EXIT_OK;
    pg_rng r;
    pg_rng_init(&r, (uint64_t)a->seed, 0x73616d706c65ull /* "sample" */, 0);
    int len = (int)plen, fed = 0, first = rank == 0, last = rank == size - 1, C = w.cfg.model.width;
    /* the prompt, then one token at a time; keep the last T-1 prompt tokens */
    if (len > T - 1) fed = len - (T - 1);
    for (int i = 0; i < len && first; i++) put_token(bpe, hist[i]);
    fflush(stdout);
    double t0 = pg_now(), t_first = 0.0;
    for (int k = 0; k < n; k++) {
        if (pg_gen_pos(g) == T) { /* full: continue from the last half */
            pg_gen_reset(g);
            fed = len - T / 2;
        }
        while (fed < len) { /* one position through the pipeline, stage by stage */
            if (!first) MPI_Recv(row, C, MPI_FLOAT, rank - 1, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            if (pg_gen_step(g, hist[fed++], row, last ? logits : row)) {
                fprintf(stderr, "pipegrid: error: rank %d: %s\n", rank, pg_errmsg());
                MPI_Abort(MPI_COMM_WORLD, PG_EXIT_FAIL);
            }
            if (!last) MPI_Send(row, C, MPI_FLOAT, rank + 1, 0, MPI_COMM_WORLD);
        }
        if (k == 0) t_first = pg_now();
        int next = last ? pg_gen_pick(g, logits, a->temperature, (int)a->top_k,
                                      pg_rng_uniform(&r))
                        : 0;
        if (size > 1) MPI_Bcast(&next, 1, MPI_INT, size - 1, MPI_COMM_WORLD);
        hist[len++] = next;
        if (first) put_token(bpe, next);
        if (first && next == '\n') fflush(stdout);
    }
    if (first) {
        putchar('\n');
        fflush(stdout);
        fprintf(stderr, "sample: %d tokens after a %zu-token prompt in %.3f s (%.2f ms per "
                        "token after the prompt; KV cache, ctx %d, %d rank%s), seed %.0f\n",
                n, plen, pg_now() - t0, n > 1 ? (pg_now() - t_first) * 1e3 / (n - 1) : 0.0, T,
                size, size > 1 ? "s" : "", a->seed);
    }
out:
    free(row);
    pg_gen_free(g);
    pg_stage_free(st);
    pg_bpe_free(bpe);
    free(pids);
    free(hist);
    free(logits);
    pg_weights_free(&w);
    return rc;
}

enum { O_HELP = 1, O_PROMPT, O_TOKENS, O_TEMP, O_TOPK, O_SEED, O_TOKENIZER };
static const pg_opt sample_opts[] = {
    {"prompt", 'p', 1, NULL, O_PROMPT},   {"tokens", 'n', 1, NULL, O_TOKENS},
    {"temperature", 't', 1, NULL, O_TEMP}, {"top-k", 'k', 1, NULL, O_TOPK},
    {"seed", 's', 1, NULL, O_SEED},       {"tokenizer", 0, 1, NULL, O_TOKENIZER},
    {"help", 'h', 0, NULL, O_HELP},       PG_OPTS_END,
};

/* Parse the command line into *a; 1 after --help, 0, or a pg_err. */
static int parse(int argc, char **argv, sample_args *a)
{
    *a = (sample_args){.prompt = "\n", .n = 200, .temperature = 0.8, .top_k = 40, .seed = 1};
    pg_opts o;
    const char *v;
    long x = 0;
    int id, rc = 0;
    pg_opts_init(&o, "sample", sample_opts, argc, argv);
    while (!rc && (id = pg_opts_next(&o, &v)) > 0) {
        switch (id) {
        case O_HELP: return 1;
        case O_PROMPT: a->prompt = v; break;
        case O_TOKENIZER: a->tokenizer = v; break;
        case O_TOKENS: rc = pg_opt_int("--tokens", v, 1, 10000000, &x), a->n = (double)x; break;
        case O_TEMP: rc = pg_opt_num("--temperature", v, 0, 100, &a->temperature); break;
        case O_TOPK: rc = pg_opt_int("--top-k", v, 0, 1 << 24, &x), a->top_k = (double)x; break;
        case O_SEED: rc = pg_opt_int("--seed", v, 0, 9007199254740992L, &x), a->seed = (double)x; break;
        }
    }
    if (rc || id < 0) return rc ? rc : id;
    if (o.rest != argc - 1)
        return pg_error(PG_EINVAL, "sample needs one SRC: a checkpoint or a Hugging Face "
                                   "directory (see pipegrid sample --help)");
    a->src = argv[o.rest];
    return 0;
}

int pg_cmd_sample(int argc, char **argv)
{
    sample_args a;
    int rc = parse(argc, argv, &a);
    if (rc) return pg_cli_status(rc, 1, help);
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    int status = generate(&a, rank, size);
    MPI_Finalize();
    return status;
}
