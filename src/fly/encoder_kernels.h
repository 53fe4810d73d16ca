/* Internal to the KC encoder (src/fly/encoder*.c): the block layout, the table of one
 * instruction set's kernels, and the loops several kernels share. encoder.c holds the API and the
 * selection; encoder_generic.c, encoder_avx2.c and encoder_avx512.c one instruction set each,
 * compiled with per-function target attributes, so one portable binary carries all three and
 * encoder.c picks one at run time. */
#ifndef KN_FLY_ENCODER_KERNELS_H
#define KN_FLY_ENCODER_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#include "kenyon/fly.h"

#define KC_BLOCK 16

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

/* The kernel-specific loops of one encode. */
typedef struct kc_kernel_fns {
    void (*project)(const uint32_t *inputs, int m, int c, const float *xt, float *hb, size_t ms,
                    kc_block_stats *st);
    int (*candidates)(const float *h, int m, float bound, int32_t *cc, float *cv);
    int (*compact)(const float *v, const int32_t *c, int n, float lo, float hi, float *ov,
                   int32_t *oc);
    void (*count16)(const float *v, int n, const float *t, int *cnt);
    void (*scale)(const float *x, size_t d, int nb, float *xt, long *bad);
    /* project for two blocks, xt + d * KC_BLOCK -> hb + ms * KC_BLOCK the second (or NULL) */
    void (*project2)(const uint32_t *inputs, int m, int c, size_t d, const float *xt, float *hb,
                     size_t ms, kc_block_stats *st);
} kc_kernel_fns;

/* Min-max scales one sample into out[j * stride] (stride lets the block code write input-major).
 * A constant sample scales to all zeros. Returns the index of a non-finite feature, or -1. */
long kc_scale_sample(const float *x, size_t d, float *out, size_t stride);

extern const kc_kernel_fns kc_kernels_generic;
#if defined(__x86_64__) && defined(__GNUC__)
#define KC_HAVE_X86_KERNELS 1
extern const kc_kernel_fns kc_kernels_avx2, kc_kernels_avx512;
/* The readout scores of samples [i0, i1) with AVX-512 (C <= 64 classes), bit-identical to the
 * portable loop in encoder.c. */
void kc_scores_avx512(const kn_kc_codes *codes, const float *w, size_t C, size_t i0, size_t i1,
                      float *scores);
#endif

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

#endif
