/* The KC encoder's portable kernels (see encoder_kernels.h): SSE-width GCC vector extensions for
 * the projection, plain loops the compiler vectorises for the rest. */
#include <math.h>
#include <string.h>

#include "encoder_kernels.h"


/* Four SSE-width vectors per block of 16 samples: GCC keeps four named accumulators in
 * registers, where one 64-byte vector variable was spilled to the stack on every add. */
typedef float kc_v4 __attribute__((vector_size(4 * sizeof(float))));
typedef int32_t kc_i4 __attribute__((vector_size(4 * sizeof(int32_t))));

long kc_scale_sample(const float *x, size_t d, float *out, size_t stride)
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

/* Scales a block's nb samples (rows of x) into xt, input-major (xt[j * KC_BLOCK + b]); rows nb..15
 * become zeros. bad[b] = the first non-finite feature of sample b, or -1. */
static void scale_block_generic(const float *x, size_t d, int nb, float *xt, long *bad)
{
    for (int b = 0; b < KC_BLOCK; b++) {
        bad[b] = -1;
        if (b < nb) {
            bad[b] = kc_scale_sample(x + (size_t)b * d, d, xt + b, KC_BLOCK);
        } else {
            for (size_t j = 0; j < d; j++)
                xt[j * KC_BLOCK + (size_t)b] = 0.0f;
        }
    }
}

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

const kc_kernel_fns kc_kernels_generic = {project_generic, candidates_generic, compact_generic,
                                          count16_generic, scale_block_generic, NULL};
