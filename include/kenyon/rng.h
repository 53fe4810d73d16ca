/* kenyon random numbers: an explicit, copyable generator (xoshiro256**) seeded from a 64-bit seed.
 * Every stochastic choice in kenyon draws from one of these, so a seed fixes a run bit for bit.
 * kn_rng_stream derives independent generators for threads or sub-tasks from (seed, stream id),
 * so results do not depend on the thread count. */
#ifndef KENYON_RNG_H
#define KENYON_RNG_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct kn_rng {
    uint64_t s[4];
} kn_rng;

void kn_rng_seed(kn_rng *rng, uint64_t seed);
/* Generator number `stream` of the family named by seed (independent of kn_rng_seed(seed)). */
void kn_rng_stream(kn_rng *rng, uint64_t seed, uint64_t stream);
uint64_t kn_rng_next(kn_rng *rng);
/* Uniform double in [0, 1) with 53 random bits. */
double kn_rng_uniform(kn_rng *rng);
/* Uniform integer in [0, n), without modulo bias; n > 0. */
uint64_t kn_rng_below(kn_rng *rng, uint64_t n);
/* Standard normal (Marsaglia polar method; no cached spare, so the state alone defines the stream). */
double kn_rng_normal(kn_rng *rng);
/* Fisher-Yates shuffle of n elements of `size` bytes (size <= 64). */
void kn_rng_shuffle(kn_rng *rng, void *base, size_t n, size_t size);
/* Writes a uniformly random permutation of 0..n-1 into perm. */
void kn_rng_permutation(kn_rng *rng, uint32_t *perm, size_t n);

#ifdef __cplusplus
}
#endif
#endif
