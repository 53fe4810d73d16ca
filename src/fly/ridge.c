/* fly-ridge (kenyon/fly.h): streaming ridge regression from the KC codes to one-hot targets.
 * G = sum h h^T and B = sum h y^T are accumulated as samples arrive; since a code has at most k
 * non-zeros, a sample costs O(k^2) additions into the upper triangle of G, not O(m^2). When
 * predictions are needed, (G + lambda I) W = B is solved by Cholesky (LAPACK dpotrf/dpotrs).
 * The result is the offline ridge solution on everything seen so far, whatever the data order.
 *
 * B is updated at once; G is deferred: the codes of a call are copied into a pending buffer and
 * added to G only when G is needed (kn_fly_ridge_flush: before a solve, a save, a choice of
 * lambda, an MPI reduction) or when the buffer is full. The protocol calls with 64 samples, and
 * adding 64 codes moves most of G (82 MB at m 3200) through the caches; a flush of a whole task
 * moves it once. The buffer holds at most m^2 / 8 code entries (m^2 bytes), and the update's
 * regrouped copy of it 5/8 of that: together a fifth of G's memory.
 *
 * The update itself (src/fly/gram_tiles.c) goes by 64 x 64 tiles of G, each updated by all
 * pending samples in order; each entry receives its additions in sample order (the buffer keeps
 * the order of the calls), so G is bit-identical to the sample-by-sample sum for any thread
 * count, call sizes and flush points. */
#include "kenyon/fly.h"

#include "fly/gram_tiles.h"

#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

int kn_fly_ridge_init(kn_fly_ridge *r, int m, int n_classes, double lambda, kn_error *err)
{
    memset(r, 0, sizeof *r);
    if (m < 1 || n_classes < 1)
        return kn_fail(err, KN_EINVAL, "fly-ridge: m and the number of classes must be positive");
    if (!(lambda > 0) || !isfinite(lambda))
        return kn_fail(err, KN_EINVAL, "fly-ridge: lambda must be positive (got %g)", lambda);
    if (m > 46000)
        return kn_fail(err, KN_EINVAL,
                       "fly-ridge: m=%d is too large for a dense %d x %d Gram matrix", m, m, m);
    size_t mm = (size_t)m * (size_t)m;
    r->g = calloc(mm, sizeof *r->g);
    r->b = calloc((size_t)m * (size_t)n_classes, sizeof *r->b);
    r->w = calloc((size_t)m * (size_t)n_classes, sizeof *r->w);
    if (!r->g || !r->b || !r->w) {
        kn_fly_ridge_free(r);
        return kn_fail(err, KN_ENOMEM, "fly-ridge: out of memory for a %d x %d Gram matrix", m,
                       m);
    }
    r->m = m;
    r->n_classes = n_classes;
    r->lambda = lambda;
    return 0;
}

void kn_fly_ridge_free(kn_fly_ridge *r)
{
    if (!r)
        return;
    free(r->g);
    free(r->b);
    free(r->w);
    free(r->factor);
    kn_kc_codes_free(&r->pending);
    free(r->gram_scratch);
    memset(r, 0, sizeof *r);
}

double kn_fly_ridge_buffer_bytes(size_t m) { return (double)m * (double)m * 13 / 8; }

/* Samples the pending buffer holds for codes of k winners: m^2 / 8 entries (at least 16). */
static size_t pending_capacity(size_t m, int k)
{
    size_t cap = m * m / (8 * (size_t)(k > 0 ? k : 1));
    return cap < 16 ? 16 : cap;
}

/* Allocates the pending buffer for codes of k winners (once; again if k changes, after a
 * flush). */
static int ensure_pending(kn_fly_ridge *r, int k, kn_error *err)
{
    if (r->pending.cells && r->pending.k == k)
        return 0;
    kn_fly_ridge_flush(r);
    kn_kc_codes_free(&r->pending);
    free(r->gram_scratch);
    const size_t cap = pending_capacity((size_t)r->m, k);
    r->gram_scratch = malloc(kn_gram_scratch_bytes((size_t)r->m, cap, (size_t)k));
    int rc = r->gram_scratch ? kn_kc_codes_alloc(&r->pending, cap, k, err)
                             : kn_fail(err, KN_ENOMEM, "fly-ridge: out of memory for the Gram "
                                       "update's scratch");
    if (rc) {
        kn_kc_codes_free(&r->pending);
        free(r->gram_scratch);
        r->gram_scratch = NULL;
    }
    return rc;
}

/* G += h h^T for samples from .. from + n of codes (n <= the pending buffer's capacity). */
static void add_to_gram(kn_fly_ridge *r, const kn_kc_codes *codes, size_t from, size_t n)
{
    const size_t k = (size_t)codes->k;
    kn_gram_add_codes(r->g, (size_t)r->m, codes->cells + from * k, codes->values + from * k,
                      codes->nnz + from, k, n, r->gram_scratch);
}

void kn_fly_ridge_flush(kn_fly_ridge *r)
{
    if (r->pending.n)
        add_to_gram(r, &r->pending, 0, r->pending.n);
    r->pending.n = 0;
}

int kn_fly_ridge_accumulate(kn_fly_ridge *r, const kn_kc_codes *codes, const int32_t *y,
                            kn_error *err)
{
    const int k = codes->k, C = r->n_classes;
    const size_t m = (size_t)r->m, n = codes->n;
    for (size_t i = 0; i < n; i++) {
        if (y[i] < 0 || y[i] >= C)
            return kn_fail(err, KN_EINVAL, "fly-ridge: label %d of sample %zu outside [0, %d)",
                           (int)y[i], i, C);
        for (int j = 0; j < codes->nnz[i]; j++)
            if (codes->cells[i * (size_t)k + j] < 0 || (size_t)codes->cells[i * (size_t)k + j] >= m)
                return kn_fail(err, KN_EINVAL, "fly-ridge: code of sample %zu names cell %d >= m",
                               i, (int)codes->cells[i * (size_t)k + j]);
    }
    if (n == 0)
        return 0;
    int rc = ensure_pending(r, k, err);
    if (rc)
        return rc;
    for (size_t i = 0; i < n; i++) {
        const int32_t *cl = codes->cells + i * (size_t)k;
        const float *vl = codes->values + i * (size_t)k;
        for (int a = 0; a < codes->nnz[i]; a++)
            r->b[(size_t)cl[a] * (size_t)C + (size_t)y[i]] += vl[a];
    }
    /* G: what is pending first, then whole buffers of this call directly, then the rest waits. */
    kn_kc_codes *p = &r->pending;
    size_t i = 0;
    if (p->n + n > p->cap) {
        kn_fly_ridge_flush(r);
        for (; n - i >= p->cap; i += p->cap)
            add_to_gram(r, codes, i, p->cap);
    }
    const size_t rest = n - i, kk = (size_t)k;
    memcpy(p->cells + p->n * kk, codes->cells + i * kk, rest * kk * sizeof *p->cells);
    memcpy(p->values + p->n * kk, codes->values + i * kk, rest * kk * sizeof *p->values);
    memcpy(p->nnz + p->n, codes->nnz + i, rest * sizeof *p->nnz);
    p->n += rest;
    r->n_seen += n;
    r->dirty = 1;
    return 0;
}

int kn_fly_ridge_solve(kn_fly_ridge *r, kn_error *err)
{
    kn_fly_ridge_flush(r);
    if (!r->dirty)
        return 0;
    const size_t m = (size_t)r->m, C = (size_t)r->n_classes;
    if (!r->factor) {
        r->factor = calloc(m * m, sizeof *r->factor); /* see kenyon/fly.h */
        if (!r->factor)
            return kn_fail(err, KN_ENOMEM, "fly-ridge: out of memory for the Cholesky factor");
    }
    double *rhs = malloc(m * C * sizeof *rhs);
    if (!rhs)
        return kn_fail(err, KN_ENOMEM, "fly-ridge: out of memory for the right-hand side");
    /* Our row-major upper triangle is the column-major lower triangle of the same memory. Only
     * that triangle is copied (dpotrf and dpotrs never read the other). */
    for (size_t i = 0; i < m; i++) {
        memcpy(r->factor + i * m + i, r->g + i * m + i, (m - i) * sizeof *r->factor);
        r->factor[i * m + i] += r->lambda;
    }
    for (size_t q = 0; q < C; q++)
        for (size_t i = 0; i < m; i++)
            rhs[q * m + i] = r->b[i * C + q];
    /* The _work entry points: the same LAPACK calls without LAPACKE's scan of the m x m input
     * for NaN (2% of a fly-apl run); G and B are finite (the encoder's values, and loads check). */
    lapack_int info = LAPACKE_dpotrf_work(LAPACK_COL_MAJOR, 'L', (lapack_int)m, r->factor,
                                          (lapack_int)m);
    if (info == 0)
        info = LAPACKE_dpotrs_work(LAPACK_COL_MAJOR, 'L', (lapack_int)m, (lapack_int)C,
                                   r->factor, (lapack_int)m, rhs, (lapack_int)m);
    if (info != 0) {
        free(rhs);
        return kn_fail(err, KN_EINVAL,
                       "fly-ridge: Cholesky solve failed (LAPACK info %d); lambda=%g may be too "
                       "small",
                       (int)info, r->lambda);
    }
    for (size_t i = 0; i < m; i++)
        for (size_t q = 0; q < C; q++)
            r->w[i * C + q] = (float)rhs[q * m + i];
    free(rhs);
    r->dirty = 0;
    return 0;
}
