/* Decoding (imputing) a reward distribution from (tau_i, expectile_i) pairs, as in Dabney et al.
 * (2020): find M samples whose tau_i-expectiles match, by minimising the expectile-mismatch loss.
 * Minimiser: GSL's BFGS2 (gsl_multimin_fdfminimizer_vector_bfgs2) with the analytic gradient, on
 * unconstrained y with z = mid + half sin(y), so the samples stay inside the reward range and can
 * sit exactly on its ends. The loss is piecewise quadratic (its gradient jumps where a sample
 * crosses an expectile), so each run is restarted from its own end point until it stops
 * improving, and runs start from the best of many random sample sets. */
#include "kenyon/disttd.h"

#include <gsl/gsl_errno.h>
#include <gsl/gsl_multimin.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kenyon/rng.h"

void kn_decode_params_default(kn_decode_params *p, double lo, double hi)
{
    memset(p, 0, sizeof *p);
    p->n_samples = 100;
    p->lo = lo;
    p->hi = hi;
    p->n_candidates = 2000;
    p->n_starts = 10;
    p->max_iter = 5000;
    p->seed = 1;
}

double kn_expectile_loss(const double *tau, const double *expectile, int n_cells, const double *z,
                         int m)
{
    double loss = 0.0;
    for (int i = 0; i < n_cells; i++) {
        double s = 0.0;
        for (int j = 0; j < m; j++) {
            double d = z[j] - expectile[i];
            s += (d > 0.0 ? tau[i] : 1.0 - tau[i]) * d;
        }
        s /= m;
        loss += s * s;
    }
    return loss / n_cells;
}

typedef struct decode_ctx {
    const double *tau, *e;
    int n, m;
    double mid, half;
    double *z, *mi; /* scratch: samples, per-cell mismatch */
} decode_ctx;

static void to_samples(const decode_ctx *c, const gsl_vector *y, double *z)
{
    for (int j = 0; j < c->m; j++)
        z[j] = c->mid + c->half * sin(gsl_vector_get(y, (size_t)j));
}

static double loss_f(const gsl_vector *y, void *params)
{
    decode_ctx *c = params;
    to_samples(c, y, c->z);
    return kn_expectile_loss(c->tau, c->e, c->n, c->z, c->m);
}

static void loss_fdf(const gsl_vector *y, void *params, double *f, gsl_vector *g)
{
    decode_ctx *c = params;
    to_samples(c, y, c->z);
    double loss = 0.0;
    for (int i = 0; i < c->n; i++) {
        double s = 0.0;
        for (int j = 0; j < c->m; j++) {
            double d = c->z[j] - c->e[i];
            s += (d > 0.0 ? c->tau[i] : 1.0 - c->tau[i]) * d;
        }
        c->mi[i] = s / c->m;
        loss += c->mi[i] * c->mi[i];
    }
    if (f)
        *f = loss / c->n;
    if (g) {
        const double scale = 2.0 / ((double)c->n * c->m);
        for (int j = 0; j < c->m; j++) {
            double s = 0.0;
            for (int i = 0; i < c->n; i++)
                s += c->mi[i] * (c->z[j] - c->e[i] > 0.0 ? c->tau[i] : 1.0 - c->tau[i]);
            double yj = gsl_vector_get(y, (size_t)j);
            gsl_vector_set(g, (size_t)j, scale * s * c->half * cos(yj));
        }
    }
}

static void loss_df(const gsl_vector *y, void *params, gsl_vector *g) { loss_fdf(y, params, NULL, g); }

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* One minimisation from y (updated in place); returns the final loss. */
static double minimise(decode_ctx *c, gsl_multimin_fdfminimizer *s, gsl_multimin_function_fdf *fn,
                       gsl_vector *y, int max_iter)
{
    double best = loss_f(y, c);
    for (int round = 0; round < 20 && best > 1e-14; round++) {
        gsl_multimin_fdfminimizer_set(s, fn, y, 0.05, 0.1);
        for (int it = 0; it < max_iter; it++) {
            if (gsl_multimin_fdfminimizer_iterate(s) != GSL_SUCCESS)
                break;
            if (s->f < 1e-14 || gsl_multimin_test_gradient(s->gradient, 1e-12) == GSL_SUCCESS)
                break;
        }
        double f = s->f;
        if (f < best - 1e-15 * (1.0 + best)) {
            int improved_much = f < best * 0.999;
            best = f;
            gsl_vector_memcpy(y, s->x);
            if (!improved_much)
                break;
        } else {
            break;
        }
    }
    return best;
}

int kn_expectile_decode(const double *tau, const double *expectile, int n_cells,
                        const kn_decode_params *p, double *samples, double *loss, kn_error *err)
{
    if (n_cells < 1)
        return kn_fail(err, KN_EINVAL, "decode: no cells");
    if (p->n_samples < 1 || p->n_samples > 100000)
        return kn_fail(err, KN_EINVAL, "decode: n_samples = %d must be in [1, 100000]",
                       p->n_samples);
    if (!isfinite(p->lo) || !isfinite(p->hi) || !(p->hi > p->lo))
        return kn_fail(err, KN_EINVAL, "decode: range [%g, %g] is empty", p->lo, p->hi);
    if (p->n_candidates < 1 || p->n_starts < 1 || p->n_starts > p->n_candidates ||
        p->max_iter < 1)
        return kn_fail(err, KN_EINVAL,
                       "decode: need candidates >= starts >= 1 and max_iter >= 1 (got %d, %d, %d)",
                       p->n_candidates, p->n_starts, p->max_iter);
    for (int i = 0; i < n_cells; i++)
        if (!(tau[i] > 0.0 && tau[i] < 1.0) || !isfinite(expectile[i]))
            return kn_fail(err, KN_EINVAL, "decode: cell %d: tau %g must be in (0, 1), expectile "
                                           "%g finite", i + 1, tau[i], expectile[i]);
    const int M = p->n_samples, S = p->n_starts;
    decode_ctx c = {tau, expectile, n_cells, M, 0.5 * (p->lo + p->hi), 0.5 * (p->hi - p->lo),
                    NULL, NULL};
    c.z = malloc((size_t)M * sizeof(double));
    c.mi = malloc((size_t)n_cells * sizeof(double));
    double *cand = malloc((size_t)S * M * sizeof(double)); /* the S best candidate sets */
    double *cand_loss = malloc((size_t)S * sizeof(double));
    double *z = malloc((size_t)M * sizeof(double));
    gsl_vector *y = gsl_vector_alloc((size_t)M), *best_y = gsl_vector_alloc((size_t)M);
    gsl_multimin_fdfminimizer *s =
        gsl_multimin_fdfminimizer_alloc(gsl_multimin_fdfminimizer_vector_bfgs2, (size_t)M);
    int rc = 0;
    if (!c.z || !c.mi || !cand || !cand_loss || !z || !y || !best_y || !s) {
        rc = kn_fail(err, KN_ENOMEM, "decode: out of memory for %d samples", M);
        goto done;
    }
    gsl_error_handler_t *old_handler = gsl_set_error_handler_off();

    kn_rng rng;
    kn_rng_seed(&rng, p->seed);
    int n_kept = 0;
    for (int k = 0; k < p->n_candidates; k++) {
        for (int j = 0; j < M; j++)
            z[j] = p->lo + (p->hi - p->lo) * kn_rng_uniform(&rng);
        double f = kn_expectile_loss(tau, expectile, n_cells, z, M);
        /* insert into the sorted list of the S best */
        int pos = n_kept < S ? n_kept : S - 1;
        if (n_kept == S && f >= cand_loss[S - 1])
            continue;
        while (pos > 0 && cand_loss[pos - 1] > f) {
            cand_loss[pos] = cand_loss[pos - 1];
            memcpy(cand + (size_t)pos * M, cand + (size_t)(pos - 1) * M, (size_t)M * sizeof *z);
            pos--;
        }
        cand_loss[pos] = f;
        memcpy(cand + (size_t)pos * M, z, (size_t)M * sizeof *z);
        if (n_kept < S)
            n_kept++;
    }

    gsl_multimin_function_fdf fn = {loss_f, loss_df, loss_fdf, (size_t)M, &c};
    double best = HUGE_VAL;
    for (int k = 0; k < n_kept; k++) {
        for (int j = 0; j < M; j++) {
            double u = (cand[(size_t)k * M + j] - c.mid) / c.half;
            gsl_vector_set(y, (size_t)j, asin(u < -1.0 ? -1.0 : u > 1.0 ? 1.0 : u));
        }
        double f = minimise(&c, s, &fn, y, p->max_iter);
        if (f < best) {
            best = f;
            gsl_vector_memcpy(best_y, y);
        }
    }
    to_samples(&c, best_y, samples);
    for (int j = 0; j < M; j++) /* sin can overshoot by an ulp */
        samples[j] = samples[j] < p->lo ? p->lo : samples[j] > p->hi ? p->hi : samples[j];
    qsort(samples, (size_t)M, sizeof *samples, cmp_double);
    *loss = kn_expectile_loss(tau, expectile, n_cells, samples, M);
    gsl_set_error_handler(old_handler);
done:
    if (s)
        gsl_multimin_fdfminimizer_free(s);
    if (y)
        gsl_vector_free(y);
    if (best_y)
        gsl_vector_free(best_y);
    free(c.z);
    free(c.mi);
    free(cand);
    free(cand_loss);
    free(z);
    return rc;
}
