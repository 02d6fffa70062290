/* cmd_prep.c: `pipegrid prep`: text, or a token file of another tool
 * (io/tokfile.h), -> HDF5 token dataset (io/dataset.h), and checking an
 * existing dataset. */
#include "io/bpe.h"
#include "io/corpus.h"
#include "io/dataset.h"
#include "io/tokfile.h"
#include "runtime/base/error.h"
#include "runtime/base/files.h"
#include "runtime/cli/cli.h"
#include "runtime/cli/options.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void help(FILE *f)
{
    fputs("usage: pipegrid prep [options] TEXT... -o OUT.h5\n"
          "       pipegrid prep --default -o OUT.h5\n"
          "       pipegrid prep --from TOKENS.bin|TOKENS.npy --vocab V -o OUT.h5\n"
          "       pipegrid prep --check DATA.h5 [--vocab V]\n"
          "\n"
          "Turn text files into an HDF5 token dataset for model.type=gpt (data.path):\n"
          "byte-level tokens (one token per byte, ids 0..255), one document per file,\n"
          "format in docs/dataset.md. Prints the token count and the unigram entropy,\n"
          "the loss of a model that ignores context: a trained GPT should go well below.\n"
          "\n"
          "options:\n"
          "  -o, --output FILE   the dataset to write\n"
          "      --default       use the built-in corpus: the license texts of\n"
          "                      " PG_CORPUS_DIR " (no download)\n"
          "      --from FILE     take the tokens of a token file another tool wrote:\n"
          "                      llm.c .bin (256-int32 header), nanoGPT .bin (raw\n"
          "                      uint16) or numpy .npy (1-D uint16 or int32); needs\n"
          "                      --vocab (e.g. 50257 for GPT-2's tokenizer)\n"
          "      --tokenizer FILE  encode the text with a byte-level BPE tokenizer saved by\n"
          "                      Hugging Face tokenizers (tokenizer.json; tools/bpe_train.py\n"
          "                      trains one); the dataset stores it (tokenizer bpe)\n"
          "      --vocab V       vocabulary size recorded in the dataset (default 256, or\n"
          "                      the tokenizer's);\n"
          "                      a token id >= V is refused\n"
          "      --check FILE    read a dataset, validate its layout and every token\n"
          "                      (against --vocab too when given), print its summary\n"
          "  -h, --help          this text\n"
          "\n"
          "examples:\n"
          "  pipegrid prep --default -o data/corpus.h5\n"
          "  pipegrid prep book1.txt book2.txt -o books.h5\n"
          "  pipegrid prep --from train.bin --vocab 50257 -o owt.h5\n"
          "  pipegrid prep --default --tokenizer tokenizer.json -o bpe.h5\n"
          "  pipegrid prep --check books.h5 --vocab 256\n"
          "  mpiexec -n 4 pipegrid train --pp 2 --dp 2 --set data.path=books.h5\n",
          f);
}

/* Unigram entropy (nats per token) of tokens in [0, vocab). */
static double unigram_entropy(const int32_t *t, int64_t n, int64_t vocab)
{
    int64_t *count = calloc((size_t)vocab, sizeof(int64_t));
    if (!count) return NAN;
    for (int64_t i = 0; i < n; i++) count[t[i]]++;
    double h = 0.0;
    for (int64_t v = 0; v < vocab; v++)
        if (count[v]) h -= (double)count[v] / n * log((double)count[v] / n);
    free(count);
    return h;
}

static int check(const char *path, long vocab)
{
    pg_dataset *d;
    int rc = pg_dataset_open(&d, path);
    if (rc) return rc;
    int64_t n = pg_dataset_ntokens(d), V = pg_dataset_vocab(d);
    if (vocab > 0 && V > vocab) {
        rc = pg_error(PG_EINVAL, "%s: /tokens: vocab_size %lld exceeds --vocab %ld", path,
                      (long long)V, vocab);
        pg_dataset_close(d);
        return rc;
    }
    int32_t *t = malloc(sizeof(int32_t) * (size_t)n);
    if (!t) rc = pg_error(PG_ENOMEM, "%s: out of memory for %lld tokens", path, (long long)n);
    if (!rc) rc = pg_dataset_read(d, 0, n, t);
    if (!rc)
        printf("%s: %lld tokens, vocab_size %lld, tokenizer %s, unigram entropy %.4f nats/token\n",
               path, (long long)n, (long long)V, pg_dataset_tokenizer(d),
               unigram_entropy(t, n, V));
    free(t);
    pg_dataset_close(d);
    return rc;
}

/* Concatenate the byte tokens of files; docs[i] = first token of file i. */
static int read_files(char **files, int nfiles, int32_t **tokens, int64_t *n, int64_t **docs)
{
    *tokens = NULL;
    *n = 0;
    *docs = malloc(sizeof(int64_t) * (size_t)nfiles);
    if (!*docs) return pg_error(PG_ENOMEM, "prep: out of memory");
    for (int i = 0; i < nfiles; i++) {
        int32_t *t;
        int64_t m;
        int rc = pg_corpus_read_bytes(files[i], &t, &m);
        if (rc) return rc;
        int32_t *grown = realloc(*tokens, sizeof(int32_t) * (size_t)(*n + m + 1));
        if (!grown) {
            free(t);
            return pg_error(PG_ENOMEM, "prep: out of memory");
        }
        *tokens = grown;
        memcpy(*tokens + *n, t, sizeof(int32_t) * (size_t)m);
        free(t);
        (*docs)[i] = *n;
        *n += m;
    }
    return 0;
}

/* --from: a token file of another tool into a dataset (tokenizer "external":
 * the ids are the other tool's). One document: such files do not mark them. */
static int from_tokens(const char *from, const char *out, long vocab)
{
    int32_t *tokens;
    int64_t n;
    const char *format;
    int rc = pg_tokfile_read(from, &tokens, &n, &format);
    for (int64_t i = 0; i < n && !rc; i++)
        if (tokens[i] < 0 || tokens[i] >= vocab)
            rc = pg_error(PG_EINVAL, "%s: token %lld is %d, outside the vocabulary [0, %ld) "
                                     "(--vocab)", from, (long long)i, tokens[i], vocab);
    int64_t doc0 = 0;
    if (!rc) rc = pg_dataset_write(out, tokens, n, vocab, "external", &doc0, 1);
    if (!rc)
        printf("wrote %s: %lld tokens from %s (%s), vocab_size %ld, tokenizer external, "
               "unigram entropy %.4f nats/token\n",
               out, (long long)n, from, format, vocab, unigram_entropy(tokens, n, vocab));
    free(tokens);
    return rc;
}

/* Replace the byte tokens of each document with its BPE ids (docs[] is
 * updated to the new offsets). `where` names the input in messages. */
static int bpe_encode(const pg_bpe *b, const char *where, char **files, int32_t **tokens,
                      int64_t *n, int64_t *docs, int64_t ndocs)
{
    int32_t *ids = NULL;
    int64_t count = 0, cap = 0;
    int rc = 0;
    unsigned char *buf = malloc((size_t)*n + 1);
    if (!buf) return pg_error(PG_ENOMEM, "prep: out of memory");
    for (int64_t d = 0; d < ndocs && !rc; d++) {
        int64_t lo = docs[d], hi = d + 1 < ndocs ? docs[d + 1] : *n;
        for (int64_t i = lo; i < hi; i++) buf[i - lo] = (unsigned char)(*tokens)[i];
        docs[d] = count;
        if ((rc = pg_bpe_encode(b, buf, (size_t)(hi - lo), &ids, &count, &cap))) {
            char why[512];
            snprintf(why, sizeof why, "%s", pg_errmsg());
            rc = pg_error(rc, "%s: %s", where ? where : files[d], why);
        }
    }
    free(buf);
    free(*tokens);
    *tokens = ids;
    *n = count;
    return rc;
}

enum { O_HELP = 1, O_OUT, O_DEFAULT, O_VOCAB, O_CHECK, O_FROM, O_TOKENIZER };
static const pg_opt prep_opts[] = {
    {"output", 'o', 1, NULL, O_OUT},   {"default", 0, 0, NULL, O_DEFAULT},
    {"vocab", 0, 1, NULL, O_VOCAB},    {"check", 0, 1, NULL, O_CHECK},
    {"from", 0, 1, NULL, O_FROM},      {"tokenizer", 0, 1, NULL, O_TOKENIZER},
    {"help", 'h', 0, NULL, O_HELP},    PG_OPTS_END,
};

/* Parse, then check (--check), convert (--from) or write the dataset; 1
 * after --help; *usage set when the command line is at fault. */
static int prep(int argc, char **argv, int *usage)
{
    const char *out = NULL, *checked = NULL, *from = NULL, *tokenizer = NULL, *v;
    int use_default = 0, id, rc = 0;
    long vocab = 0;
    pg_opts o;
    pg_opts_init(&o, "prep", prep_opts, argc, argv);
    while (!rc && (id = pg_opts_next(&o, &v)) > 0) {
        switch (id) {
        case O_HELP: return 1;
        case O_OUT: out = v; break;
        case O_DEFAULT: use_default = 1; break;
        case O_CHECK: checked = v; break;
        case O_FROM: from = v; break;
        case O_TOKENIZER: tokenizer = v; break;
        case O_VOCAB: rc = pg_opt_int("--vocab", v, 1, 1L << 24, &vocab); break;
        }
    }
    *usage = 1;
    if (rc || id < 0) return rc ? rc : id;
    int nfiles = argc - o.rest;
    if (!checked && from && (!out || nfiles || use_default || !vocab || tokenizer))
        return pg_error(PG_EINVAL, "prep --from FILE needs -o OUT.h5 and --vocab V (the "
                                   "vocabulary of the tokenizer that wrote FILE), and no text "
                                   "files or --default (see pipegrid prep --help)");
    if (!checked && !from && (!out || (nfiles == 0) == !use_default))
        return pg_error(PG_EINVAL, "prep needs -o OUT.h5 and either text files or --default "
                                   "(see pipegrid prep --help)");
    *usage = 0;
    if (checked) return check(checked, vocab);
    if (from) return from_tokens(from, out, vocab);
    int32_t *tokens = NULL;
    int64_t n = 0, *docs = NULL, ndocs = use_default ? 0 : nfiles, nbytes = 0;
    char *json = NULL;
    size_t json_len;
    pg_bpe *bpe = NULL;
    rc = use_default ? pg_corpus_default(&tokens, &n, &docs, &ndocs)
                     : read_files(argv + o.rest, nfiles, &tokens, &n, &docs);
    if (!rc && n == 0) rc = pg_error(PG_EINVAL, "prep: the input has no bytes");
    nbytes = n;
    if (!rc && tokenizer) rc = pg_read_file(tokenizer, "tokenizer file", &json, &json_len);
    if (!rc && tokenizer) rc = pg_bpe_from_json(&bpe, json, tokenizer);
    if (!rc && bpe) {
        if (vocab && vocab < pg_bpe_vocab(bpe))
            rc = pg_error(PG_EINVAL, "--vocab %ld is smaller than the tokenizer's vocabulary of %d",
                          vocab, pg_bpe_vocab(bpe));
        if (!vocab) vocab = pg_bpe_vocab(bpe);
        if (!rc) rc = bpe_encode(bpe, use_default ? PG_CORPUS_DIR : NULL, argv + o.rest, &tokens,
                                 &n, docs, ndocs);
    }
    if (!vocab) vocab = 256;
    const char *kind = bpe ? "bpe" : "bytes";
    if (!rc) rc = pg_dataset_write(out, tokens, n, vocab, kind, docs, ndocs);
    if (!rc && bpe) rc = pg_dataset_add_bpe(out, json, nbytes);
    if (!rc)
        printf("wrote %s: %lld tokens in %lld documents (%lld bytes, %.2f bytes per token), "
               "vocab_size %ld, tokenizer %s, unigram entropy %.4f nats/token\n",
               out, (long long)n, (long long)ndocs, (long long)nbytes, (double)nbytes / n, vocab,
               kind, unigram_entropy(tokens, n, vocab));
    pg_bpe_free(bpe);
    free(json);
    free(tokens);
    free(docs);
    return rc;
}

int pg_cmd_prep(int argc, char **argv)
{
    int usage = 0, rc = prep(argc, argv, &usage);
    return pg_cli_status(rc, usage, help);
}
