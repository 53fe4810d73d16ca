/* The synthetic linear-regression problem of `kenyon dynamics linreg`, stored in the eigenbasis of
 * its Hessian: eigenvalues h (anisotropic inputs), the per-sample gradient covariance at the
 * minimum Sigma (label noise sigma^2: Sigma = sigma^2 H, or rotated by a random orthogonal R so
 * that it does not commute with H), and the unregularised minimiser theta_star (used for the
 * off-minimum start that weight decay creates). */
#include "kenyon/dynamics.h"

#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

void kn_linreg_spec_default(kn_linreg_spec *s)
{
    s->dim = 100;
    s->spectrum = KN_SPECTRUM_LOGUNIFORM;
    s->h_min = 0.1;
    s->h_max = 2.0;
    s->noise = 1.0;
    s->commute = 1;
    s->seed = 1;
}

const char *kn_linreg_spec_check(const kn_linreg_spec *s)
{
    if (s->dim < 1 || s->dim > 4096)
        return "dim must be in 1..4096";
    if (!(s->h_min > 0) || !(s->h_max >= s->h_min) || !isfinite(s->h_max))
        return "need 0 < h-min <= h-max (Hessian eigenvalue range)";
    if (!(s->noise > 0) || !isfinite(s->noise))
        return "noise (label-noise variance) must be > 0";
    if ((unsigned)s->spectrum > KN_SPECTRUM_LINEAR)
        return "unknown spectrum";
    return NULL;
}

static const char *const spectrum_names[] = {"loguniform", "powerlaw", "linear"};

int kn_spectrum_parse(const char *name, kn_spectrum *out, kn_error *err)
{
    for (int i = 0; i < 3; i++)
        if (strcmp(name, spectrum_names[i]) == 0) {
            *out = (kn_spectrum)i;
            return 0;
        }
    return kn_fail(err, KN_EINVAL, "--spectrum '%s': expected loguniform, powerlaw or linear",
                   name);
}

const char *kn_spectrum_name(kn_spectrum s)
{
    return (unsigned)s <= KN_SPECTRUM_LINEAR ? spectrum_names[s] : "?";
}

const char *kn_sgd_hparams_check(const kn_sgd_hparams *hp)
{
    if (!(hp->lr > 0) || !isfinite(hp->lr))
        return "lr must be > 0";
    if (!(hp->momentum >= 0 && hp->momentum < 1))
        return "momentum must be in [0, 1)";
    if (!(hp->wd >= 0) || !isfinite(hp->wd))
        return "wd must be >= 0";
    if (!(hp->batch >= 1) || !isfinite(hp->batch))
        return "batch must be >= 1";
    return NULL;
}

void kn_linreg_free(kn_linreg *p)
{
    if (!p)
        return;
    free(p->h);
    free(p->sigma);
    free(p->theta_star);
    memset(p, 0, sizeof *p);
}

static int alloc_problem(int d, kn_linreg *out, kn_error *err)
{
    memset(out, 0, sizeof *out);
    out->d = d;
    out->h = calloc((size_t)d, sizeof(double));
    out->sigma = calloc((size_t)d * (size_t)d, sizeof(double));
    out->theta_star = calloc((size_t)d, sizeof(double));
    if (!out->h || !out->sigma || !out->theta_star) {
        kn_linreg_free(out);
        return kn_fail(err, KN_ENOMEM, "linreg: out of memory for dimension %d", d);
    }
    return 0;
}

/* A Haar-random orthogonal matrix: QR of a Gaussian matrix with the signs of R's diagonal fixed. */
static int random_rotation(int d, kn_rng *rng, double *Q, kn_error *err)
{
    double *tau = malloc((size_t)d * sizeof(double));
    if (!tau)
        return kn_fail(err, KN_ENOMEM, "linreg: out of memory");
    for (size_t i = 0; i < (size_t)d * (size_t)d; i++)
        Q[i] = kn_rng_normal(rng);
    int info = LAPACKE_dgeqrf(LAPACK_ROW_MAJOR, d, d, Q, d, tau);
    double *sign = malloc((size_t)d * sizeof(double));
    if (info != 0 || !sign) {
        free(tau);
        free(sign);
        return kn_fail(err, KN_EINVAL, "linreg: QR of the random rotation failed (info %d)", info);
    }
    for (int i = 0; i < d; i++)
        sign[i] = Q[(size_t)i * d + i] < 0 ? -1.0 : 1.0;
    info = LAPACKE_dorgqr(LAPACK_ROW_MAJOR, d, d, d, Q, d, tau);
    for (int i = 0; i < d; i++)
        for (int j = 0; j < d; j++)
            Q[(size_t)i * d + j] *= sign[j];
    free(tau);
    free(sign);
    if (info != 0)
        return kn_fail(err, KN_EINVAL, "linreg: forming the random rotation failed (info %d)", info);
    return 0;
}

int kn_linreg_create(const kn_linreg_spec *s, kn_linreg *out, kn_error *err)
{
    const char *bad = kn_linreg_spec_check(s);
    if (bad)
        return kn_fail(err, KN_EINVAL, "linreg: %s", bad);
    int d = s->dim;
    int rc = alloc_problem(d, out, err);
    if (rc)
        return rc;
    for (int i = 0; i < d; i++) {
        double u = d == 1 ? 0.0 : (double)i / (d - 1);
        switch (s->spectrum) {
        case KN_SPECTRUM_LOGUNIFORM:
            out->h[i] = s->h_min * pow(s->h_max / s->h_min, u);
            break;
        case KN_SPECTRUM_POWERLAW: /* h_max * n^-alpha, alpha chosen so the last is h_min */
        {
            double alpha = d == 1 ? 0.0 : log(s->h_max / s->h_min) / log((double)d);
            out->h[i] = s->h_max * pow((double)(d - i), -alpha);
            break;
        }
        case KN_SPECTRUM_LINEAR:
            out->h[i] = s->h_min + (s->h_max - s->h_min) * u;
            break;
        }
    }
    kn_rng rng;
    kn_rng_stream(&rng, s->seed, 0x11e6);
    for (int i = 0; i < d; i++)
        out->theta_star[i] = kn_rng_normal(&rng);
    if (s->commute) {
        for (int i = 0; i < d; i++)
            out->sigma[(size_t)i * d + i] = s->noise * out->h[i];
        out->diagonal = 1;
        return 0;
    }
    /* Sigma = sigma^2 R diag(h) R^T: same trace and spectrum as sigma^2 H, other eigenvectors. */
    double *R = malloc((size_t)d * d * sizeof(double));
    if (!R) {
        kn_linreg_free(out);
        return kn_fail(err, KN_ENOMEM, "linreg: out of memory");
    }
    rc = random_rotation(d, &rng, R, err);
    if (rc) {
        free(R);
        kn_linreg_free(out);
        return rc;
    }
    for (int i = 0; i < d; i++)
        for (int j = 0; j < d; j++) {
            double acc = 0;
            for (int l = 0; l < d; l++)
                acc += R[(size_t)i * d + l] * out->h[l] * R[(size_t)j * d + l];
            out->sigma[(size_t)i * d + j] = s->noise * acc;
        }
    free(R);
    out->diagonal = d == 1;
    return 0;
}

int kn_linreg_from_matrices(int d, const double *h, const double *sigma, const double *theta_star,
                            kn_linreg *out, kn_error *err)
{
    if (d < 1 || d > 4096)
        return kn_fail(err, KN_EINVAL, "linreg: dimension %d out of range 1..4096", d);
    for (int i = 0; i < d; i++)
        if (!(h[i] > 0) || !isfinite(h[i]))
            return kn_fail(err, KN_EINVAL, "linreg: Hessian eigenvalue h[%d] = %g must be > 0", i,
                           h[i]);
    int rc = alloc_problem(d, out, err);
    if (rc)
        return rc;
    memcpy(out->h, h, (size_t)d * sizeof(double));
    memcpy(out->sigma, sigma, (size_t)d * d * sizeof(double));
    if (theta_star)
        memcpy(out->theta_star, theta_star, (size_t)d * sizeof(double));
    int diagonal = 1;
    for (int i = 0; i < d; i++)
        for (int j = 0; j < d; j++) {
            double x = sigma[(size_t)i * d + j];
            if (!isfinite(x) || x != sigma[(size_t)j * d + i]) {
                kn_linreg_free(out);
                return kn_fail(err, KN_EINVAL, "linreg: Sigma[%d][%d] is not finite or symmetric",
                               i, j);
            }
            if (i != j && x != 0)
                diagonal = 0;
        }
    out->diagonal = diagonal;
    return 0;
}

double kn_linreg_trace_sigma(const kn_linreg *p)
{
    double t = 0;
    for (int i = 0; i < p->d; i++)
        t += p->sigma[(size_t)i * p->d + i];
    return t;
}
