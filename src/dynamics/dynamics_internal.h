/* Internal helpers shared by the files of src/dynamics (not part of the public API). */
#ifndef KENYON_DYNAMICS_INTERNAL_H
#define KENYON_DYNAMICS_INTERNAL_H

#include "kenyon/dynamics.h"

#define KN_PI 3.14159265358979323846
#define KN_DYN_MAX_SERIES 32

void kn_dyn_result_init(kn_dyn_result *r, int check, const char *title);
/* Adds a series with n points and `columns` arrays (2: x,y; 3: +y2; 4: +y3; 5: +y4),
 * zero-filled; header names the columns for the CSV. */
kn_dyn_series *kn_dyn_add_series(kn_dyn_result *r, const char *name, const char *header,
                                 size_t n, int columns, kn_error *err);
void kn_dyn_set_value(kn_dyn_result *r, const char *key, double value);
/* Appends printf-formatted text to r->verdict. */
void kn_dyn_verdict(kn_dyn_result *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Fraction of the n points where |mean - theory| <= z_max * se (points with se 0 must match to
 * 1e-12 relative); *mean_z2 (may be NULL) gets the mean squared z. check_msd.c. */
double kn_dyn_band_fraction(const double *mean, const double *se, const double *theory, size_t n,
                            double z_max, double *mean_z2);

/* Exact discrete onset of oscillation: the update matrix has complex (or negative) eigenvalues
 * when k > (1 - sqrt beta)^2 / eta. check_oscillation.c. */
double kn_dyn_discrete_onset(double lr, double momentum);
/* Classifies one mode of stiffness k (noise variance `noise`, batch 1) from simulated
 * trajectories: `replicas` runs from 1e4 stationary sd with zero velocity; returns 1 if the
 * replica mean undershoots zero by more than 5 standard errors (and 1e-5 of the start), 0 if not,
 * a negative error code on failure. *undershoot gets the largest undershoot / start. */
int kn_dyn_mean_oscillates(double lr, double momentum, double k, double noise, int replicas,
                           uint64_t seed, uint64_t stream, double *undershoot, kn_error *err);

/* Second moments E[x x^T] of a zero-mean trajectory with batch-means standard errors
 * (cov_blocks.c). With half > 0 the state is (a, v) with `half` entries each, and the
 * antisymmetric position-velocity part A_ij = E[a_i v_j] - E[a_j v_i] gets its own block
 * statistics. Add rows, call end_block at each block boundary, then read means and SEs. */
typedef struct kn_cov_blocks {
    int n, half;
    double *buf, *S, *sum1, *sum2, *anti1, *anti2;
    size_t nbuf, in_block;
    int blocks;
} kn_cov_blocks;
int kn_cov_blocks_init(kn_cov_blocks *cb, int n, int half, kn_error *err);
void kn_cov_blocks_free(kn_cov_blocks *cb);
void kn_cov_blocks_add(kn_cov_blocks *cb, const double *row);
void kn_cov_blocks_end_block(kn_cov_blocks *cb);
void kn_cov_blocks_get(const kn_cov_blocks *cb, int i, int j, double *mean, double *se);
void kn_cov_blocks_anti(const kn_cov_blocks *cb, int i, int j, double *mean, double *se);

#endif
