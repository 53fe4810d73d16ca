/* fly-ridge (kenyon/fly.h): streaming ridge regression from the KC codes to one-hot targets.
 * G = sum h h^T and B = sum h y^T are accumulated as samples arrive; since a code has at most k
 * non-zeros, a sample costs O(k^2) additions into the upper triangle of G, not O(m^2). When
 * predictions are needed, (G + lambda I) W = B is solved by Cholesky (LAPACK dpotrf/dpotrs).
 * The result is the offline ridge solution on everything seen so far, whatever the data order.
 *
 * B is updated at once; G is deferred: the codes of a call are copied into a pending buffer and
 * added to G only when G is needed (kn_fly_ridge_flush: before a solve, a save, a choice of
 * lambda, an MPI reduction) or when the buffer is full. The protocol calls with 64 samples, and
 * adding 64 codes streams most of G (82 MB at m 3200) through the caches; a buffer of thousands
 * of samples streams it once for all of them. The buffer holds at most m^2 / 8 code entries, so
 * it and the update's scratch take at most a quarter of G's memory.
 *
 * The update goes row by row (all samples that touch row r, then row r + 1, ...) rather than
 * sample by sample, so that a row is loaded once per flush, not once per sample. Threads split
 * the rows of G (row r belongs to thread r mod T); each entry still receives its additions in
 * sample order (the buffer keeps the order of the calls), so G is bit-identical to the
 * sample-by-sample sum for any thread count and any call sizes. The code two pairs ahead is
 * prefetched (only loads move: the additions and their order are unchanged): each pair starts
 * reading a different sample's code, a cache miss the loop otherwise waits for. */
#include "kenyon/fly.h"

#include <lapacke.h>
#include <math.h>
#include <omp.h>
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
    free(r->row_start);
    free(r->pairs);
    memset(r, 0, sizeof *r);
}

/* Samples the pending buffer holds for codes of k winners: m^2 / 8 entries (at least 16). */
static size_t pending_capacity(size_t m, int k)
{
    size_t cap = m * m / (8 * (size_t)(k > 0 ? k : 1));
    return cap < 16 ? 16 : cap;
}

/* Allocates the pending buffer and the update's scratch for codes of k winners (once; again if
 * k changes, after a flush). */
static int ensure_pending(kn_fly_ridge *r, int k, kn_error *err)
{
    if (r->pending.cells && r->pending.k == k)
        return 0;
    kn_fly_ridge_flush(r);
    kn_kc_codes_free(&r->pending);
    free(r->row_start);
    free(r->pairs);
    r->pairs = NULL;
    const size_t m = (size_t)r->m, cap = pending_capacity(m, k);
    r->row_start = malloc((m + 1) * sizeof *r->row_start);
    r->pairs = malloc(cap * (size_t)k * 2 * sizeof *r->pairs);
    int rc = r->row_start && r->pairs ? kn_kc_codes_alloc(&r->pending, cap, k, err)
                                      : kn_fail(err, KN_ENOMEM, "fly-ridge: out of memory for "
                                                "the buffer of %zu codes", cap);
    if (rc) {
        kn_kc_codes_free(&r->pending);
        free(r->row_start);
        free(r->pairs);
        r->row_start = NULL;
        r->pairs = NULL;
    }
    return rc;
}

/* G += h h^T for samples from .. from + n of codes (n * codes->k <= the scratch's entries). */
static void add_to_gram(kn_fly_ridge *r, const kn_kc_codes *codes, size_t from, size_t n)
{
    const size_t m = (size_t)r->m, k = (size_t)codes->k;
    const int32_t *cells = codes->cells + from * k;
    const float *values = codes->values + from * k;
    const int32_t *nnz = codes->nnz + from;
    /* Row lists: for every cell q, the (sample, position) pairs whose code has q active, in
     * sample order (a counting sort). Each row of G is then updated by all its samples in a
     * row, while it is in cache, instead of once per sample: a sample's code touches ~k rows
     * and nearly every cache line of each, so sample order streamed most of G through the
     * caches k times per sample. */
    size_t *start = r->row_start;
    uint32_t *pairs = r->pairs;
    memset(start, 0, (m + 1) * sizeof *start);
    for (size_t i = 0; i < n; i++)
        for (int a = 0; a < nnz[i]; a++)
            start[cells[i * k + (size_t)a] + 1]++;
    for (size_t q = 0; q < m; q++)
        start[q + 1] += start[q];
    for (size_t i = 0; i < n; i++)
        for (int a = 0; a < nnz[i]; a++) {
            size_t at = start[cells[i * k + (size_t)a]]++;
            pairs[2 * at] = (uint32_t)i;
            pairs[2 * at + 1] = (uint32_t)a;
        }
    /* start[q] is now the end of row q's list, which begins at start[q - 1] (0 for q = 0). */
#pragma omp parallel if (n > 64)
    {
        const int T = omp_get_num_threads(), me = omp_get_thread_num();
        for (size_t q = (size_t)me; q < m; q += (size_t)T) {
            double *row = r->g + q * m;
            const size_t end = start[q];
            for (size_t at = q ? start[q - 1] : 0; at < end; at++) {
                const size_t i = pairs[2 * at];
                const int a = (int)pairs[2 * at + 1];
                if (at + 2 < end) { /* the code two pairs ahead: a random place in the codes */
                    const size_t i2 = pairs[2 * at + 4], a2 = pairs[2 * at + 5];
                    __builtin_prefetch(cells + i2 * k + a2);
                    __builtin_prefetch(values + i2 * k + a2);
                }
                const int32_t *cl = cells + i * k;
                const float *vl = values + i * k;
                const int nz = nnz[i];
                const double va = vl[a];
                for (int b = a; b < nz; b++) /* cells increase, so this is the upper triangle */
                    row[cl[b]] += va * (double)vl[b];
            }
        }
    }
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
        r->factor = malloc(m * m * sizeof *r->factor);
        if (!r->factor)
            return kn_fail(err, KN_ENOMEM, "fly-ridge: out of memory for the Cholesky factor");
    }
    double *rhs = malloc(m * C * sizeof *rhs);
    if (!rhs)
        return kn_fail(err, KN_ENOMEM, "fly-ridge: out of memory for the right-hand side");
    /* Our row-major upper triangle is the column-major lower triangle of the same memory. */
    memcpy(r->factor, r->g, m * m * sizeof *r->factor);
    for (size_t i = 0; i < m; i++)
        r->factor[i * m + i] += r->lambda;
    for (size_t q = 0; q < C; q++)
        for (size_t i = 0; i < m; i++)
            rhs[q * m + i] = r->b[i * C + q];
    lapack_int info = LAPACKE_dpotrf(LAPACK_COL_MAJOR, 'L', (lapack_int)m, r->factor,
                                     (lapack_int)m);
    if (info == 0)
        info = LAPACKE_dpotrs(LAPACK_COL_MAJOR, 'L', (lapack_int)m, (lapack_int)C, r->factor,
                              (lapack_int)m, rhs, (lapack_int)m);
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
