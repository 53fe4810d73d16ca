/* The KC encoder's AVX-512 kernels (see encoder_kernels.h): the projection 16 lanes wide with a
 * 16 x 16 transpose in registers, compress-based candidates and compaction, the grid counts with
 * 16 thresholds in one register, vectorised scaling, and the readout scores. */
#include "encoder_kernels.h"

#ifdef KC_HAVE_X86_KERNELS
#include <immintrin.h>
#include <math.h>

/* 16 x 16 transpose of r[0..15] in place (unpack pairs, unpack quads, then two 128-bit lane
 * shuffles). */
__attribute__((target("avx512f"))) static inline void transpose16(__m512 *r)
{
    __m512 t[16], u[16], v[16];
    for (int j = 0; j < 16; j += 2) {
        t[j] = _mm512_unpacklo_ps(r[j], r[j + 1]);
        t[j + 1] = _mm512_unpackhi_ps(r[j], r[j + 1]);
    }
    for (int j = 0; j < 16; j += 4) {
        u[j] = _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(t[j]), _mm512_castps_pd(t[j + 2])));
        u[j + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(t[j]), _mm512_castps_pd(t[j + 2])));
        u[j + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(t[j + 1]), _mm512_castps_pd(t[j + 3])));
        u[j + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(t[j + 1]), _mm512_castps_pd(t[j + 3])));
    }
    /* u[4g + e]: element e of every 4-sample lane, rows 4g..4g+3 */
    for (int e = 0; e < 4; e++) {
        v[e] = _mm512_shuffle_f32x4(u[e], u[4 + e], 0x88);
        v[4 + e] = _mm512_shuffle_f32x4(u[e], u[4 + e], 0xdd);
        v[8 + e] = _mm512_shuffle_f32x4(u[8 + e], u[12 + e], 0x88);
        v[12 + e] = _mm512_shuffle_f32x4(u[8 + e], u[12 + e], 0xdd);
    }
    for (int e = 0; e < 8; e++) {
        r[e] = _mm512_shuffle_f32x4(v[e], v[8 + e], 0x88);
        r[8 + e] = _mm512_shuffle_f32x4(v[e], v[8 + e], 0xdd);
    }
}

__attribute__((target("avx512f,fma"))) static void project_avx512(const uint32_t *inputs, int m,
                                                                  int c, const float *xt,
                                                                  float *hb, size_t ms,
                                                                  kc_block_stats *st)
{
    __m512 sm = _mm512_setzero_ps(), sq = sm;
    for (int i = 0; i < m; i += 16) {
        __m512 r[16]; /* cell i + j, all 16 samples */
        const int nc = m - i < 16 ? m - i : 16;
        if (nc == 16) {
            /* Four cells' sums interleaved: four independent chains of c dependent adds. Each
             * starts from its first input rather than +0 + it: the same sum except that a cell
             * whose inputs are all -0 stays -0, which never wins (winners are > 0). */
            for (int j = 0; j < 16; j += 4) {
                const uint32_t *in0 = inputs + (size_t)(i + j) * (size_t)c;
                const uint32_t *in1 = in0 + c, *in2 = in1 + c, *in3 = in2 + c;
                __m512 a0 = _mm512_load_ps(xt + KC_BLOCK * (size_t)in0[0]);
                __m512 a1 = _mm512_load_ps(xt + KC_BLOCK * (size_t)in1[0]);
                __m512 a2 = _mm512_load_ps(xt + KC_BLOCK * (size_t)in2[0]);
                __m512 a3 = _mm512_load_ps(xt + KC_BLOCK * (size_t)in3[0]);
                for (int t = 1; t < c; t++) {
                    a0 = _mm512_add_ps(a0, _mm512_load_ps(xt + KC_BLOCK * (size_t)in0[t]));
                    a1 = _mm512_add_ps(a1, _mm512_load_ps(xt + KC_BLOCK * (size_t)in1[t]));
                    a2 = _mm512_add_ps(a2, _mm512_load_ps(xt + KC_BLOCK * (size_t)in2[t]));
                    a3 = _mm512_add_ps(a3, _mm512_load_ps(xt + KC_BLOCK * (size_t)in3[t]));
                }
                r[j] = a0, r[j + 1] = a1, r[j + 2] = a2, r[j + 3] = a3;
            }
        } else {
            for (int j = 0; j < 16; j++) {
                __m512 a = _mm512_setzero_ps();
                if (j < nc) {
                    const uint32_t *in = inputs + (size_t)(i + j) * (size_t)c;
                    for (int t = 0; t < c; t++)
                        a = _mm512_add_ps(a, _mm512_load_ps(xt + KC_BLOCK * (size_t)in[t]));
                }
                r[j] = a;
            }
        }
        /* The sums only place the candidate bound: a fused multiply-add is fine there. */
        for (int j = 0; j < 16; j++) {
            sm = _mm512_add_ps(sm, r[j]);
            sq = _mm512_fmadd_ps(r[j], r[j], sq);
        }
        transpose16(r);
        for (int b = 0; b < 16; b++) /* padding cells (past m, within ms) take the zeros */
            _mm512_storeu_ps(hb + (size_t)b * ms + (size_t)i, r[b]);
    }
    _mm512_storeu_ps(st->sum, sm);
    _mm512_storeu_ps(st->sumsq, sq);
}

/* As project_avx512 for two blocks at once (xt, xt + d * 16 -> hb, hb + 16 * ms): each index
 * load serves both blocks' vector loads. */
__attribute__((target("avx512f,fma"))) static void project2_avx512(const uint32_t *inputs, int m,
                                                                   int c, size_t d,
                                                                   const float *xt, float *hb,
                                                                   size_t ms, kc_block_stats *st)
{
    const float *xu = xt + d * KC_BLOCK;
    float *hu = hb + ms * KC_BLOCK;
    __m512 sm = _mm512_setzero_ps(), sq = sm, sm1 = sm, sq1 = sm;
    for (int i = 0; i < m; i += 16) {
        __m512 r[16], u[16];
        const int nc = m - i < 16 ? m - i : 16;
        if (nc == 16) {
            for (int j = 0; j < 16; j += 4) {
                const uint32_t *in0 = inputs + (size_t)(i + j) * (size_t)c;
                const uint32_t *in1 = in0 + c, *in2 = in1 + c, *in3 = in2 + c;
                size_t o0 = KC_BLOCK * (size_t)in0[0], o1 = KC_BLOCK * (size_t)in1[0];
                size_t o2 = KC_BLOCK * (size_t)in2[0], o3 = KC_BLOCK * (size_t)in3[0];
                __m512 a0 = _mm512_load_ps(xt + o0), a1 = _mm512_load_ps(xt + o1);
                __m512 a2 = _mm512_load_ps(xt + o2), a3 = _mm512_load_ps(xt + o3);
                __m512 b0 = _mm512_load_ps(xu + o0), b1 = _mm512_load_ps(xu + o1);
                __m512 b2 = _mm512_load_ps(xu + o2), b3 = _mm512_load_ps(xu + o3);
                for (int t = 1; t < c; t++) {
                    o0 = KC_BLOCK * (size_t)in0[t], o1 = KC_BLOCK * (size_t)in1[t];
                    o2 = KC_BLOCK * (size_t)in2[t], o3 = KC_BLOCK * (size_t)in3[t];
                    a0 = _mm512_add_ps(a0, _mm512_load_ps(xt + o0));
                    b0 = _mm512_add_ps(b0, _mm512_load_ps(xu + o0));
                    a1 = _mm512_add_ps(a1, _mm512_load_ps(xt + o1));
                    b1 = _mm512_add_ps(b1, _mm512_load_ps(xu + o1));
                    a2 = _mm512_add_ps(a2, _mm512_load_ps(xt + o2));
                    b2 = _mm512_add_ps(b2, _mm512_load_ps(xu + o2));
                    a3 = _mm512_add_ps(a3, _mm512_load_ps(xt + o3));
                    b3 = _mm512_add_ps(b3, _mm512_load_ps(xu + o3));
                }
                r[j] = a0, r[j + 1] = a1, r[j + 2] = a2, r[j + 3] = a3;
                u[j] = b0, u[j + 1] = b1, u[j + 2] = b2, u[j + 3] = b3;
            }
        } else {
            for (int j = 0; j < 16; j++) {
                __m512 a = _mm512_setzero_ps(), b = a;
                if (j < nc) {
                    const uint32_t *in = inputs + (size_t)(i + j) * (size_t)c;
                    for (int t = 0; t < c; t++) {
                        a = _mm512_add_ps(a, _mm512_load_ps(xt + KC_BLOCK * (size_t)in[t]));
                        b = _mm512_add_ps(b, _mm512_load_ps(xu + KC_BLOCK * (size_t)in[t]));
                    }
                }
                r[j] = a, u[j] = b;
            }
        }
        for (int j = 0; j < 16; j++) {
            sm = _mm512_add_ps(sm, r[j]);
            sq = _mm512_fmadd_ps(r[j], r[j], sq);
            sm1 = _mm512_add_ps(sm1, u[j]);
            sq1 = _mm512_fmadd_ps(u[j], u[j], sq1);
        }
        transpose16(r);
        for (int b = 0; b < 16; b++)
            _mm512_storeu_ps(hb + (size_t)b * ms + (size_t)i, r[b]);
        transpose16(u);
        for (int b = 0; b < 16; b++)
            _mm512_storeu_ps(hu + (size_t)b * ms + (size_t)i, u[b]);
    }
    _mm512_storeu_ps(st[0].sum, sm);
    _mm512_storeu_ps(st[0].sumsq, sq);
    _mm512_storeu_ps(st[1].sum, sm1);
    _mm512_storeu_ps(st[1].sumsq, sq1);
}

/* As scale_block_generic with 16 features at a time: the minimum, maximum and a finiteness test
 * per sample, then (x - lo) / range for 16 samples x 16 features, transposed in registers and
 * stored input-major. The same operations as scale_sample on every value, so the same scaled
 * inputs; the one possible difference is the sign of a zero minimum when a sample holds both
 * +0 and -0 (the scalar loop keeps the first, a vector minimum either), which only flips the
 * sign of zero scaled inputs, and every cell's sum starts from +0, where +0 + -0 = +0: the sums,
 * hence the codes, are the same (tests/fly/test_encoder_kernels.c). The scalar scaling was the
 * largest part of encoding 784-pixel samples. */
__attribute__((target("avx512f"))) static void scale_block_avx512(const float *x, size_t d,
                                                                  int nb, float *xt, long *bad)
{
    float lo[KC_BLOCK], range[KC_BLOCK];
    int live[KC_BLOCK];
    const __m512 inf = _mm512_set1_ps(INFINITY);
    const size_t tail = d % 16;
    const __mmask16 tail_mask = (__mmask16)((1u << tail) - 1u);
    for (int b = 0; b < KC_BLOCK; b++) {
        bad[b] = -1;
        live[b] = 0;
        if (b >= nb)
            continue;
        const float *r = x + (size_t)b * d;
        __m512 vlo = _mm512_set1_ps(r[0]), vhi = vlo;
        __mmask16 nonfinite = 0;
        size_t j = 0;
        for (; j + 16 <= d; j += 16) {
            __m512 v = _mm512_loadu_ps(r + j);
            vlo = _mm512_min_ps(vlo, v);
            vhi = _mm512_max_ps(vhi, v);
            nonfinite |= _mm512_cmp_ps_mask(_mm512_abs_ps(v), inf, _CMP_NLT_UQ); /* inf, NaN */
        }
        if (tail) {
            __m512 v = _mm512_mask_loadu_ps(_mm512_set1_ps(r[0]), tail_mask, r + j);
            vlo = _mm512_min_ps(vlo, v);
            vhi = _mm512_max_ps(vhi, v);
            nonfinite |= tail_mask & _mm512_cmp_ps_mask(_mm512_abs_ps(v), inf, _CMP_NLT_UQ);
        }
        if (nonfinite) {
            for (size_t q = 0; q < d; q++)
                if (!isfinite(r[q])) {
                    bad[b] = (long)q;
                    break;
                }
            continue;
        }
        lo[b] = _mm512_reduce_min_ps(vlo);
        range[b] = _mm512_reduce_max_ps(vhi) - lo[b];
        live[b] = range[b] > 0;
    }
    for (size_t j = 0; j < d; j += 16) {
        const size_t rem = d - j < 16 ? d - j : 16;
        const __mmask16 mk = rem == 16 ? (__mmask16)0xffff : tail_mask;
        __m512 t[16];
        for (int b = 0; b < KC_BLOCK; b++)
            t[b] = live[b] ? _mm512_div_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(mk, x + (size_t)b * d + j),
                                                         _mm512_set1_ps(lo[b])),
                                           _mm512_set1_ps(range[b]))
                           : _mm512_setzero_ps();
        transpose16(t);
        for (size_t q = 0; q < rem; q++)
            _mm512_store_ps(xt + (j + q) * KC_BLOCK, t[q]);
    }
}

/* As compact_body, 16 entries at a time with compress (in place is safe: every store lands at
 * or below the entries already loaded). */
__attribute__((target("avx512f"))) static int compact_avx512(const float *v, const int32_t *c,
                                                             int n, float lo, float hi, float *ov,
                                                             int32_t *oc)
{
    const __m512 l = _mm512_set1_ps(lo), u = _mm512_set1_ps(hi);
    int w = 0;
    for (int i = 0; i < n; i += 16) {
        __mmask16 in = n - i >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - i)) - 1);
        __m512 x = _mm512_maskz_loadu_ps(in, v + i);
        __mmask16 k = in & _mm512_cmp_ps_mask(x, l, _CMP_GE_OQ) & _mm512_cmp_ps_mask(x, u, _CMP_LT_OQ);
        if (oc) {
            __m512i ci = _mm512_maskz_loadu_epi32(in, c + i);
            _mm512_storeu_si512((void *)(oc + w), _mm512_maskz_compress_epi32(k, ci));
        }
        _mm512_storeu_ps(ov + w, _mm512_maskz_compress_ps(k, x));
        w += __builtin_popcount((unsigned)k);
    }
    return w;
}

/* As count16_body with the 16 thresholds in the lanes of one register: each value is broadcast,
 * compared with all of them at once, and the lanes it reaches count it (four accumulators break
 * the add chain). No horizontal sums: count16_body's 16 passes, one per threshold, each ended with
 * one (encode 2.13-2.19 us per sample against 2.19-2.25 us, same run). */
__attribute__((target("avx512f"))) static void count16_avx512(const float *v, int n,
                                                              const float *t, int *cnt)
{
    const __m512 thr = _mm512_loadu_ps(t);
    const __m512i one = _mm512_set1_epi32(1);
    __m512i c0 = _mm512_setzero_si512(), c1 = c0, c2 = c0, c3 = c0;
    int i = 0;
    for (; i + 4 <= n; i += 4) {
        c0 = _mm512_mask_add_epi32(c0, _mm512_cmp_ps_mask(_mm512_set1_ps(v[i]), thr, _CMP_GE_OQ),
                                   c0, one);
        c1 = _mm512_mask_add_epi32(
            c1, _mm512_cmp_ps_mask(_mm512_set1_ps(v[i + 1]), thr, _CMP_GE_OQ), c1, one);
        c2 = _mm512_mask_add_epi32(
            c2, _mm512_cmp_ps_mask(_mm512_set1_ps(v[i + 2]), thr, _CMP_GE_OQ), c2, one);
        c3 = _mm512_mask_add_epi32(
            c3, _mm512_cmp_ps_mask(_mm512_set1_ps(v[i + 3]), thr, _CMP_GE_OQ), c3, one);
    }
    for (; i < n; i++)
        c0 = _mm512_mask_add_epi32(c0, _mm512_cmp_ps_mask(_mm512_set1_ps(v[i]), thr, _CMP_GE_OQ),
                                   c0, one);
    _mm512_storeu_si512((void *)cnt,
                        _mm512_add_epi32(_mm512_add_epi32(c0, c1), _mm512_add_epi32(c2, c3)));
}

/* As candidates_body, 16 cells at a time, compressing only the cell numbers (one compress and
 * one store per 16 cells); the activities of the few candidates (~1.6 k of m) are read back
 * afterwards. Compressing the activities too, or both through AVX2's permutation table, cost
 * the second store per group: encode 2.15-2.23 against 2.21-2.29 (table, cells only) and
 * 2.25-2.33 us per sample (AVX2's pass), same process, alternating, load 15-21. Rows are
 * zero-padded to a multiple of 16. */
__attribute__((target("avx512f"))) static int candidates_avx512(const float *h, int m,
                                                               float bound, int32_t *cc,
                                                               float *cv)
{
    const __m512 zero = _mm512_setzero_ps(), l = _mm512_set1_ps(bound);
    __m512i idx = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    const __m512i step = _mm512_set1_epi32(16);
    int n = 0;
    for (int i = 0; i < m; i += 16) {
        __m512 v = _mm512_loadu_ps(h + i);
        __mmask16 k = _mm512_mask_cmp_ps_mask(_mm512_cmp_ps_mask(v, zero, _CMP_GT_OQ), v, l,
                                              _CMP_GE_OQ);
        _mm512_storeu_si512((void *)(cc + n), _mm512_maskz_compress_epi32(k, idx));
        n += __builtin_popcount((unsigned)k);
        idx = _mm512_add_epi32(idx, step);
    }
    for (int j = 0; j < n; j++)
        cv[j] = h[cc[j]];
    return n;
}

const kc_kernel_fns kc_kernels_avx512 = {project_avx512, candidates_avx512, compact_avx512,
                                         count16_avx512, scale_block_avx512, project2_avx512};

/* The same sums with the classes in NV registers of 16 (C <= 16 NV): a multiply and an add per
 * lane, in the same order as scores_generic (no fused multiply-add), so the scores are
 * bit-identical to it. */
__attribute__((target("avx512f"))) static inline __attribute__((always_inline)) void
scores_avx512_body(const kn_kc_codes *codes, const float *w, size_t C, size_t i0, size_t i1,
                   float *scores, const int NV)
{
    const int k = codes->k;
    __mmask16 mask[4];
    for (int g = 0; g < 4; g++) {
        long left = (long)C - 16L * g;
        mask[g] = left >= 16 ? (__mmask16)0xffff
                             : left <= 0 ? (__mmask16)0 : (__mmask16)((1u << left) - 1u);
    }
    for (size_t i = i0; i < i1; i++) {
        __m512 acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(),
                         _mm512_setzero_ps()};
        const int32_t *cl = codes->cells + i * (size_t)k;
        const float *vl = codes->values + i * (size_t)k;
        for (int j = 0; j < codes->nnz[i]; j++) {
            const float *wr = w + (size_t)cl[j] * C;
            const __m512 v = _mm512_set1_ps(vl[j]);
            for (int g = 0; g < NV; g++)
                acc[g] = _mm512_add_ps(
                    acc[g], _mm512_mul_ps(v, _mm512_maskz_loadu_ps(mask[g], wr + 16 * g)));
        }
        for (int g = 0; g < NV; g++)
            _mm512_mask_storeu_ps(scores + i * C + 16 * g, mask[g], acc[g]);
    }
}

__attribute__((target("avx512f"))) void kc_scores_avx512(const kn_kc_codes *codes,
                                                             const float *w, size_t C, size_t i0,
                                                             size_t i1, float *scores)
{
    switch ((C + 15) / 16) {
    case 1: scores_avx512_body(codes, w, C, i0, i1, scores, 1); break;
    case 2: scores_avx512_body(codes, w, C, i0, i1, scores, 2); break;
    case 3: scores_avx512_body(codes, w, C, i0, i1, scores, 3); break;
    default: scores_avx512_body(codes, w, C, i0, i1, scores, 4); break;
    }
}
#endif
