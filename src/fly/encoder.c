/* The Kenyon-cell encoder (kenyon/fly.h): sparse binary projection (cell -> c input indices),
 * per-sample min-max scaling, ReLU, k-winner-take-all by selection, divide by the maximum.
 *
 * Speed: samples are encoded in blocks of KC_BLOCK. A block's scaled inputs are stored
 * input-major (d x KC_BLOCK) so each cell's sum is c contiguous vector loads of KC_BLOCK floats,
 * written with GCC/Clang vector extensions so they compile to SIMD adds on any x86-64 (SSE2) or
 * wider with -march=native. The per-sample winners are found without sorting: a 1024-bucket
 * histogram of the activities (buckets linear in h / max h, hence monotonic) locates the bucket
 * holding the k-th largest value, and a quickselect over that bucket's few members gives the
 * exact threshold; a last pass keeps the cells above it (ties at the threshold go to the lower
 * cell numbers). A profile showed the plain 3-way quickselect over all m cells at ~70% of the
 * time (branch mispredictions); the histogram passes are branch-light. Blocks are spread over
 * OpenMP threads; every sample is computed the same way whatever the thread count, so results
 * are bit-identical. */
#include "kenyon/fly.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "kenyon/fileio.h"
#include "kenyon/rng.h"

#define KC_BLOCK 16
#define KC_BUCKETS 1024

/* Four SSE-width vectors per block of 16 samples: GCC keeps four named accumulators in
 * registers, where one 64-byte vector variable was spilled to the stack on every add. */
typedef float kc_v4 __attribute__((vector_size(4 * sizeof(float))));
typedef int32_t kc_i4 __attribute__((vector_size(4 * sizeof(int32_t))));

/* Lane-wise maximum (vector casts of equal size reinterpret the bits). */
static inline kc_v4 kc_max4(kc_v4 a, kc_v4 b)
{
    kc_i4 gt = a > b;
    return (kc_v4)(((kc_i4)a & gt) | ((kc_i4)b & ~gt));
}

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

static inline int bucket_of(float v, float scale)
{
    int b = (int)(v * scale);
    return b < KC_BUCKETS - 1 ? b : KC_BUCKETS - 1;
}

/* k-WTA and normalisation of one sample's activity h (m cells, all >= 0, finite), given its
 * maximum mx and its number p of positive cells; writes the winners in increasing cell order and
 * returns their number. Scratch: tmp m floats, hist KC_BUCKETS, bkt m; cells/values m + 1. */
static int winners(const float *h, int m, int k, float mx, int p, float *tmp, uint32_t *hist,
                   uint16_t *bkt, int32_t *cells, float *values)
{
    if (p == 0)
        return 0;
    int n = 0;
    /* Branch-free compactions below: every cell is written at position n and n advances only
     * when the cell is kept (a branch on a 5% event mispredicts), hence the m + 1 slots. */
    if (p <= k) {
        for (int i = 0; i < m; i++) {
            cells[n] = i;
            values[n] = h[i];
            n += h[i] > 0.0f;
        }
        for (int j = 0; j < n; j++)
            values[j] /= mx;
        return n;
    }
    /* Bucket b holds values v with (int)(v * scale) == b; monotonic in v. Zeros land in
     * bucket 0 too; the search stops there at the latest (p > k positives), and the candidates
     * below exclude them. */
    const float scale = (float)KC_BUCKETS / mx;
    memset(hist, 0, KC_BUCKETS * sizeof *hist);
    for (int i = 0; i < m; i++) /* vectorises (the histogram loop below cannot) */
        bkt[i] = (uint16_t)bucket_of(h[i], scale);
    for (int i = 0; i < m; i++)
        hist[bkt[i]]++;
    int above = 0, b = KC_BUCKETS - 1;
    while (b > 0 && above + (int)hist[b] < k)
        above += (int)hist[b--];
    /* The cells in buckets >= b: the winners plus the rest of bucket b. */
    for (int i = 0; i < m; i++) {
        cells[n] = i;
        n += bkt[i] >= b;
    }
    int nc = 0;
    for (int j = 0; j < n; j++) {
        float v = h[cells[j]];
        if (bkt[cells[j]] == b && v > 0.0f)
            tmp[nc++] = v;
    }
    float thr = kth_largest(tmp, nc, k - above);
    for (int q = 0; q < nc; q++)
        above += tmp[q] > thr;
    int ties = k - above; /* cells equal to thr that still win: the lowest-numbered ones */
    int w = 0;
    for (int j = 0; j < n; j++) {
        int i = cells[j];
        float v = h[i];
        if (v > thr || (v == thr && ties-- > 0)) {
            cells[w] = i;
            values[w++] = v / mx;
        }
    }
    return w;
}

int kn_kc_encode(const kn_kc_encoder *e, const float *x, size_t n, kn_kc_codes *codes,
                 kn_error *err)
{
    if (codes->cap < n || codes->k != e->k)
        return kn_fail(err, KN_EINVAL, "KC encode: codes buffer holds %zu x %d, need %zu x %d",
                       codes->cap, codes->k, n, e->k);
    const size_t d = e->d;
    const int m = e->m, c = e->c, k = e->k;
    const size_t n_blocks = (n + KC_BLOCK - 1) / KC_BLOCK;
    int failed = 0;
    size_t bad_sample = SIZE_MAX;
    long bad_feature = -1;
/* Threads only pay off for several blocks each: a parallel region per small batch (the
     * protocol's 64 samples = 4 blocks) costs more than it saves. */
#pragma omp parallel if (n_blocks >= 16)
    {
        /* d * KC_BLOCK floats is a multiple of the vector size, as aligned_alloc requires. */
        float *xt = aligned_alloc(64, d * KC_BLOCK * sizeof(float));
        float *hb = malloc((size_t)m * KC_BLOCK * sizeof *hb);
        float *tmp = malloc((size_t)m * sizeof *tmp);
        uint32_t *hist = malloc(KC_BUCKETS * sizeof *hist);
        uint16_t *bkt = malloc((size_t)m * sizeof *bkt);
        int32_t *wcells = malloc(((size_t)m + 1) * sizeof *wcells);
        float *wvalues = malloc(((size_t)m + 1) * sizeof *wvalues);
        if (!xt || !hb || !tmp || !hist || !bkt || !wcells || !wvalues) {
#pragma omp atomic write
            failed = 1;
        }
#pragma omp barrier
        if (!failed) {
#pragma omp for schedule(static)
            for (size_t blk = 0; blk < n_blocks; blk++) {
                size_t s0 = blk * KC_BLOCK;
                int nb = (int)(n - s0 < KC_BLOCK ? n - s0 : KC_BLOCK);
                for (int b = 0; b < nb; b++) {
                    long bad = scale_sample(x + (s0 + (size_t)b) * d, d, xt + b, KC_BLOCK);
                    if (bad >= 0) {
#pragma omp critical(kc_encode_bad)
                        if (s0 + (size_t)b < bad_sample) {
                            bad_sample = s0 + (size_t)b;
                            bad_feature = bad;
                        }
                    }
                }
                for (int b = nb; b < KC_BLOCK; b++)
                    for (size_t j = 0; j < d; j++)
                        xt[j * KC_BLOCK + (size_t)b] = 0.0f;
                /* Projection of 16 samples at once; the maximum and the number of positive
                 * cells of every sample are kept on the way (lane-wise). */
                const kc_v4 *xv = (const kc_v4 *)xt;
                const kc_v4 zero = {0};
                kc_v4 m0 = zero, m1 = zero, m2 = zero, m3 = zero;
                kc_i4 p0 = {0}, p1 = {0}, p2 = {0}, p3 = {0};
                /* Four cells at a time, so that each sample's four activities are written
                 * as one vector (a 4 x 4 transpose per lane group) instead of 16 scalar
                 * stores per cell. */
                int i = 0;
                for (; i + 4 <= m; i += 4) {
                    kc_v4 a[4][4];
                    for (int cc = 0; cc < 4; cc++) {
                        const uint32_t *in = e->inputs + (size_t)(i + cc) * (size_t)c;
                        kc_v4 a0 = zero, a1 = zero, a2 = zero, a3 = zero;
                        for (int t = 0; t < c; t++) {
                            const kc_v4 *r = xv + 4 * (size_t)in[t];
                            a0 += r[0];
                            a1 += r[1];
                            a2 += r[2];
                            a3 += r[3];
                        }
                        /* Scaled inputs are finite and >= 0, so every sum is >= 0 (ReLU is
                         * a no-op here). */
                        m0 = kc_max4(a0, m0);
                        m1 = kc_max4(a1, m1);
                        m2 = kc_max4(a2, m2);
                        m3 = kc_max4(a3, m3);
                        p0 -= a0 > zero; /* a true comparison is -1 */
                        p1 -= a1 > zero;
                        p2 -= a2 > zero;
                        p3 -= a3 > zero;
                        a[cc][0] = a0, a[cc][1] = a1, a[cc][2] = a2, a[cc][3] = a3;
                    }
                    for (int g = 0; g < 4; g++)
                        for (int q = 0; q < 4; q++) {
                            kc_v4 row = {a[0][g][q], a[1][g][q], a[2][g][q], a[3][g][q]};
                            memcpy(hb + (size_t)(4 * g + q) * (size_t)m + (size_t)i, &row,
                                   sizeof row);
                        }
                }
                for (; i < m; i++) {
                    const uint32_t *in = e->inputs + (size_t)i * (size_t)c;
                    kc_v4 a0 = zero, a1 = zero, a2 = zero, a3 = zero;
                    for (int t = 0; t < c; t++) {
                        const kc_v4 *r = xv + 4 * (size_t)in[t];
                        a0 += r[0];
                        a1 += r[1];
                        a2 += r[2];
                        a3 += r[3];
                    }
                    m0 = kc_max4(a0, m0);
                    m1 = kc_max4(a1, m1);
                    m2 = kc_max4(a2, m2);
                    m3 = kc_max4(a3, m3);
                    p0 -= a0 > zero;
                    p1 -= a1 > zero;
                    p2 -= a2 > zero;
                    p3 -= a3 > zero;
                    float *col = hb + (size_t)i;
                    for (int q = 0; q < 4; q++) {
                        col[(size_t)q * (size_t)m] = a0[q];
                        col[(size_t)(q + 4) * (size_t)m] = a1[q];
                        col[(size_t)(q + 8) * (size_t)m] = a2[q];
                        col[(size_t)(q + 12) * (size_t)m] = a3[q];
                    }
                }
                float mx[KC_BLOCK];
                int pos[KC_BLOCK];
                for (int q = 0; q < 4; q++) {
                    mx[q] = m0[q], mx[q + 4] = m1[q], mx[q + 8] = m2[q], mx[q + 12] = m3[q];
                    pos[q] = p0[q], pos[q + 4] = p1[q], pos[q + 8] = p2[q], pos[q + 12] = p3[q];
                }
                for (int b = 0; b < nb; b++) {
                    size_t s = s0 + (size_t)b;
                    int nw = winners(hb + (size_t)b * (size_t)m, m, k, mx[b], pos[b], tmp, hist,
                                     bkt, wcells, wvalues);
                    codes->nnz[s] = nw;
                    memcpy(codes->cells + s * (size_t)k, wcells, (size_t)nw * sizeof *wcells);
                    memcpy(codes->values + s * (size_t)k, wvalues, (size_t)nw * sizeof *wvalues);
                }
            }
        }
        free(xt);
        free(hb);
        free(tmp);
        free(hist);
        free(bkt);
        free(wcells);
        free(wvalues);
    }
    if (failed)
        return kn_fail(err, KN_ENOMEM, "KC encode: out of memory for thread buffers");
    if (bad_sample != SIZE_MAX)
        return kn_fail(err, KN_EINVAL, "KC encode: sample %zu, feature %ld is not finite",
                       bad_sample, bad_feature);
    codes->n = n;
    return 0;
}

void kn_kc_scores(const kn_kc_codes *codes, const float *w, int n_classes, float *scores)
{
    const int k = codes->k;
    const size_t C = (size_t)n_classes;
#pragma omp parallel for schedule(static) if (codes->n > 256)
    for (size_t i = 0; i < codes->n; i++) {
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
