/* rng.h: deterministic random numbers addressed by keys, not by call order.
 *
 * A stream is derived from (seed, key1, key2) by hashing, so that, for
 * example, the initial weights of layer 7's tensor 2 or the features of global
 * sample 123456 are the same whichever rank computes them and in whatever
 * order. This is what makes a run independent of its grid. */
#ifndef PG_RNG_H
#define PG_RNG_H

#include <stdint.h>

typedef struct pg_rng {
    uint64_t s[4]; /* xoshiro256** state */
} pg_rng;

/* A stream for (seed, key1, key2). */
void pg_rng_init(pg_rng *r, uint64_t seed, uint64_t key1, uint64_t key2);

uint64_t pg_rng_u64(pg_rng *r);

/* Uniform in [0, 1). */
double pg_rng_uniform(pg_rng *r);

/* Standard normal (Box-Muller; one value per call, deterministic). */
double pg_rng_normal(pg_rng *r);

#endif
