/* The KC encoder's AVX2 kernels (see encoder_kernels.h): the projection 8 lanes wide with two
 * 8 x 8 transposes per block, compaction through a permutation table (AVX2 has no compress),
 * vectorised scaling. */
#include "encoder_kernels.h"

#ifdef KC_HAVE_X86_KERNELS
#include <immintrin.h>
#include <math.h>
#include <pthread.h>
#include <string.h>

/* 8 x 8 transpose of r[0..7] in place. */
__attribute__((target("avx2"))) static inline void transpose8(__m256 *r)
{
    __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
    __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
    __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
    __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
    __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xee);
    __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xee);
    __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xee);
    __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xee);
    r[0] = _mm256_permute2f128_ps(u0, u4, 0x20), r[1] = _mm256_permute2f128_ps(u1, u5, 0x20);
    r[2] = _mm256_permute2f128_ps(u2, u6, 0x20), r[3] = _mm256_permute2f128_ps(u3, u7, 0x20);
    r[4] = _mm256_permute2f128_ps(u0, u4, 0x31), r[5] = _mm256_permute2f128_ps(u1, u5, 0x31);
    r[6] = _mm256_permute2f128_ps(u2, u6, 0x31), r[7] = _mm256_permute2f128_ps(u3, u7, 0x31);
}

__attribute__((target("avx2"))) static void project_avx2(const uint32_t *inputs, int m, int c,
                                                         const float *xt, float *hb, size_t ms,
                                                         kc_block_stats *st)
{
    __m256 sm0 = _mm256_setzero_ps(), sm1 = sm0, sq0 = sm0, sq1 = sm0;
    for (int i = 0; i < m; i += 8) {
        __m256 lo[8], hi[8]; /* cell i + j: samples 0-7 and 8-15 */
        const int nc = m - i < 8 ? m - i : 8;
        for (int j = 0; j < 8; j++) {
            __m256 a0 = _mm256_setzero_ps(), a1 = a0;
            if (j < nc) {
                const uint32_t *in = inputs + (size_t)(i + j) * (size_t)c;
                for (int t = 0; t < c; t++) {
                    const float *r = xt + KC_BLOCK * (size_t)in[t];
                    a0 = _mm256_add_ps(a0, _mm256_load_ps(r));
                    a1 = _mm256_add_ps(a1, _mm256_load_ps(r + 8));
                }
            }
            sm0 = _mm256_add_ps(sm0, a0), sm1 = _mm256_add_ps(sm1, a1);
            sq0 = _mm256_add_ps(sq0, _mm256_mul_ps(a0, a0));
            sq1 = _mm256_add_ps(sq1, _mm256_mul_ps(a1, a1));
            lo[j] = a0, hi[j] = a1;
        }
        transpose8(lo);
        transpose8(hi);
        for (int b = 0; b < 8; b++) { /* padding cells (past m, within ms) take the zeros */
            _mm256_storeu_ps(hb + (size_t)b * ms + (size_t)i, lo[b]);
            _mm256_storeu_ps(hb + (size_t)(b + 8) * ms + (size_t)i, hi[b]);
        }
    }
    _mm256_storeu_ps(st->sum, sm0), _mm256_storeu_ps(st->sum + 8, sm1);
    _mm256_storeu_ps(st->sumsq, sq0), _mm256_storeu_ps(st->sumsq + 8, sq1);
}

/* AVX2 has no compress: lane permutations from a table, one entry per 8-bit mask (the kept
 * lanes' indices first), built once. */
static uint8_t kc_perm8[256][8];
static pthread_once_t kc_perm8_once = PTHREAD_ONCE_INIT;

static void kc_perm8_build(void)
{
    for (int mask = 0; mask < 256; mask++) {
        int w = 0;
        for (int b = 0; b < 8; b++)
            if (mask >> b & 1)
                kc_perm8[mask][w++] = (uint8_t)b;
        for (; w < 8; w++)
            kc_perm8[mask][w] = 0;
    }
}

/* Keeps the lanes of (x, ci) in mask at out + w, out_c + w (8 slots written); returns the new w. */
__attribute__((target("avx2"))) static inline int compress8(__m256 x, __m256i ci, unsigned mask,
                                                            float *out, int32_t *out_c, int w)
{
    uint64_t packed;
    memcpy(&packed, kc_perm8[mask], 8);
    __m256i perm = _mm256_cvtepu8_epi32(_mm_cvtsi64_si128((long long)packed));
    _mm256_storeu_ps(out + w, _mm256_permutevar8x32_ps(x, perm));
    if (out_c)
        _mm256_storeu_si256((__m256i *)(out_c + w), _mm256_permutevar8x32_epi32(ci, perm));
    return w + __builtin_popcount(mask);
}

/* As candidates_body, 8 cells at a time (rows are zero-padded to a multiple of 16). */
__attribute__((target("avx2"))) static int candidates_avx2(const float *h, int m, float bound,
                                                           int32_t *cc, float *cv)
{
    pthread_once(&kc_perm8_once, kc_perm8_build);
    const __m256 zero = _mm256_setzero_ps(), l = _mm256_set1_ps(bound);
    __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const __m256i step = _mm256_set1_epi32(8);
    int n = 0;
    for (int i = 0; i < m; i += 8) {
        __m256 v = _mm256_loadu_ps(h + i);
        __m256 k = _mm256_and_ps(_mm256_cmp_ps(v, zero, _CMP_GT_OQ),
                                 _mm256_cmp_ps(v, l, _CMP_GE_OQ));
        n = compress8(v, idx, (unsigned)_mm256_movemask_ps(k), cv, cc, n);
        idx = _mm256_add_epi32(idx, step);
    }
    return n;
}

/* As compact_body, 8 entries at a time; a scalar tail. In place is safe (stores land at or
 * below the entries already loaded). */
__attribute__((target("avx2"))) static int compact_avx2(const float *v, const int32_t *c, int n,
                                                        float lo, float hi, float *ov,
                                                        int32_t *oc)
{
    pthread_once(&kc_perm8_once, kc_perm8_build);
    const __m256 l = _mm256_set1_ps(lo), u = _mm256_set1_ps(hi);
    int w = 0, i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 x = _mm256_loadu_ps(v + i);
        __m256i ci = oc ? _mm256_loadu_si256((const __m256i *)(c + i)) : _mm256_setzero_si256();
        __m256 k = _mm256_and_ps(_mm256_cmp_ps(x, l, _CMP_GE_OQ), _mm256_cmp_ps(x, u, _CMP_LT_OQ));
        w = compress8(x, ci, (unsigned)_mm256_movemask_ps(k), ov, oc, w);
    }
    for (; i < n; i++) {
        float x = v[i];
        int32_t ci = oc ? c[i] : 0;
        ov[w] = x;
        if (oc)
            oc[w] = ci;
        w += (x >= lo) & (x < hi);
    }
    return w;
}

/* Lane-wise minimum / maximum of 8 floats, to one value. */
__attribute__((target("avx2"))) static inline float hmin8(__m256 v)
{
    __m128 a = _mm_min_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    a = _mm_min_ps(a, _mm_movehl_ps(a, a));
    a = _mm_min_ss(a, _mm_shuffle_ps(a, a, 1));
    return _mm_cvtss_f32(a);
}

__attribute__((target("avx2"))) static inline float hmax8(__m256 v)
{
    __m128 a = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    a = _mm_max_ps(a, _mm_movehl_ps(a, a));
    a = _mm_max_ss(a, _mm_shuffle_ps(a, a, 1));
    return _mm_cvtss_f32(a);
}

/* As scale_block_avx512 with 8 features at a time and two 8 x 8 transposes per 8 features
 * (samples 0-7 and 8-15); the same scaled inputs up to the sign of zeros (see there). */
__attribute__((target("avx2"))) static void scale_block_avx2(const float *x, size_t d, int nb,
                                                             float *xt, long *bad)
{
    float lo[KC_BLOCK], range[KC_BLOCK];
    int live[KC_BLOCK];
    const __m256 inf = _mm256_set1_ps(INFINITY), sign = _mm256_set1_ps(-0.0f);
    const size_t full = d / 8 * 8;
    for (int b = 0; b < KC_BLOCK; b++) {
        bad[b] = -1;
        live[b] = 0;
        if (b >= nb)
            continue;
        const float *r = x + (size_t)b * d;
        __m256 vlo = _mm256_set1_ps(r[0]), vhi = vlo;
        int nonfinite = 0;
        for (size_t j = 0; j < full; j += 8) {
            __m256 v = _mm256_loadu_ps(r + j);
            vlo = _mm256_min_ps(vlo, v);
            vhi = _mm256_max_ps(vhi, v);
            nonfinite |= _mm256_movemask_ps(_mm256_cmp_ps(_mm256_andnot_ps(sign, v), inf,
                                                          _CMP_NLT_UQ));
        }
        float l = hmin8(vlo), h = hmax8(vhi);
        for (size_t j = full; j < d; j++) {
            l = r[j] < l ? r[j] : l;
            h = r[j] > h ? r[j] : h;
            nonfinite |= !isfinite(r[j]);
        }
        if (nonfinite) {
            for (size_t q = 0; q < d; q++)
                if (!isfinite(r[q])) {
                    bad[b] = (long)q;
                    break;
                }
            continue;
        }
        lo[b] = l;
        range[b] = h - l;
        live[b] = range[b] > 0;
    }
    for (size_t j = 0; j < full; j += 8) {
        __m256 t[16];
        for (int b = 0; b < KC_BLOCK; b++)
            t[b] = live[b] ? _mm256_div_ps(_mm256_sub_ps(_mm256_loadu_ps(x + (size_t)b * d + j),
                                                         _mm256_set1_ps(lo[b])),
                                           _mm256_set1_ps(range[b]))
                           : _mm256_setzero_ps();
        transpose8(t);
        transpose8(t + 8);
        for (int q = 0; q < 8; q++) {
            _mm256_store_ps(xt + (j + (size_t)q) * KC_BLOCK, t[q]);
            _mm256_store_ps(xt + (j + (size_t)q) * KC_BLOCK + 8, t[8 + q]);
        }
    }
    for (size_t j = full; j < d; j++) /* the last d mod 8 features, one at a time */
        for (int b = 0; b < KC_BLOCK; b++)
            xt[j * KC_BLOCK + (size_t)b] =
                live[b] ? (x[(size_t)b * d + j] - lo[b]) / range[b] : 0.0f;
}

__attribute__((target("avx2"))) static void count16_avx2(const float *v, int n, const float *t,
                                                         int *cnt)
{
    count16_body(v, n, t, cnt);
}

const kc_kernel_fns kc_kernels_avx2 = {project_avx2, candidates_avx2, compact_avx2, count16_avx2,
                                       scale_block_avx2, NULL};
#endif
