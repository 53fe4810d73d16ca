/* Distributional TD: a population of cells with asymmetric learning rates trained on a one-step
 * reward task (expectile or sign/quantile rule; equal rates as the classical control), and the
 * comparison of the learned values with the analytic expectiles/quantiles. See kenyon/disttd.h. */
#include "kenyon/disttd.h"

#include <gsl/gsl_cdf.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kenyon/rng.h"

void kn_disttd_task_variable_magnitude(kn_disttd_task *t)
{
    memset(t, 0, sizeof *t);
    t->n_cues = 1;
    kn_reward_dist_variable_magnitude(&t->cue[0]);
}

void kn_disttd_task_probability_cues(kn_disttd_task *t, double size)
{
    static const double p[3] = {0.1, 0.5, 0.9};
    memset(t, 0, sizeof *t);
    t->n_cues = 3;
    for (int c = 0; c < 3; c++)
        kn_reward_dist_bernoulli(&t->cue[c], p[c], size, NULL);
}

void kn_disttd_params_default(kn_disttd_params *p)
{
    memset(p, 0, sizeof *p);
    p->n_cells = 151;
    p->rule = KN_DISTTD_EXPECTILE;
    p->equal_rates = 0;
    p->rate_min = 0.0;
    p->rate_max = 0.2;
    p->steps = 20000;
    p->average_last = 5000;
    p->v_init = 0.0;
    p->seed = 1;
}

int kn_disttd_params_check(const kn_disttd_params *p, const kn_disttd_task *t, kn_error *err)
{
    if (p->n_cells < 1 || p->n_cells > 10000000)
        return kn_fail(err, KN_EINVAL, "n_cells = %d: must be in [1, 1e7]", p->n_cells);
    if (p->rule != KN_DISTTD_EXPECTILE && p->rule != KN_DISTTD_QUANTILE)
        return kn_fail(err, KN_EINVAL, "rule = %d: must be expectile or quantile", (int)p->rule);
    if (!p->alpha_plus || !p->alpha_minus) {
        if (!(p->rate_min >= 0.0 && p->rate_max > p->rate_min && p->rate_max <= 1.0))
            return kn_fail(err, KN_EINVAL, "rates ~ U(%g, %g): need 0 <= min < max <= 1",
                           p->rate_min, p->rate_max);
    } else {
        for (int i = 0; i < p->n_cells; i++) {
            if (!(p->alpha_plus[i] > 0.0 && p->alpha_plus[i] <= 1.0))
                return kn_fail(err, KN_EINVAL, "alpha+ of cell %d (%g): must be in (0, 1]", i + 1,
                               p->alpha_plus[i]);
            if (!(p->alpha_minus[i] > 0.0 && p->alpha_minus[i] <= 1.0))
                return kn_fail(err, KN_EINVAL, "alpha- of cell %d (%g): must be in (0, 1]", i + 1,
                               p->alpha_minus[i]);
        }
    }
    if (p->steps < 1 || p->steps > 1000000000)
        return kn_fail(err, KN_EINVAL, "steps = %d: must be in [1, 1e9]", p->steps);
    if (p->average_last < 1 || p->average_last > p->steps)
        return kn_fail(err, KN_EINVAL, "average_last = %d: must be in [1, steps = %d]",
                       p->average_last, p->steps);
    if (!isfinite(p->v_init))
        return kn_fail(err, KN_EINVAL, "v_init = %g: must be finite", p->v_init);
    if (!t || t->n_cues < 1 || t->n_cues > KN_DISTTD_MAX_CUES)
        return kn_fail(err, KN_EINVAL, "task: %d cues, must be 1..%d", t ? t->n_cues : 0,
                       KN_DISTTD_MAX_CUES);
    for (int c = 0; c < t->n_cues; c++)
        if (t->cue[c].n < 1)
            return kn_fail(err, KN_EINVAL, "task: cue %d has an empty reward distribution", c + 1);
    return 0;
}

void kn_disttd_result_free(kn_disttd_result *r)
{
    if (!r)
        return;
    free(r->alpha_plus);
    free(r->alpha_minus);
    free(r->tau);
    free(r->values);
    free(r->analytic);
    free(r->window_analytic);
    free(r->value_se);
    memset(r, 0, sizeof *r);
}

/* A rate from U(min, max) that is never exactly 0 (a cell with a zero rate never learns). */
static double draw_rate(kn_rng *rng, double lo, double hi)
{
    double a;
    do
        a = lo + (hi - lo) * kn_rng_uniform(rng);
    while (a <= 0.0);
    return a;
}

int kn_disttd_run(const kn_disttd_params *p, const kn_disttd_task *t, kn_disttd_result *out,
                  kn_error *err)
{
    int rc = kn_disttd_params_check(p, t, err);
    if (rc)
        return rc;
    const int N = p->n_cells, C = t->n_cues;
    kn_disttd_result r;
    memset(&r, 0, sizeof r);
    r.n_cells = N;
    r.n_cues = C;
    r.rule = p->rule;
    size_t nc = (size_t)N * (size_t)C;
    r.alpha_plus = malloc((size_t)N * sizeof(double));
    r.alpha_minus = malloc((size_t)N * sizeof(double));
    r.tau = malloc((size_t)N * sizeof(double));
    r.values = calloc(nc, sizeof(double));
    r.analytic = malloc(nc * sizeof(double));
    r.window_analytic = malloc(nc * sizeof(double));
    r.value_se = malloc(nc * sizeof(double));

    double *V = malloc(nc * sizeof(double));
    /* batch means of the window: running sum of the current batch, sum and sum of squares of the
     * finished batches' means */
    double *batch = calloc(3 * nc, sizeof(double));
    /* how often each atom of each cue was drawn during the averaging window */
    double *window_count = calloc((size_t)C * KN_REWARD_DIST_MAX, sizeof(double));
    if (!r.alpha_plus || !r.alpha_minus || !r.tau || !r.values || !r.analytic ||
        !r.window_analytic || !r.value_se || !V || !window_count || !batch) {
        free(V);
        free(batch);
        free(window_count);
        kn_disttd_result_free(&r);
        return kn_fail(err, KN_ENOMEM, "disttd: out of memory for %d cells", N);
    }

    /* rates from stream 0, the reward sequence from stream 1: the same seed gives the same
     * rewards whatever the rates (so expectile, quantile and classical runs see one sequence) */
    kn_rng rate_rng, task_rng;
    kn_rng_stream(&rate_rng, p->seed, 0);
    kn_rng_stream(&task_rng, p->seed, 1);
    for (int i = 0; i < N; i++) {
        if (p->alpha_plus && p->alpha_minus) {
            r.alpha_plus[i] = p->alpha_plus[i];
            r.alpha_minus[i] = p->equal_rates ? p->alpha_plus[i] : p->alpha_minus[i];
        } else {
            r.alpha_plus[i] = draw_rate(&rate_rng, p->rate_min, p->rate_max);
            double am = draw_rate(&rate_rng, p->rate_min, p->rate_max);
            r.alpha_minus[i] = p->equal_rates ? r.alpha_plus[i] : am;
        }
        r.tau[i] = r.alpha_plus[i] / (r.alpha_plus[i] + r.alpha_minus[i]);
        for (int c = 0; c < C; c++) {
            V[(size_t)i * C + c] = p->v_init;
            r.analytic[(size_t)i * C + c] = p->rule == KN_DISTTD_EXPECTILE
                                                ? kn_expectile(&t->cue[c], r.tau[i])
                                                : kn_quantile(&t->cue[c], r.tau[i]);
        }
    }

    for (int c = 0; c < C; c++)
        r.cue_range[c] = t->cue[c].sizes[t->cue[c].n - 1] - t->cue[c].sizes[0];
    const int start_avg = p->steps - p->average_last;
    const double *ap = r.alpha_plus, *am = r.alpha_minus;
    for (int step = 0; step < p->steps; step++) {
        int c = C > 1 ? (int)kn_rng_below(&task_rng, (uint64_t)C) : 0;
        int atom = kn_reward_dist_draw_index(&t->cue[c], kn_rng_uniform(&task_rng));
        double rwd = t->cue[c].sizes[atom];
        if (step >= start_avg)
            window_count[(size_t)c * KN_REWARD_DIST_MAX + atom] += 1.0;
        if (p->rule == KN_DISTTD_EXPECTILE) {
            for (int i = 0; i < N; i++) {
                double *v = V + (size_t)i * C + c;
                double d = rwd - *v;
                *v += (d > 0.0 ? ap[i] : am[i]) * d;
            }
        } else {
            for (int i = 0; i < N; i++) {
                double *v = V + (size_t)i * C + c;
                double d = rwd - *v;
                *v += d > 0.0 ? ap[i] : d < 0.0 ? -am[i] : 0.0;
            }
        }
        if (step >= start_avg) {
            for (size_t k = 0; k < nc; k++)
                r.values[k] += V[k];
            /* batch b covers window steps [b W / B, (b + 1) W / B) */
            const long W = p->average_last, B = KN_DISTTD_BATCHES, w = step - start_avg;
            long b = w * B / W, first = b * W / B, end = (b + 1) * W / B;
            for (size_t k = 0; k < nc; k++)
                batch[k] += V[k];
            if (w + 1 == end) {
                double len = (double)(end - first);
                for (size_t k = 0; k < nc; k++) {
                    double m = batch[k] / len;
                    batch[nc + k] += m;
                    batch[2 * nc + k] += m * m;
                    batch[k] = 0.0;
                }
            }
        }
    }
    for (size_t k = 0; k < nc; k++) {
        const double B = KN_DISTTD_BATCHES;
        double m = batch[nc + k] / B, var = (batch[2 * nc + k] - B * m * m) / (B - 1.0);
        r.value_se[k] = p->average_last >= 2 * KN_DISTTD_BATCHES ? sqrt(fmax(var, 0.0) / B) : NAN;
    }
    free(batch);
    for (size_t k = 0; k < nc; k++)
        r.values[k] /= p->average_last;
    for (int c = 0; c < C; c++) {
        kn_reward_dist w;
        const double *cnt = window_count + (size_t)c * KN_REWARD_DIST_MAX;
        double total = 0.0;
        for (int k = 0; k < t->cue[c].n; k++)
            total += cnt[k];
        double probs[KN_REWARD_DIST_MAX];
        for (int k = 0; k < t->cue[c].n; k++)
            probs[k] = total > 0.0 ? cnt[k] / total : t->cue[c].probs[k];
        kn_reward_dist_set(&w, t->cue[c].sizes, probs, t->cue[c].n, NULL);
        for (int i = 0; i < N; i++)
            r.window_analytic[(size_t)i * C + c] = p->rule == KN_DISTTD_EXPECTILE
                                                       ? kn_expectile(&w, r.tau[i])
                                                       : kn_quantile(&w, r.tau[i]);
    }
    free(window_count);
    free(V);
    *out = r;
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int kn_disttd_accuracy_of(const kn_disttd_result *r, int cue, double min_rate,
                          kn_disttd_accuracy *out, kn_error *err)
{
    if (cue < 0 || cue >= r->n_cues)
        return kn_fail(err, KN_EINVAL, "cue %d: the task has %d cues", cue + 1, r->n_cues);
    const int N = r->n_cells, C = r->n_cues;
    double *rel = malloc((size_t)N * sizeof *rel);
    double *relw = malloc((size_t)N * sizeof *relw);
    double *v = malloc((size_t)N * sizeof *v);
    double *ti = malloc((size_t)N * sizeof *ti), *vi = malloc((size_t)N * sizeof *vi);
    double *az = malloc((size_t)N * sizeof *az);
    if (!rel || !relw || !v || !ti || !vi || !az) {
        free(az);
        free(rel);
        free(relw);
        free(ti);
        free(vi);
        free(v);
        return kn_fail(err, KN_ENOMEM, "disttd accuracy: out of memory");
    }
    kn_disttd_accuracy a;
    memset(&a, 0, sizeof a);
    a.value_min = HUGE_VAL;
    a.value_max = -HUGE_VAL;
    for (int i = 0; i < N; i++) {
        double learned = r->values[(size_t)i * C + cue];
        v[i] = learned;
        double lo = r->alpha_plus[i] < r->alpha_minus[i] ? r->alpha_plus[i] : r->alpha_minus[i];
        if (lo < min_rate)
            continue;
        double ref = r->analytic[(size_t)i * C + cue];
        double refw = r->window_analytic[(size_t)i * C + cue];
        ti[a.n_included] = r->tau[i];
        vi[a.n_included] = learned;
        /* the floor keeps values at or near 0 (e.g. the 0-quantile of a 10% cue) meaningful */
        double floor = fmax(0.01 * r->cue_range[cue], 1e-12);
        relw[a.n_included] = fabs(learned - refw) / fmax(fabs(refw), floor);
        rel[a.n_included++] = fabs(learned - ref) / fmax(fabs(ref), floor);
        double se = r->value_se ? r->value_se[(size_t)i * C + cue] : NAN;
        if (isfinite(se) && se > 0.0)
            az[a.n_z++] = fabs(learned - ref) / se;

        if (learned < a.value_min)
            a.value_min = learned;
        if (learned > a.value_max)
            a.value_max = learned;
    }
    if (a.n_included > 0) {
        qsort(rel, (size_t)a.n_included, sizeof *rel, cmp_double);
        int m = a.n_included;
        a.median_rel_err = m % 2 ? rel[m / 2] : 0.5 * (rel[m / 2 - 1] + rel[m / 2]);
        a.max_rel_err = rel[m - 1];
        qsort(relw, (size_t)m, sizeof *relw, cmp_double);
        a.median_rel_err_window = m % 2 ? relw[m / 2] : 0.5 * (relw[m / 2 - 1] + relw[m / 2]);
        a.max_rel_err_window = relw[m - 1];
    } else {
        a.median_rel_err = a.max_rel_err = NAN;
        a.median_rel_err_window = a.max_rel_err_window = NAN;
        a.value_min = a.value_max = NAN;
    }
    if (a.n_z > 0) {
        qsort(az, (size_t)a.n_z, sizeof *az, cmp_double);
        int m = a.n_z;
        a.median_abs_z = m % 2 ? az[m / 2] : 0.5 * (az[m / 2 - 1] + az[m / 2]);
        a.max_abs_z = az[m - 1];
        double tail = 2.0 * gsl_cdf_tdist_Q(a.max_abs_z, KN_DISTTD_BATCHES - 1.0);
        a.p_max_z = fmin(1.0, m * tail);
    } else {
        a.median_abs_z = a.max_abs_z = a.p_max_z = NAN;
    }
    a.corr_tau_value = kn_corr_pearson(r->tau, v, N);
    a.spearman_tau_value = kn_corr_spearman(r->tau, v, N);
    a.corr_tau_value_included = kn_corr_pearson(ti, vi, a.n_included);
    free(az);
    free(rel);
    free(relw);
    free(ti);
    free(vi);
    free(v);
    *out = a;
    return 0;
}
