/* fly-ridge's Gram update G += sum h h^T by 64 x 64 tiles of G (src/fly/gram_tiles.h).
 *
 * The codes are first regrouped block-major: for each block of 64 cells, every sample's entries
 * in it (cell within the block as a byte, value), sample after sample. A tile (row block, column
 * block) of the upper triangle then reads two of these streams in order while it stays in L1,
 * and every sample with cells in both blocks adds its products there. Each entry of G lies in
 * one tile and a tile takes the samples in order, so each entry gets the additions of the
 * sample-by-sample sum in sample order.
 *
 * With AVX-512, off-diagonal tiles are updated densely: the sample's values in the column block
 * are expanded into u (64 doubles in 8 registers, zero elsewhere) and each of its rows gets
 * row += va * u by fused multiply-adds. va * u is exact in double (two floats), so the fma rounds
 * like the sparse addition; the zeros add +0.0 to entries >= 0, which leaves them bit for bit as
 * they were (a narrower last block is padded with zeros in the tile buffer and not copied back).
 * Diagonal tiles and CPUs without AVX-512 take the sparse loop.
 *
 * Why: the sparse row-by-row update over all samples ran at ~3 cycles per addition, bound by
 * moving G's lines and every code through the caches (8 bytes of code per addition). */
#include "fly/gram_tiles.h"

#include <string.h>

#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>
#define HAVE_AVX512_TILE 1
#endif

/* The regrouped codes: entries of block t, sample i are start[t * n + i] .. start[t * n + i + 1]
 * (the array is one prefix sum, so the end of the last sample is the start of the next block). */
typedef struct blocked_codes {
    uint32_t *start; /* nb * n + 1 */
    uint8_t *lane;   /* cell - 64 * block */
    float *value;
} blocked_codes;

static size_t n_blocks(size_t m) { return (m + KN_GRAM_TILE - 1) / KN_GRAM_TILE; }

size_t kn_gram_scratch_bytes(size_t m, size_t n, size_t k)
{
    return (n_blocks(m) * n + 1) * sizeof(uint32_t) + n * k * (sizeof(float) + 1) + 16;
}

/* Sparse: a sample's additions to a tile (64 x 64, contiguous), the arithmetic of the
 * sample-by-sample sum. */
static void add_sparse(double *tile, const blocked_codes *bc, size_t r_from, size_t r_to,
                       size_t c_from, size_t c_to, int diagonal)
{
    for (size_t a = r_from; a < r_to; a++) {
        double *row = tile + (size_t)bc->lane[a] * KN_GRAM_TILE;
        const double va = bc->value[a];
        for (size_t b = diagonal ? a : c_from; b < c_to; b++)
            row[bc->lane[b]] += va * (double)bc->value[b];
    }
}

#ifdef HAVE_AVX512_TILE
/* Dense (an off-diagonal tile of full width): u built in 8 registers, row += va * u by fma. */
__attribute__((target("avx512f"))) static void add_dense_avx512(double *tile,
                                                                const blocked_codes *bc,
                                                                size_t r_from, size_t r_to,
                                                                size_t c_from, size_t c_to)
{
    uint64_t lanes = 0;
    for (size_t b = c_from; b < c_to; b++)
        lanes |= (uint64_t)1 << bc->lane[b];
    __m512d u[8];
    const float *next = bc->value + c_from;
    for (int q = 0; q < 4; q++) { /* 16 lanes at a time: the next count values to their lanes */
        const __mmask16 in = (__mmask16)(lanes >> (16 * q));
        const int count = __builtin_popcount((unsigned)in);
        const __m512 f = _mm512_maskz_expand_ps(
            in, _mm512_maskz_loadu_ps((__mmask16)((1u << count) - 1), next));
        next += count;
        u[2 * q] = _mm512_cvtps_pd(_mm512_castps512_ps256(f));
        u[2 * q + 1] =
            _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(f), 1)));
    }
    for (size_t a = r_from; a < r_to; a++) {
        double *row = tile + (size_t)bc->lane[a] * KN_GRAM_TILE;
        const __m512d va = _mm512_set1_pd((double)bc->value[a]);
        for (int q = 0; q < 8; q++)
            _mm512_storeu_pd(row + 8 * q,
                             _mm512_fmadd_pd(va, u[q], _mm512_loadu_pd(row + 8 * q)));
    }
}
#endif

/* Tile (rb, cb) for all n samples, in sample order. The tile is copied to a contiguous buffer
 * first: G's rows are m doubles apart, and at m 3200 (25,600 bytes) the 64 rows of a tile fall
 * into a quarter of L1's sets and evicted each other. */
static void update_tile(double *g, size_t m, const blocked_codes *bc, size_t n, size_t rb,
                        size_t cb, int dense)
{
    const size_t r0 = rb * KN_GRAM_TILE, c0 = cb * KN_GRAM_TILE;
    const size_t h = m - r0 < KN_GRAM_TILE ? m - r0 : KN_GRAM_TILE;
    const size_t w = m - c0 < KN_GRAM_TILE ? m - c0 : KN_GRAM_TILE;
    double tile[KN_GRAM_TILE * KN_GRAM_TILE] __attribute__((aligned(64)));
    memset(tile, 0, sizeof tile);
    for (size_t q = 0; q < h; q++)
        memcpy(tile + q * KN_GRAM_TILE, g + (r0 + q) * m + c0, w * sizeof *g);
    const uint32_t *rs = bc->start + rb * n, *cs = bc->start + cb * n;
    dense = dense && rb != cb;
    for (size_t i = 0; i < n; i++) {
        const size_t r_from = rs[i], r_to = rs[i + 1], c_from = cs[i], c_to = cs[i + 1];
        if (r_from == r_to || c_from == c_to)
            continue;
#ifdef HAVE_AVX512_TILE
        if (dense) {
            add_dense_avx512(tile, bc, r_from, r_to, c_from, c_to);
            continue;
        }
#endif
        add_sparse(tile, bc, r_from, r_to, c_from, c_to, rb == cb);
    }
    for (size_t q = 0; q < h; q++)
        memcpy(g + (r0 + q) * m + c0, tile + q * KN_GRAM_TILE, w * sizeof *g);
}

void kn_gram_add_codes(double *g, size_t m, const int32_t *cells, const float *values,
                       const int32_t *nnz, size_t k, size_t n, void *scratch)
{
    const size_t nb = n_blocks(m);
    blocked_codes bc;
    bc.start = scratch;
    bc.value = (float *)(bc.start + nb * n + 1);
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += (size_t)nnz[i];
    bc.lane = (uint8_t *)(bc.value + total);
    /* Counts per (block, sample), then their prefix sum, then the entries in place. */
    memset(bc.start, 0, (nb * n + 1) * sizeof *bc.start);
    for (size_t i = 0; i < n; i++)
        for (int a = 0; a < nnz[i]; a++)
            bc.start[(size_t)(cells[i * k + (size_t)a] / KN_GRAM_TILE) * n + i + 1]++;
    for (size_t q = 0; q < nb * n; q++)
        bc.start[q + 1] += bc.start[q];
    for (size_t i = 0; i < n; i++) {
        const int32_t *cl = cells + i * k;
        const float *vl = values + i * k;
        for (int a = 0; a < nnz[i];) {
            const size_t t = (size_t)(cl[a] / KN_GRAM_TILE);
            for (size_t at = bc.start[t * n + i]; a < nnz[i] && (size_t)(cl[a] / KN_GRAM_TILE) == t;
                 a++, at++) {
                bc.lane[at] = (uint8_t)(cl[a] - (int32_t)(t * KN_GRAM_TILE));
                bc.value[at] = vl[a];
            }
        }
    }
#ifdef HAVE_AVX512_TILE
    const int dense = __builtin_cpu_supports("avx512f");
#else
    const int dense = 0;
#endif
    const long n_tiles = (long)(nb * (nb + 1) / 2);
#pragma omp parallel for schedule(dynamic, 1) if (n > 64)
    for (long t = 0; t < n_tiles; t++) {
        size_t rb = 0, left = (size_t)t; /* tile t is (rb, cb), rb <= cb, row blocks in order */
        while (left >= nb - rb) {
            left -= nb - rb;
            rb++;
        }
        update_tile(g, m, &bc, n, rb, rb + left, dense);
    }
}
