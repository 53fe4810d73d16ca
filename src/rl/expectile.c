/* Discrete reward distributions: construction, exact expectiles and quantiles, Wasserstein-1
 * distances (to samples exactly; to a normal or uniform in closed form through the CDF's
 * antiderivative), and the correlations used by the analyses. */
#include "kenyon/disttd.h"

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_math.h>
#include <gsl/gsl_statistics_double.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Observed trial frequencies of the mouse variable-magnitude task (Dabney et al. 2020). */
static const double vm_sizes[7] = {0.1, 0.3, 1.2, 2.5, 5.0, 10.0, 20.0};
static const double vm_probs[7] = {0.06612594, 0.09090909, 0.14847358, 0.15489467,
                                   0.31159175, 0.1509519,  0.07705306};

void kn_reward_dist_variable_magnitude(kn_reward_dist *d)
{
    kn_reward_dist_set(d, vm_sizes, vm_probs, 7, NULL);
}

int kn_reward_dist_bernoulli(kn_reward_dist *d, double p, double size, kn_error *err)
{
    if (!(p >= 0.0 && p <= 1.0))
        return kn_fail(err, KN_EINVAL, "reward probability %g: must be in [0, 1]", p);
    double s[2] = {0.0, size}, q[2] = {1.0 - p, p};
    return kn_reward_dist_set(d, s, q, 2, err);
}

int kn_reward_dist_set(kn_reward_dist *d, const double *sizes, const double *probs, int n,
                       kn_error *err)
{
    if (n < 1 || n > KN_REWARD_DIST_MAX)
        return kn_fail(err, KN_EINVAL, "reward distribution: %d sizes, must be 1..%d", n,
                       KN_REWARD_DIST_MAX);
    double total = 0.0;
    for (int i = 0; i < n; i++) {
        if (!isfinite(sizes[i]) || fabs(sizes[i]) > 1e12)
            return kn_fail(err, KN_EINVAL, "reward size %d (%g): must be finite", i + 1, sizes[i]);
        if (!(probs[i] >= 0.0 && probs[i] <= 1.0))
            return kn_fail(err, KN_EINVAL, "probability %d (%g): must be in [0, 1]", i + 1,
                           probs[i]);
        total += probs[i];
    }
    if (fabs(total - 1.0) > 1e-3)
        return kn_fail(err, KN_EINVAL, "probabilities sum to %.6g, not 1", total);
    kn_reward_dist tmp;
    memset(&tmp, 0, sizeof tmp);
    /* insertion sort by size, merging equal sizes and dropping zero-probability atoms */
    for (int i = 0; i < n; i++) {
        if (probs[i] == 0.0)
            continue;
        int j = 0;
        while (j < tmp.n && tmp.sizes[j] < sizes[i])
            j++;
        if (j < tmp.n && tmp.sizes[j] == sizes[i]) {
            tmp.probs[j] += probs[i] / total;
            continue;
        }
        memmove(tmp.sizes + j + 1, tmp.sizes + j, (size_t)(tmp.n - j) * sizeof(double));
        memmove(tmp.probs + j + 1, tmp.probs + j, (size_t)(tmp.n - j) * sizeof(double));
        tmp.sizes[j] = sizes[i];
        tmp.probs[j] = probs[i] / total;
        tmp.n++;
    }
    if (tmp.n == 0)
        return kn_fail(err, KN_EINVAL, "reward distribution: every probability is 0");
    *d = tmp;
    return 0;
}

double kn_reward_dist_mean(const kn_reward_dist *d)
{
    double m = 0.0;
    for (int i = 0; i < d->n; i++)
        m += d->probs[i] * d->sizes[i];
    return m;
}

double kn_reward_dist_sd(const kn_reward_dist *d)
{
    double m = kn_reward_dist_mean(d), v = 0.0;
    for (int i = 0; i < d->n; i++)
        v += d->probs[i] * (d->sizes[i] - m) * (d->sizes[i] - m);
    return sqrt(v);
}

int kn_reward_dist_draw_index(const kn_reward_dist *d, double u)
{
    double c = 0.0;
    for (int i = 0; i < d->n - 1; i++) {
        c += d->probs[i];
        if (u < c)
            return i;
    }
    return d->n - 1;
}

double kn_reward_dist_draw(const kn_reward_dist *d, double u)
{
    return d->sizes[kn_reward_dist_draw_index(d, u)];
}

double kn_expectile(const kn_reward_dist *d, double tau)
{
    if (d->n == 1)
        return d->sizes[0];
    /* h(e) = tau E[(r-e)+] - (1-tau) E[(e-r)+] decreases and is linear between atoms: find the
     * atoms k, k+1 that bracket its root and solve there exactly. */
    double A1 = 0.0, P1 = 0.0, A0 = 0.0, P0 = 0.0; /* sums of p*s and p above / at-or-below */
    for (int j = 0; j < d->n; j++) {
        A1 += d->probs[j] * d->sizes[j];
        P1 += d->probs[j];
    }
    for (int k = 0; k < d->n - 1; k++) {
        A1 -= d->probs[k] * d->sizes[k];
        P1 -= d->probs[k];
        A0 += d->probs[k] * d->sizes[k];
        P0 += d->probs[k];
        double e = (tau * A1 + (1.0 - tau) * A0) / (tau * P1 + (1.0 - tau) * P0);
        if (e <= d->sizes[k + 1] || k == d->n - 2)
            return e < d->sizes[k] ? d->sizes[k] : e;
    }
    return d->sizes[d->n - 1];
}

double kn_quantile(const kn_reward_dist *d, double tau)
{
    double c = 0.0;
    for (int i = 0; i < d->n; i++) {
        c += d->probs[i];
        if (c >= tau - 1e-12)
            return d->sizes[i];
    }
    return d->sizes[d->n - 1];
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int kn_w1_samples(const kn_reward_dist *d, const double *x, int n, double *out, kn_error *err)
{
    if (n < 1)
        return kn_fail(err, KN_EINVAL, "W1: no samples");
    double *z = malloc((size_t)n * sizeof *z);
    if (!z)
        return kn_fail(err, KN_ENOMEM, "W1: out of memory for %d samples", n);
    memcpy(z, x, (size_t)n * sizeof *z);
    qsort(z, (size_t)n, sizeof *z, cmp_double);
    /* sweep the merged breakpoints; between them both CDFs are constant */
    int i = 0, j = 0;
    double F = 0.0, G = 0.0, w = 0.0, prev = 0.0;
    int started = 0;
    while (i < d->n || j < n) {
        double next = (j >= n || (i < d->n && d->sizes[i] <= z[j])) ? d->sizes[i] : z[j];
        if (started)
            w += fabs(F - G) * (next - prev);
        while (i < d->n && d->sizes[i] == next)
            F += d->probs[i++];
        while (j < n && z[j] == next) {
            G += 1.0 / n;
            j++;
        }
        prev = next;
        started = 1;
    }
    free(z);
    *out = w;
    return 0;
}

/* A continuous CDF G with its antiderivative IG (IG(-inf) = 0), its inverse, and the upper tail
 * integral of 1 - G from x to infinity. */
typedef struct cont_cdf {
    double (*G)(const struct cont_cdf *, double);
    double (*IG)(const struct cont_cdf *, double);
    double (*Ginv)(const struct cont_cdf *, double);
    double (*upper)(const struct cont_cdf *, double);
    double a, b;   /* normal: mu, sd; uniform: lo, hi */
    double lo, hi; /* clipped normal: the range */
} cont_cdf;

static double normal_G(const cont_cdf *c, double x) { return gsl_cdf_ugaussian_P((x - c->a) / c->b); }
static double normal_IG(const cont_cdf *c, double x)
{
    double z = (x - c->a) / c->b;
    return c->b * (z * gsl_cdf_ugaussian_P(z) + exp(-0.5 * z * z) / sqrt(2.0 * M_PI));
}
static double normal_Ginv(const cont_cdf *c, double p)
{
    if (p <= 0.0)
        return -HUGE_VAL;
    if (p >= 1.0)
        return HUGE_VAL;
    return c->a + c->b * gsl_cdf_ugaussian_Pinv(p);
}
static double normal_upper(const cont_cdf *c, double x)
{
    double z = (x - c->a) / c->b;
    return c->b * (exp(-0.5 * z * z) / sqrt(2.0 * M_PI) - z * gsl_cdf_ugaussian_Q(z));
}
static double unif_G(const cont_cdf *c, double x)
{
    return x <= c->a ? 0.0 : x >= c->b ? 1.0 : (x - c->a) / (c->b - c->a);
}
static double unif_IG(const cont_cdf *c, double x)
{
    double w = c->b - c->a;
    if (x <= c->a)
        return 0.0;
    if (x <= c->b)
        return (x - c->a) * (x - c->a) / (2.0 * w);
    return w / 2.0 + (x - c->b);
}
static double unif_Ginv(const cont_cdf *c, double p) { return c->a + p * (c->b - c->a); }
static double unif_upper(const cont_cdf *c, double x)
{
    if (x >= c->b)
        return 0.0;
    if (x <= c->a)
        return (c->a - x) + (c->b - c->a) / 2.0;
    return (c->b - x) * (c->b - x) / (2.0 * (c->b - c->a));
}

/* The normal clipped to [lo, hi]: G jumps to Phi(lo) at lo and to 1 at hi. */
static double clip_G(const cont_cdf *c, double x)
{
    return x < c->lo ? 0.0 : x >= c->hi ? 1.0 : normal_G(c, x);
}
static double clip_IG(const cont_cdf *c, double x)
{
    if (x <= c->lo)
        return 0.0;
    if (x <= c->hi)
        return normal_IG(c, x) - normal_IG(c, c->lo);
    return normal_IG(c, c->hi) - normal_IG(c, c->lo) + (x - c->hi);
}
static double clip_Ginv(const cont_cdf *c, double p)
{
    double x = normal_Ginv(c, p);
    return x < c->lo ? c->lo : x > c->hi ? c->hi : x;
}
static double clip_upper(const cont_cdf *c, double x)
{
    if (x >= c->hi)
        return 0.0;
    if (x <= c->lo)
        return (c->lo - x) + (c->hi - c->lo) - (normal_IG(c, c->hi) - normal_IG(c, c->lo));
    return (c->hi - x) - (normal_IG(c, c->hi) - normal_IG(c, x));
}

/* Integral of |G(x) - level| over [lo, hi] for increasing G. */
static double abs_diff_integral(const cont_cdf *c, double lo, double hi, double level)
{
    double xs = c->Ginv(c, level);
    if (xs < lo)
        xs = lo;
    if (xs > hi)
        xs = hi;
    double below = level * (xs - lo) - (c->IG(c, xs) - c->IG(c, lo));
    double above = (c->IG(c, hi) - c->IG(c, xs)) - level * (hi - xs);
    return fabs(below) + fabs(above);
}

static double w1_continuous(const kn_reward_dist *d, const cont_cdf *c)
{
    double w = c->IG(c, d->sizes[0]); /* below the first atom, F = 0 */
    double F = 0.0;
    for (int i = 0; i < d->n - 1; i++) {
        F += d->probs[i];
        w += abs_diff_integral(c, d->sizes[i], d->sizes[i + 1], F);
    }
    w += c->upper(c, d->sizes[d->n - 1]); /* above the last atom, F = 1 */
    return w;
}

int kn_w1_normal(const kn_reward_dist *d, double mu, double sd, double *out, kn_error *err)
{
    if (!isfinite(mu) || !(sd > 0.0) || !isfinite(sd))
        return kn_fail(err, KN_EINVAL, "W1 to a normal: sd = %g must be > 0 (mu = %g)", sd, mu);
    cont_cdf c = {normal_G, normal_IG, normal_Ginv, normal_upper, mu, sd, 0.0, 0.0};
    *out = w1_continuous(d, &c);
    return 0;
}

int kn_w1_uniform(const kn_reward_dist *d, double lo, double hi, double *out, kn_error *err)
{
    if (!isfinite(lo) || !isfinite(hi) || !(hi > lo))
        return kn_fail(err, KN_EINVAL, "W1 to a uniform: need lo < hi (got %g, %g)", lo, hi);
    cont_cdf c = {unif_G, unif_IG, unif_Ginv, unif_upper, lo, hi, lo, hi};
    *out = w1_continuous(d, &c);
    return 0;
}

int kn_w1_normal_clipped(const kn_reward_dist *d, double mu, double sd, double lo, double hi,
                         double *out, kn_error *err)
{
    if (!isfinite(mu) || !(sd > 0.0) || !isfinite(sd))
        return kn_fail(err, KN_EINVAL, "W1 to a normal: sd = %g must be > 0 (mu = %g)", sd, mu);
    if (!isfinite(lo) || !isfinite(hi) || !(hi > lo))
        return kn_fail(err, KN_EINVAL, "W1 to a clipped normal: need lo < hi (got %g, %g)", lo,
                       hi);
    cont_cdf c = {clip_G, clip_IG, clip_Ginv, clip_upper, mu, sd, lo, hi};
    *out = w1_continuous(d, &c);
    return 0;
}

/* Copies the finite pairs; returns their count or -1 on allocation failure. */
static int finite_pairs(const double *x, const double *y, int n, double **fx, double **fy)
{
    *fx = malloc((size_t)(n > 0 ? n : 1) * sizeof **fx);
    *fy = malloc((size_t)(n > 0 ? n : 1) * sizeof **fy);
    if (!*fx || !*fy) {
        free(*fx);
        free(*fy);
        return -1;
    }
    int m = 0;
    for (int i = 0; i < n; i++)
        if (isfinite(x[i]) && isfinite(y[i])) {
            (*fx)[m] = x[i];
            (*fy)[m] = y[i];
            m++;
        }
    return m;
}

static int has_variance(const double *x, int m)
{
    for (int i = 1; i < m; i++)
        if (x[i] != x[0])
            return 1;
    return 0;
}

double kn_corr_pearson(const double *x, const double *y, int n)
{
    double *fx, *fy;
    int m = finite_pairs(x, y, n, &fx, &fy);
    double r = NAN;
    if (m >= 3 && has_variance(fx, m) && has_variance(fy, m))
        r = gsl_stats_correlation(fx, 1, fy, 1, (size_t)m);
    if (m >= 0) {
        free(fx);
        free(fy);
    }
    return r;
}

double kn_corr_spearman(const double *x, const double *y, int n)
{
    double *fx, *fy;
    int m = finite_pairs(x, y, n, &fx, &fy);
    double r = NAN;
    if (m >= 3 && has_variance(fx, m) && has_variance(fy, m)) {
        double *work = malloc(2 * (size_t)m * sizeof *work);
        if (work) {
            r = gsl_stats_spearman(fx, 1, fy, 1, (size_t)m, work);
            free(work);
        }
    }
    if (m >= 0) {
        free(fx);
        free(fy);
    }
    return r;
}
