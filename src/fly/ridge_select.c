/* Choosing the ridge penalty of a streaming ridge readout on a log grid, by a hold-out split
 * (RanPAC) or by generalised cross-validation (Fly-CL), and the Cholesky solve both use; see
 * kenyon/ridge.h. Two ways to evaluate the grid (BENCHMARKS.md, one-pass learners):
 *  - the default: one tridiagonal reduction G = Q T Q^T for the whole grid, after which each
 *    value costs O(m) per right-hand side;
 *  - on request: one Cholesky factorisation of G + lambda I per grid value (grid_solve).
 * Either works in a copy of G (the caller's factor buffer), so G itself is never changed and
 * only two m x m matrices exist at any time. */
#include "kenyon/ridge.h"

#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/memory_limit.h"

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

double kn_ridge_grid(int i) { return pow(10.0, (double)(i - 8)); }

double kn_ridge_bytes(size_t m, size_t n_classes)
{
    double md = (double)m;
    return 2 * md * md * 8 + md * (double)n_classes * (8 + 8 + 4);
}

int kn_ridge_check_memory(const char *who, const char *param, size_t m, size_t n_classes,
                          kn_error *err)
{
    /* The machine's physical memory (whether it could ever hold the matrices), capped by
     * KENYON_MEMORY_LIMIT as the learner checks are. */
    double limit = 0, have = 0;
    int lim = kn_memory_limit(&limit, err);
    if (lim < 0)
        return KN_EINVAL;
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    int known = pages > 0 && page > 0;
    if (known)
        have = (double)pages * (double)page;
    const int limited = lim == 0 && (!known || limit < have);
    if (limited)
        have = limit;
    else if (!known)
        return 0; /* unknown: let the allocation decide */
    const double need = kn_ridge_bytes(m, n_classes);
    if (need <= have)
        return 0;
    if (limited)
        return kn_fail(err, KN_ENOMEM,
                       "%s: %s=%zu needs %.3g GB (two %zu x %zu double matrices: the Gram matrix "
                       "and its Cholesky factor), more than KENYON_MEMORY_LIMIT's %.3g GB",
                       who, param, m, need / 1e9, m, m, have / 1e9);
    return kn_fail(err, KN_ENOMEM,
                   "%s: %s=%zu needs %.1f GB (two %zu x %zu double matrices: the Gram matrix and "
                   "its Cholesky factor), more than this machine's %.1f GB of memory",
                   who, param, m, need / 1e9, m, m, have / 1e9);
}

/* Factor G + lambda I into factor (column-major lower = row-major upper of G). Only that
 * triangle is copied (row i of G from column i on is column i of the factor from row i on); the
 * other triangle of factor is never read. */
static lapack_int factorise(const double *g, size_t m, double lambda, double *factor)
{
    for (size_t i = 0; i < m; i++) {
        memcpy(factor + i * m + i, g + i * m + i, (m - i) * sizeof *factor);
        factor[i * m + i] += lambda;
    }
    return LAPACKE_dpotrf(LAPACK_COL_MAJOR, 'L', (lapack_int)m, factor, (lapack_int)m);
}

/* rhs (column-major m x C) <- B, then solved in place with the factor. */
static lapack_int solve_factored(const double *b, size_t m, size_t C, const double *factor,
                                 double *rhs)
{
    for (size_t q = 0; q < C; q++)
        for (size_t i = 0; i < m; i++)
            rhs[q * m + i] = b[i * C + q];
    return LAPACKE_dpotrs(LAPACK_COL_MAJOR, 'L', (lapack_int)m, (lapack_int)C, factor,
                          (lapack_int)m, rhs, (lapack_int)m);
}

int kn_ridge_solve(const double *g, const double *b, size_t m, size_t C, double lambda,
                   double *factor, double *rhs, float *w, kn_error *err)
{
    lapack_int info = factorise(g, m, lambda, factor);
    if (info == 0)
        info = solve_factored(b, m, C, factor, rhs);
    if (info != 0)
        return kn_fail(err, KN_EINVAL,
                       "ridge: Cholesky solve failed (LAPACK info %d); lambda=%g may be too small",
                       (int)info, lambda);
    for (size_t i = 0; i < m; i++)
        for (size_t q = 0; q < C; q++)
            w[i * C + q] = (float)rhs[q * m + i];
    return 0;
}

/* The tridiagonal form G = Q T Q^T (LAPACK dsytrd on a copy of G in `factor`): for every lambda,
 * (G + lambda I)^-1 = Q (T + lambda I)^-1 Q^T, so after one reduction (4/3 m^3 flops, about four
 * Cholesky factorisations) each grid value costs one O(m) tridiagonal solve per right-hand side,
 * instead of a factorisation per value. tri_d, tri_e get T's diagonal and sub-diagonal, tau the
 * reflectors; rb (m x C, column-major) gets Q^T B. */
static int tridiagonalise(const double *g, const double *b, size_t m, size_t C, double *factor,
                          double *tri_d, double *tri_e, double *tau, double *rb, kn_error *err)
{
    memcpy(factor, g, m * m * sizeof *factor);
    lapack_int info = LAPACKE_dsytrd(LAPACK_COL_MAJOR, 'L', (lapack_int)m, factor,
                                     (lapack_int)m, tri_d, tri_e, tau);
    for (size_t q = 0; q < C; q++)
        for (size_t i = 0; i < m; i++)
            rb[q * m + i] = b[i * C + q];
    if (info == 0 && m > 1)
        info = LAPACKE_dormtr(LAPACK_COL_MAJOR, 'L', 'L', 'T', (lapack_int)m, (lapack_int)C,
                              factor, (lapack_int)m, tau, rb, (lapack_int)m);
    if (info != 0)
        return kn_fail(err, KN_EINVAL, "ridge: tridiagonal reduction of G failed (LAPACK info %d)",
                       (int)info);
    return 0;
}

/* x (m x C, column-major) = (T + lambda I)^-1 rb; 0, or non-zero when not positive definite.
 * dd, ee: m and m - 1 doubles of workspace. */
static lapack_int tri_solve(const double *tri_d, const double *tri_e, size_t m, size_t C,
                            double lambda, const double *rb, double *x, double *dd, double *ee)
{
    for (size_t i = 0; i < m; i++)
        dd[i] = tri_d[i] + lambda;
    for (size_t i = 0; i + 1 < m; i++)
        ee[i] = tri_e[i];
    memcpy(x, rb, m * C * sizeof *x);
    return LAPACKE_dptsv(LAPACK_COL_MAJOR, (lapack_int)m, (lapack_int)C, dd, ee, x,
                         (lapack_int)m);
}

typedef struct tri_work {
    double *d, *e, *tau, *rb, *x, *dd, *ee;
} tri_work;

static void tri_free(tri_work *t)
{
    free(t->d);
    free(t->e);
    free(t->tau);
    free(t->rb);
    free(t->x);
    free(t->dd);
    free(t->ee);
}

static int tri_alloc(tri_work *t, size_t m, size_t C, kn_error *err)
{
    memset(t, 0, sizeof *t);
    t->d = malloc(m * sizeof *t->d);
    t->e = malloc(m * sizeof *t->e);
    t->tau = malloc(m * sizeof *t->tau);
    t->rb = malloc(m * C * sizeof *t->rb);
    t->x = malloc(m * C * sizeof *t->x);
    t->dd = malloc(m * sizeof *t->dd);
    t->ee = malloc(m * sizeof *t->ee);
    if (!t->d || !t->e || !t->tau || !t->rb || !t->x || !t->dd || !t->ee) {
        tri_free(t);
        return kn_fail(err, KN_ENOMEM, "ridge: out of memory choosing lambda (m=%zu)", m);
    }
    return 0;
}

static int holdout_tridiagonal(const double *g, const double *b, size_t m, size_t C,
                               const float *h, const int32_t *y, size_t n_hold,
                               const uint8_t *allowed, double *factor, kn_ridge_choice *out,
                               kn_error *err)
{
    double t0 = now_seconds();
    memset(out, 0, sizeof *out);
    if (n_hold == 0)
        return kn_fail(err, KN_EINVAL, "ridge: no held-out samples to choose lambda on");
    tri_work t;
    int rc = tri_alloc(&t, m, C, err);
    if (rc)
        return rc;
    /* p = Q^T H^T (m x n_hold, column-major; H row-major n_hold x m is H^T column-major). */
    double *p = malloc(m * n_hold * sizeof *p);
    double *sc = malloc(n_hold * C * sizeof *sc);
    if (!p || !sc) {
        free(p);
        free(sc);
        tri_free(&t);
        return kn_fail(err, KN_ENOMEM, "ridge: out of memory for %zu held-out samples", n_hold);
    }
    for (size_t q = 0; q < m * n_hold; q++)
        p[q] = h[q];
    rc = tridiagonalise(g, b, m, C, factor, t.d, t.e, t.tau, t.rb, err);
    if (!rc && m > 1) {
        lapack_int info = LAPACKE_dormtr(LAPACK_COL_MAJOR, 'L', 'L', 'T', (lapack_int)m,
                                         (lapack_int)n_hold, factor, (lapack_int)m, t.tau, p,
                                         (lapack_int)m);
        if (info != 0)
            rc = kn_fail(err, KN_EINVAL, "ridge: applying Q to the held-out features failed "
                                         "(LAPACK info %d)",
                         (int)info);
    }
    double best_acc = -1, best_sse = INFINITY;
    for (int gi = 0; !rc && gi < KN_RIDGE_GRID_N; gi++) {
        double lambda = kn_ridge_grid(gi);
        if (tri_solve(t.d, t.e, m, C, lambda, t.rb, t.x, t.dd, t.ee) != 0)
            continue;
        out->n_tried++;
        /* scores (n_hold x C, row-major) = p^T x; column-major p is p^T row-major. */
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n_hold, (int)C, (int)m, 1.0, p,
                    (int)m, t.x, (int)m, 0.0, sc, (int)C);
        size_t right = 0;
        double sse = 0;
        for (size_t s = 0; s < n_hold; s++) {
            const double *si = sc + s * C;
            int arg = -1;
            for (size_t q = 0; q < C; q++) {
                double tv = (int32_t)q == y[s] ? 1.0 : 0.0;
                sse += (si[q] - tv) * (si[q] - tv);
                if (allowed[q] && (arg < 0 || si[q] > si[arg]))
                    arg = (int)q;
            }
            right += arg == y[s];
        }
        double acc = (double)right / (double)n_hold;
        if (acc > best_acc || (acc == best_acc && sse < best_sse)) {
            best_acc = acc;
            best_sse = sse;
            out->lambda = lambda;
            out->score = acc;
        }
    }
    free(p);
    free(sc);
    tri_free(&t);
    out->seconds = now_seconds() - t0;
    if (!rc && !out->n_tried)
        rc = kn_fail(err, KN_EINVAL,
                     "ridge: G + lambda I is not positive definite for any lambda of the grid");
    return rc;
}

static int gcv_tridiagonal(const double *g, const double *b, size_t m, size_t C, double n_seen,
                           double *factor, kn_ridge_choice *out, kn_error *err)
{
    double t0 = now_seconds();
    memset(out, 0, sizeof *out);
    if (!(n_seen > 0))
        return kn_fail(err, KN_EINVAL, "ridge: GCV needs at least one sample");
    tri_work t;
    int rc = tri_alloc(&t, m, C, err);
    if (rc)
        return rc;
    rc = tridiagonalise(g, b, m, C, factor, t.d, t.e, t.tau, t.rb, err);
    /* Eigenvalues of G = those of T (dsterf on copies). */
    double *ev = t.dd, *ee = t.ee;
    if (!rc) {
        memcpy(ev, t.d, m * sizeof *ev);
        if (m > 1)
            memcpy(ee, t.e, (m - 1) * sizeof *ee);
        lapack_int info = LAPACKE_dsterf((lapack_int)m, ev, ee);
        if (info != 0)
            rc = kn_fail(err, KN_EINVAL, "ridge: eigenvalues of G failed (LAPACK info %d)",
                         (int)info);
    }
    double *evs = rc ? NULL : malloc(m * sizeof *evs);
    if (!rc && !evs)
        rc = kn_fail(err, KN_ENOMEM, "ridge: out of memory for GCV");
    if (!rc)
        memcpy(evs, ev, m * sizeof *evs);
    double best = INFINITY;
    for (int gi = 0; !rc && gi < KN_RIDGE_GRID_N; gi++) {
        double lambda = kn_ridge_grid(gi);
        if (tri_solve(t.d, t.e, m, C, lambda, t.rb, t.x, t.dd, t.ee) != 0)
            continue;
        out->n_tried++;
        /* W = Q x: ||W||^2 = ||x||^2 and tr(W^T B) = tr(x^T Q^T B). */
        double df = 0, wb = 0, ww = 0;
        for (size_t i = 0; i < m; i++) {
            double s = evs[i] > 0 ? evs[i] : 0;
            df += s / (s + lambda);
        }
        for (size_t q = 0; q < m * C; q++) {
            wb += t.x[q] * t.rb[q];
            ww += t.x[q] * t.x[q];
        }
        double rss = n_seen - wb - lambda * ww;
        if (rss < 0)
            rss = 0;
        double denom = n_seen - df;
        double gcv = denom > 0 ? n_seen * rss / (denom * denom) : INFINITY;
        if (gcv < best) {
            best = gcv;
            out->lambda = lambda;
            out->score = gcv;
        }
    }
    free(evs);
    tri_free(&t);
    out->seconds = now_seconds() - t0;
    if (!rc && !isfinite(best))
        rc = kn_fail(err, KN_EINVAL,
                     "ridge: GCV found no usable lambda on the grid (n=%g samples, m=%zu)",
                     n_seen, m);
    return rc;
}

/* One grid value: factor G + lambda I in place in `factor` and solve for x (m x C,
 * column-major). Returns 0, or non-zero when G + lambda I is not numerically positive definite.
 *
 * Measured with one thread (CPU seconds): a reduction (dsytrd) costs about 14 dpotrf at m 1600
 * (0.28 / 0.055 s), 3200 (4.7 / 0.34 s) and 5000 (17.3 / 1.20 s), so the 17 factorisations of
 * the grid are slower than the reduction at every size measured; kept as an explicit choice
 * (kn_ridge_search) for machines where the reduction's memory traffic costs more. */
static lapack_int grid_solve(const double *g, const double *b, size_t m, size_t C, double lambda,
                             double *factor, double *x)
{
    lapack_int info = factorise(g, m, lambda, factor);
    if (info == 0)
        info = solve_factored(b, m, C, factor, x);
    return info;
}

static int holdout_cholesky(const double *g, const double *b, size_t m, size_t C,
                            const float *h, const int32_t *y, size_t n_hold,
                            const uint8_t *allowed, double *factor, kn_ridge_choice *out,
                            kn_error *err)
{
    double t0 = now_seconds();
    memset(out, 0, sizeof *out);
    if (n_hold == 0)
        return kn_fail(err, KN_EINVAL, "ridge: no held-out samples to choose lambda on");
    /* p: the held-out features in double (n_hold x m, row-major); x: the solution. */
    double *p = malloc(m * n_hold * sizeof *p);
    double *sc = malloc(n_hold * C * sizeof *sc);
    double *x = malloc(m * C * sizeof *x);
    if (!p || !sc || !x) {
        free(p);
        free(sc);
        free(x);
        return kn_fail(err, KN_ENOMEM, "ridge: out of memory for %zu held-out samples", n_hold);
    }
    for (size_t q = 0; q < m * n_hold; q++)
        p[q] = h[q];
    double best_acc = -1, best_sse = INFINITY;
    for (int gi = 0; gi < KN_RIDGE_GRID_N; gi++) {
        double lambda = kn_ridge_grid(gi);
        if (grid_solve(g, b, m, C, lambda, factor, x) != 0)
            continue;
        out->n_tried++;
        /* scores (n_hold x C, row-major) = p x; column-major x is x^T row-major. */
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n_hold, (int)C, (int)m, 1.0, p,
                    (int)m, x, (int)m, 0.0, sc, (int)C);
        size_t right = 0;
        double sse = 0;
        for (size_t s = 0; s < n_hold; s++) {
            const double *si = sc + s * C;
            int arg = -1;
            for (size_t q = 0; q < C; q++) {
                double tv = (int32_t)q == y[s] ? 1.0 : 0.0;
                sse += (si[q] - tv) * (si[q] - tv);
                if (allowed[q] && (arg < 0 || si[q] > si[arg]))
                    arg = (int)q;
            }
            right += arg == y[s];
        }
        double acc = (double)right / (double)n_hold;
        if (acc > best_acc || (acc == best_acc && sse < best_sse)) {
            best_acc = acc;
            best_sse = sse;
            out->lambda = lambda;
            out->score = acc;
        }
    }
    free(p);
    free(sc);
    free(x);
    out->seconds = now_seconds() - t0;
    if (!out->n_tried)
        return kn_fail(err, KN_EINVAL,
                       "ridge: G + lambda I is not positive definite for any lambda of the grid");
    return 0;
}

static int gcv_cholesky(const double *g, const double *b, size_t m, size_t C, double n_seen,
                        double *factor, kn_ridge_choice *out, kn_error *err)
{
    double t0 = now_seconds();
    memset(out, 0, sizeof *out);
    if (!(n_seen > 0))
        return kn_fail(err, KN_EINVAL, "ridge: GCV needs at least one sample");
    double *ev = malloc(m * sizeof *ev);
    double *x = malloc(m * C * sizeof *x);
    if (!ev || !x) {
        free(ev);
        free(x);
        return kn_fail(err, KN_ENOMEM, "ridge: out of memory for GCV (m=%zu)", m);
    }
    /* The eigenvalues of G (for df) from LAPACK's two-stage reduction, whose first stage is
     * matrix-matrix work: no eigenvectors are needed. It destroys its input: a copy in factor. */
    for (size_t i = 0; i < m; i++)
        memcpy(factor + i * m + i, g + i * m + i, (m - i) * sizeof *factor);
    lapack_int info = LAPACKE_dsyev_2stage(LAPACK_COL_MAJOR, 'N', 'L', (lapack_int)m, factor,
                                           (lapack_int)m, ev);
    if (info != 0) {
        free(ev);
        free(x);
        return kn_fail(err, KN_EINVAL, "ridge: eigenvalues of G failed (LAPACK info %d)",
                       (int)info);
    }
    double best = INFINITY;
    for (int gi = 0; gi < KN_RIDGE_GRID_N; gi++) {
        double lambda = kn_ridge_grid(gi);
        if (grid_solve(g, b, m, C, lambda, factor, x) != 0)
            continue;
        out->n_tried++;
        double df = 0, wb = 0, ww = 0;
        for (size_t i = 0; i < m; i++) {
            double s = ev[i] > 0 ? ev[i] : 0;
            df += s / (s + lambda);
        }
        /* tr(W^T B) and ||W||^2, with x = W column-major. */
        for (size_t q = 0; q < C; q++)
            for (size_t i = 0; i < m; i++) {
                wb += x[q * m + i] * b[i * C + q];
                ww += x[q * m + i] * x[q * m + i];
            }
        double rss = n_seen - wb - lambda * ww;
        if (rss < 0)
            rss = 0;
        double denom = n_seen - df;
        double gcv = denom > 0 ? n_seen * rss / (denom * denom) : INFINITY;
        if (gcv < best) {
            best = gcv;
            out->lambda = lambda;
            out->score = gcv;
        }
    }
    free(ev);
    free(x);
    out->seconds = now_seconds() - t0;
    if (!isfinite(best))
        return kn_fail(err, KN_EINVAL,
                       "ridge: GCV found no usable lambda on the grid (n=%g samples, m=%zu)",
                       n_seen, m);
    return 0;
}

static int use_cholesky(kn_ridge_search how, size_t m)
{
    (void)m; /* measured: no size on this machine where the Cholesky grid wins (see below) */
    return how == KN_RIDGE_SEARCH_CHOLESKY;
}

int kn_ridge_choose_holdout_with(kn_ridge_search how, const double *g, const double *b, size_t m,
                                 size_t C, const float *h, const int32_t *y, size_t n_hold,
                                 const uint8_t *allowed, double *factor, kn_ridge_choice *out,
                                 kn_error *err)
{
    return use_cholesky(how, m)
               ? holdout_cholesky(g, b, m, C, h, y, n_hold, allowed, factor, out, err)
               : holdout_tridiagonal(g, b, m, C, h, y, n_hold, allowed, factor, out, err);
}

int kn_ridge_choose_gcv_with(kn_ridge_search how, const double *g, const double *b, size_t m,
                             size_t C, double n_seen, double *factor, kn_ridge_choice *out,
                             kn_error *err)
{
    return use_cholesky(how, m) ? gcv_cholesky(g, b, m, C, n_seen, factor, out, err)
                                : gcv_tridiagonal(g, b, m, C, n_seen, factor, out, err);
}

int kn_ridge_choose_holdout(const double *g, const double *b, size_t m, size_t C,
                            const float *h, const int32_t *y, size_t n_hold,
                            const uint8_t *allowed, double *factor, kn_ridge_choice *out,
                            kn_error *err)
{
    return kn_ridge_choose_holdout_with(KN_RIDGE_SEARCH_AUTO, g, b, m, C, h, y, n_hold, allowed,
                                        factor, out, err);
}

int kn_ridge_choose_gcv(const double *g, const double *b, size_t m, size_t C, double n_seen,
                        double *factor, kn_ridge_choice *out, kn_error *err)
{
    return kn_ridge_choose_gcv_with(KN_RIDGE_SEARCH_AUTO, g, b, m, C, n_seen, factor, out, err);
}
