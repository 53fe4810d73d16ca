/* Exact solver of GEM's dual QP, min 1/2 v^T P v + q^T v s.t. v >= lower, by a primal active-set
 * method (Lawson-Hanson's NNLS scheme carried over to a strictly convex quadratic): shift to
 * u = v - lower >= 0, keep a "free" set F whose variables solve the equality-constrained
 * problem P_FF u_F = -(q + P lower)_F by Cholesky, add the variable with the most negative
 * gradient, and step back to the boundary when a free variable would go negative. It ends in
 * finitely many steps with the exact optimum (up to round-off). Hand-written because the
 * problem is a few dozen variables at most and the GEM reference used quadprog, which Debian
 * does not package for C; a general QP library would be far larger than this file. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cl/gem_qp.h"

/* Solves A_FF z = b_F for the indices in F (nf of them) via Cholesky; A is t x t. 0 or -1. */
static int solve_free(const double *A, const double *b, const int *F, int nf, int t, double *L,
                      double *z)
{
    for (int i = 0; i < nf; i++)
        for (int j = 0; j <= i; j++) {
            double s = A[F[i] * t + F[j]];
            for (int k = 0; k < j; k++)
                s -= L[i * nf + k] * L[j * nf + k];
            if (i == j) {
                if (!(s > 0))
                    return -1;
                L[i * nf + i] = sqrt(s);
            } else {
                L[i * nf + j] = s / L[j * nf + j];
            }
        }
    for (int i = 0; i < nf; i++) { /* forward */
        double s = b[F[i]];
        for (int k = 0; k < i; k++)
            s -= L[i * nf + k] * z[k];
        z[i] = s / L[i * nf + i];
    }
    for (int i = nf - 1; i >= 0; i--) { /* backward */
        double s = z[i];
        for (int k = i + 1; k < nf; k++)
            s -= L[k * nf + i] * z[k];
        z[i] = s / L[i * nf + i];
    }
    return 0;
}

int kn_qp_lower_bounded(const double *P, const double *q, const double *lower, int t, double *v,
                        kn_error *err)
{
    if (t < 1 || t > 4096)
        return kn_fail(err, KN_EINVAL, "gem qp: %d variables (1..4096 supported)", t);
    size_t tt = (size_t)t;
    double *c = malloc(tt * sizeof *c), *u = calloc(tt, sizeof *u), *w = malloc(tt * sizeof *w);
    double *nc = malloc(tt * sizeof *nc), *z = malloc(tt * sizeof *z);
    double *L = malloc(tt * tt * sizeof *L);
    int *F = malloc(tt * sizeof *F);
    char *is_free = calloc(tt, 1);
    int rc = 0;
    if (!c || !u || !w || !nc || !z || !L || !F || !is_free) {
        rc = kn_fail(err, KN_ENOMEM, "gem qp: out of memory for %d variables", t);
        goto done;
    }
    /* shifted linear term: c = q + P lower; the problem is min 1/2 u'Pu + c'u, u >= 0 */
    double scale = 0;
    for (int i = 0; i < t; i++) {
        double s = q[i];
        for (int j = 0; j < t; j++)
            s += P[i * t + j] * lower[j];
        c[i] = s;
        nc[i] = -s;
        scale = fmax(scale, fabs(s));
        scale = fmax(scale, fabs(P[i * t + i]));
    }
    const double tol = 1e-12 * (scale > 0 ? scale : 1);
    int nf = 0, outer = 0;
    for (;;) {
        if (++outer > 10 * t + 100) {
            rc = kn_fail(err, KN_EINVAL, "gem qp: no convergence after %d iterations", outer);
            goto done;
        }
        /* gradient w = P u + c at the current point */
        int enter = -1;
        double most = -tol;
        for (int i = 0; i < t; i++) {
            double s = c[i];
            for (int j = 0; j < t; j++)
                s += P[i * t + j] * u[j];
            w[i] = s;
            if (!is_free[i] && s < most) {
                most = s;
                enter = i;
            }
        }
        if (enter < 0)
            break; /* bound variables have w >= 0, free ones w = 0: optimal */
        is_free[enter] = 1;
        F[nf++] = enter;
        for (int inner = 0;; inner++) {
            if (inner > t + 1) {
                rc = kn_fail(err, KN_EINVAL, "gem qp: inner loop did not settle");
                goto done;
            }
            if (solve_free(P, nc, F, nf, t, L, z)) {
                rc = kn_fail(err, KN_EINVAL, "gem qp: the matrix is not positive definite");
                goto done;
            }
            int all_pos = 1;
            for (int i = 0; i < nf; i++)
                if (z[i] <= 0)
                    all_pos = 0;
            if (all_pos) {
                for (int i = 0; i < nf; i++)
                    u[F[i]] = z[i];
                break;
            }
            /* step from u towards z until the first free variable hits zero */
            double alpha = 1;
            for (int i = 0; i < nf; i++)
                if (z[i] <= 0) {
                    double ui = u[F[i]];
                    double a = ui / (ui - z[i]);
                    if (a < alpha)
                        alpha = a;
                }
            int keep = 0;
            for (int i = 0; i < nf; i++) {
                int j = F[i];
                u[j] += alpha * (z[i] - u[j]);
                if (u[j] <= tol * 1e-3 || (z[i] <= 0 && u[j] <= fabs(z[i]) * 1e-14)) {
                    u[j] = 0;
                    is_free[j] = 0;
                } else {
                    F[keep++] = j;
                }
            }
            nf = keep;
            if (nf == 0)
                break;
        }
    }
    for (int i = 0; i < t; i++)
        v[i] = u[i] + lower[i];
done:
    free(c);
    free(u);
    free(w);
    free(nc);
    free(z);
    free(L);
    free(F);
    free(is_free);
    return rc;
}

double kn_qp_kkt_violation(const double *P, const double *q, const double *lower, int t,
                           const double *v)
{
    double worst = 0;
    for (int i = 0; i < t; i++) {
        double w = q[i];
        for (int j = 0; j < t; j++)
            w += P[i * t + j] * v[j];
        double slack = v[i] - lower[i];
        worst = fmax(worst, -slack);
        worst = fmax(worst, -w);
        worst = fmax(worst, fabs(w * slack));
    }
    return worst;
}
