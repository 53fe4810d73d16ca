/* The analysis of dopamine-cell recordings from Dabney et al. (2020), applied here to simulated
 * recordings: utility axis, reversal points by the best sign cut with interpolation, slopes with
 * no intercept above and below the reversal point, asymmetry, and the split-half design.
 *
 * On the split-half design: the slopes of half B are fitted around half B's own reversal point by
 * default. Fitting them around half A's reversal point (KN_SLOPE_ORIGIN_OTHER_HALF) lets the
 * error of that reversal point leak into the slopes (a reversal point that is too high moves
 * positive responses to the "below" side, which lowers alpha- and raises the asymmetry), so the
 * asymmetry-reversal correlation appears even for classical TD cells; both are available so the
 * difference can be shown. */
#include "kenyon/disttd.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kenyon/rng.h"

int kn_rpe_simulate(const double *sizes, int n_sizes, const double *tau, const double *reversal,
                    int n_cells, int n_trials, double noise_sd, uint64_t seed, double *responses,
                    kn_error *err)
{
    if (n_sizes < 2 || n_cells < 1 || n_trials < 2)
        return kn_fail(err, KN_EINVAL,
                       "simulated recordings: need >= 2 sizes, >= 1 cell, >= 2 trials per size "
                       "(got %d, %d, %d)",
                       n_sizes, n_cells, n_trials);
    if (!(noise_sd >= 0.0) || !isfinite(noise_sd))
        return kn_fail(err, KN_EINVAL, "noise = %g: must be >= 0", noise_sd);
    for (int i = 0; i < n_cells; i++) {
        if (!(tau[i] >= 0.0 && tau[i] <= 1.0) || !isfinite(reversal[i]))
            return kn_fail(err, KN_EINVAL, "cell %d: tau %g must be in [0, 1], reversal finite",
                           i + 1, tau[i]);
        kn_rng rng;
        kn_rng_stream(&rng, seed, (uint64_t)i);
        for (int k = 0; k < n_sizes; k++) {
            double d = sizes[k] - reversal[i];
            double mean = d > 0.0 ? 2.0 * tau[i] * d : 2.0 * (1.0 - tau[i]) * d;
            double *row = responses + ((size_t)i * n_sizes + k) * n_trials;
            for (int t = 0; t < n_trials; t++)
                row[t] = mean + noise_sd * kn_rng_normal(&rng);
        }
    }
    return 0;
}

/* Interpolated zero crossing for the cut before size c (0 < c < K), else the end point. */
static double cut_reversal(const double *u, const double *y, int K, int c)
{
    if (c <= 0)
        return u[0];
    if (c >= K)
        return u[K - 1];
    double ylo = y[c - 1], yhi = y[c];
    if (ylo < 0.0 && yhi > 0.0)
        return u[c - 1] + (u[c] - u[c - 1]) * (-ylo) / (yhi - ylo);
    return 0.5 * (u[c - 1] + u[c]);
}

double kn_reversal_point(const double *utility, const double *mean_response, int n_sizes)
{
    const int K = n_sizes;
    int best = -1;
    double sum = 0.0;
    int n_best = 0;
    for (int c = 0; c <= K; c++) {
        int score = 0;
        for (int k = 0; k < K; k++)
            score += k < c ? mean_response[k] < 0.0 : mean_response[k] > 0.0;
        if (score > best) {
            best = score;
            sum = 0.0;
            n_best = 0;
        }
        if (score == best) {
            sum += cut_reversal(utility, mean_response, K, c);
            n_best++;
        }
    }
    return sum / n_best; /* ties: the mean of the tied cuts' reversal points */
}

void kn_rpe_analysis_free(kn_rpe_analysis *a)
{
    if (!a)
        return;
    free(a->utility_a);
    free(a->utility_b);
    free(a->reversal_a);
    free(a->reversal_b);
    free(a->slope_pos);
    free(a->slope_neg);
    free(a->asymmetry);
    memset(a, 0, sizeof *a);
}

int kn_rpe_analyse(const double *responses, int n_cells, int n_sizes, int n_trials,
                   kn_slope_origin origin, uint64_t seed, kn_rpe_analysis *out, kn_error *err)
{
    const int N = n_cells, K = n_sizes, T = n_trials;
    if (N < 3 || K < 2 || T < 2)
        return kn_fail(err, KN_EINVAL,
                       "analysis: need >= 3 cells, >= 2 sizes and >= 2 trials per size (got %d, "
                       "%d, %d)",
                       N, K, T);
    if (origin != KN_SLOPE_ORIGIN_OWN_HALF && origin != KN_SLOPE_ORIGIN_OTHER_HALF)
        return kn_fail(err, KN_EINVAL, "analysis: unknown slope origin %d", (int)origin);
    for (size_t j = 0; j < (size_t)N * K * T; j++)
        if (!isfinite(responses[j]))
            return kn_fail(err, KN_EINVAL, "analysis: response %zu (cell %zu) is not finite", j,
                           j / ((size_t)K * T) + 1);
    kn_rpe_analysis a;
    memset(&a, 0, sizeof a);
    a.n_cells = N;
    a.n_sizes = K;
    const size_t nk = (size_t)N * K;
    a.utility_a = calloc((size_t)K, sizeof(double));
    a.utility_b = calloc((size_t)K, sizeof(double));
    a.reversal_a = malloc((size_t)N * sizeof(double));
    a.reversal_b = malloc((size_t)N * sizeof(double));
    a.slope_pos = malloc((size_t)N * sizeof(double));
    a.slope_neg = malloc((size_t)N * sizeof(double));
    a.asymmetry = malloc((size_t)N * sizeof(double));
    double *mean_a = malloc(nk * sizeof(double)), *mean_b = malloc(nk * sizeof(double));
    uint32_t *perm = malloc((size_t)T * sizeof(uint32_t));
    if (!a.utility_a || !a.utility_b || !a.reversal_a || !a.reversal_b || !a.slope_pos ||
        !a.slope_neg || !a.asymmetry || !mean_a || !mean_b || !perm) {
        free(mean_a);
        free(mean_b);
        free(perm);
        kn_rpe_analysis_free(&a);
        return kn_fail(err, KN_ENOMEM, "analysis: out of memory for %d cells", N);
    }
    /* random halves per (cell, size): A = the first T/2 trials of a permutation, B the rest */
    const int TA = T / 2, TB = T - TA;
    for (int i = 0; i < N; i++) {
        kn_rng rng;
        kn_rng_stream(&rng, seed, (uint64_t)i);
        for (int k = 0; k < K; k++) {
            const double *row = responses + ((size_t)i * K + k) * T;
            kn_rng_permutation(&rng, perm, (size_t)T);
            double sa = 0.0, sb = 0.0;
            for (int t = 0; t < T; t++) {
                if (t < TA)
                    sa += row[perm[t]];
                else
                    sb += row[perm[t]];
            }
            mean_a[(size_t)i * K + k] = sa / TA;
            mean_b[(size_t)i * K + k] = sb / TB;
            a.utility_a[k] += sa / TA / N;
            a.utility_b[k] += sb / TB / N;
        }
    }
    a.n_valid = 0;
    for (int i = 0; i < N; i++) {
        const double *ya = mean_a + (size_t)i * K, *yb = mean_b + (size_t)i * K;
        a.reversal_a[i] = kn_reversal_point(a.utility_a, ya, K);
        a.reversal_b[i] = kn_reversal_point(a.utility_b, yb, K);
        double o = origin == KN_SLOPE_ORIGIN_OWN_HALF ? a.reversal_b[i] : a.reversal_a[i];
        /* least squares through the origin on half B (equal trial counts per size, so the
         * per-size means give the same fit as the single trials) */
        double sxy_p = 0, sxx_p = 0, sxy_n = 0, sxx_n = 0;
        for (int k = 0; k < K; k++) {
            double x = a.utility_b[k] - o;
            if (x > 0.0) {
                sxy_p += x * yb[k];
                sxx_p += x * x;
            } else if (x < 0.0) {
                sxy_n += x * yb[k];
                sxx_n += x * x;
            }
        }
        a.slope_pos[i] = sxx_p > 0.0 ? sxy_p / sxx_p : NAN;
        a.slope_neg[i] = sxx_n > 0.0 ? sxy_n / sxx_n : NAN;
        a.asymmetry[i] = NAN;
        if (a.slope_pos[i] > 0.0 && a.slope_neg[i] > 0.0) {
            a.asymmetry[i] = a.slope_pos[i] / (a.slope_pos[i] + a.slope_neg[i]);
            a.n_valid++;
        }
    }
    a.corr_reversal_halves = kn_corr_pearson(a.reversal_a, a.reversal_b, N);
    a.corr_asymmetry_reversal = kn_corr_pearson(a.asymmetry, a.reversal_a, N);
    free(mean_a);
    free(mean_b);
    free(perm);
    *out = a;
    return 0;
}
