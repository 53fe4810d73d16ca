/* Simulator of SGD + momentum + weight decay (PyTorch form) on the quadratic model of linear
 * regression, in the eigenbasis of H, with Gaussian gradient noise xi ~ N(0, Sigma / S):
 *   b <- beta b + (h + lambda) a + xi,   a <- a - eta b     (a = theta - mu).
 * The gradient of L_lambda at theta is (H + lambda I)(theta - mu), so in eigen coordinates each
 * mode only sees its own stiffness k_i; modes couple only through correlated noise when Sigma does
 * not commute with H (then xi = L n with L the Cholesky factor of Sigma / S). */
#include "kenyon/dynamics.h"

#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

void kn_sgd_sim_free(kn_sgd_sim *s)
{
    if (!s)
        return;
    free(s->k);
    free(s->noise_l);
    free(s->noise_sd);
    free(s->a);
    free(s->b);
    free(s->scratch);
    memset(s, 0, sizeof *s);
}

int kn_sgd_sim_create(const kn_linreg *p, const kn_sgd_hparams *hp, kn_sgd_sim *s, kn_error *err)
{
    const char *bad = kn_sgd_hparams_check(hp);
    if (bad)
        return kn_fail(err, KN_EINVAL, "SGD hyperparameters: %s", bad);
    int d = p->d;
    memset(s, 0, sizeof *s);
    s->d = d;
    s->lr = hp->lr;
    s->momentum = hp->momentum;
    s->k = malloc((size_t)d * sizeof(double));
    s->a = calloc((size_t)d, sizeof(double));
    s->b = calloc((size_t)d, sizeof(double));
    s->scratch = malloc((size_t)d * sizeof(double));
    if (p->diagonal)
        s->noise_sd = malloc((size_t)d * sizeof(double));
    else
        s->noise_l = calloc((size_t)d * d, sizeof(double));
    if (!s->k || !s->a || !s->b || !s->scratch || (!s->noise_sd && !s->noise_l)) {
        kn_sgd_sim_free(s);
        return kn_fail(err, KN_ENOMEM, "SGD simulator: out of memory for dimension %d", d);
    }
    for (int i = 0; i < d; i++)
        s->k[i] = p->h[i] + hp->wd;
    if (p->diagonal) {
        for (int i = 0; i < d; i++) {
            double v = p->sigma[(size_t)i * d + i];
            if (!(v >= 0)) {
                kn_sgd_sim_free(s);
                return kn_fail(err, KN_EINVAL, "SGD simulator: Sigma[%d][%d] = %g < 0", i, i, v);
            }
            s->noise_sd[i] = sqrt(v / hp->batch);
        }
        return 0;
    }
    for (int i = 0; i < d; i++)
        for (int j = 0; j <= i; j++)
            s->noise_l[(size_t)i * d + j] = p->sigma[(size_t)i * d + j] / hp->batch;
    lapack_int info = LAPACKE_dpotrf(LAPACK_ROW_MAJOR, 'L', d, s->noise_l, d);
    if (info != 0) {
        kn_sgd_sim_free(s);
        return kn_fail(err, KN_EINVAL,
                       "SGD simulator: Sigma is not positive definite (Cholesky info %d)",
                       (int)info);
    }
    return 0;
}

/* Standard normals in pairs: the polar method yields two per accepted point, and
 * kn_rng_normal keeps only one (so that its state alone defines its stream). Here both are used,
 * which halves the cost of the noise, the bulk of a step. Still drawn only from kn_rng. */
static void fill_normals(kn_rng *rng, double *out, int n)
{
    int i = 0;
    while (i < n) {
        double u = 2.0 * kn_rng_uniform(rng) - 1.0, v = 2.0 * kn_rng_uniform(rng) - 1.0;
        double q = u * u + v * v;
        if (q >= 1.0 || q == 0.0)
            continue;
        double f = sqrt(-2.0 * log(q) / q);
        out[i++] = u * f;
        if (i < n)
            out[i++] = v * f;
    }
}

void kn_sgd_sim_step(kn_sgd_sim *s, kn_rng *rng)
{
    int d = s->d;
    double *n = s->scratch, *a = s->a, *b = s->b;
    const double eta = s->lr, beta = s->momentum;
    fill_normals(rng, n, d);
    if (s->noise_sd) {
        for (int i = 0; i < d; i++) {
            double bi = beta * b[i] + s->k[i] * a[i] + s->noise_sd[i] * n[i];
            b[i] = bi;
            a[i] -= eta * bi;
        }
    } else {
        /* xi = L n, computed from the last row up so n can be overwritten in place. */
        for (int i = d - 1; i >= 0; i--) {
            const double *row = s->noise_l + (size_t)i * d;
            double acc = 0;
            for (int j = 0; j <= i; j++)
                acc += row[j] * n[j];
            n[i] = acc;
        }
        for (int i = 0; i < d; i++) {
            double bi = beta * b[i] + s->k[i] * a[i] + n[i];
            b[i] = bi;
            a[i] -= eta * bi;
        }
    }
    s->step++;
}

int kn_sgd_sim_draw_stationary(kn_sgd_sim *s, const kn_linreg *p, const kn_sgd_hparams *hp,
                               kn_rng *rng, kn_error *err)
{
    int d = p->d;
    size_t n = 2 * (size_t)d;
    double *C = malloc(n * n * sizeof(double));
    double *z = malloc(n * sizeof(double));
    if (!C || !z) {
        free(C);
        free(z);
        return kn_fail(err, KN_ENOMEM, "stationary draw: out of memory");
    }
    int rc = kn_lyap_discrete(p, hp, C, err);
    if (rc == 0) {
        lapack_int info = LAPACKE_dpotrf(LAPACK_ROW_MAJOR, 'L', (lapack_int)n, C, (lapack_int)n);
        if (info != 0)
            rc = kn_fail(err, KN_EINVAL,
                         "stationary draw: covariance not positive definite (info %d)", (int)info);
    }
    if (rc == 0) {
        for (size_t i = 0; i < n; i++)
            z[i] = kn_rng_normal(rng);
        for (size_t i = n; i-- > 0;) {
            double acc = 0;
            for (size_t j = 0; j <= i; j++)
                acc += C[i * n + j] * z[j];
            z[i] = acc;
        }
        for (int i = 0; i < d; i++) {
            s->a[i] = z[i];
            s->b[i] = -z[d + i]; /* v = -b */
        }
    }
    free(C);
    free(z);
    return rc;
}
