/* The two-step task's lagged logistic regression (Daw et al. 2011; Miller, Botvinick & Brody
 * 2017): first-stage choices regressed on the previous trials' choice, reward, transition and
 * reward x transition, with cluster-robust (by episode) standard errors, and the verdict that
 * judges an agent against the model-free and model-based baselines fitted the same way.
 *
 * The fit is a small Newton / IRLS loop written here: GSL has no logistic regression, and the
 * problem is at most 1 + 4 * 10 parameters, so the normal equations are solved with GSL's
 * Cholesky factorisation each step.
 *
 * The coefficients get a weak Gaussian prior N(0, KN_TWOSTEP_PRIOR_SD^2) (a ridge penalty; cf.
 * Gelman et al. 2008 on weakly informative priors for logistic regression): a near-greedy agent
 * (a tuned beta of 30) always stays after some trial types, which drives the plain maximum-
 * likelihood coefficients to infinity (separation). With about 100 trials per episode the
 * penalty's information (1/25 per coefficient) is under 0.1% of the data's on every coefficient
 * that the data determine, so it moves them by far less than their standard errors. */
#include "kenyon/bandit.h"

#include <gsl/gsl_blas.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_linalg.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int kn_twostep_history_init(kn_twostep_history *h, int n_trials, kn_error *err)
{
    memset(h, 0, sizeof *h);
    if (n_trials < 2 || n_trials > 100000)
        return kn_fail(err, KN_EINVAL, "two-step history: trials per episode %d not in [2, 100000]",
                       n_trials);
    h->n_trials = n_trials;
    return 0;
}

void kn_twostep_history_free(kn_twostep_history *h)
{
    if (!h)
        return;
    free(h->action);
    free(h->reward);
    free(h->common);
    memset(h, 0, sizeof *h);
}

int kn_twostep_history_add(kn_twostep_history *h, const kn_trace *tr, kn_error *err)
{
    if (tr->n_trials < h->n_trials)
        return kn_fail(err, KN_EINVAL, "two-step history: trace has %d trials, history needs %d",
                       tr->n_trials, h->n_trials);
    for (int t = 0; t < h->n_trials; t++)
        if (tr->common[t] < 0)
            return kn_fail(err, KN_EINVAL, "two-step history: trial %d of the trace has no "
                           "transition (not a two-step episode)", t + 1);
    if (h->n_episodes == h->cap) {
        int rc = kn_twostep_history_reserve(h, h->cap ? h->cap : 256, err);
        if (rc)
            return rc;
    }
    size_t base = h->n_episodes * (size_t)h->n_trials;
    for (int t = 0; t < h->n_trials; t++) {
        h->action[base + t] = tr->action[t] ? 1 : 0;
        h->reward[base + t] = tr->reward[t] ? 1 : 0;
        h->common[base + t] = tr->common[t] ? 1 : 0;
    }
    h->n_episodes++;
    return 0;
}

int kn_twostep_history_reserve(kn_twostep_history *h, size_t n_more, kn_error *err)
{
    size_t T = (size_t)h->n_trials, cap = h->n_episodes + n_more;
    if (cap <= h->cap)
        return 0;
    if (T == 0 || cap > SIZE_MAX / T)
        return kn_fail(err, KN_ENOMEM, "two-step history: %zu episodes of %zu trials overflow",
                       cap, T);
    uint8_t *a = realloc(h->action, cap * T);
    if (a)
        h->action = a;
    uint8_t *r = a ? realloc(h->reward, cap * T) : NULL;
    if (r)
        h->reward = r;
    uint8_t *c = r ? realloc(h->common, cap * T) : NULL;
    if (c)
        h->common = c;
    if (!c)
        return kn_fail(err, KN_ENOMEM, "two-step history: out of memory for %zu episodes", cap);
    h->cap = cap;
    return 0;
}

/* Regressors of trial t of episode e into x (1 + 4 lags entries); returns y (chose action 0). */
static int row_of(const kn_twostep_history *h, size_t e, int t, int lags, double *x)
{
    const size_t base = e * (size_t)h->n_trials;
    x[0] = 1.0;
    for (int l = 1; l <= lags; l++) {
        size_t i = base + (size_t)(t - l);
        double s = h->action[i] == 0 ? 1.0 : -1.0, r = h->reward[i] ? 1.0 : -1.0,
               c = h->common[i] ? 1.0 : -1.0;
        double *g = x + 1 + 4 * (l - 1);
        g[KN_TWOSTEP_CHOICE] = s;
        g[KN_TWOSTEP_REWARD] = s * r;
        g[KN_TWOSTEP_TRANSITION] = s * c;
        g[KN_TWOSTEP_INTERACTION] = s * r * c;
    }
    return h->action[base + (size_t)t] == 0;
}

static double sigmoid(double z) { return z >= 0 ? 1.0 / (1.0 + exp(-z)) : exp(z) / (1.0 + exp(z)); }

/* Index of coefficient (group g, lag l) in the parameter vector. */
static size_t idx(int g, int l) { return (size_t)(1 + 4 * (l - 1) + g); }

int kn_twostep_regress(const kn_twostep_history *h, int lags, kn_twostep_fit *fit, kn_error *err)
{
    memset(fit, 0, sizeof *fit);
    if (lags < 1 || lags > KN_TWOSTEP_MAX_LAGS)
        return kn_fail(err, KN_EINVAL, "two-step regression: lags %d not in [1, %d]", lags,
                       KN_TWOSTEP_MAX_LAGS);
    if (h->n_trials <= lags)
        return kn_fail(err, KN_EINVAL, "two-step regression: %d trials per episode leave no "
                       "trial with %d previous ones", h->n_trials, lags);
    const size_t K = (size_t)(1 + 4 * lags);
    const size_t rows = h->n_episodes * (size_t)(h->n_trials - lags);
    if (h->n_episodes < 2 || rows < 10 * K)
        return kn_fail(err, KN_EINVAL, "two-step regression: %zu episodes (%zu trials) are too "
                       "few for %zu coefficients", h->n_episodes, rows, K);
    /* GSL's default handler aborts; here every failure is returned instead. */
    gsl_error_handler_t *old = gsl_set_error_handler_off();
    gsl_matrix *H = gsl_matrix_alloc(K, K), *M = gsl_matrix_calloc(K, K);
    gsl_matrix *V = gsl_matrix_alloc(K, K);
    gsl_vector *g = gsl_vector_alloc(K), *beta = gsl_vector_calloc(K), *step = gsl_vector_alloc(K);
    gsl_vector *ge = gsl_vector_alloc(K);
    double *x = malloc(K * sizeof *x);
    int rc = 0;
    if (!H || !M || !V || !g || !beta || !step || !ge || !x) {
        rc = kn_fail(err, KN_ENOMEM, "two-step regression: out of memory");
        goto done;
    }
    int converged = 0;
    double ll = 0.0;
    for (int it = 1; it <= 100 && !converged; it++) {
        gsl_matrix_set_zero(H);
        gsl_vector_set_zero(g);
        ll = 0.0;
        for (size_t e = 0; e < h->n_episodes; e++) {
            for (int t = lags; t < h->n_trials; t++) {
                int y = row_of(h, e, t, lags, x);
                double z = 0.0;
                for (size_t k = 0; k < K; k++)
                    z += x[k] * gsl_vector_get(beta, k);
                double p = sigmoid(z), w = p * (1.0 - p), res = y - p;
                ll += y ? log(p > 1e-300 ? p : 1e-300) : log(1.0 - p > 1e-300 ? 1.0 - p : 1e-300);
                for (size_t a = 0; a < K; a++) {
                    g->data[a] += res * x[a];
                    double wa = w * x[a];
                    for (size_t b = 0; b <= a; b++)
                        H->data[a * H->tda + b] += wa * x[b];
                }
            }
        }
        const double lambda = 1.0 / (KN_TWOSTEP_PRIOR_SD * KN_TWOSTEP_PRIOR_SD);
        for (size_t a = 0; a < K; a++) {
            for (size_t b = 0; b < a; b++)
                gsl_matrix_set(H, b, a, gsl_matrix_get(H, a, b));
            double ba = gsl_vector_get(beta, a);
            ll -= 0.5 * lambda * ba * ba;
            g->data[a] -= lambda * ba;
            H->data[a * H->tda + a] += lambda;
        }
        gsl_matrix_memcpy(V, H);
        if (gsl_linalg_cholesky_decomp1(V) || gsl_linalg_cholesky_solve(V, g, step)) {
            rc = kn_fail(err, KN_ESTATE, "two-step regression: singular information matrix at "
                         "iteration %d", it);
            goto done;
        }
        double maxstep = 0.0;
        for (size_t k = 0; k < K; k++)
            maxstep = fmax(maxstep, fabs(gsl_vector_get(step, k)));
        if (maxstep > 5.0) /* damp a wild Newton step */
            gsl_vector_scale(step, 5.0 / maxstep);
        gsl_vector_add(beta, step);
        fit->iterations = it;
        converged = maxstep < 1e-9;
    }
    if (!converged) {
        rc = kn_fail(err, KN_ESTATE, "two-step regression: no convergence in 100 iterations");
        goto done;
    }
    /* Sandwich: V = H^-1 (sum over episodes of g_e g_e^T) H^-1 * G / (G - 1), H the penalised
     * information at the estimate (the last pass computed it at the previous beta, which differs
     * by < 1e-9), g_e the data score of episode e. */
    for (size_t e = 0; e < h->n_episodes; e++) {
        gsl_vector_set_zero(ge);
        for (int t = lags; t < h->n_trials; t++) {
            int y = row_of(h, e, t, lags, x);
            double z = 0.0;
            for (size_t k = 0; k < K; k++)
                z += x[k] * gsl_vector_get(beta, k);
            double res = y - sigmoid(z);
            for (size_t k = 0; k < K; k++)
                ge->data[k] += res * x[k];
        }
        gsl_blas_dger(1.0, ge, ge, M);
    }
    gsl_matrix_memcpy(V, H);
    int bad = gsl_linalg_cholesky_decomp1(V) || gsl_linalg_cholesky_invert(V);
    if (bad) {
        rc = kn_fail(err, KN_ESTATE, "two-step regression: information matrix not invertible");
        goto done;
    }
    /* V now holds H^-1; cov = H^-1 M H^-1. */
    gsl_matrix *T1 = gsl_matrix_alloc(K, K), *C = gsl_matrix_alloc(K, K);
    if (!T1 || !C) {
        gsl_matrix_free(T1);
        gsl_matrix_free(C);
        rc = kn_fail(err, KN_ENOMEM, "two-step regression: out of memory");
        goto done;
    }
    gsl_blas_dgemm(CblasNoTrans, CblasNoTrans, 1.0, V, M, 0.0, T1);
    gsl_blas_dgemm(CblasNoTrans, CblasNoTrans, 1.0, T1, V, 0.0, C);
    double G = (double)h->n_episodes;
    gsl_matrix_scale(C, G / (G - 1.0));

    fit->lags = lags;
    fit->n_rows = rows;
    fit->n_episodes = h->n_episodes;
    fit->log_likelihood = ll;
    fit->intercept = gsl_vector_get(beta, 0);
    fit->intercept_se = sqrt(gsl_matrix_get(C, 0, 0));
    for (int gr = 0; gr < KN_TWOSTEP_GROUPS; gr++)
        for (int l = 1; l <= lags; l++) {
            fit->coef[gr][l - 1] = gsl_vector_get(beta, idx(gr, l));
            fit->se[gr][l - 1] = sqrt(gsl_matrix_get(C, idx(gr, l), idx(gr, l)));
        }
    /* Sums over lags and their variances w^T C w. */
    const int groups[2] = {KN_TWOSTEP_REWARD, KN_TWOSTEP_INTERACTION};
    double sum[2] = {0, 0}, var[2] = {0, 0};
    for (int q = 0; q < 2; q++)
        for (int l = 1; l <= lags; l++) {
            sum[q] += gsl_vector_get(beta, idx(groups[q], l));
            for (int m = 1; m <= lags; m++)
                var[q] += gsl_matrix_get(C, idx(groups[q], l), idx(groups[q], m));
        }
    fit->model_free = sum[0];
    fit->model_free_se = sqrt(fmax(var[0], 0.0));
    fit->model_based = sum[1];
    fit->model_based_se = sqrt(fmax(var[1], 0.0));
    double cov = 0.0;
    for (int l = 1; l <= lags; l++)
        for (int m = 1; m <= lags; m++)
            cov += gsl_matrix_get(C, idx(groups[0], l), idx(groups[1], m));
    /* share = |B| / (|F| + |B|): d/dF = -sF |B| / D^2, d/dB = sB |F| / D^2. */
    double F = sum[0], B = sum[1], D = fabs(F) + fabs(B);
    if (D > 0.0) {
        double sF = F >= 0 ? 1.0 : -1.0, sB = B >= 0 ? 1.0 : -1.0;
        double dF = -sF * fabs(B) / (D * D), dB = sB * fabs(F) / (D * D);
        fit->mb_share = fabs(B) / D;
        fit->mb_share_se = sqrt(fmax(dF * dF * var[0] + dB * dB * var[1] + 2 * dF * dB * cov, 0.0));
    } else {
        fit->mb_share = NAN;
        fit->mb_share_se = NAN;
    }
    gsl_matrix_free(T1);
    gsl_matrix_free(C);
done:
    gsl_matrix_free(H);
    gsl_matrix_free(M);
    gsl_matrix_free(V);
    gsl_vector_free(g);
    gsl_vector_free(beta);
    gsl_vector_free(step);
    gsl_vector_free(ge);
    free(x);
    gsl_set_error_handler(old);
    return rc;
}

void kn_twostep_judge(const kn_twostep_fit *fit, const kn_twostep_fit *mb_agent,
                      const kn_twostep_fit *mf_agent, kn_twostep_verdict *out)
{
    out->mb_fraction = mb_agent->model_based != 0.0 ? fit->model_based / mb_agent->model_based
                                                    : NAN;
    out->mf_fraction = mf_agent->model_free != 0.0 ? fit->model_free / mf_agent->model_free
                                                   : NAN;
    out->mb_z = fit->model_based_se > 0.0 ? fit->model_based / fit->model_based_se : NAN;
    out->threshold = 0.5 * (mb_agent->mb_share + mf_agent->mb_share);
    out->baselines_separated = mb_agent->mb_share > mf_agent->mb_share;
    out->model_based_signature =
        out->baselines_separated && fit->model_based - KN_TWOSTEP_Z95 * fit->model_based_se > 0.0 &&
        fit->mb_share - KN_TWOSTEP_Z95 * fit->mb_share_se > out->threshold;
}
