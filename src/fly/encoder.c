/* The Kenyon-cell encoder (kenyon/fly.h): sparse binary projection (cell -> c input indices),
 * per-sample min-max scaling, ReLU, k-winner-take-all by selection, divide by the maximum.
 *
 * Speed: samples are encoded in blocks of KC_BLOCK = 16. A block's scaled inputs are stored
 * input-major (d x 16) so each cell's sum is c contiguous vector loads of 16 floats. Three
 * kernels compute the projection (encoder_generic.c: SSE-width GCC vector extensions;
 * encoder_avx2.c, encoder_avx512.c: intrinsics under __attribute__((target))), chosen here at
 * run time by __builtin_cpu_supports, so one
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
#include <stdlib.h>
#include <string.h>

#include "kenyon/fileio.h"
#include "kenyon/rng.h"
#include "encoder_kernels.h"

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

void kn_kc_activity(const kn_kc_encoder *e, const float *x, float *h)
{
    /* Same arithmetic, in the same order, as the block code in kn_kc_encode. */
    float *xs = malloc(e->d * sizeof *xs);
    if (!xs) {
        memset(h, 0, (size_t)e->m * sizeof *h);
        return;
    }
    (void)kc_scale_sample(x, e->d, xs, 1); /* non-finite samples give all zeros, as in encode */
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
    float *xt;       /* 2 x d x KC_BLOCK scaled inputs (two blocks), input-major, aligned */
    float *hb;       /* 2 x KC_BLOCK x ms activities, sample-major, aligned, zero padding */
    int32_t *cc;     /* m + 16: candidate cells of one sample */
    float *cv;       /* m + 16: their activities */
    float *tmp;      /* m + 16: members of the threshold window */
    int32_t *wc;     /* m + 16: winning cells before the copy out */
    float *wv;       /* m + 16: their activities */
} kc_scratch;

/* The largest of v[0..n) and 0. In 16 independent lanes: one running maximum was a chain of
 * dependent max operations, about 5% of an encode at d 84. The values are positive and finite
 * (candidates), so the maximum does not depend on the order it is taken in. */
static float largest_or_zero(const float *v, int n)
{
    float lane[16] = {0};
    int j = 0;
    for (; j + 16 <= n; j += 16)
        for (int l = 0; l < 16; l++) /* vectorises: max */
            lane[l] = v[j + l] > lane[l] ? v[j + l] : lane[l];
    for (; j < n; j++)
        lane[0] = v[j] > lane[0] ? v[j] : lane[0];
    float mx = 0.0f;
    for (int l = 0; l < 16; l++)
        mx = lane[l] > mx ? lane[l] : mx;
    return mx;
}

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
    const float mx = largest_or_zero(cv, n);
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
    kc_kernel_fns fn = kc_kernels_generic;
#ifdef KC_HAVE_X86_KERNELS
    if (kernel == KN_KC_KERNEL_AVX2)
        fn = kc_kernels_avx2;
    else if (kernel == KN_KC_KERNEL_AVX512)
        fn = kc_kernels_avx512;
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
    /* Two blocks per projection where both blocks' inputs fit in L1 and their activities in L2
     * (d <= 128, m <= 4096): one index load then serves two vector loads. Same process,
     * alternating, min of 15 encodes, load 18: d 84 2.15-2.21 against 2.24-2.31 us per sample;
     * at d 784 (2.75 against 2.65) and m 20000 (58 against 45-50) it was slower. */
    const int per_step = fn.project2 && d <= 128 && ms <= 4096 ? 2 : 1;
    const size_t n_steps = (n_blocks + (size_t)per_step - 1) / (size_t)per_step;
#pragma omp parallel if (n_blocks >= 256)
    {
        kc_scratch s;
        memset(&s, 0, sizeof s);
        /* d * KC_BLOCK and m * KC_BLOCK floats are multiples of 64 bytes, as aligned_alloc
         * requires. */
        s.xt = aligned_alloc(64, 2 * d * KC_BLOCK * sizeof(float));
        s.hb = aligned_alloc(64, 2 * ms * KC_BLOCK * sizeof(float));
        s.cc = malloc(((size_t)m + 16) * sizeof *s.cc);
        s.cv = malloc(((size_t)m + 16) * sizeof *s.cv);
        s.tmp = malloc(((size_t)m + 16) * sizeof *s.tmp);
        s.wc = malloc(((size_t)m + 16) * sizeof *s.wc);
        s.wv = malloc(((size_t)m + 16) * sizeof *s.wv);
        if (!s.xt || !s.hb || !s.cc || !s.cv || !s.tmp || !s.wc || !s.wv) {
#pragma omp atomic write
            failed = 1;
        } else {
            memset(s.hb, 0, 2 * ms * KC_BLOCK * sizeof(float)); /* the padding cells stay zero */
        }
#pragma omp barrier
        if (!failed) {
#pragma omp for schedule(static)
            for (size_t step = 0; step < n_steps; step++) {
                const size_t blk0 = step * (size_t)per_step;
                const int nblk = n_blocks - blk0 < (size_t)per_step ? (int)(n_blocks - blk0)
                                                                    : per_step;
                kc_block_stats st[2];
                for (int q = 0; q < nblk; q++) {
                    size_t s0 = (blk0 + (size_t)q) * KC_BLOCK;
                    int nb = (int)(n - s0 < KC_BLOCK ? n - s0 : KC_BLOCK);
                    long bad[KC_BLOCK];
                    fn.scale(x + s0 * d, d, nb, s.xt + (size_t)q * d * KC_BLOCK, bad);
                    for (int b = 0; b < nb; b++) {
                        if (bad[b] >= 0) {
#pragma omp critical(kc_encode_bad)
                            if (s0 + (size_t)b < bad_sample) {
                                bad_sample = s0 + (size_t)b;
                                bad_feature = bad[b];
                            }
                        }
                    }
                }
                if (nblk == 2)
                    fn.project2(e->inputs, m, c, d, s.xt, s.hb, ms, st);
                else
                    fn.project(e->inputs, m, c, s.xt, s.hb, ms, st);
                for (int q = 0; q < nblk; q++) {
                    size_t s0 = (blk0 + (size_t)q) * KC_BLOCK;
                    int nb = (int)(n - s0 < KC_BLOCK ? n - s0 : KC_BLOCK);
                    const float *hq = s.hb + (size_t)q * ms * KC_BLOCK;
                    for (int b = 0; b < nb; b++) {
                        float mean = st[q].sum[b] / (float)m;
                        float var = st[q].sumsq[b] / (float)m - mean * mean;
                        float sd = var > 0.0f ? sqrtf(var) : 0.0f;
                        float bound = use_bound ? mean + z * sd : 0.0f;
                        size_t smp = s0 + (size_t)b;
                        codes->nnz[smp] = finish_sample(hq + (size_t)b * ms, m, k, bound, &fn,
                                                        &s, codes->cells + smp * (size_t)k,
                                                        codes->values + smp * (size_t)k);
                    }
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
        fn = kc_scores_avx512; /* (AVX2 and more than 64 classes: the portable loop) */
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
