/* Choosing the ridge penalty of a streaming ridge readout on a log grid, by a hold-out split
 * (RanPAC) or by generalised cross-validation (Fly-CL), and the Cholesky solve both use; see
 * kenyon/ridge.h. Every grid evaluation writes G = Q S Q^T once (grid_basis: S banded,
 * tridiagonal, or G itself) and then solves with S + lambda I for each grid value; one
 * hold-out and one GCV loop serve all three. The reduction works in a copy of G (the caller's
 * factor buffer), so G itself is never changed and only two m x m matrices exist at any time. */
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
                          double extra_bytes, const char *extra_what, kn_error *err)
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
    const double need = kn_ridge_bytes(m, n_classes) + extra_bytes;
    if (need <= have)
        return 0;
    const char *and = extra_bytes > 0 && extra_what ? ", and " : "";
    if (!*and)
        extra_what = "";
    if (limited)
        return kn_fail(err, KN_ENOMEM,
                       "%s: %s=%zu needs %.3g GB (two %zu x %zu double matrices: the Gram matrix "
                       "and its Cholesky factor%s%s), more than KENYON_MEMORY_LIMIT's %.3g GB",
                       who, param, m, need / 1e9, m, m, and, extra_what, have / 1e9);
    return kn_fail(err, KN_ENOMEM,
                   "%s: %s=%zu needs %.1f GB (two %zu x %zu double matrices: the Gram matrix and "
                   "its Cholesky factor%s%s), more than this machine's %.1f GB of memory",
                   who, param, m, need / 1e9, m, m, and, extra_what, have / 1e9);
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

/* The held-out scoring of one grid value, shared by every grid evaluation: the scores
 * p^T x (n_hold x C, into sc) of the held-out features p (m x n_hold, column-major) against a
 * solution x (m x C, column-major) in the same basis; the best (accuracy over the allowed
 * classes, ties to the smaller squared error to the one-hot targets) is kept in out. */
typedef struct holdout_best {
    double acc, sse;
} holdout_best;

static void score_holdout(const double *p, const double *x, size_t m, size_t C,
                          const int32_t *y, size_t n_hold, const uint8_t *allowed, double lambda,
                          double *sc, holdout_best *best, kn_ridge_choice *out)
{
    /* scores (n_hold x C, row-major) = p^T x; column-major p is p^T row-major. */
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
    if (acc > best->acc || (acc == best->acc && sse < best->sse)) {
        best->acc = acc;
        best->sse = sse;
        out->lambda = lambda;
        out->score = acc;
    }
}

/* GCV of one grid value from the eigenvalues ev of G, wb = tr(W^T B) and ww = ||W||^2. */
static double gcv_value(const double *ev, size_t m, double n_seen, double lambda, double wb,
                        double ww)
{
    double df = 0;
    for (size_t i = 0; i < m; i++) {
        double s = ev[i] > 0 ? ev[i] : 0;
        df += s / (s + lambda);
    }
    double rss = n_seen - wb - lambda * ww;
    if (rss < 0)
        rss = 0;
    double denom = n_seen - df;
    return denom > 0 ? n_seen * rss / (denom * denom) : INFINITY;
}

/* p (m x n, column-major) = the n rows of h (row-major n x m) in double. */
static double *held_out_double(const float *h, size_t m, size_t n)
{
    double *p = malloc(m * n * sizeof *p);
    if (p)
        for (size_t q = 0; q < m * n; q++)
            p[q] = h[q];
    return p;
}

/* LAPACK's first stage of the two-stage tridiagonal reduction (Haidar, Ltaief & Dongarra 2011):
 * G = Q S Q^T with S banded (kd sub-diagonals), in blocked Householder steps whose work is
 * matrix-matrix products. Not in LAPACKE, so called through the Fortran interface. */
extern void dsytrd_sy2sb_(const char *uplo, const int *n, const int *kd, double *a,
                          const int *lda, double *ab, const int *ldab, double *tau, double *work,
                          const int *lwork, int *info, size_t uplo_len);

#define BAND_KD 64 /* sub-diagonals of the band form: wide enough for matrix-matrix blocks */

/* One basis for the whole grid: G = Q S Q^T with Q orthogonal, so that for every lambda
 * (G + lambda I)^-1 B = Q (S + lambda I)^-1 Q^T B, and a held-out score H W = (Q^T H^T)^T x with
 * x = (S + lambda I)^-1 Q^T B. S is
 *  - G itself, Q = I (the Cholesky search: a factorisation of G + lambda I per value);
 *  - tridiagonal (dsytrd; each value an O(m) solve per column);
 *  - banded with kd sub-diagonals (dsytrd_sy2sb; each value an O(m kd^2) band Cholesky).
 * The reflectors of Q live in `factor` (the caller's m x m workspace), so G is never changed. */
typedef struct grid_basis {
    kn_ridge_search how;
    const double *g;
    size_t m, C;
    int kd, ldab;
    double *factor;
    double *rb;       /* Q^T B, m x C column-major */
    double *tau;      /* reflector scalars (tridiagonal, band) */
    double *d, *e;    /* T's diagonal and sub-diagonal (tridiagonal) */
    double *ab, *abw; /* S in LAPACK lower band storage, and a copy factored per value (band) */
    double *dd, *ee;  /* workspace of the tridiagonal solve */
} grid_basis;

static void basis_free(grid_basis *q)
{
    free(q->rb);
    free(q->tau);
    free(q->d);
    free(q->e);
    free(q->ab);
    free(q->abw);
    free(q->dd);
    free(q->ee);
}

/* c (m x n, column-major) <- Q^T c. */
static lapack_int basis_apply_t(const grid_basis *q, double *c, size_t n)
{
    const size_t m = q->m;
    if (q->how == KN_RIDGE_SEARCH_CHOLESKY || m < 2 || n == 0)
        return 0;
    if (q->how == KN_RIDGE_SEARCH_TRIDIAGONAL)
        return LAPACKE_dormtr(LAPACK_COL_MAJOR, 'L', 'L', 'T', (lapack_int)m, (lapack_int)n,
                              q->factor, (lapack_int)m, q->tau, c, (lapack_int)m);
    /* Band: Q = H(1) ... H(m - kd), H(i)'s vector starting at row i + kd and stored below it in
     * column i: a QR factorisation of rows kd.. of the first m - kd columns. */
    const size_t kd = (size_t)q->kd, r = m - kd;
    return LAPACKE_dormqr(LAPACK_COL_MAJOR, 'L', 'T', (lapack_int)r, (lapack_int)n,
                          (lapack_int)r, q->factor + kd, (lapack_int)m, q->tau, c + kd,
                          (lapack_int)m);
}

static int basis_open(grid_basis *q, kn_ridge_search how, const double *g, const double *b,
                      size_t m, size_t C, double *factor, kn_error *err)
{
    memset(q, 0, sizeof *q);
    q->how = how;
    q->g = g;
    q->m = m;
    q->C = C;
    q->factor = factor;
    q->rb = malloc(m * C * sizeof *q->rb);
    if (how == KN_RIDGE_SEARCH_TRIDIAGONAL) {
        q->tau = malloc(m * sizeof *q->tau);
        q->d = malloc(m * sizeof *q->d);
        q->e = malloc(m * sizeof *q->e);
        q->dd = malloc(m * sizeof *q->dd);
        q->ee = malloc(m * sizeof *q->ee);
    } else if (how == KN_RIDGE_SEARCH_BAND) {
        size_t kd = m / 4 < BAND_KD ? m / 4 : BAND_KD; /* small m (tests): a narrower band */
        q->kd = (int)(kd ? kd : 1);
        q->ldab = q->kd + 1;
        q->tau = malloc(m * sizeof *q->tau);
        q->ab = malloc((size_t)q->ldab * m * sizeof *q->ab);
        q->abw = malloc((size_t)q->ldab * m * sizeof *q->abw);
    }
    int short_of_memory = !q->rb;
    if (how == KN_RIDGE_SEARCH_TRIDIAGONAL)
        short_of_memory |= !q->tau || !q->d || !q->e || !q->dd || !q->ee;
    if (how == KN_RIDGE_SEARCH_BAND)
        short_of_memory |= !q->tau || !q->ab || !q->abw;
    if (short_of_memory) {
        basis_free(q);
        return kn_fail(err, KN_ENOMEM, "ridge: out of memory choosing lambda (m=%zu)", m);
    }
    for (size_t c = 0; c < C; c++)
        for (size_t i = 0; i < m; i++)
            q->rb[c * m + i] = b[i * C + c];
    lapack_int info = 0;
    if (how == KN_RIDGE_SEARCH_TRIDIAGONAL) {
        memcpy(factor, g, m * m * sizeof *factor);
        info = LAPACKE_dsytrd(LAPACK_COL_MAJOR, 'L', (lapack_int)m, factor, (lapack_int)m, q->d,
                              q->e, q->tau);
    } else if (how == KN_RIDGE_SEARCH_BAND) {
        for (size_t i = 0; i < m; i++)
            memcpy(factor + i * m + i, g + i * m + i, (m - i) * sizeof *factor);
        int n = (int)m, kd = q->kd, lda = (int)m, lwork = -1, inf = 0;
        double wq = 0;
        dsytrd_sy2sb_("L", &n, &kd, factor, &lda, q->ab, &q->ldab, q->tau, &wq, &lwork, &inf, 1);
        lwork = (int)wq > 1 ? (int)wq : 1;
        double *work = inf == 0 ? malloc((size_t)lwork * sizeof *work) : NULL;
        if (inf == 0 && !work) {
            basis_free(q);
            return kn_fail(err, KN_ENOMEM, "ridge: out of memory for the band reduction (m=%zu)",
                           m);
        }
        if (inf == 0)
            dsytrd_sy2sb_("L", &n, &kd, factor, &lda, q->ab, &q->ldab, q->tau, work, &lwork,
                          &inf, 1);
        free(work);
        info = inf;
    }
    if (info == 0)
        info = basis_apply_t(q, q->rb, C);
    if (info != 0) {
        basis_free(q);
        return kn_fail(err, KN_EINVAL, "ridge: reduction of G failed (LAPACK info %d)",
                       (int)info);
    }
    return 0;
}

/* x (m x C, column-major) = (S + lambda I)^-1 Q^T B; 0, or non-zero when not positive definite.
 * The Cholesky search overwrites `factor`. */
static lapack_int basis_solve(grid_basis *q, double lambda, double *x)
{
    const size_t m = q->m, C = q->C;
    memcpy(x, q->rb, m * C * sizeof *x);
    if (q->how == KN_RIDGE_SEARCH_CHOLESKY) {
        lapack_int info = factorise(q->g, m, lambda, q->factor);
        return info ? info
                    : LAPACKE_dpotrs(LAPACK_COL_MAJOR, 'L', (lapack_int)m, (lapack_int)C,
                                     q->factor, (lapack_int)m, x, (lapack_int)m);
    }
    if (q->how == KN_RIDGE_SEARCH_TRIDIAGONAL) {
        for (size_t i = 0; i < m; i++)
            q->dd[i] = q->d[i] + lambda;
        for (size_t i = 0; i + 1 < m; i++)
            q->ee[i] = q->e[i];
        return LAPACKE_dptsv(LAPACK_COL_MAJOR, (lapack_int)m, (lapack_int)C, q->dd, q->ee, x,
                             (lapack_int)m);
    }
    const size_t ld = (size_t)q->ldab;
    memcpy(q->abw, q->ab, ld * m * sizeof *q->abw);
    for (size_t j = 0; j < m; j++)
        q->abw[j * ld] += lambda; /* row 0 of lower band storage is the diagonal */
    return LAPACKE_dpbsv(LAPACK_COL_MAJOR, 'L', (lapack_int)m, (lapack_int)q->kd, (lapack_int)C,
                         q->abw, (lapack_int)ld, x, (lapack_int)m);
}

/* The eigenvalues of G (those of S) into ev, for GCV's degrees of freedom. The Cholesky search
 * takes them from LAPACK's two-stage reduction of a copy of G in `factor`, before any solve. */
static int basis_eigenvalues(grid_basis *q, double *ev, kn_error *err)
{
    const size_t m = q->m;
    lapack_int info;
    if (q->how == KN_RIDGE_SEARCH_CHOLESKY) {
        for (size_t i = 0; i < m; i++)
            memcpy(q->factor + i * m + i, q->g + i * m + i, (m - i) * sizeof *q->factor);
        info = LAPACKE_dsyev_2stage(LAPACK_COL_MAJOR, 'N', 'L', (lapack_int)m, q->factor,
                                    (lapack_int)m, ev);
    } else if (q->how == KN_RIDGE_SEARCH_TRIDIAGONAL) {
        memcpy(ev, q->d, m * sizeof *ev);
        if (m > 1)
            memcpy(q->ee, q->e, (m - 1) * sizeof *q->ee);
        info = LAPACKE_dsterf((lapack_int)m, ev, q->ee);
    } else {
        memcpy(q->abw, q->ab, (size_t)q->ldab * m * sizeof *q->abw);
        info = LAPACKE_dsbev(LAPACK_COL_MAJOR, 'N', 'L', (lapack_int)m, (lapack_int)q->kd,
                             q->abw, (lapack_int)q->ldab, ev, NULL, 1);
    }
    if (info != 0)
        return kn_fail(err, KN_EINVAL, "ridge: eigenvalues of G failed (LAPACK info %d)",
                       (int)info);
    return 0;
}

static kn_ridge_search resolve(kn_ridge_search how, size_t m)
{
    /* The band reduction needs a few sub-diagonals; below that size the tridiagonal one is
     * as cheap. */
    if (how == KN_RIDGE_SEARCH_AUTO)
        return m >= 2 * BAND_KD ? KN_RIDGE_SEARCH_BAND : KN_RIDGE_SEARCH_TRIDIAGONAL;
    if (how == KN_RIDGE_SEARCH_BAND && m < 2)
        return KN_RIDGE_SEARCH_TRIDIAGONAL;
    return how;
}

int kn_ridge_choose_holdout_with(kn_ridge_search how, const double *g, const double *b, size_t m,
                                 size_t C, const float *h, const int32_t *y, size_t n_hold,
                                 const uint8_t *allowed, double *factor, kn_ridge_choice *out,
                                 kn_error *err)
{
    double t0 = now_seconds();
    memset(out, 0, sizeof *out);
    if (n_hold == 0)
        return kn_fail(err, KN_EINVAL, "ridge: no held-out samples to choose lambda on");
    double *p = held_out_double(h, m, n_hold);
    double *sc = malloc(n_hold * C * sizeof *sc);
    double *x = malloc(m * C * sizeof *x);
    if (!p || !sc || !x) {
        free(p);
        free(sc);
        free(x);
        return kn_fail(err, KN_ENOMEM, "ridge: out of memory for %zu held-out samples", n_hold);
    }
    grid_basis q;
    int rc = basis_open(&q, resolve(how, m), g, b, m, C, factor, err);
    if (!rc) {
        lapack_int info = basis_apply_t(&q, p, n_hold);
        if (info != 0)
            rc = kn_fail(err, KN_EINVAL,
                         "ridge: applying Q to the held-out features failed (LAPACK info %d)",
                         (int)info);
    }
    holdout_best best = {-1, INFINITY};
    for (int gi = 0; !rc && gi < KN_RIDGE_GRID_N; gi++) {
        double lambda = kn_ridge_grid(gi);
        if (basis_solve(&q, lambda, x) != 0)
            continue;
        out->n_tried++;
        score_holdout(p, x, m, C, y, n_hold, allowed, lambda, sc, &best, out);
    }
    if (!rc)
        basis_free(&q);
    free(p);
    free(sc);
    free(x);
    out->seconds = now_seconds() - t0;
    if (!rc && !out->n_tried)
        rc = kn_fail(err, KN_EINVAL,
                     "ridge: G + lambda I is not positive definite for any lambda of the grid");
    return rc;
}

int kn_ridge_choose_gcv_with(kn_ridge_search how, const double *g, const double *b, size_t m,
                             size_t C, double n_seen, double *factor, kn_ridge_choice *out,
                             kn_error *err)
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
    grid_basis q;
    int rc = basis_open(&q, resolve(how, m), g, b, m, C, factor, err);
    int opened = !rc;
    if (!rc)
        rc = basis_eigenvalues(&q, ev, err);
    double best = INFINITY;
    for (int gi = 0; !rc && gi < KN_RIDGE_GRID_N; gi++) {
        double lambda = kn_ridge_grid(gi);
        if (basis_solve(&q, lambda, x) != 0)
            continue;
        out->n_tried++;
        /* W = Q x: ||W||^2 = ||x||^2 and tr(W^T B) = tr(x^T Q^T B). */
        double wb = 0, ww = 0;
        for (size_t i = 0; i < m * C; i++) {
            wb += x[i] * q.rb[i];
            ww += x[i] * x[i];
        }
        double v = gcv_value(ev, m, n_seen, lambda, wb, ww);
        if (v < best) {
            best = v;
            out->lambda = lambda;
            out->score = v;
        }
    }
    if (opened)
        basis_free(&q);
    free(ev);
    free(x);
    out->seconds = now_seconds() - t0;
    if (!rc && !isfinite(best))
        rc = kn_fail(err, KN_EINVAL,
                     "ridge: GCV found no usable lambda on the grid (n=%g samples, m=%zu)",
                     n_seen, m);
    return rc;
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
