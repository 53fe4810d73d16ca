/* Analysis helpers for the dynamics checks: Welch power spectra (GSL radix-2 real FFT), peak
 * location with parabolic refinement, and the power-law exponent fit (GSL ordinary least squares
 * of log y on log x, with the 95% interval from the OLS standard error). */
#include "dynamics_internal.h"

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_fft_real.h>
#include <gsl/gsl_fit.h>
#include <gsl/gsl_multifit.h>
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

int kn_spectrum_oscillator_fit(const double *psd, size_t nbins, size_t seg, double *f_damped,
                               double *f_gamma, kn_error *err)
{
    size_t peak = kn_spectrum_peak(psd, nbins, NULL);
    if (peak < 2 || psd[peak] <= 0)
        return kn_fail(err, KN_EINVAL, "oscillator fit: no spectral peak above the lowest bins");
    size_t lo = peak, hi = peak;
    while (lo > 1 && psd[lo - 1] >= psd[peak] / 4)
        lo--;
    while (hi + 1 < nbins && psd[hi + 1] >= psd[peak] / 4)
        hi++;
    size_t n = hi - lo + 1;
    if (n < 4) { /* too narrow to fit three parameters: widen to +-2 bins */
        lo = peak >= 3 ? peak - 2 : 1;
        hi = peak + 2 < nbins ? peak + 2 : nbins - 1;
        n = hi - lo + 1;
    }
    if (n < 4)
        return kn_fail(err, KN_EINVAL, "oscillator fit: peak at bin %zu too close to the edge",
                       peak);
    gsl_matrix *X = gsl_matrix_alloc(n, 3), *cov = gsl_matrix_alloc(3, 3);
    gsl_vector *y = gsl_vector_alloc(n), *w = gsl_vector_alloc(n), *c = gsl_vector_alloc(3);
    gsl_multifit_linear_workspace *ws = gsl_multifit_linear_alloc(n, 3);
    int rc = 0;
    if (!X || !cov || !y || !w || !c || !ws) {
        rc = kn_fail(err, KN_ENOMEM, "oscillator fit: out of memory");
        goto done;
    }
    /* frequencies in units of the peak frequency keep the normal equations well conditioned */
    double f0 = (double)peak / (double)seg;
    for (size_t i = 0; i < n; i++) {
        double f = (double)(lo + i) / (double)seg / f0, x2 = f * f;
        gsl_matrix_set(X, i, 0, 1.0);
        gsl_matrix_set(X, i, 1, x2);
        gsl_matrix_set(X, i, 2, x2 * x2);
        double p = psd[lo + i] / psd[peak];
        gsl_vector_set(y, i, 1.0 / p);
        gsl_vector_set(w, i, p * p); /* relative errors of P are equal across bins */
    }
    double chisq;
    gsl_multifit_wlinear(X, w, y, c, cov, &chisq, ws);
    double c0 = gsl_vector_get(c, 0), c1 = gsl_vector_get(c, 1), c2 = gsl_vector_get(c, 2);
    if (!(c2 > 0) || !(c0 > 0)) {
        rc = kn_fail(err, KN_EINVAL, "oscillator fit: spectrum near bin %zu is not a damped line",
                     peak);
        goto done;
    }
    double w2 = sqrt(c0 / c2), g2 = (c1 / c2 + 2 * w2) / 4, W2 = w2 - (g2 > 0 ? g2 : 0);
    if (!(W2 > 0)) {
        rc = kn_fail(err, KN_EINVAL, "oscillator fit: overdamped line at bin %zu", peak);
        goto done;
    }
    *f_damped = sqrt(W2) * f0;
    if (f_gamma)
        *f_gamma = sqrt(g2 > 0 ? g2 : 0) * f0;
done:
    gsl_matrix_free(X);
    gsl_matrix_free(cov);
    gsl_vector_free(y);
    gsl_vector_free(w);
    gsl_vector_free(c);
    gsl_multifit_linear_free(ws);
    return rc;
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
