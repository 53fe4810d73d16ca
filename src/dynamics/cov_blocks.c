/* Full second-moment matrix of a long stationary trajectory, with batch-means standard errors:
 * rows (states) are buffered and folded in with one BLAS rank-k update (dsyrk) per 256 rows, so a
 * 200-dimensional state over 1e6 steps costs seconds; every block's moment matrix E[x x^T] (the
 * mean is known to be zero) adds to running sums of the block values and their squares, and so
 * does, for a state (a, v) of two halves, the antisymmetric part E[a_i v_j] - E[a_j v_i]. Used by
 * check 2 to compare off-diagonal covariances with the Lyapunov solution. */
#include "dynamics_internal.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { FLUSH_ROWS = 256 };

int kn_cov_blocks_init(kn_cov_blocks *cb, int n, int half, kn_error *err)
{
    memset(cb, 0, sizeof *cb);
    cb->n = n;
    cb->half = half;
    size_t nn = (size_t)n * (size_t)n, hh = (size_t)half * (size_t)half;
    if (half > 0) {
        cb->anti1 = calloc(hh, sizeof(double));
        cb->anti2 = calloc(hh, sizeof(double));
        if (!cb->anti1 || !cb->anti2) {
            kn_cov_blocks_free(cb);
            return kn_fail(err, KN_ENOMEM, "covariance blocks: out of memory");
        }
    }
    cb->buf = malloc((size_t)FLUSH_ROWS * (size_t)n * sizeof(double));
    cb->S = calloc(nn, sizeof(double));
    cb->sum1 = calloc(nn, sizeof(double));
    cb->sum2 = calloc(nn, sizeof(double));
    if (!cb->buf || !cb->S || !cb->sum1 || !cb->sum2) {
        kn_cov_blocks_free(cb);
        return kn_fail(err, KN_ENOMEM, "covariance blocks: out of memory for %d x %d", n, n);
    }
    return 0;
}

void kn_cov_blocks_free(kn_cov_blocks *cb)
{
    free(cb->buf);
    free(cb->S);
    free(cb->sum1);
    free(cb->sum2);
    free(cb->anti1);
    free(cb->anti2);
    memset(cb, 0, sizeof *cb);
}

static void flush(kn_cov_blocks *cb)
{
    if (cb->nbuf == 0)
        return;
    /* S (upper triangle) += buf^T buf */
    cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, cb->n, (int)cb->nbuf, 1.0, cb->buf, cb->n,
                1.0, cb->S, cb->n);
    cb->nbuf = 0;
}

void kn_cov_blocks_add(kn_cov_blocks *cb, const double *row)
{
    memcpy(cb->buf + cb->nbuf * (size_t)cb->n, row, (size_t)cb->n * sizeof(double));
    cb->nbuf++;
    cb->in_block++;
    if (cb->nbuf == FLUSH_ROWS)
        flush(cb);
}

void kn_cov_blocks_end_block(kn_cov_blocks *cb)
{
    flush(cb);
    if (cb->in_block == 0)
        return;
    size_t n = (size_t)cb->n;
    double inv = 1.0 / (double)cb->in_block;
    size_t h = (size_t)cb->half;
    for (size_t i = 0; i < h; i++) /* A_ij = E[x_i x_{h+j}] - E[x_j x_{h+i}] (upper storage) */
        for (size_t j = 0; j < h; j++) {
            size_t r1 = i, c1 = h + j, r2 = j, c2 = h + i; /* r < c always */
            double q = (cb->S[r1 * n + c1] - cb->S[r2 * n + c2]) * inv;
            cb->anti1[i * h + j] += q;
            cb->anti2[i * h + j] += q * q;
        }
    for (size_t i = 0; i < n; i++)
        for (size_t j = i; j < n; j++) {
            double q = cb->S[i * n + j] * inv;
            cb->sum1[i * n + j] += q;
            cb->sum2[i * n + j] += q * q;
            cb->S[i * n + j] = 0;
        }
    cb->blocks++;
    cb->in_block = 0;
}

void kn_cov_blocks_anti(const kn_cov_blocks *cb, int i, int j, double *mean, double *se)
{
    size_t k = (size_t)i * (size_t)cb->half + (size_t)j;
    double B = (double)cb->blocks;
    double m = cb->anti1[k] / B;
    double var = B > 1 ? fmax(cb->anti2[k] / B - m * m, 0) * B / (B - 1) : 0;
    *mean = m;
    *se = sqrt(var / B);
}

void kn_cov_blocks_get(const kn_cov_blocks *cb, int i, int j, double *mean, double *se)
{
    if (i > j) {
        int t = i;
        i = j;
        j = t;
    }
    size_t k = (size_t)i * (size_t)cb->n + (size_t)j;
    double B = (double)cb->blocks;
    double m = cb->sum1[k] / B;
    double var = B > 1 ? fmax(cb->sum2[k] / B - m * m, 0) * B / (B - 1) : 0;
    *mean = m;
    *se = sqrt(var / B);
}
