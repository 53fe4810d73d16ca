/* Choosing and applying the ridge penalty of a streaming ridge readout (fly-ridge, ranpac).
 *
 * The readouts keep G = sum h h^T (m x m, double; the upper triangle of a row-major array, which
 * is the lower triangle of the same memory read column-major) and B = sum h y^T (m x classes,
 * row-major, one-hot y). The weights are W = (G + lambda I)^-1 B, solved by Cholesky.
 *
 * Two ways to choose lambda from the log grid 10^-8, 10^-7, ..., 10^8 (17 values):
 *  - hold-out (RanPAC, McDonnell et al. NeurIPS 2023): fit on everything seen except a held-out
 *    part of the current task's training data, score each lambda on the held-out samples, keep
 *    the best; the caller then adds the held-out samples to G and B. Score = accuracy over the
 *    allowed classes; ties are broken by the smaller squared error to the one-hot targets (the
 *    criterion of the authors' code).
 *  - generalised cross-validation (Golub, Heath & Wahba 1979; used by Fly-CL): on all n samples
 *    seen, GCV(lambda) = n RSS / (n - df)^2 with df = sum_i s_i / (s_i + lambda) over the
 *    eigenvalues s_i of G and RSS = n - tr(W^T B) - lambda ||W||^2 (exact for one-hot targets,
 *    since G W = B - lambda W); the smallest GCV wins.
 * A lambda whose factorisation fails (G + lambda I numerically singular) is skipped.
 *
 * How the grid is evaluated (same choice either way, to rounding): G = Q S Q^T once per choice,
 * after which every grid value is a cheap solve with S + lambda I:
 *  - band (the default from m 128): S has 64 sub-diagonals (LAPACK's dsytrd_sy2sb, 4/3 m^3
 *    flops in matrix-matrix kernels), each value a band Cholesky of O(m 64^2);
 *  - tridiagonal: S tridiagonal (dsytrd, 4/3 m^3 flops, but half of them matrix-vector
 *    products limited by memory bandwidth), each value O(m) per class; the default below m 128;
 *  - Cholesky: no reduction, one factorisation of G + lambda I per grid value (17 m^3 / 3
 *    flops).
 * Measured on a 2-core AVX-512 machine in BENCHMARKS.md (one-pass learners). */
#ifndef KENYON_RIDGE_H
#define KENYON_RIDGE_H

#include <stddef.h>
#include <stdint.h>

#include "kenyon/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define KN_RIDGE_GRID_N 17
/* Grid value i (0 <= i < KN_RIDGE_GRID_N): 10^(i - 8). */
double kn_ridge_grid(int i);

/* What a choice found. */
typedef struct kn_ridge_choice {
    double lambda;   /* the chosen penalty */
    double score;    /* hold-out accuracy, or the GCV value */
    double seconds;  /* wall time of the choice */
    int n_tried;     /* grid values whose factorisation succeeded */
} kn_ridge_choice;

/* Bytes the ridge state of m cells and n_classes classes holds at its peak (G and the Cholesky
 * factor, B and the weights). */
double kn_ridge_bytes(size_t m, size_t n_classes);
/* Fails (KN_ENOMEM) with a message naming `who`, the size parameter (`param`=m) and the memory
 * it would need (kn_ridge_bytes plus extra_bytes, which the message names as extra_what, e.g.
 * fly-ridge's pending codes, kn_fly_ridge_buffer_bytes) when that exceeds this machine's
 * physical memory, or KENYON_MEMORY_LIMIT when that is set and smaller (KN_EINVAL when it is
 * not a size); 0 otherwise. */
int kn_ridge_check_memory(const char *who, const char *param, size_t m, size_t n_classes,
                          double extra_bytes, const char *extra_what, kn_error *err);

/* Solves (G + lambda I) W = B into w (m x n_classes, row-major, float) using factor (m x m
 * doubles) and rhs (m x n_classes doubles) as workspace. KN_EINVAL if not positive definite. */
int kn_ridge_solve(const double *g, const double *b, size_t m, size_t n_classes, double lambda,
                   double *factor, double *rhs, float *w, kn_error *err);

/* The grid evaluation of a choice (see the top comment). */
typedef enum kn_ridge_search {
    KN_RIDGE_SEARCH_AUTO = 0,    /* the default: band from m 128, tridiagonal below */
    KN_RIDGE_SEARCH_TRIDIAGONAL, /* one reduction of G for the whole grid */
    KN_RIDGE_SEARCH_CHOLESKY,    /* one Cholesky factorisation of G + lambda I per grid value */
    KN_RIDGE_SEARCH_BAND,        /* one reduction of G to a band of 64 sub-diagonals */
} kn_ridge_search;

/* Hold-out choice: h_hold is n_hold x m (row-major, dense), y_hold its labels, allowed the
 * n_classes flags of the classes predictions range over. factor: m x m doubles of workspace. */
int kn_ridge_choose_holdout(const double *g, const double *b, size_t m, size_t n_classes,
                            const float *h_hold, const int32_t *y_hold, size_t n_hold,
                            const uint8_t *allowed, double *factor, kn_ridge_choice *out,
                            kn_error *err);

/* GCV choice on all n_seen samples behind g and b. factor: m x m doubles of workspace. */
int kn_ridge_choose_gcv(const double *g, const double *b, size_t m, size_t n_classes,
                        double n_seen, double *factor, kn_ridge_choice *out, kn_error *err);

/* The same choices with the grid evaluation named. */
int kn_ridge_choose_holdout_with(kn_ridge_search how, const double *g, const double *b, size_t m,
                                 size_t n_classes, const float *h_hold, const int32_t *y_hold,
                                 size_t n_hold, const uint8_t *allowed, double *factor,
                                 kn_ridge_choice *out, kn_error *err);
int kn_ridge_choose_gcv_with(kn_ridge_search how, const double *g, const double *b, size_t m,
                             size_t n_classes, double n_seen, double *factor,
                             kn_ridge_choice *out, kn_error *err);

#ifdef __cplusplus
}
#endif
#endif
