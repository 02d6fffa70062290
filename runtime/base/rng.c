/* rng.c: splitmix64-seeded xoshiro256** (Blackman & Vigna). */
#include "runtime/base/rng.h"

#include <math.h>

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void pg_rng_init(pg_rng *r, uint64_t seed, uint64_t key1, uint64_t key2)
{
    /* Mix the three keys through splitmix64 so that nearby keys give
     * unrelated streams. */
    uint64_t x = seed;
    uint64_t h = splitmix64(&x);
    x = h ^ (key1 * 0xd1b54a32d192ed03ULL);
    h = splitmix64(&x);
    x = h ^ (key2 * 0xaef17502108ef2d9ULL);
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&x);
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t pg_rng_u64(pg_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double pg_rng_uniform(pg_rng *r) { return (double)(pg_rng_u64(r) >> 11) * 0x1.0p-53; }

double pg_rng_normal(pg_rng *r)
{
    double u1 = pg_rng_uniform(r), u2 = pg_rng_uniform(r);
    if (u1 < 1e-300) u1 = 1e-300;
    return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}
