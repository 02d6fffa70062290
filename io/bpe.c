/* bpe.c: byte-level BPE from a Hugging Face tokenizer.json (see bpe.h). */
#define _GNU_SOURCE
#include "io/bpe.h"

#include "runtime/base/error.h"
#include "runtime/base/files.h"

#include <cjson/cJSON.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wctype.h>

typedef struct tok {
    unsigned char *s;
    size_t len;
} tok;

struct pg_bpe {
    int V;
    tok *tok;                /* [V] id -> bytes */
    int32_t *ids;            /* open addressing over bytes -> id; -1 empty */
    size_t nids;             /* capacity, a power of 2 */
    uint64_t *mkey;          /* merges: (left, right) + 1; 0 empty */
    int32_t *mrank, *mout;   /* rank and merged id */
    size_t nmerge;           /* capacity, a power of 2 */
    int byte_id[256];
    int prefix_space, ignore_merges;
    locale_t loc;
};

void pg_bpe_free(pg_bpe *b)
{
    if (!b) return;
    for (int i = 0; b->tok && i < b->V; i++) free(b->tok[i].s);
    free(b->tok);
    free(b->ids);
    free(b->mkey);
    free(b->mrank);
    free(b->mout);
    if (b->loc) freelocale(b->loc);
    free(b);
}

int pg_bpe_vocab(const pg_bpe *b) { return b->V; }

const unsigned char *pg_bpe_bytes(const pg_bpe *b, int id, size_t *len)
{
    if (id < 0 || id >= b->V) return NULL;
    *len = b->tok[id].len;
    return b->tok[id].s;
}

static uint64_t hash_bytes(const unsigned char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < n; i++) h = (h ^ s[i]) * 1099511628211ull;
    return h;
}

static int find_id(const pg_bpe *b, const unsigned char *s, size_t n)
{
    for (size_t i = hash_bytes(s, n) & (b->nids - 1);; i = (i + 1) & (b->nids - 1)) {
        int32_t id = b->ids[i];
        if (id < 0) return -1;
        if (b->tok[id].len == n && !memcmp(b->tok[id].s, s, n)) return id;
    }
}

static uint64_t mix(uint64_t k)
{
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdull;
    return k ^ (k >> 33);
}

/* rank of merging (l, r) and the merged id; -1 when there is none */
static int find_merge(const pg_bpe *b, int l, int r, int *out)
{
    uint64_t key = ((uint64_t)l << 32 | (uint32_t)r) + 1;
    for (size_t i = mix(key) & (b->nmerge - 1);; i = (i + 1) & (b->nmerge - 1)) {
        if (!b->mkey[i]) return -1;
        if (b->mkey[i] == key) {
            *out = b->mout[i];
            return b->mrank[i];
        }
    }
}

/* GPT-2's byte -> printable code point map (bytes_to_unicode), inverted. */
static void byte_map(int cp_to_byte[324])
{
    int n = 0;
    for (int i = 0; i < 324; i++) cp_to_byte[i] = -1;
    for (int b = 0; b < 256; b++) {
        int printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
        cp_to_byte[printable ? b : 256 + n++] = b;
    }
}

/* One UTF-8 code point at s[0..n): its value and length; -1 when invalid. */
static int utf8(const unsigned char *s, size_t n, int *len)
{
    int c = s[0], need = c < 0x80 ? 0 : (c & 0xE0) == 0xC0 ? 1 : (c & 0xF0) == 0xE0 ? 2
                                     : (c & 0xF8) == 0xF0 ? 3 : -1;
    if (need < 0 || (size_t)need + 1 > n) return -1;
    int cp = need ? c & (0x3F >> need) : c;
    for (int i = 1; i <= need; i++) {
        if ((s[i] & 0xC0) != 0x80) return -1;
        cp = cp << 6 | (s[i] & 0x3F);
    }
    static const int min[] = {0, 0x80, 0x800, 0x10000};
    if (cp < min[need] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return -1;
    *len = need + 1;
    return cp;
}

/* A vocab or merge string (byte-level code points) as raw bytes. */
static int decode_key(const char *key, const int cp_to_byte[324], unsigned char *out, size_t *n)
{
    const unsigned char *s = (const unsigned char *)key;
    size_t len = strlen(key), k = 0;
    for (size_t i = 0; i < len;) {
        int l, cp = utf8(s + i, len - i, &l);
        if (cp < 0 || cp >= 324 || cp_to_byte[cp] < 0) return -1;
        out[k++] = (unsigned char)cp_to_byte[cp];
        i += (size_t)l;
    }
    *n = k;
    return 0;
}

static size_t pow2_above(size_t n)
{
    size_t c = 16;
    while (c < 2 * n) c <<= 1;
    return c;
}

static int load_vocab(pg_bpe *b, const cJSON *vocab, const char *origin, const int map[324])
{
    int n = cJSON_GetArraySize(vocab);
    b->V = n;
    b->tok = calloc((size_t)(n ? n : 1), sizeof *b->tok);
    b->nids = pow2_above((size_t)n);
    b->ids = malloc(sizeof(int32_t) * b->nids);
    if (!b->tok || !b->ids) return pg_error(PG_ENOMEM, "%s: out of memory", origin);
    memset(b->ids, 0xff, sizeof(int32_t) * b->nids);
    for (const cJSON *e = vocab->child; e; e = e->next) {
        if (!cJSON_IsNumber(e) || e->valuedouble < 0 || e->valuedouble >= n ||
            e->valuedouble != (int)e->valuedouble)
            return pg_error(PG_EFORMAT, "%s: model.vocab[\"%s\"]: expected an id in [0, %d)",
                            origin, e->string, n);
        int id = (int)e->valuedouble;
        unsigned char buf[1024];
        size_t len;
        if (strlen(e->string) >= sizeof buf || decode_key(e->string, map, buf, &len))
            return pg_error(PG_EFORMAT, "%s: model.vocab: \"%.40s\" is not a byte-level token",
                            origin, e->string);
        if (b->tok[id].s)
            return pg_error(PG_EFORMAT, "%s: model.vocab: id %d appears twice", origin, id);
        if (!(b->tok[id].s = malloc(len ? len : 1))) return pg_error(PG_ENOMEM, "out of memory");
        memcpy(b->tok[id].s, buf, len);
        b->tok[id].len = len;
        if (find_id(b, buf, len) >= 0)
            return pg_error(PG_EFORMAT, "%s: model.vocab: \"%.40s\" appears twice", origin,
                            e->string);
        size_t i = hash_bytes(buf, len) & (b->nids - 1);
        while (b->ids[i] >= 0) i = (i + 1) & (b->nids - 1);
        b->ids[i] = id;
    }
    for (int c = 0; c < 256; c++) {
        unsigned char byte = (unsigned char)c;
        if ((b->byte_id[c] = find_id(b, &byte, 1)) < 0)
            return pg_error(PG_EFORMAT, "%s: model.vocab lacks the token of byte %d (a byte-level "
                                        "BPE has all 256)", origin, c);
    }
    return 0;
}

static int load_merges(pg_bpe *b, const cJSON *merges, const char *origin, const int map[324])
{
    int n = cJSON_GetArraySize(merges);
    b->nmerge = pow2_above((size_t)n);
    b->mkey = calloc(b->nmerge, sizeof *b->mkey);
    b->mrank = malloc(sizeof(int32_t) * b->nmerge);
    b->mout = malloc(sizeof(int32_t) * b->nmerge);
    if (!b->mkey || !b->mrank || !b->mout) return pg_error(PG_ENOMEM, "%s: out of memory", origin);
    int rank = 0;
    for (const cJSON *m = merges->child; m; m = m->next, rank++) {
        char pair[2][1024];
        int ok = 0;
        if (cJSON_IsString(m)) { /* "a b" */
            const char *sp = strchr(m->valuestring, ' ');
            ok = sp && !strchr(sp + 1, ' ') && (size_t)(sp - m->valuestring) < 1024 &&
                 strlen(sp + 1) < 1024;
            if (ok) {
                snprintf(pair[0], 1024, "%.*s", (int)(sp - m->valuestring), m->valuestring);
                snprintf(pair[1], 1024, "%s", sp + 1);
            }
        } else if (cJSON_IsArray(m) && cJSON_GetArraySize(m) == 2 &&
                   cJSON_IsString(cJSON_GetArrayItem(m, 0)) &&
                   cJSON_IsString(cJSON_GetArrayItem(m, 1))) { /* ["a", "b"] */
            ok = strlen(cJSON_GetArrayItem(m, 0)->valuestring) < 1024 &&
                 strlen(cJSON_GetArrayItem(m, 1)->valuestring) < 1024;
            if (ok) {
                snprintf(pair[0], 1024, "%s", cJSON_GetArrayItem(m, 0)->valuestring);
                snprintf(pair[1], 1024, "%s", cJSON_GetArrayItem(m, 1)->valuestring);
            }
        }
        if (!ok) return pg_error(PG_EFORMAT, "%s: model.merges[%d]: expected \"a b\" or [\"a\", \"b\"]",
                                 origin, rank);
        unsigned char joined[2048];
        size_t l0, l1;
        int id[2];
        for (int k = 0; k < 2; k++) {
            unsigned char buf[1024];
            size_t len;
            if (decode_key(pair[k], map, buf, &len) || (id[k] = find_id(b, buf, len)) < 0)
                return pg_error(PG_EFORMAT, "%s: model.merges[%d]: \"%.40s\" is not in the "
                                            "vocabulary", origin, rank, pair[k]);
        }
        l0 = b->tok[id[0]].len;
        l1 = b->tok[id[1]].len;
        memcpy(joined, b->tok[id[0]].s, l0);
        memcpy(joined + l0, b->tok[id[1]].s, l1);
        int out = find_id(b, joined, l0 + l1);
        if (out < 0)
            return pg_error(PG_EFORMAT, "%s: model.merges[%d]: the merge of \"%.40s\" and "
                                        "\"%.40s\" is not in the vocabulary", origin, rank,
                            pair[0], pair[1]);
        uint64_t key = ((uint64_t)id[0] << 32 | (uint32_t)id[1]) + 1;
        size_t i = mix(key) & (b->nmerge - 1);
        while (b->mkey[i] && b->mkey[i] != key) i = (i + 1) & (b->nmerge - 1);
        if (b->mkey[i]) continue; /* a repeated merge keeps its first rank */
        b->mkey[i] = key;
        b->mrank[i] = rank;
        b->mout[i] = out;
    }
    return 0;
}

/* The pre-tokenizer: ByteLevel, alone or the only member of a Sequence. */
static int load_pre(pg_bpe *b, const cJSON *pre, const char *origin)
{
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(pre, "type");
    if (cJSON_IsString(type) && !strcmp(type->valuestring, "Sequence")) {
        const cJSON *list = cJSON_GetObjectItemCaseSensitive(pre, "pretokenizers");
        if (cJSON_GetArraySize(list) != 1)
            return pg_error(PG_EFORMAT, "%s: pre_tokenizer: a Sequence other than one ByteLevel",
                            origin);
        pre = cJSON_GetArrayItem(list, 0);
        type = cJSON_GetObjectItemCaseSensitive(pre, "type");
    }
    if (!cJSON_IsString(type) || strcmp(type->valuestring, "ByteLevel"))
        return pg_error(PG_EFORMAT, "%s: pre_tokenizer: expected ByteLevel (a byte-level BPE)",
                        origin);
    const cJSON *regex = cJSON_GetObjectItemCaseSensitive(pre, "use_regex");
    if (regex && !cJSON_IsTrue(regex))
        return pg_error(PG_EFORMAT, "%s: pre_tokenizer.use_regex: only true (GPT-2's split) is "
                                    "supported", origin);
    b->prefix_space = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(pre, "add_prefix_space"));
    return 0;
}

int pg_bpe_from_json(pg_bpe **out, const char *json, const char *origin)
{
    *out = NULL;
    pg_bpe *b = calloc(1, sizeof *b);
    if (!b) return pg_error(PG_ENOMEM, "%s: out of memory", origin);
    cJSON *j = cJSON_Parse(json);
    int rc = 0, map[324];
    byte_map(map);
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(j, "model");
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(model, "type");
    const cJSON *vocab = cJSON_GetObjectItemCaseSensitive(model, "vocab");
    const cJSON *merges = cJSON_GetObjectItemCaseSensitive(model, "merges");
    const cJSON *norm = cJSON_GetObjectItemCaseSensitive(j, "normalizer");
    const cJSON *added = cJSON_GetObjectItemCaseSensitive(j, "added_tokens");
    static const char *const unsupported[] = {"dropout", "unk_token", "continuing_subword_prefix",
                                              "end_of_word_suffix"};
    if (!cJSON_IsObject(j)) rc = pg_error(PG_EFORMAT, "%s: not a JSON object", origin);
    else if (!cJSON_IsString(type) || strcmp(type->valuestring, "BPE"))
        rc = pg_error(PG_EFORMAT, "%s: model.type: expected \"BPE\"", origin);
    else if (!cJSON_IsObject(vocab) || !cJSON_IsArray(merges))
        rc = pg_error(PG_EFORMAT, "%s: model needs a vocab object and a merges list", origin);
    else if (norm && !cJSON_IsNull(norm))
        rc = pg_error(PG_EFORMAT, "%s: normalizer: only null is supported", origin);
    else if (added && cJSON_GetArraySize(added) > 0)
        rc = pg_error(PG_EFORMAT, "%s: added_tokens: not supported (special tokens)", origin);
    else if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(model, "byte_fallback")))
        rc = pg_error(PG_EFORMAT, "%s: model.byte_fallback: not supported", origin);
    for (size_t i = 0; !rc && i < sizeof unsupported / sizeof *unsupported; i++) {
        const cJSON *x = cJSON_GetObjectItemCaseSensitive(model, unsupported[i]);
        if (x && !cJSON_IsNull(x))
            rc = pg_error(PG_EFORMAT, "%s: model.%s: only null is supported", origin,
                          unsupported[i]);
    }
    if (!rc) rc = load_pre(b, cJSON_GetObjectItemCaseSensitive(j, "pre_tokenizer"), origin);
    if (!rc) b->ignore_merges = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(model, "ignore_merges"));
    if (!rc) rc = load_vocab(b, vocab, origin, map);
    if (!rc) rc = load_merges(b, merges, origin, map);
    if (!rc && !(b->loc = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0)))
        rc = pg_error(PG_EIO, "%s: the C.UTF-8 locale is not available", origin);
    cJSON_Delete(j);
    if (rc) pg_bpe_free(b);
    else *out = b;
    return rc;
}

int pg_bpe_load(pg_bpe **b, const char *path)
{
    *b = NULL;
    char *text;
    size_t n;
    int rc = pg_read_file(path, "tokenizer file", &text, &n);
    if (rc) return rc;
    rc = pg_bpe_from_json(b, text, path);
    free(text);
    return rc;
}

/* ---- encoding ---- */

enum { C_SPACE, C_LETTER, C_NUMBER, C_OTHER };

static int class_of(const pg_bpe *b, int cp)
{
    if (cp < 128) {
        if (cp == ' ' || (cp >= 9 && cp <= 13)) return C_SPACE;
        if ((cp | 32) >= 'a' && (cp | 32) <= 'z') return C_LETTER;
        if (cp >= '0' && cp <= '9') return C_NUMBER;
        return C_OTHER;
    }
    if (iswspace_l((wint_t)cp, b->loc)) return C_SPACE;
    if (iswalpha_l((wint_t)cp, b->loc)) return C_LETTER;
    return C_OTHER;
}

typedef struct scan {
    const unsigned char *s;
    size_t n;
    const pg_bpe *b;
} scan;

/* class and length of the code point at i (the text is valid UTF-8) */
static int cls_at(const scan *x, size_t i, int *len)
{
    int cp = utf8(x->s + i, x->n - i, len);
    return class_of(x->b, cp);
}

/* End of the piece GPT-2's pattern matches at i. */
static size_t piece_end(const scan *x, size_t i)
{
    const unsigned char *s = x->s;
    size_t n = x->n;
    if (s[i] == '\'' && i + 1 < n) { /* 's 't 're 've 'm 'll 'd */
        unsigned char c = s[i + 1];
        if (c == 's' || c == 't' || c == 'm' || c == 'd') return i + 2;
        if (i + 2 < n && ((c == 'r' && s[i + 2] == 'e') || (c == 'v' && s[i + 2] == 'e') ||
                          (c == 'l' && s[i + 2] == 'l')))
            return i + 3;
    }
    int len, cls;
    size_t k = i;
    if (s[i] == ' ' && i + 1 < n && cls_at(x, i + 1, &len) != C_SPACE) k = i + 1; /* " ?" */
    cls = cls_at(x, k, &len);
    if (cls != C_SPACE) { /* ?\p{L}+ | ?\p{N}+ | ?[^\s\p{L}\p{N}]+ */
        size_t j = k + (size_t)len;
        while (j < n && cls_at(x, j, &len) == cls) j += (size_t)len;
        return j;
    }
    size_t j = i, last = i; /* \s+(?!\S) | \s+ */
    int count = 0;
    while (j < n && cls_at(x, j, &len) == C_SPACE) {
        last = j;
        j += (size_t)len;
        count++;
    }
    if (j == n || count == 1) return j;
    return last; /* leave the last space to the piece that follows */
}

static int push(int32_t **ids, int64_t *count, int64_t *cap, int32_t id)
{
    if (*count == *cap) {
        int64_t c = *cap ? 2 * *cap : 4096;
        int32_t *g = realloc(*ids, sizeof(int32_t) * (size_t)c);
        if (!g) return pg_error(PG_ENOMEM, "bpe: out of memory");
        *ids = g;
        *cap = c;
    }
    (*ids)[(*count)++] = id;
    return 0;
}

/* Merge the bytes of one piece and append its ids. sym: scratch of len ints. */
static int encode_piece(const pg_bpe *b, const unsigned char *p, size_t len, int *sym,
                        int32_t **ids, int64_t *count, int64_t *cap)
{
    if (b->ignore_merges) {
        int whole = find_id(b, p, len);
        if (whole >= 0) return push(ids, count, cap, whole);
    }
    size_t m = len;
    for (size_t i = 0; i < len; i++) sym[i] = b->byte_id[p[i]];
    while (m > 1) {
        int best = -1, best_out = -1;
        size_t at = 0;
        for (size_t i = 0; i + 1 < m; i++) {
            int out, r = find_merge(b, sym[i], sym[i + 1], &out);
            if (r >= 0 && (best < 0 || r < best)) {
                best = r;
                best_out = out;
                at = i;
            }
        }
        if (best < 0) break;
        sym[at] = best_out; /* the leftmost pair of the lowest rank */
        memmove(sym + at + 1, sym + at + 2, sizeof(int) * (m - at - 2));
        m--;
    }
    int rc = 0;
    for (size_t i = 0; i < m && !rc; i++) rc = push(ids, count, cap, sym[i]);
    return rc;
}

int pg_bpe_encode(const pg_bpe *b, const unsigned char *text, size_t n, int32_t **ids,
                  int64_t *count, int64_t *cap)
{
    for (size_t i = 0, len; i < n; i += len) { /* valid UTF-8 first: the pattern reads code points */
        int l;
        if (utf8(text + i, n - i, &l) < 0)
            return pg_error(PG_EFORMAT, "not UTF-8 text (byte %zu)", i);
        len = (size_t)l;
    }
    unsigned char *s = (unsigned char *)text;
    unsigned char *copy = NULL;
    if (b->prefix_space && n && text[0] != ' ') {
        if (!(copy = malloc(n + 1))) return pg_error(PG_ENOMEM, "bpe: out of memory");
        copy[0] = ' ';
        memcpy(copy + 1, text, n);
        s = copy;
        n++;
    }
    scan x = {s, n, b};
    int *sym = NULL;
    size_t symcap = 0;
    int rc = 0;
    for (size_t i = 0; i < n && !rc;) {
        size_t j = piece_end(&x, i);
        if (j - i > symcap) {
            symcap = 2 * (j - i);
            free(sym);
            if (!(sym = malloc(sizeof(int) * symcap))) rc = pg_error(PG_ENOMEM, "bpe: out of memory");
        }
        if (!rc) rc = encode_piece(b, s + i, j - i, sym, ids, count, cap);
        i = j;
    }
    free(sym);
    free(copy);
    return rc;
}
