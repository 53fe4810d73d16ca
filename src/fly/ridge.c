/* fly-ridge (kenyon/fly.h): streaming ridge regression from the KC codes to one-hot targets.
 * G = sum h h^T and B = sum h y^T are accumulated as samples arrive; since a code has at most k
 * non-zeros, a sample costs O(k^2) additions into the upper triangle of G, not O(m^2). When
 * predictions are needed, (G + lambda I) W = B is solved by Cholesky (LAPACKE dpotrf/dpotrs).
 * The result is the offline ridge solution on everything seen so far, whatever the data order.
 *
 * The update goes row by row (all samples that touch row r, then row r + 1, ...) rather than
 * sample by sample, so that a row is loaded once per call, not once per sample. Threads split the
 * rows of G (row r belongs to thread r mod T); each entry still receives its additions in sample
 * order, so G is bit-identical to the sample-by-sample sum for any thread count. The code two
 * pairs ahead is prefetched (only loads move: the additions and their order are unchanged):
 * each pair starts reading a different sample's code, a cache miss the loop otherwise waits for
 * (bench_fly's one-call Gram update 0.50-0.56 s against 0.74-0.97 s of CPU for 14,800 codes,
 * load 16-21). In the protocol's calls of 64 samples the update is bound by streaming G itself
 * (~82 MB, most of its lines touched per call), which no reordering inside one call avoids. */
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
    memset(r, 0, sizeof *r);
}

int kn_fly_ridge_accumulate(kn_fly_ridge *r, const kn_kc_codes *codes, const int32_t *y,
                            kn_error *err)
{
    const int k = codes->k, C = r->n_classes;
    const size_t m = (size_t)r->m;
    for (size_t i = 0; i < codes->n; i++) {
        if (y[i] < 0 || y[i] >= C)
            return kn_fail(err, KN_EINVAL, "fly-ridge: label %d of sample %zu outside [0, %d)",
                           (int)y[i], i, C);
        for (int j = 0; j < codes->nnz[i]; j++)
            if (codes->cells[i * (size_t)k + j] < 0 || (size_t)codes->cells[i * (size_t)k + j] >= m)
                return kn_fail(err, KN_EINVAL, "fly-ridge: code of sample %zu names cell %d >= m",
                               i, (int)codes->cells[i * (size_t)k + j]);
    }
    /* Row lists: for every cell r, the (sample, position) pairs whose code has r active, in
     * sample order (a counting sort). Each row of G is then updated by all its samples in a
     * row, while it is in cache, instead of once per sample: a sample's code touches ~k rows
     * and nearly every cache line of each, so sample order streamed most of G through the
     * caches k times per sample. */
    size_t total = 0;
    for (size_t i = 0; i < codes->n; i++)
        total += (size_t)codes->nnz[i];
    size_t *start = calloc(m + 1, sizeof *start);
    uint32_t *pairs = malloc((total ? total : 1) * 2 * sizeof *pairs);
    if (!start || !pairs) {
        free(start);
        free(pairs);
        return kn_fail(err, KN_ENOMEM, "fly-ridge: out of memory for %zu code entries", total);
    }
    for (size_t i = 0; i < codes->n; i++)
        for (int a = 0; a < codes->nnz[i]; a++)
            start[codes->cells[i * (size_t)k + a] + 1]++;
    for (size_t q = 0; q < m; q++)
        start[q + 1] += start[q];
    for (size_t i = 0; i < codes->n; i++)
        for (int a = 0; a < codes->nnz[i]; a++) {
            size_t at = start[codes->cells[i * (size_t)k + a]]++;
            pairs[2 * at] = (uint32_t)i;
            pairs[2 * at + 1] = (uint32_t)a;
        }
    /* start[q] is now the end of row q's list, which begins at start[q - 1] (0 for q = 0). */
#pragma omp parallel if (codes->n > 64)
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
                    __builtin_prefetch(codes->cells + i2 * (size_t)k + a2);
                    __builtin_prefetch(codes->values + i2 * (size_t)k + a2);
                }
                const int32_t *cl = codes->cells + i * (size_t)k;
                const float *vl = codes->values + i * (size_t)k;
                const int nnz = codes->nnz[i];
                const double va = vl[a];
                for (int b = a; b < nnz; b++) /* cells increase, so this is the upper triangle */
                    row[cl[b]] += va * (double)vl[b];
            }
        }
    }
    free(start);
    free(pairs);
    for (size_t i = 0; i < codes->n; i++) {
        const int32_t *cl = codes->cells + i * (size_t)k;
        const float *vl = codes->values + i * (size_t)k;
        for (int a = 0; a < codes->nnz[i]; a++)
            r->b[(size_t)cl[a] * (size_t)C + (size_t)y[i]] += vl[a];
    }
    r->n_seen += codes->n;
    if (codes->n)
        r->dirty = 1;
    return 0;
}

int kn_fly_ridge_solve(kn_fly_ridge *r, kn_error *err)
{
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
