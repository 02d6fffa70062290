/* corpus.h: the default training text, which needs no download: the license
 * texts every Debian system ships in /usr/share/common-licenses (about 250 kB
 * of English prose), as byte-level tokens, one document per file. */
#ifndef PG_CORPUS_H
#define PG_CORPUS_H

#include <stdint.h>

#define PG_CORPUS_DIR "/usr/share/common-licenses"

/* Read every regular file of PG_CORPUS_DIR in name order (symbolic links,
 * which duplicate texts, are skipped). *tokens (bytes as ids in [0, 256)) and
 * *docs (the first token of each file) are malloc'd. */
int pg_corpus_default(int32_t **tokens, int64_t *n, int64_t **docs, int64_t *ndocs);

/* Byte-level tokens of one file: ids in [0, 256). */
int pg_corpus_read_bytes(const char *path, int32_t **tokens, int64_t *n);

#endif
