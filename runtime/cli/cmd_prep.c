/* cmd_prep.c: `pipegrid prep`: text, or a token file of another tool
 * (io/tokfile.h), -> HDF5 token dataset (io/dataset.h), and checking an
 * existing dataset. */
#include "io/bpe.h"
#include "io/corpus.h"
#include "io/dataset.h"
#include "io/tokfile.h"
#include "runtime/base/error.h"
#include "runtime/cli/cli.h"

#include <getopt.h>
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
    if (rc) {
        pg_cli_error(pg_errmsg());
        return PG_EXIT_FAIL;
    }
    return PG_EXIT_OK;
}

static int read_text(const char *path, char **text)
{
    *text = NULL;
    int32_t *t;
    int64_t n;
    int rc = pg_corpus_read_bytes(path, &t, &n);
    if (rc) return rc;
    if (!(*text = malloc((size_t)n + 1))) rc = pg_error(PG_ENOMEM, "prep: out of memory");
    for (int64_t i = 0; i < n && !rc; i++) (*text)[i] = (char)t[i];
    if (!rc) (*text)[n] = '\0';
    free(t);
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

int pg_cmd_prep(int argc, char **argv)
{
    static const struct option opts[] = {
        {"output", required_argument, 0, 'o'}, {"default", no_argument, 0, 'd'},
        {"vocab", required_argument, 0, 'v'},  {"check", required_argument, 0, 'c'},
        {"from", required_argument, 0, 'f'},   {"help", no_argument, 0, 'h'},
        {"tokenizer", required_argument, 0, 't'},
        {0, 0, 0, 0},
    };
    const char *out = NULL, *checked = NULL, *from = NULL, *tokenizer = NULL;
    int use_default = 0;
    long vocab = 0;
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":o:h", opts, NULL)) != -1) {
        char *end;
        switch (c) {
        case 'o': out = optarg; break;
        case 'd': use_default = 1; break;
        case 'c': checked = optarg; break;
        case 'f': from = optarg; break;
        case 't': tokenizer = optarg; break;
        case 'v':
            vocab = strtol(optarg, &end, 10);
            if (*end || end == optarg || vocab < 1 || vocab > (1L << 24)) {
                pg_error(PG_EINVAL, "--vocab: expected an integer in [1, 16777216], got '%s'",
                         optarg);
                pg_cli_error(pg_errmsg());
                return PG_EXIT_USAGE;
            }
            break;
        case 'h': help(stdout); return PG_EXIT_OK;
        case ':':
            fprintf(stderr, "pipegrid: error: option '%s' needs a value (see pipegrid prep --help)\n",
                    argv[optind - 1]);
            return PG_EXIT_USAGE;
        default:
            fprintf(stderr, "pipegrid: error: unknown option '%s' (see pipegrid prep --help)\n",
                    argv[optind - 1]);
            return PG_EXIT_USAGE;
        }
    }
    int nfiles = argc - optind;
    if (checked) {
        if (check(checked, vocab)) {
            pg_cli_error(pg_errmsg());
            return PG_EXIT_FAIL;
        }
        return PG_EXIT_OK;
    }
    if (from) {
        if (!out || nfiles || use_default || !vocab || tokenizer) {
            fprintf(stderr, "pipegrid: error: prep --from FILE needs -o OUT.h5 and --vocab V "
                            "(the vocabulary of the tokenizer that wrote FILE), and no text "
                            "files or --default (see pipegrid prep --help)\n");
            return PG_EXIT_USAGE;
        }
        return from_tokens(from, out, vocab);
    }
    if (!out || (nfiles == 0) == !use_default) {
        fprintf(stderr, "pipegrid: error: prep needs -o OUT.h5 and either text files or "
                        "--default (see pipegrid prep --help)\n");
        return PG_EXIT_USAGE;
    }
    int32_t *tokens = NULL;
    int64_t n = 0, *docs = NULL, ndocs = use_default ? 0 : nfiles, nbytes = 0;
    char *json = NULL;
    pg_bpe *bpe = NULL;
    int rc = use_default ? pg_corpus_default(&tokens, &n, &docs, &ndocs)
                         : read_files(argv + optind, nfiles, &tokens, &n, &docs);
    if (!rc && n == 0) rc = pg_error(PG_EINVAL, "prep: the input has no bytes");
    nbytes = n;
    if (!rc && tokenizer) rc = read_text(tokenizer, &json);
    if (!rc && tokenizer) rc = pg_bpe_from_json(&bpe, json, tokenizer);
    if (!rc && bpe) {
        if (vocab && vocab < pg_bpe_vocab(bpe))
            rc = pg_error(PG_EINVAL, "--vocab %ld is smaller than the tokenizer's vocabulary of %d",
                          vocab, pg_bpe_vocab(bpe));
        if (!vocab) vocab = pg_bpe_vocab(bpe);
        if (!rc) rc = bpe_encode(bpe, use_default ? PG_CORPUS_DIR : NULL, argv + optind, &tokens,
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
    if (rc) {
        pg_cli_error(pg_errmsg());
        return PG_EXIT_FAIL;
    }
    return PG_EXIT_OK;
}
