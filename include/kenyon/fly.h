/* FlyModel (Shen, Dasgupta & Navlakha 2021/2023): the fruit-fly mushroom-body continual learner.
 *
 * Kenyon-cell (KC) encoder: each sample is min-max scaled to [0,1] on its own, projected by a fixed
 * binary matrix with exactly c ones per KC (stored sparsely as the c input indices of each cell),
 * passed through ReLU, reduced to its k largest KCs (k-winner-take-all by selection; ties go to
 * the lower cell index), and divided by its largest value. The code of a sample is the list of its
 * non-zero winners (at most k), in increasing cell order.
 *
 * Readouts from the codes:
 *  - the fly rule (V4): W[y] <- (1 - beta) W[y] + lr h, clipped above at `ceiling`; only the row of
 *    the sample's class changes ("partial freezing");
 *  - the perceptron variants V1, V2, V3 of the paper's ablation (clip to [0, ceiling]);
 *  - fly-ridge: streaming ridge regression to one-hot targets, G = sum h h^T, B = sum h y^T,
 *    W = (G + lambda I)^-1 B by Cholesky (exact and independent of data order).
 * Scores of a sample = W h over all classes; the caller restricts the argmax.
 * W is stored cell-major: w[cell * n_classes + class]. */
#ifndef KENYON_FLY_H
#define KENYON_FLY_H

#include <stddef.h>
#include <stdint.h>

#include "kenyon/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- KC encoder ---- */

typedef struct kn_kc_encoder {
    size_t d;          /* input dimension */
    int m, c, k;       /* cells, inputs per cell, winners */
    uint32_t *inputs;  /* m * c input indices, cell-major, increasing within a cell (owned) */
} kn_kc_encoder;

/* Checks the encoder's sizes; returns NULL or a message naming the bad parameter. */
const char *kn_kc_encoder_check(size_t d, int m, int c, int k);
/* Draws the projection from seed: cell i's c distinct inputs come from kn_rng_stream(seed, i)
 * (Floyd's sampling), so the projection is the same for any thread count. */
int kn_kc_encoder_init(kn_kc_encoder *e, size_t d, int m, int c, int k, uint64_t seed,
                       kn_error *err);
/* Uses a given projection (m * c indices; each cell's inputs distinct and < d), e.g. from a file. */
int kn_kc_encoder_init_inputs(kn_kc_encoder *e, size_t d, int m, int c, int k,
                              const uint32_t *inputs, kn_error *err);
void kn_kc_encoder_free(kn_kc_encoder *e);

/* The codes of n samples: sample i has nnz[i] <= k winners cells[i*k + j] (increasing) with
 * values[i*k + j] in (0, 1]; the largest is exactly 1. A sample whose KCs are all zero (e.g. a
 * constant input) has nnz 0. */
typedef struct kn_kc_codes {
    size_t n, cap;
    int k;
    int32_t *cells;   /* cap * k */
    float *values;    /* cap * k */
    int32_t *nnz;     /* cap */
} kn_kc_codes;

int kn_kc_codes_alloc(kn_kc_codes *codes, size_t cap, int k, kn_error *err);
void kn_kc_codes_free(kn_kc_codes *codes);

/* Encodes n samples (row-major n x d) into codes (cap >= n); sets codes->n = n. Threaded with
 * OpenMP over blocks of samples when n >= 4096 (below that, one thread: waking and spinning
 * threads cost more than they save); bit-identical for any thread count. */
int kn_kc_encode(const kn_kc_encoder *e, const float *x, size_t n, kn_kc_codes *codes,
                 kn_error *err);
/* The encoder's compute kernels, chosen at run time: one portable binary carries all of them and
 * picks the widest the CPU runs. Every kernel gives bit-identical codes. */
typedef enum kn_kc_kernel {
    KN_KC_KERNEL_AUTO = 0, /* the widest supported (kn_kc_kernel_best) */
    KN_KC_KERNEL_GENERIC,  /* any CPU (SSE2-width vectors on x86-64) */
    KN_KC_KERNEL_AVX2,
    KN_KC_KERNEL_AVX512,
} kn_kc_kernel;

int kn_kc_kernel_supported(kn_kc_kernel kernel); /* 1 if this CPU runs it */
kn_kc_kernel kn_kc_kernel_best(void);
const char *kn_kc_kernel_name(kn_kc_kernel kernel); /* "generic", "avx2", "avx512", "auto" */
/* kn_kc_encode with a given kernel (fails if the CPU does not run it). */
int kn_kc_encode_with(const kn_kc_encoder *e, kn_kc_kernel kernel, const float *x, size_t n,
                      kn_kc_codes *codes, kn_error *err);
/* The dense KC activity of one sample before k-WTA (after scaling, projection and ReLU), for
 * tests and inspection: h has m entries. */
void kn_kc_activity(const kn_kc_encoder *e, const float *x, float *h);

/* scores[i * n_classes + c] = sum_j values[i,j] * w[cells[i,j] * n_classes + c]. */
void kn_kc_scores(const kn_kc_codes *codes, const float *w, int n_classes, float *scores);
/* kn_kc_scores with a given kernel (AVX-512 for up to 64 classes; the others run the portable
 * loop): every kernel gives bit-identical scores. -1 if the CPU does not run the kernel or
 * n_classes < 1, else 0. */
int kn_kc_scores_with(const kn_kc_codes *codes, const float *w, int n_classes,
                      kn_kc_kernel kernel, float *scores);

/* A cache of codes for input blocks seen before (e.g. the test sets the protocol predicts after
 * every task). Hits require byte-identical blocks, so results equal encoding again. Entries are
 * added while their total size stays within max_bytes. */
struct kn_kc_cache_entry;
typedef struct kn_kc_cache {
    struct kn_kc_cache_entry *entries;
    size_t n, cap;
    size_t bytes, max_bytes;
} kn_kc_cache;

void kn_kc_cache_init(kn_kc_cache *c, size_t max_bytes);
void kn_kc_cache_free(kn_kc_cache *c);
/* Points *codes at the codes of x (n x e->d): a cached entry, a new entry, or scratch (grown as
 * needed) when the cache is full. */
int kn_kc_cache_encode(kn_kc_cache *c, const kn_kc_encoder *e, const float *x, size_t n,
                       kn_kc_codes *scratch, const kn_kc_codes **codes, kn_error *err);

/* ---- fly rule and perceptron variants ---- */

typedef enum {
    KN_FLY_RULE_FLY = 0, /* V4: always target += lr h; clip above */
    KN_FLY_RULE_V1,      /* on a mistake: target += lr h, predicted -= lr h; clip [0, ceiling] */
    KN_FLY_RULE_V2,      /* on a mistake: target += lr h; clip [0, ceiling] */
    KN_FLY_RULE_V3,      /* always target += lr h; on a mistake predicted -= lr h; clip [0, ceiling] */
} kn_fly_rule;

typedef struct kn_fly_params {
    size_t d;
    int m, c, k;
    kn_fly_rule rule;
    float lr, beta, ceiling;
    uint64_t seed;       /* projection seed */
} kn_fly_params;

/* The paper's MNIST-20 settings: m 3200, c 10, k 160 (5%), lr 0.01, beta 0, ceiling 1. */
void kn_fly_params_default(kn_fly_params *p, size_t d);
/* The learning rate the paper chose for a rule on MNIST-20 (V1 0.1, V2 2, V3 0.001, V4 0.01). */
double kn_fly_rule_default_lr(kn_fly_rule rule);
/* NULL when the parameters are usable, else a message naming the bad one. */
const char *kn_fly_params_check(const kn_fly_params *p);

typedef struct kn_fly_model {
    kn_fly_params p;
    int n_classes;
    kn_kc_encoder enc;
    float *w;            /* m * n_classes, cell-major, starts at zero */
    kn_kc_codes scratch; /* encoding buffer for learn/predict */
} kn_fly_model;

int kn_fly_model_init(kn_fly_model *f, const kn_fly_params *p, int n_classes, kn_error *err);
void kn_fly_model_free(kn_fly_model *f);
/* Learns from already-encoded samples, one at a time in order. `allowed` (n_classes flags, or
 * NULL = all) is the set the perceptron variants predict over to decide "mistake". */
int kn_fly_learn_codes(kn_fly_model *f, const kn_kc_codes *codes, const int32_t *y,
                       const uint8_t *allowed, kn_error *err);
/* Encodes and learns n samples. */
int kn_fly_learn(kn_fly_model *f, const float *x, const int32_t *y, size_t n,
                 const uint8_t *allowed, kn_error *err);
/* scores: n x n_classes. */
int kn_fly_scores(kn_fly_model *f, const float *x, size_t n, float *scores, kn_error *err);

/* ---- fly-ridge ---- */

/* G is updated lazily. kn_fly_ridge_accumulate adds to B and n_seen at once but only copies the
 * codes into a pending buffer; they are added to G, in the order they came, when the buffer is
 * full or at kn_fly_ridge_flush. So g holds every accumulated sample only after a flush. The
 * rule for code outside this file: call kn_fly_ridge_flush before reading or writing g (a save,
 * a choice of lambda, a reduction across processes, a test); kn_fly_ridge_solve flushes itself.
 * A flush never changes a number: G equals the sample-by-sample sum, bit for bit, whatever the
 * call sizes, flush points and thread count. */
typedef struct kn_fly_ridge {
    int m, n_classes;
    double lambda;
    double *g;       /* m x m Gram matrix of the codes; only the upper triangle is kept */
    double *b;       /* m x n_classes: sum of h y^T (always current) */
    float *w;        /* m x n_classes: the last solution */
    double *factor;  /* m x m scratch for the Cholesky factor; allocate it zeroed (calloc): the
                      * solves fill one triangle, and LAPACKE's NaN scans in the lambda choice
                      * (ridge_select.c) read the other */
    size_t n_seen;   /* samples accumulated (always current) */
    int dirty;       /* w is stale */
    kn_kc_codes pending; /* codes accumulated but not yet added to g (at most m^2 / 8 entries) */
    void *gram_scratch;  /* the Gram update's regrouped copy of the pending codes */
} kn_fly_ridge;

int kn_fly_ridge_init(kn_fly_ridge *r, int m, int n_classes, double lambda, kn_error *err);
/* Bytes the pending buffer and its regrouped copy take at most beside kn_ridge_bytes (m^2 / 8
 * entries of 8 and 5 bytes): what a memory check adds for a fly-ridge readout of m cells. */
double kn_fly_ridge_buffer_bytes(size_t m);
void kn_fly_ridge_free(kn_fly_ridge *r);
/* G += h h^T (deferred, see above), B[:, y] += h for every code; O(k^2) per sample. A bad label
 * or cell fails this call and changes nothing. The codes are copied: the caller may reuse them. */
int kn_fly_ridge_accumulate(kn_fly_ridge *r, const kn_kc_codes *codes, const int32_t *y,
                            kn_error *err);
/* Adds the pending codes to g; afterwards g is the Gram matrix of every accumulated sample. */
void kn_fly_ridge_flush(kn_fly_ridge *r);
/* Flushes, then solves (G + lambda I) W = B if new samples arrived since the last solve. */
int kn_fly_ridge_solve(kn_fly_ridge *r, kn_error *err);

#ifdef __cplusplus
}
#endif
#endif
