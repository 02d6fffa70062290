/* fuzz_input.h: reading a libFuzzer input as a stream of choices, for the
 * structure-aware targets (fuzz_dataset.c, fuzz_ckpt.c). Past the end of
 * the input every read returns 0, so any input is a complete program. */
#ifndef PG_FUZZ_INPUT_H
#define PG_FUZZ_INPUT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

typedef struct fuzz_in {
    const uint8_t *p;
    size_t n, at;
} fuzz_in;

/* The next `bytes` (<= 8) bytes, little-endian. */
static inline uint64_t fuzz_take(fuzz_in *in, int bytes)
{
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++, in->at++)
        if (in->at < in->n) v |= (uint64_t)in->p[in->at] << (8 * i);
    return v;
}

/* A choice in [0, n). */
static inline unsigned fuzz_pick(fuzz_in *in, unsigned n)
{
    return (unsigned)(fuzz_take(in, 1) % n);
}

/* A scratch file for this process (TMPDIR or /tmp), removed at exit: the
 * targets write an HDF5 file there and hand its name to pipegrid, which
 * opens files by name. */
static char fuzz_path_buf[512];
static void fuzz_unlink(void) { unlink(fuzz_path_buf); }
static inline const char *fuzz_scratch(const char *name)
{
    if (!fuzz_path_buf[0]) {
        const char *dir = getenv("TMPDIR");
        snprintf(fuzz_path_buf, sizeof fuzz_path_buf, "%s/pg_%s_%d.h5", dir && *dir ? dir : "/tmp",
                 name, (int)getpid());
        atexit(fuzz_unlink);
    }
    return fuzz_path_buf;
}

#endif
