/* xoshiro256** (Blackman & Vigna) with splitmix64 seeding, written here rather than taken from GSL
 * because kenyon needs a generator whose whole state is a plain value: it is copied into per-thread
 * streams, saved with models and compared bit for bit in tests; gsl_rng is heap-allocated and
 * opaque. The algorithm is public domain and a dozen lines. */
#include "kenyon/rng.h"

#include <math.h>
#include <string.h>

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void kn_rng_seed(kn_rng *rng, uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 4; i++)
        rng->s[i] = splitmix64(&x);
}

void kn_rng_stream(kn_rng *rng, uint64_t seed, uint64_t stream)
{
    /* Mix the stream id through splitmix so neighbouring ids give unrelated states. */
    uint64_t x = seed ^ 0x5bd1e9955bd1e995ULL;
    uint64_t mixed = splitmix64(&x);
    uint64_t y = stream + 0x2545f4914f6cdd1dULL;
    kn_rng_seed(rng, mixed ^ splitmix64(&y));
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t kn_rng_next(kn_rng *rng)
{
    uint64_t *s = rng->s;
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

double kn_rng_uniform(kn_rng *rng) { return (double)(kn_rng_next(rng) >> 11) * 0x1.0p-53; }

uint64_t kn_rng_below(kn_rng *rng, uint64_t n)
{
    /* Rejection on the top of the range keeps every value equally likely. */
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t r;
    do {
        r = kn_rng_next(rng);
    } while (r >= limit);
    return r % n;
}

double kn_rng_normal(kn_rng *rng)
{
    double u, v, s;
    do {
        u = 2.0 * kn_rng_uniform(rng) - 1.0;
        v = 2.0 * kn_rng_uniform(rng) - 1.0;
        s = u * u + v * v;
    } while (s >= 1.0 || s == 0.0);
    return u * sqrt(-2.0 * log(s) / s);
}

void kn_rng_shuffle(kn_rng *rng, void *base, size_t n, size_t size)
{
    unsigned char tmp[64];
    unsigned char *b = base;
    if (size > sizeof tmp || n < 2)
        return;
    for (size_t i = n - 1; i > 0; i--) {
        size_t j = (size_t)kn_rng_below(rng, (uint64_t)i + 1);
        if (j != i) {
            memcpy(tmp, b + i * size, size);
            memcpy(b + i * size, b + j * size, size);
            memcpy(b + j * size, tmp, size);
        }
    }
}

void kn_rng_permutation(kn_rng *rng, uint32_t *perm, size_t n)
{
    for (size_t i = 0; i < n; i++)
        perm[i] = (uint32_t)i;
    kn_rng_shuffle(rng, perm, n, sizeof *perm);
}
