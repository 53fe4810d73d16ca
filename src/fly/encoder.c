/* The Kenyon-cell encoder (kenyon/fly.h): sparse binary projection (cell -> c input indices),
 * per-sample min-max scaling, ReLU, k-winner-take-all by selection, divide by the maximum.
 *
 * Speed: samples are encoded in blocks of KC_BLOCK = 16. A block's scaled inputs are stored
 * input-major (d x 16) so each cell's sum is c contiguous vector loads of 16 floats. Three
 * kernels compute the projection (generic: SSE-width GCC vector extensions, AVX2, AVX-512 with
 * intrinsics under __attribute__((target))), chosen at run time by __builtin_cpu_supports, so one
 * portable binary runs the widest the CPU has; they transpose the sums in registers and store
 * each sample's activities contiguously. The winners are found without sorting all m cells
 * (profile of the former design: a histogram over all m cells and a serial compaction took ~70%
 * of the time, the SSE projection ~20%; of the first version of this one, a histogram over the
 * candidates ~30%):
 *   1. candidates: the cells above a cheap bound, mean + z sd of the sample's activities with z
 *      set for ~1.6 k candidates under a normal shape (no rescan over the 14,800 MNIST-20 pixel
 *      training samples; AVX2: 8 cells at a time with a permutation table; AVX-512: 16 at a
 *      time, compressing only the cell numbers); the maximum activity is the largest candidate;
 *      if fewer than k pass, the sample is scanned again with bound 0, so the bound changes only
 *      the speed, never the codes;
 *   2. counts of the candidates above a grid of 16 thresholds (vectorised compares; AVX-512
 *      holds the 16 thresholds in one register and compares each candidate with all) locate the
 *      grid cell holding the k-th largest; that cell is cut into 16 again until a few
 *      candidates remain, and a quickselect over them gives the exact threshold;
 *   3. the cells above the threshold win, plus ties at it to the lower cell numbers.
 * Every lane of every kernel adds the same numbers in the same order, so the codes are
 * bit-identical across kernels and thread counts (tests/fly/test_encoder_kernels.c). Blocks are
 * spread over OpenMP threads. Hand-written: no Debian library does a sparse-binary projection
 * with per-sample k-WTA. */
#include "kenyon/fly.h"

#include <math.h>
#include <omp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "kenyon/fileio.h"
#include "kenyon/rng.h"

#define KC_BLOCK 16

/* Four SSE-width vectors per block of 16 samples: GCC keeps four named accumulators in
 * registers, where one 64-byte vector variable was spilled to the stack on every add. */
typedef float kc_v4 __attribute__((vector_size(4 * sizeof(float))));
typedef int32_t kc_i4 __attribute__((vector_size(4 * sizeof(int32_t))));

const char *kn_kc_encoder_check(size_t d, int m, int c, int k)
{
    if (d == 0)
        return "input dimension d must be positive";
    if (d > UINT32_MAX)
        return "input dimension d is too large (at most 2^32 - 1)";
    if (m < 1)
        return "m (number of Kenyon cells) must be at least 1";
    if (c < 1)
        return "c (inputs per Kenyon cell) must be at least 1";
    if ((size_t)c > d)
        return "c (inputs per Kenyon cell) cannot exceed the input dimension d";
    if (k < 1)
        return "k (winners) must be at least 1";
    if (k > m)
        return "k (winners) cannot exceed m (number of Kenyon cells)";
    if ((size_t)m * (size_t)c > ((size_t)1 << 34))
        return "m * c is too large";
    return NULL;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

int kn_kc_encoder_init(kn_kc_encoder *e, size_t d, int m, int c, int k, uint64_t seed,
                       kn_error *err)
{
    memset(e, 0, sizeof *e);
    const char *why = kn_kc_encoder_check(d, m, c, k);
    if (why)
        return kn_fail(err, KN_EINVAL, "KC encoder: %s (d=%zu, m=%d, c=%d, k=%d)", why, d, m, c,
                       k);
    e->inputs = malloc((size_t)m * (size_t)c * sizeof *e->inputs);
    if (!e->inputs)
        return kn_fail(err, KN_ENOMEM, "KC encoder: out of memory for %d x %d projection", m, c);
    e->d = d;
    e->m = m;
    e->c = c;
    e->k = k;
    for (int i = 0; i < m; i++) {
        kn_rng rng;
        kn_rng_stream(&rng, seed, (uint64_t)i);
        uint32_t *row = e->inputs + (size_t)i * (size_t)c;
        /* Floyd's algorithm: c distinct values from [0, d) with c draws. */
        int got = 0;
        for (size_t j = d - (size_t)c; j < d; j++) {
            uint32_t t = (uint32_t)kn_rng_below(&rng, j + 1);
            int dup = 0;
            for (int q = 0; q < got; q++)
                if (row[q] == t)
                    dup = 1;
            row[got++] = dup ? (uint32_t)j : t;
        }
        qsort(row, (size_t)c, sizeof *row, cmp_u32);
    }
    return 0;
}

int kn_kc_encoder_init_inputs(kn_kc_encoder *e, size_t d, int m, int c, int k,
                              const uint32_t *inputs, kn_error *err)
{
    memset(e, 0, sizeof *e);
    const char *why = kn_kc_encoder_check(d, m, c, k);
    if (why)
        return kn_fail(err, KN_EINVAL, "KC encoder: %s (d=%zu, m=%d, c=%d, k=%d)", why, d, m, c,
                       k);
    for (int i = 0; i < m; i++) {
        const uint32_t *row = inputs + (size_t)i * (size_t)c;
        for (int j = 0; j < c; j++) {
            if (row[j] >= d)
                return kn_fail(err, KN_EFORMAT, "KC encoder: cell %d input %d is %u, not < d=%zu",
                               i, j, row[j], d);
            for (int q = 0; q < j; q++)
                if (row[q] == row[j])
                    return kn_fail(err, KN_EFORMAT,
                                   "KC encoder: cell %d lists input %u twice (inputs must be "
                                   "distinct)",
                                   i, row[j]);
        }
    }
    size_t bytes = (size_t)m * (size_t)c * sizeof *e->inputs;
    e->inputs = malloc(bytes);
    if (!e->inputs)
        return kn_fail(err, KN_ENOMEM, "KC encoder: out of memory for %d x %d projection", m, c);
    memcpy(e->inputs, inputs, bytes);
    e->d = d;
    e->m = m;
    e->c = c;
    e->k = k;
    return 0;
}

void kn_kc_encoder_free(kn_kc_encoder *e)
{
    if (e) {
        free(e->inputs);
        memset(e, 0, sizeof *e);
    }
}

int kn_kc_codes_alloc(kn_kc_codes *codes, size_t cap, int k, kn_error *err)
{
    memset(codes, 0, sizeof *codes);
    size_t slots;
    if (k < 1 || kn_size_mul(cap ? cap : 1, (size_t)k, &slots) || slots > ((size_t)1 << 40))
        return kn_fail(err, KN_EINVAL, "KC codes: bad size %zu x %d", cap, k);
    codes->cells = malloc(slots * sizeof *codes->cells);
    codes->values = malloc(slots * sizeof *codes->values);
    codes->nnz = malloc((cap ? cap : 1) * sizeof *codes->nnz);
    if (!codes->cells || !codes->values || !codes->nnz) {
        kn_kc_codes_free(codes);
        return kn_fail(err, KN_ENOMEM, "KC codes: out of memory for %zu x %d", cap, k);
    }
    codes->cap = cap;
    codes->k = k;
    return 0;
}

void kn_kc_codes_free(kn_kc_codes *codes)
{
    if (codes) {
        free(codes->cells);
        free(codes->values);
        free(codes->nnz);
        memset(codes, 0, sizeof *codes);
    }
}

/* Min-max scales one sample into out[j * stride] (stride lets the block code write input-major).
 * A constant sample scales to all zeros. Returns the index of a non-finite feature, or -1. */
static long scale_sample(const float *x, size_t d, float *out, size_t stride)
{
    float lo = x[0], hi = x[0];
    int finite = 1;
    for (size_t j = 0; j < d; j++) {
        lo = x[j] < lo ? x[j] : lo;
        hi = x[j] > hi ? x[j] : hi;
        finite &= isfinite(x[j]) != 0;
    }
    if (!finite) {
        for (size_t j = 0; j < d; j++) {
            out[j * stride] = 0.0f;
            if (!isfinite(x[j]))
                return (long)j;
        }
    }
    float range = hi - lo;
    if (!(range > 0)) {
        for (size_t j = 0; j < d; j++)
            out[j * stride] = 0.0f;
        return -1;
    }
    for (size_t j = 0; j < d; j++)
        out[j * stride] = (x[j] - lo) / range;
    return -1;
}

void kn_kc_activity(const kn_kc_encoder *e, const float *x, float *h)
{
    /* Same arithmetic, in the same order, as the block code in kn_kc_encode. */
    float *xs = malloc(e->d * sizeof *xs);
    if (!xs) {
        memset(h, 0, (size_t)e->m * sizeof *h);
        return;
    }
    (void)scale_sample(x, e->d, xs, 1); /* non-finite samples give all zeros, as in encode */
    for (int i = 0; i < e->m; i++) {
        const uint32_t *in = e->inputs + (size_t)i * (size_t)e->c;
        float acc = 0.0f;
        for (int t = 0; t < e->c; t++)
            acc += xs[in[t]];
        h[i] = acc > 0.0f ? acc : 0.0f;
    }
    free(xs);
}

/* Scales a block's nb samples (rows of x) into xt, input-major (xt[j * KC_BLOCK + b]); rows nb..15
 * become zeros. bad[b] = the first non-finite feature of sample b, or -1. */
static void scale_block_generic(const float *x, size_t d, int nb, float *xt, long *bad)
{
    for (int b = 0; b < KC_BLOCK; b++) {
        bad[b] = -1;
        if (b < nb) {
            bad[b] = scale_sample(x + (size_t)b * d, d, xt + b, KC_BLOCK);
        } else {
            for (size_t j = 0; j < d; j++)
                xt[j * KC_BLOCK + (size_t)b] = 0.0f;
        }
    }
}

/* The k-th largest of v[0..n) (1 <= k <= n), by 3-way quickselect; v is reordered. */
static float kth_largest(float *v, int n, int k)
{
    int lo = 0, hi = n - 1, want = k - 1; /* position in descending order */
    while (lo < hi) {
        float a = v[lo], b = v[lo + (hi - lo) / 2], c = v[hi];
        float pivot = a < b ? (b < c ? b : (a < c ? c : a)) : (a < c ? a : (b < c ? c : b));
        /* Partition descending: [lo, gt) > pivot, [gt, i) == pivot, (lt, hi] < pivot. */
        int gt = lo, i = lo, lt = hi;
        while (i <= lt) {
            float x = v[i];
            if (x > pivot) {
                v[i] = v[gt];
                v[gt] = x;
                gt++;
                i++;
            } else if (x < pivot) {
                v[i] = v[lt];
                v[lt] = x;
                lt--;
            } else {
                i++;
            }
        }
        if (want < gt)
            hi = gt - 1;
        else if (want > lt)
            lo = lt + 1;
        else
            return pivot;
    }
    return v[want];
}

/* ---- Kernels: the projection of one block and the candidate pass of one sample ----
 *
 * A block's activities are stored sample-major, hb[b * ms + i] for sample b and cell i (ms = m
 * rounded up to a multiple of 16). Each kernel sums a cell's c inputs for all KC_BLOCK samples
 * lane-wise, in input order, from +0, so every lane does exactly the scalar arithmetic of
 * kn_kc_activity whatever the vector width (the codes are bit-identical across kernels); the
 * cell-major sums are transposed in registers (4 x 4, or 16 x 16 with AVX-512) before the store.
 * Per sample the kernel keeps the sum and the sum of squares of its activities, which only place
 * the candidate bound below, never a result (the maximum is taken over the candidates). */

typedef struct kc_block_stats {
    float sum[KC_BLOCK], sumsq[KC_BLOCK];
} kc_block_stats;

static void project_generic(const uint32_t *inputs, int m, int c, const float *xt, float *hb,
                            size_t ms, kc_block_stats *st)
{
    const kc_v4 *xv = (const kc_v4 *)xt;
    const kc_v4 zero = {0};
    kc_v4 sm[4] = {zero, zero, zero, zero}, sq[4] = {zero, zero, zero, zero};
    int i = 0;
    for (; i < m; i += 4) {
        /* Four cells at a time (fewer at the end: missing cells are zero and never stored), so
         * that each sample's four activities are written as one vector. */
        kc_v4 a[4][4];
        const int nc = m - i < 4 ? m - i : 4;
        for (int cc = 0; cc < 4; cc++) {
            kc_v4 a0 = zero, a1 = zero, a2 = zero, a3 = zero;
            if (cc < nc) {
                const uint32_t *in = inputs + (size_t)(i + cc) * (size_t)c;
                for (int t = 0; t < c; t++) {
                    const kc_v4 *r = xv + 4 * (size_t)in[t];
                    a0 += r[0];
                    a1 += r[1];
                    a2 += r[2];
                    a3 += r[3];
                }
            }
            sm[0] += a0, sm[1] += a1, sm[2] += a2, sm[3] += a3;
            sq[0] += a0 * a0, sq[1] += a1 * a1, sq[2] += a2 * a2, sq[3] += a3 * a3;
            a[cc][0] = a0, a[cc][1] = a1, a[cc][2] = a2, a[cc][3] = a3;
        }
        for (int g = 0; g < 4; g++)
            for (int q = 0; q < 4; q++) {
                kc_v4 row = {a[0][g][q], a[1][g][q], a[2][g][q], a[3][g][q]};
                /* rows are ms >= m rounded up to 16 long: the padding cells take the zeros */
                memcpy(hb + (size_t)(4 * g + q) * ms + (size_t)i, &row, sizeof row);
            }
    }
    for (int g = 0; g < 4; g++)
        for (int q = 0; q < 4; q++) {
            st->sum[4 * g + q] = sm[g][q];
            st->sumsq[4 * g + q] = sq[g][q];
        }
}

/* Candidates of one sample: cells (increasing) with activity > 0 and >= bound, into cc / cv
 * (m + 16 slots); returns their number. Branch-free: every cell is written at position n and n
 * advances only when it is kept. */
static inline __attribute__((always_inline)) int
candidates_body(const float *h, int m, float bound, int32_t *cc, float *cv)
{
    int n = 0;
    for (int i = 0; i < m; i++) {
        float v = h[i];
        cc[n] = i;
        cv[n] = v;
        n += (v > 0.0f) & (v >= bound);
    }
    return n;
}

/* Keeps the entries with lo <= v < hi of (v, c)[0..n) in order, into (ov, oc) (n + 16 slots;
 * may be v / c themselves); returns their number. oc may be NULL. */
static inline __attribute__((always_inline)) int
compact_body(const float *v, const int32_t *c, int n, float lo, float hi, float *ov,
             int32_t *oc)
{
    int w = 0;
    if (oc) {
        for (int i = 0; i < n; i++) {
            float x = v[i];
            int32_t ci = c[i];
            ov[w] = x;
            oc[w] = ci;
            w += (x >= lo) & (x < hi);
        }
    } else {
        for (int i = 0; i < n; i++) {
            float x = v[i];
            ov[w] = x;
            w += (x >= lo) & (x < hi);
        }
    }
    return w;
}

/* cnt[j] = number of v[0..n) >= t[j], j < 16. */
static inline __attribute__((always_inline)) void count16_body(const float *v, int n,
                                                               const float *t, int *cnt)
{
    for (int j = 0; j < 16; j++) {
        int c = 0;
        for (int i = 0; i < n; i++) /* vectorises: a compare and a subtract per lane */
            c += v[i] >= t[j];
        cnt[j] = c;
    }
}

static int candidates_generic(const float *h, int m, float bound, int32_t *cc, float *cv)
{
    return candidates_body(h, m, bound, cc, cv);
}

static int compact_generic(const float *v, const int32_t *c, int n, float lo, float hi,
                           float *ov, int32_t *oc)
{
    return compact_body(v, c, n, lo, hi, ov, oc);
}

static void count16_generic(const float *v, int n, const float *t, int *cnt)
{
    count16_body(v, n, t, cnt);
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define KC_HAVE_X86_KERNELS 1

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
#endif

int kn_kc_kernel_supported(kn_kc_kernel kernel)
{
    switch (kernel) {
    case KN_KC_KERNEL_AUTO:
    case KN_KC_KERNEL_GENERIC:
        return 1;
#ifdef KC_HAVE_X86_KERNELS
    case KN_KC_KERNEL_AVX2:
        return __builtin_cpu_supports("avx2");
    case KN_KC_KERNEL_AVX512:
        return __builtin_cpu_supports("avx512f");
#endif
    default:
        return 0;
    }
}

kn_kc_kernel kn_kc_kernel_best(void)
{
    if (kn_kc_kernel_supported(KN_KC_KERNEL_AVX512))
        return KN_KC_KERNEL_AVX512;
    if (kn_kc_kernel_supported(KN_KC_KERNEL_AVX2))
        return KN_KC_KERNEL_AVX2;
    return KN_KC_KERNEL_GENERIC;
}

const char *kn_kc_kernel_name(kn_kc_kernel kernel)
{
    switch (kernel) {
    case KN_KC_KERNEL_AUTO: return "auto";
    case KN_KC_KERNEL_GENERIC: return "generic";
    case KN_KC_KERNEL_AVX2: return "avx2";
    case KN_KC_KERNEL_AVX512: return "avx512";
    default: return "unknown";
    }
}

/* ---- Selection (scalar, common to every kernel) ---- */

/* The z with P(N(0,1) > z) = q, by bisection (once per encode call). */
static double normal_upper_quantile(double q)
{
    double lo = -8, hi = 8;
    for (int it = 0; it < 60; it++) {
        double mid = 0.5 * (lo + hi);
        if (0.5 * erfc(mid / sqrt(2.0)) > q)
            lo = mid;
        else
            hi = mid;
    }
    return 0.5 * (lo + hi);
}

/* Scratch of one thread. */
typedef struct kc_scratch {
    float *xt;       /* d x KC_BLOCK scaled inputs, input-major, 64-byte aligned */
    float *hb;       /* KC_BLOCK x ms activities, sample-major, 64-byte aligned, zero padding */
    int32_t *cc;     /* m + 16: candidate cells of one sample */
    float *cv;       /* m + 16: their activities */
    float *tmp;      /* m + 16: members of the threshold window */
    int32_t *wc;     /* m + 16: winning cells before the copy out */
    float *wv;       /* m + 16: their activities */
} kc_scratch;

/* The kernel-specific loops of one encode. */
typedef struct kc_kernel_fns {
    void (*project)(const uint32_t *inputs, int m, int c, const float *xt, float *hb, size_t ms,
                    kc_block_stats *st);
    int (*candidates)(const float *h, int m, float bound, int32_t *cc, float *cv);
    int (*compact)(const float *v, const int32_t *c, int n, float lo, float hi, float *ov,
                   int32_t *oc);
    void (*count16)(const float *v, int n, const float *t, int *cnt);
    void (*scale)(const float *x, size_t d, int nb, float *xt, long *bad);
} kc_kernel_fns;

/* Finishes one sample (activities h): its winners (top k by activity, ties at the threshold to
 * the lower cell numbers) in increasing cell order, divided by the maximum mx. The candidates are
 * every positive cell >= bound; if they are fewer than k the bound may have cut winners, and the
 * sample is scanned again with bound 0 (all positive cells), so the result never depends on the
 * bound. Writes at most k cells / values; returns their number. */
static int finish_sample(const float *h, int m, int k, float bound, const kc_kernel_fns *fn,
                         kc_scratch *s, int32_t *cells, float *values)
{
    int32_t *cc = s->cc;
    float *cv = s->cv;
    int n = fn->candidates(h, m, bound, cc, cv);
    if (n < k && !(bound <= 0.0f)) { /* (a NaN bound, impossible for finite sums, too) */
        bound = 0.0f;
        n = fn->candidates(h, m, bound, cc, cv);
    }
    /* The maximum activity: with at least one candidate it is a candidate (activities are >= 0,
     * and every cell >= bound with activity > 0 is one); with none, nothing is divided by it. */
    float mx = 0.0f;
    for (int j = 0; j < n; j++)
        mx = cv[j] > mx ? cv[j] : mx;
    if (n <= k) { /* every candidate wins (n == k with a bound: all cells >= it won) */
        memcpy(cells, cc, (size_t)n * sizeof *cells);
        for (int j = 0; j < n; j++)
            values[j] = cv[j] / mx;
        return n;
    }
    /* Locate the k-th largest candidate in a window [lo, hi) of values: a grid of 16 thresholds
     * t_j = lo + j step cuts the window, counts of its members >= t_j (plus the `above`
     * candidates at or over hi) tell which cut holds the k-th largest, and the members of that
     * cut become the window. Every count is exact whatever the rounding of t_j (the grid is
     * monotonic in j), so only the number of rounds depends on the values. */
    float lo = bound > 0.0f ? bound : 0.0f, hi = INFINITY;
    const float *mv = cv; /* the window's members: first all candidates, then s->tmp */
    int mn = n, above = 0;
    for (int round = 0; round < 8 && mn > 16; round++) {
        const float top = hi < INFINITY ? hi : mx;
        const float step = (top - lo) / 16.0f;
        if (!(step > 0.0f))
            break; /* nothing left to cut */
        float t[16];
        int cnt[16];
        for (int j = 0; j < 16; j++)
            t[j] = lo + (float)j * step;
        fn->count16(mv, mn, t, cnt);
        int J = 15;
        while (J > 0 && above + cnt[J] < k)
            J--;
        /* above + cnt[J] >= k > above + cnt[J + 1] */
        const float new_lo = t[J], new_hi = J < 15 ? t[J + 1] : hi;
        if (J < 15)
            above += cnt[J + 1];
        mn = fn->compact(mv, NULL, mn, new_lo, new_hi, s->tmp, NULL);
        mv = s->tmp;
        lo = new_lo;
        hi = new_hi;
    }
    if (mv != s->tmp) /* kth_largest reorders its input: never the candidates themselves */
        mn = fn->compact(mv, NULL, mn, lo, hi, s->tmp, NULL);
    float thr = kth_largest(s->tmp, mn, k - above);
    int equal = 0;
    for (int j = 0; j < mn; j++) {
        above += s->tmp[j] > thr;
        equal += s->tmp[j] == thr;
    }
    int ties = k - above; /* cells equal to thr that still win: the lowest-numbered ones */
    if (ties == equal) { /* the usual case: every cell >= thr wins, exactly k of them */
        int w = fn->compact(cv, cc, n, thr, INFINITY, s->wv, s->wc);
        (void)w; /* == k */
        memcpy(cells, s->wc, (size_t)k * sizeof *cells);
        for (int j = 0; j < k; j++)
            values[j] = s->wv[j] / mx;
        return k;
    }
    int w = 0;
    for (int j = 0; j < n && w < k; j++) {
        float v = cv[j];
        int eq = v == thr;
        int win = (v > thr) | (eq & (ties > 0));
        ties -= eq & win;
        cells[w] = cc[j];
        values[w] = v;
        w += win;
    }
    for (int j = 0; j < w; j++) /* apart from the selection, so that it vectorises */
        values[j] /= mx;
    return w;
}

int kn_kc_encode_with(const kn_kc_encoder *e, kn_kc_kernel kernel, const float *x, size_t n,
                      kn_kc_codes *codes, kn_error *err)
{
    if (codes->cap < n || codes->k != e->k)
        return kn_fail(err, KN_EINVAL, "KC encode: codes buffer holds %zu x %d, need %zu x %d",
                       codes->cap, codes->k, n, e->k);
    if (kernel == KN_KC_KERNEL_AUTO)
        kernel = kn_kc_kernel_best();
    if (!kn_kc_kernel_supported(kernel))
        return kn_fail(err, KN_EINVAL, "KC encode: kernel %s is not supported by this CPU",
                       kn_kc_kernel_name(kernel));
    kc_kernel_fns fn = {project_generic, candidates_generic, compact_generic, count16_generic,
                        scale_block_generic};
#ifdef KC_HAVE_X86_KERNELS
    if (kernel == KN_KC_KERNEL_AVX2)
        fn = (kc_kernel_fns){project_avx2, candidates_avx2, compact_avx2, count16_avx2,
                             scale_block_avx2};
    else if (kernel == KN_KC_KERNEL_AVX512)
        fn = (kc_kernel_fns){project_avx512, candidates_avx512, compact_avx512, count16_avx512,
                             scale_block_avx512};
#endif
    const size_t d = e->d;
    const int m = e->m, c = e->c, k = e->k;
    const size_t n_blocks = (n + KC_BLOCK - 1) / KC_BLOCK;
    const size_t ms = ((size_t)m + 15) / 16 * 16;
    /* Candidate bound mean + z sd of a sample's activities, z for an expected 1.6 k candidates
     * of m under a normal shape (any shape gives the same codes; only the speed depends on it). */
    const double q = 1.6 * (double)k / (double)m;
    const int use_bound = q < 0.9;
    const float z = use_bound ? (float)normal_upper_quantile(q) : 0.0f;
    int failed = 0;
    size_t bad_sample = SIZE_MAX;
    long bad_feature = -1;
    /* Threads only for 4096 samples or more (256 blocks, about 10 ms of one core's work). After
     * every parallel region libgomp's default wait policy keeps the idle workers spinning for
     * milliseconds; a region per task's test set (about 1,100 samples in the MNIST-20 run, 3 ms
     * of work) saved 1-2 ms of wall time and cost 5-10 ms of spinning CPU: `kenyon run --method
     * fly` at 2 threads took 0.35-0.37 s user against 0.19-0.20 s at 1 thread (2026-12-02). */
#pragma omp parallel if (n_blocks >= 256)
    {
        kc_scratch s;
        memset(&s, 0, sizeof s);
        /* d * KC_BLOCK and m * KC_BLOCK floats are multiples of 64 bytes, as aligned_alloc
         * requires. */
        s.xt = aligned_alloc(64, d * KC_BLOCK * sizeof(float));
        s.hb = aligned_alloc(64, ms * KC_BLOCK * sizeof(float));
        s.cc = malloc(((size_t)m + 16) * sizeof *s.cc);
        s.cv = malloc(((size_t)m + 16) * sizeof *s.cv);
        s.tmp = malloc(((size_t)m + 16) * sizeof *s.tmp);
        s.wc = malloc(((size_t)m + 16) * sizeof *s.wc);
        s.wv = malloc(((size_t)m + 16) * sizeof *s.wv);
        if (!s.xt || !s.hb || !s.cc || !s.cv || !s.tmp || !s.wc || !s.wv) {
#pragma omp atomic write
            failed = 1;
        } else {
            memset(s.hb, 0, ms * KC_BLOCK * sizeof(float)); /* the padding cells stay zero */
        }
#pragma omp barrier
        if (!failed) {
#pragma omp for schedule(static)
            for (size_t blk = 0; blk < n_blocks; blk++) {
                size_t s0 = blk * KC_BLOCK;
                int nb = (int)(n - s0 < KC_BLOCK ? n - s0 : KC_BLOCK);
                long bad[KC_BLOCK];
                fn.scale(x + s0 * d, d, nb, s.xt, bad);
                for (int b = 0; b < nb; b++) {
                    if (bad[b] >= 0) {
#pragma omp critical(kc_encode_bad)
                        if (s0 + (size_t)b < bad_sample) {
                            bad_sample = s0 + (size_t)b;
                            bad_feature = bad[b];
                        }
                    }
                }
                kc_block_stats st;
                fn.project(e->inputs, m, c, s.xt, s.hb, ms, &st);
                for (int b = 0; b < nb; b++) {
                    float mean = st.sum[b] / (float)m;
                    float var = st.sumsq[b] / (float)m - mean * mean;
                    float sd = var > 0.0f ? sqrtf(var) : 0.0f;
                    float bound = use_bound ? mean + z * sd : 0.0f;
                    size_t smp = s0 + (size_t)b;
                    codes->nnz[smp] = finish_sample(s.hb + (size_t)b * ms, m, k, bound, &fn, &s,
                                                    codes->cells + smp * (size_t)k,
                                                    codes->values + smp * (size_t)k);
                }
            }
        }
        free(s.xt);
        free(s.hb);
        free(s.cc);
        free(s.cv);
        free(s.tmp);
        free(s.wc);
        free(s.wv);
    }
    if (failed)
        return kn_fail(err, KN_ENOMEM, "KC encode: out of memory for thread buffers");
    if (bad_sample != SIZE_MAX)
        return kn_fail(err, KN_EINVAL, "KC encode: sample %zu, feature %ld is not finite",
                       bad_sample, bad_feature);
    codes->n = n;
    return 0;
}

int kn_kc_encode(const kn_kc_encoder *e, const float *x, size_t n, kn_kc_codes *codes,
                 kn_error *err)
{
    return kn_kc_encode_with(e, KN_KC_KERNEL_AUTO, x, n, codes, err);
}

/* The scores of samples [i0, i1): the portable loop. */
static void scores_generic(const kn_kc_codes *codes, const float *w, size_t C, size_t i0,
                           size_t i1, float *scores)
{
    const int k = codes->k;
    for (size_t i = i0; i < i1; i++) {
        float *sc = scores + i * C;
        for (size_t q = 0; q < C; q++)
            sc[q] = 0.0f;
        const int32_t *cl = codes->cells + i * (size_t)k;
        const float *vl = codes->values + i * (size_t)k;
        for (int j = 0; j < codes->nnz[i]; j++) {
            const float *wr = w + (size_t)cl[j] * C;
            float v = vl[j];
            for (size_t q = 0; q < C; q++)
                sc[q] += v * wr[q];
        }
    }
}

#ifdef KC_HAVE_X86_KERNELS
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

__attribute__((target("avx512f"))) static void scores_avx512(const kn_kc_codes *codes,
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

int kn_kc_scores_with(const kn_kc_codes *codes, const float *w, int n_classes,
                      kn_kc_kernel kernel, float *scores)
{
    const size_t C = (size_t)n_classes, n = codes->n;
    if (kernel == KN_KC_KERNEL_AUTO)
        kernel = kn_kc_kernel_best();
    if (!kn_kc_kernel_supported(kernel) || n_classes < 1)
        return -1;
    void (*fn)(const kn_kc_codes *, const float *, size_t, size_t, size_t, float *) =
        scores_generic;
#ifdef KC_HAVE_X86_KERNELS
    if (C <= 64 && kernel == KN_KC_KERNEL_AVX512)
        fn = scores_avx512; /* (AVX2 and more than 64 classes: the portable loop) */
#endif
    /* Threads only for large sets: a parallel region per task's test set (about 1,100 samples,
     * a millisecond of work) cost more in waking and spinning threads than it saved. */
    if (n < 8192) {
        fn(codes, w, C, 0, n, scores);
        return 0;
    }
    const size_t step = 1024, n_steps = (n + step - 1) / step;
#pragma omp parallel for schedule(static)
    for (size_t b = 0; b < n_steps; b++) {
        size_t i1 = (b + 1) * step < n ? (b + 1) * step : n;
        fn(codes, w, C, b * step, i1, scores);
    }
    return 0;
}

void kn_kc_scores(const kn_kc_codes *codes, const float *w, int n_classes, float *scores)
{
    (void)kn_kc_scores_with(codes, w, n_classes, KN_KC_KERNEL_AUTO, scores);
}
