/* Analysis helpers for the dynamics checks: Welch power spectra (GSL radix-2 real FFT), peak
 * location with parabolic refinement, and the power-law exponent fit (GSL ordinary least squares
 * of log y on log x, with the 95% interval from the OLS standard error). */
#include "dynamics_internal.h"

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_fft_real.h>
#include <gsl/gsl_fit.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

int kn_welch_psd(const double *x, size_t n, size_t seg, double *psd, kn_error *err)
{
    if (seg < 8 || (seg & (seg - 1)) != 0)
        return kn_fail(err, KN_EINVAL, "Welch spectrum: segment length %zu is not a power of 2 >= 8",
                       seg);
    if (n < seg)
        return kn_fail(err, KN_EINVAL, "Welch spectrum: series of %zu points is shorter than one "
                       "segment (%zu)", n, seg);
    double *buf = malloc(seg * sizeof(double));
    double *win = malloc(seg * sizeof(double));
    if (!buf || !win) {
        free(buf);
        free(win);
        return kn_fail(err, KN_ENOMEM, "Welch spectrum: out of memory");
    }
    for (size_t i = 0; i < seg; i++)
        win[i] = 0.5 - 0.5 * cos(2 * KN_PI * (double)i / (double)seg);
    memset(psd, 0, (seg / 2 + 1) * sizeof(double));
    size_t n_seg = 0;
    for (size_t start = 0; start + seg <= n; start += seg / 2, n_seg++) {
        double mean = 0;
        for (size_t i = 0; i < seg; i++)
            mean += x[start + i];
        mean /= (double)seg;
        for (size_t i = 0; i < seg; i++)
            buf[i] = (x[start + i] - mean) * win[i];
        gsl_fft_real_radix2_transform(buf, 1, seg);
        /* half-complex layout: buf[j] = Re_j, buf[seg-j] = Im_j */
        psd[0] += buf[0] * buf[0];
        for (size_t j = 1; j < seg / 2; j++)
            psd[j] += buf[j] * buf[j] + buf[seg - j] * buf[seg - j];
        psd[seg / 2] += buf[seg / 2] * buf[seg / 2];
    }
    for (size_t j = 0; j <= seg / 2; j++)
        psd[j] /= (double)n_seg * (double)seg;
    free(buf);
    free(win);
    return 0;
}

size_t kn_spectrum_peak(const double *psd, size_t nbins, double *refined)
{
    size_t best = 1;
    for (size_t j = 2; j < nbins; j++)
        if (psd[j] > psd[best])
            best = j;
    double pos = (double)best;
    if (best >= 1 && best + 1 < nbins && psd[best - 1] > 0 && psd[best + 1] > 0 && psd[best] > 0) {
        double l = log(psd[best - 1]), c = log(psd[best]), r = log(psd[best + 1]);
        double den = l - 2 * c + r;
        if (den < 0)
            pos += 0.5 * (l - r) / den;
    }
    if (refined)
        *refined = pos;
    return best;
}

int kn_powerlaw_fit(const double *x, const double *y, size_t n, double x_lo, double x_hi,
                    kn_powerfit *out, kn_error *err)
{
    double *lx = malloc((n ? n : 1) * sizeof(double));
    double *ly = malloc((n ? n : 1) * sizeof(double));
    if (!lx || !ly) {
        free(lx);
        free(ly);
        return kn_fail(err, KN_ENOMEM, "power-law fit: out of memory");
    }
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (x[i] >= x_lo && x[i] <= x_hi && x[i] > 0 && y[i] > 0 && isfinite(y[i])) {
            lx[m] = log(x[i]);
            ly[m] = log(y[i]);
            m++;
        }
    if (m < 3) {
        free(lx);
        free(ly);
        return kn_fail(err, KN_EINVAL,
                       "power-law fit: only %zu usable points in the window [%g, %g] (need 3)", m,
                       x_lo, x_hi);
    }
    double c0, c1, cov00, cov01, cov11, sumsq;
    gsl_fit_linear(lx, 1, ly, 1, m, &c0, &c1, &cov00, &cov01, &cov11, &sumsq);
    /* gsl_fit_linear estimates the covariance from the scatter about the line already. */
    (void)sumsq;
    double se = sqrt(cov11);
    out->c = c1;
    out->intercept = c0;
    out->ci95 = gsl_cdf_tdist_Qinv(0.025, (double)(m - 2)) * se;
    out->n_points = m;
    out->x_lo = x_lo;
    out->x_hi = x_hi;
    free(lx);
    free(ly);
    return 0;
}
