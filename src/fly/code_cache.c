/* A cache of KC codes for inputs seen before (kenyon/fly.h). The encoder is fixed, so the code of
 * an input never changes; the class-incremental protocol predicts the same test rows after every
 * task (55 encodings of each task's test set over 10 tasks instead of 10). An entry keeps a copy
 * of its input block and is used only when the new block is bit-for-bit equal (a 64-bit hash
 * picks the candidate; a full comparison decides), so results are exactly those of encoding
 * again. Image pixels are b / 255 exactly: such a block is kept as one byte per value, a quarter
 * of the memory (for MNIST-20 pixels 9 MB of fresh pages instead of 36 MB, and a quarter of the
 * bytes read by every comparison). */
#include <stdlib.h>
#include <string.h>

#include "kenyon/fly.h"

struct kn_kc_cache_entry {
    uint64_t hash;
    size_t n, d;
    float *x;        /* the block as given, or NULL when it is kept as bytes */
    uint8_t *bytes;  /* the block as bytes b standing for b / 255.0f */
    kn_kc_codes codes;
};

static float byte_value(unsigned b)
{
    return (float)b / 255.0f;
}

static uint32_t bits(float v)
{
    uint32_t u;
    memcpy(&u, &v, sizeof u);
    return u;
}

/* The two loops below are cloned for AVX2 and the baseline, picked at load time (GCC's
 * target_clones): at SSE2 the byte conversion stays scalar. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define VECTOR_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define VECTOR_CLONES
#endif

/* 1 when x equals the block kept as bytes, bit for bit; stops at the first differing chunk. */
VECTOR_CLONES static int equal_bytes(const uint8_t *b, const float *x, size_t count)
{
    const size_t chunk = 4096;
    for (size_t s = 0; s < count; s += chunk) {
        const size_t e = count - s < chunk ? count - s : chunk;
        uint32_t diff = 0;
        for (size_t i = s; i < s + e; i++) /* vectorises: convert, divide, xor */
            diff |= bits(byte_value(b[i])) ^ bits(x[i]);
        if (diff)
            return 0;
    }
    return 1;
}

/* Writes x as bytes into out and returns 1 when every value is some b / 255.0f bit for bit. The
 * rounding needs no care (NaN, negatives and values above 1 clamp to some byte): the comparison
 * decides. Both loops vectorise; a scalar division per value was 12% of a whole fly run. */
VECTOR_CLONES static int to_bytes(const float *restrict x, size_t count, uint8_t *restrict out)
{
    /* restrict: a byte store may alias any float, and without it GCC kept this loop scalar (8% of
     * a whole fly run). */
    for (size_t i = 0; i < count; i++) {
        float r = x[i] * 255.0f + 0.5f; /* b + 0.5 for the byte values, truncated below */
        r = r > 0.0f ? r : 0.0f;
        r = r < 255.0f ? r : 255.0f;
        out[i] = (uint8_t)(int32_t)r;
    }
    return equal_bytes(out, x, count);
}

static int entry_matches(const struct kn_kc_cache_entry *en, const float *x)
{
    const size_t count = en->n * en->d;
    return en->x ? memcmp(en->x, x, count * sizeof *x) == 0 : equal_bytes(en->bytes, x, count);
}

void kn_kc_cache_init(kn_kc_cache *c, size_t max_bytes)
{
    memset(c, 0, sizeof *c);
    c->max_bytes = max_bytes;
}

void kn_kc_cache_free(kn_kc_cache *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n; i++) {
        free(c->entries[i].x);
        free(c->entries[i].bytes);
        kn_kc_codes_free(&c->entries[i].codes);
    }
    free(c->entries);
    memset(c, 0, sizeof *c);
}

/* Hash of a block: its length and at most HASH_SAMPLES of its words, evenly spaced (always the
 * first and the last). It only picks the candidate entry; memcmp over the whole block decides, so
 * two blocks that differ only in unsampled words cost one extra memcmp, never a wrong hit.
 * Hashing every word was 14% of a whole `kenyon run --method fly` (a serial multiply chain over
 * the test set after every task); sampling makes the lookup the memcmp's cost. */
#define HASH_SAMPLES 1024

static uint64_t hash_block(const float *x, size_t count)
{
    uint64_t h = 0x9e3779b97f4a7c15ULL ^ count;
    if (count == 0)
        return h;
    const size_t step = count > HASH_SAMPLES ? count / HASH_SAMPLES : 1;
    uint32_t w;
    for (size_t i = 0; i < count; i += step) {
        memcpy(&w, x + i, sizeof w);
        h ^= w;
        h *= 0xff51afd7ed558ccdULL;
        h ^= h >> 29;
    }
    memcpy(&w, x + count - 1, sizeof w);
    h ^= w;
    h *= 0xff51afd7ed558ccdULL;
    return h ^ (h >> 29);
}

int kn_kc_cache_encode(kn_kc_cache *c, const kn_kc_encoder *e, const float *x, size_t n,
                       kn_kc_codes *scratch, const kn_kc_codes **codes, kn_error *err)
{
    const size_t d = e->d;
    const uint64_t h = hash_block(x, n * d);
    for (size_t i = 0; i < c->n; i++) {
        struct kn_kc_cache_entry *en = &c->entries[i];
        if (en->hash == h && en->n == n && en->d == d && en->codes.k == e->k &&
            entry_matches(en, x)) {
            *codes = &en->codes;
            return 0;
        }
    }
    /* The copy: bytes when the block is exact pixels, else the floats as given. */
    const size_t count = n * d;
    uint8_t *bytes = malloc(count ? count : 1);
    if (bytes && !to_bytes(x, count, bytes)) {
        free(bytes);
        bytes = NULL;
    }
    size_t cost = (bytes ? count : count * sizeof(float)) + n * (size_t)e->k * 8 + n * 4;
    if (c->bytes + cost <= c->max_bytes) {
        struct kn_kc_cache_entry en = {.hash = h, .n = n, .d = d, .bytes = bytes};
        bytes = NULL; /* owned by en from here */
        if (!en.bytes)
            en.x = malloc(count * sizeof *x);
        int ok = (en.bytes || en.x) && c->n < SIZE_MAX / sizeof *c->entries &&
                 kn_kc_codes_alloc(&en.codes, n, e->k, NULL) == 0;
        if (ok && c->n == c->cap) {
            size_t ncap = c->cap ? 2 * c->cap : 16;
            struct kn_kc_cache_entry *ne = realloc(c->entries, ncap * sizeof *ne);
            if (ne) {
                c->entries = ne;
                c->cap = ncap;
            } else {
                ok = 0;
            }
        }
        if (ok) {
            int rc = kn_kc_encode(e, x, n, &en.codes, err);
            if (rc) {
                free(en.x);
                free(en.bytes);
                kn_kc_codes_free(&en.codes);
                return rc;
            }
            if (en.x)
                memcpy(en.x, x, count * sizeof *x);
            c->entries[c->n++] = en;
            c->bytes += cost;
            *codes = &c->entries[c->n - 1].codes;
            return 0;
        }
        free(en.x);
        free(en.bytes);
        kn_kc_codes_free(&en.codes);
        /* Out of memory for the cache: fall through and encode without keeping it. */
    }
    free(bytes);
    if (scratch->cap < n || scratch->k != e->k) {
        kn_kc_codes_free(scratch);
        int rc = kn_kc_codes_alloc(scratch, n, e->k, err);
        if (rc)
            return rc;
    }
    int rc = kn_kc_encode(e, x, n, scratch, err);
    if (rc)
        return rc;
    *codes = scratch;
    return 0;
}
