/* Batch normalisation (PyTorch BatchNorm1d / BatchNorm2d, affine, eps 1e-5, momentum 0.1).
 * Training: normalise with the batch statistics over n x h x w values per channel (biased
 * variance), update the running mean and the running (unbiased) variance. Evaluation: use the
 * running statistics. Statistics are accumulated in double. */
#include <math.h>
#include <stdlib.h>

#include "nn/nn_internal.h"

/* Channels per block of the BatchNorm1d kernels: the per-channel sums of a block live on the
 * stack while the rows are read in order, contiguously (channel after channel, each a column of
 * the n x C input, would read with a stride of C numbers). Every channel's sums still add the
 * rows in row order, so the bits are those of the column-wise loops below. */
enum { BN_BLOCK = 256 };

/* BatchNorm1d (one value per channel and row): kn_bn_forward for h = w = 1. */
static void bn_forward_rows(kn_layer *L, const kn_real *gamma, const kn_real *beta,
                            kn_real *rmean, kn_real *rvar, int training, const kn_real *x,
                            size_t n)
{
    const size_t C = (size_t)L->in_c, D = L->in_dim;
    const double count = (double)n;
    for (size_t c0 = 0; c0 < C; c0 += BN_BLOCK) {
        const size_t cn = C - c0 < BN_BLOCK ? C - c0 : BN_BLOCK;
        double mean[BN_BLOCK], is[BN_BLOCK];
        if (training) {
            double s[BN_BLOCK] = {0}, s2[BN_BLOCK] = {0};
            for (size_t r = 0; r < n; r++) {
                const kn_real *v = x + r * D + c0;
                for (size_t c = 0; c < cn; c++)
                    s[c] += v[c];
            }
            for (size_t c = 0; c < cn; c++)
                mean[c] = s[c] / count;
            for (size_t r = 0; r < n; r++) {
                const kn_real *v = x + r * D + c0;
                for (size_t c = 0; c < cn; c++) {
                    double dv = v[c] - mean[c];
                    s2[c] += dv * dv;
                }
            }
            for (size_t c = 0; c < cn; c++) {
                double var = s2[c] / count;
                double unbiased = count > 1 ? s2[c] / (count - 1) : var;
                rmean[c0 + c] = (kn_real)((1 - KN_BN_MOMENTUM) * rmean[c0 + c] +
                                          KN_BN_MOMENTUM * mean[c]);
                rvar[c0 + c] = (kn_real)((1 - KN_BN_MOMENTUM) * rvar[c0 + c] +
                                         KN_BN_MOMENTUM * unbiased);
                is[c] = 1.0 / sqrt(var + KN_BN_EPS);
            }
        } else {
            for (size_t c = 0; c < cn; c++) {
                mean[c] = rmean[c0 + c];
                is[c] = 1.0 / sqrt((double)rvar[c0 + c] + KN_BN_EPS);
            }
        }
        for (size_t c = 0; c < cn; c++)
            L->inv_std[c0 + c] = is[c];
        for (size_t r = 0; r < n; r++) {
            const kn_real *v = x + r * D + c0;
            kn_real *xh = L->aux + r * D + c0, *y = L->out + r * D + c0;
            for (size_t c = 0; c < cn; c++) {
                kn_real h = (kn_real)((v[c] - mean[c]) * is[c]);
                xh[c] = h;
                y[c] = gamma[c0 + c] * h + beta[c0 + c];
            }
        }
    }
}

/* BatchNorm1d: kn_bn_backward for h = w = 1. */
static void bn_backward_rows(const kn_layer *L, const kn_real *gamma, kn_real *dgamma,
                             kn_real *dbeta, const kn_real *dy, size_t n, kn_real *dx)
{
    const size_t C = (size_t)L->in_c, D = L->in_dim;
    const double count = (double)n;
    for (size_t c0 = 0; c0 < C; c0 += BN_BLOCK) {
        const size_t cn = C - c0 < BN_BLOCK ? C - c0 : BN_BLOCK;
        double sdy[BN_BLOCK] = {0}, sdyx[BN_BLOCK] = {0}, gi[BN_BLOCK];
        for (size_t r = 0; r < n; r++) {
            const kn_real *g = dy + r * D + c0, *xh = L->aux + r * D + c0;
            for (size_t c = 0; c < cn; c++) {
                sdy[c] += g[c];
                sdyx[c] += (double)g[c] * xh[c];
            }
        }
        for (size_t c = 0; c < cn; c++) {
            dgamma[c0 + c] += (kn_real)sdyx[c];
            dbeta[c0 + c] += (kn_real)sdy[c];
            gi[c] = gamma[c0 + c] * L->inv_std[c0 + c];
        }
        if (!dx)
            continue;
        for (size_t r = 0; r < n; r++) {
            const kn_real *g = dy + r * D + c0, *xh = L->aux + r * D + c0;
            kn_real *d = dx + r * D + c0;
            if (L->bn_was_training) {
                for (size_t c = 0; c < cn; c++)
                    d[c] = (kn_real)(gi[c] * (g[c] - sdy[c] / count - xh[c] * sdyx[c] / count));
            } else {
                for (size_t c = 0; c < cn; c++)
                    d[c] = (kn_real)(gi[c] * g[c]);
            }
        }
    }
}

int kn_bn_forward(kn_layer *L, const kn_real *params, kn_real *buffers, int training,
                  const kn_real *x, size_t n)
{
    const size_t C = (size_t)L->in_c, HW = (size_t)L->in_h * (size_t)L->in_w;
    const size_t D = L->in_dim;
    if (kn_nn_reserve(&L->aux, &L->aux_cap, n * D))
        return -1;
    if (!L->inv_std) {
        L->inv_std = malloc(C * sizeof(double));
        if (!L->inv_std)
            return -1;
    }
    const kn_real *gamma = params, *beta = params + C;
    kn_real *rmean = buffers + L->b_off, *rvar = buffers + L->b_off + C;
    const double count = (double)n * (double)HW;
    L->bn_was_training = training;
    if (HW == 1) {
        bn_forward_rows(L, gamma, beta, rmean, rvar, training, x, n);
        return 0;
    }
    for (size_t c = 0; c < C; c++) {
        double mean, var;
        if (training) {
            double s = 0, s2 = 0;
            for (size_t r = 0; r < n; r++) {
                const kn_real *v = x + r * D + c * HW;
                for (size_t p = 0; p < HW; p++)
                    s += v[p];
            }
            mean = s / count;
            for (size_t r = 0; r < n; r++) {
                const kn_real *v = x + r * D + c * HW;
                for (size_t p = 0; p < HW; p++) {
                    double dv = v[p] - mean;
                    s2 += dv * dv;
                }
            }
            var = s2 / count;
            double unbiased = count > 1 ? s2 / (count - 1) : var;
            rmean[c] = (kn_real)((1 - KN_BN_MOMENTUM) * rmean[c] + KN_BN_MOMENTUM * mean);
            rvar[c] = (kn_real)((1 - KN_BN_MOMENTUM) * rvar[c] + KN_BN_MOMENTUM * unbiased);
        } else {
            mean = rmean[c];
            var = rvar[c];
        }
        double is = 1.0 / sqrt(var + KN_BN_EPS);
        L->inv_std[c] = is;
        for (size_t r = 0; r < n; r++) {
            const kn_real *v = x + r * D + c * HW;
            kn_real *xh = L->aux + r * D + c * HW;
            kn_real *y = L->out + r * D + c * HW;
            for (size_t p = 0; p < HW; p++) {
                kn_real h = (kn_real)((v[p] - mean) * is);
                xh[p] = h;
                y[p] = gamma[c] * h + beta[c];
            }
        }
    }
    return 0;
}

void kn_bn_backward(const kn_layer *L, const kn_real *params, kn_real *grads,
                    const kn_real *dy, size_t n, kn_real *dx)
{
    const size_t C = (size_t)L->in_c, HW = (size_t)L->in_h * (size_t)L->in_w;
    const size_t D = L->in_dim;
    const kn_real *gamma = params;
    kn_real *dgamma = grads, *dbeta = grads + C;
    const double count = (double)n * (double)HW;
    if (HW == 1) {
        bn_backward_rows(L, gamma, dgamma, dbeta, dy, n, dx);
        return;
    }
    for (size_t c = 0; c < C; c++) {
        double sdy = 0, sdyx = 0;
        for (size_t r = 0; r < n; r++) {
            const kn_real *g = dy + r * D + c * HW, *xh = L->aux + r * D + c * HW;
            for (size_t p = 0; p < HW; p++) {
                sdy += g[p];
                sdyx += (double)g[p] * xh[p];
            }
        }
        dgamma[c] += (kn_real)sdyx;
        dbeta[c] += (kn_real)sdy;
        if (!dx)
            continue;
        const double gi = gamma[c] * L->inv_std[c];
        for (size_t r = 0; r < n; r++) {
            const kn_real *g = dy + r * D + c * HW, *xh = L->aux + r * D + c * HW;
            kn_real *d = dx + r * D + c * HW;
            if (L->bn_was_training) {
                /* dx = gamma/sigma (dy - mean(dy) - xhat mean(dy xhat)) */
                for (size_t p = 0; p < HW; p++)
                    d[p] = (kn_real)(gi * (g[p] - sdy / count - xh[p] * sdyx / count));
            } else {
                for (size_t p = 0; p < HW; p++)
                    d[p] = (kn_real)(gi * g[p]);
            }
        }
    }
}
