/* The small dense quadratic programme of GEM's gradient projection, solved exactly:
 *   minimise 1/2 v^T P v + q^T v  subject to  v >= lower  (element-wise),
 * with P (t x t) symmetric positive definite. GEM's dual has one variable per past task, so t is
 * small (at most tens); see gem_qp.c for the method. */
#ifndef KENYON_CL_GEM_QP_H
#define KENYON_CL_GEM_QP_H

#include "kenyon/error.h"

/* Writes the minimiser into v (t entries). P is row-major t x t (only read). Fails on t < 1, a
 * P that is not positive definite on the free set, or non-convergence (never expected). */
int kn_qp_lower_bounded(const double *P, const double *q, const double *lower, int t, double *v,
                        kn_error *err);

/* The largest violation of the KKT conditions of that problem at v: max over i of
 * max(lower_i - v_i, -w_i, |w_i (v_i - lower_i)|) with w = P v + q (0 at the optimum). */
double kn_qp_kkt_violation(const double *P, const double *q, const double *lower, int t,
                           const double *v);

#endif
