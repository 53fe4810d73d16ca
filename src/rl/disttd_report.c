/* Verdicts and result files for `kenyon rl disttd`: cells.csv, analysis.csv, utility.csv,
 * decoded.csv, summary.json, and the plots (learned values vs tau with the analytic curves,
 * asymmetry vs reversal point, Dabney et al.'s analysis panels: tuning curves, reversal points
 * half A vs half B, alpha+ vs alpha-; decoded vs true distribution as CDFs). */
#include <gsl/gsl_cdf.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kenyon/disttd.h"
#include "kenyon/plot.h"
#include "kenyon/plot_figures.h"
#include "rl/rl_output.h"

/* One-sided p-value of a Pearson correlation r > 0 over n pairs (Student t, n - 2 d.f.). */
static double corr_p_positive(double r, int n)
{
    if (!isfinite(r) || n < 3)
        return NAN;
    if (r >= 1.0)
        return 0.0;
    return gsl_cdf_tdist_Q(r * sqrt((n - 2) / (1.0 - r * r)), n - 2.0);
}

/* Two-sided p-value of a Pearson correlation r != 0 over n pairs. */
static double corr_p_two_sided(double r, int n)
{
    if (!isfinite(r) || n < 3)
        return NAN;
    if (fabs(r) >= 1.0)
        return 0.0;
    return 2.0 * gsl_cdf_tdist_Q(fabs(r) * sqrt((n - 2) / (1.0 - r * r)), n - 2.0);
}

/* Every verdict is a test with a stated level: cells against their analytic fixed points in
 * units of their own measured standard errors (batch means), Bonferroni over the cells (family-
 * wise level KN_DISTTD_LEVEL_CELLS); the analysis correlations by their p-values over the number
 * of cells. The decoding checks use exact expectiles (no sampling noise): their tolerances are the
 * optimiser's, not statistical. */
#define KN_DISTTD_LEVEL_CELLS 0.01
#define KN_DISTTD_LEVEL_CORR 0.001

int kn_disttd_checks(const kn_disttd_experiment_params *p, const kn_disttd_experiment *e,
                     kn_rl_check *c)
{
    int n = 0;
    char what[112];
    if (p->default_task) {
        const kn_disttd_accuracy *a = &e->acc_expectile[0];
        snprintf(what, sizeof what, "expectile cells = analytic: p of max |z| %.2f over %d cells "
                 "(s.e. from %d batches of %d steps)", a->max_abs_z, a->n_z, KN_DISTTD_BATCHES,
                 p->cells.average_last / KN_DISTTD_BATCHES);
        kn_rl_check_set(&c[n++], what, a->p_max_z, KN_DISTTD_LEVEL_CELLS, ">",
                        a->p_max_z > KN_DISTTD_LEVEL_CELLS);
        double pc = corr_p_positive(a->corr_tau_value_included, a->n_included);
        snprintf(what, sizeof what, "expectile cells: p of Pearson(tau, value) = %.4f > 0 (%d "
                 "cells)", a->corr_tau_value_included, a->n_included);
        kn_rl_check_set(&c[n++], what, pc, KN_DISTTD_LEVEL_CORR, "<", pc < KN_DISTTD_LEVEL_CORR);
        const kn_disttd_accuracy *q = &e->acc_classical[0];
        snprintf(what, sizeof what, "classical TD cells = mean %.4g: p of max |z| %.2f over %d "
                 "cells", kn_reward_dist_mean(&p->task.cue[0]), q->max_abs_z, q->n_z);
        kn_rl_check_set(&c[n++], what, q->p_max_z, KN_DISTTD_LEVEL_CELLS, ">",
                        q->p_max_z > KN_DISTTD_LEVEL_CELLS);
    }
    if (e->analysed) {
        const int T = p->trials_per_size;
        const kn_rpe_analysis *d = &e->dist, *z = &e->null;
        double pv = corr_p_positive(d->corr_reversal_halves, d->n_cells);
        snprintf(what, sizeof what, "distributional: p of split-half reversal r = %.3f > 0 (%d "
                 "cells, %d trials/size)", d->corr_reversal_halves, d->n_cells, T);
        kn_rl_check_set(&c[n++], what, pv, KN_DISTTD_LEVEL_CORR, "<", pv < KN_DISTTD_LEVEL_CORR);
        pv = corr_p_positive(d->corr_asymmetry_reversal, d->n_valid);
        snprintf(what, sizeof what, "distributional: p of asymmetry-reversal r = %.3f > 0 (%d "
                 "cells, %d trials/size)", d->corr_asymmetry_reversal, d->n_valid, T);
        kn_rl_check_set(&c[n++], what, pv, KN_DISTTD_LEVEL_CORR, "<", pv < KN_DISTTD_LEVEL_CORR);
        pv = corr_p_two_sided(z->corr_reversal_halves, z->n_cells);
        snprintf(what, sizeof what, "classical + noise: p of split-half reversal r = %.3f != 0 "
                 "(%d cells)", z->corr_reversal_halves, z->n_cells);
        kn_rl_check_set(&c[n++], what, pv, KN_DISTTD_LEVEL_CORR, ">", pv > KN_DISTTD_LEVEL_CORR);
        pv = corr_p_two_sided(z->corr_asymmetry_reversal, z->n_valid);
        snprintf(what, sizeof what, "classical + noise: p of asymmetry-reversal r = %.3f != 0 "
                 "(%d cells)", z->corr_asymmetry_reversal, z->n_valid);
        kn_rl_check_set(&c[n++], what, pv, KN_DISTTD_LEVEL_CORR, ">", pv > KN_DISTTD_LEVEL_CORR);
    }
    for (int k = 0; k < p->task.n_cues && n + 3 <= KN_DISTTD_MAX_CHECKS; k++) {
        if (!isfinite(e->decode_loss[k]))
            continue;
        const kn_reward_dist *d = &p->task.cue[k];
        double mean = kn_reward_dist_mean(d);
        snprintf(what, sizeof what, "decoding cue %d from %d exact expectiles: loss", k + 1,
                 e->n_decode_cells);
        kn_rl_check_set(&c[n++], what, e->decode_loss[k], 1e-4, "<", e->decode_loss[k] < 1e-4);
        snprintf(what, sizeof what, "decoding cue %d: decoded mean vs true mean", k + 1);
        kn_rl_check_set(&c[n++], what, e->decoded_mean[k], mean, "within 1% of",
                        fabs(e->decoded_mean[k] - mean) <= 0.01 * fabs(mean));
        if (p->default_task) {
            snprintf(what, sizeof what, "decoding cue %d: Wasserstein-1 to the truth", k + 1);
            kn_rl_check_set(&c[n++], what, e->w1_decoded[k], 0.5, "<", e->w1_decoded[k] < 0.5);
        }
    }
    return n;
}

static int write_cells(const char *dir, const kn_disttd_experiment *e, kn_error *err)
{
    kn_atomic_file af;
    int rc = kn_rl_csv_open(&af, dir, "cells.csv", err);
    if (rc)
        return rc;
    const int C = e->expectile.n_cues;
    fprintf(af.fp, "cell,alpha_plus,alpha_minus,tau,classical_alpha");
    for (int c = 1; c <= C; c++)
        fprintf(af.fp,
                ",expectile_learned_%d,expectile_analytic_%d,expectile_window_%d,"
                "quantile_learned_%d,quantile_analytic_%d,classical_learned_%d",
                c, c, c, c, c, c);
    fprintf(af.fp, "\n");
    for (int i = 0; i < e->expectile.n_cells; i++) {
        fprintf(af.fp, "%d,%.9g,%.9g,%.9g,%.9g", i + 1, e->expectile.alpha_plus[i],
                e->expectile.alpha_minus[i], e->expectile.tau[i], e->classical.alpha_plus[i]);
        for (int c = 0; c < C; c++) {
            size_t k = (size_t)i * C + c;
            fprintf(af.fp, ",%.9g,%.9g,%.9g,%.9g,%.9g,%.9g", e->expectile.values[k],
                    e->expectile.analytic[k], e->expectile.window_analytic[k],
                    e->quantile.values[k], e->quantile.analytic[k], e->classical.values[k]);
        }
        fprintf(af.fp, "\n");
    }
    return kn_rl_csv_commit(&af, err);
}

static void analysis_rows(FILE *fp, const char *pop, const kn_rpe_analysis *a, const double *tau,
                          const double *rev_true)
{
    for (int i = 0; i < a->n_cells; i++)
        fprintf(fp, "%s,%d,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g\n", pop, i + 1, tau[i], rev_true[i],
                a->reversal_a[i], a->reversal_b[i], a->slope_pos[i], a->slope_neg[i],
                a->asymmetry[i]);
}

static int write_analysis(const char *dir, const kn_disttd_experiment_params *p,
                          const kn_disttd_experiment *e, kn_error *err)
{
    kn_atomic_file af;
    int rc = kn_rl_csv_open(&af, dir, "analysis.csv", err);
    if (rc)
        return rc;
    fprintf(af.fp, "population,cell,tau,simulated_reversal,reversal_half_a,reversal_half_b,"
                   "slope_pos_half_b,slope_neg_half_b,asymmetry_half_b\n");
    analysis_rows(af.fp, "distributional", &e->dist, e->expectile.tau, e->rev_true_dist);
    analysis_rows(af.fp, "classical", &e->null, e->classical.tau, e->rev_true_null);
    rc = kn_rl_csv_commit(&af, err);
    if (rc)
        return rc;
    rc = kn_rl_csv_open(&af, dir, "utility.csv", err);
    if (rc)
        return rc;
    fprintf(af.fp, "size,utility_dist_half_a,utility_dist_half_b,utility_classical_half_a,"
                   "utility_classical_half_b\n");
    for (int k = 0; k < e->dist.n_sizes; k++)
        fprintf(af.fp, "%.9g,%.9g,%.9g,%.9g,%.9g\n", p->task.cue[0].sizes[k], e->dist.utility_a[k],
                e->dist.utility_b[k], e->null.utility_a[k], e->null.utility_b[k]);
    return kn_rl_csv_commit(&af, err);
}

static int write_decoded(const char *dir, const kn_disttd_experiment_params *p,
                         const kn_disttd_experiment *e, kn_error *err)
{
    kn_atomic_file af;
    int rc = kn_rl_csv_open(&af, dir, "decoded.csv", err);
    if (rc)
        return rc;
    fprintf(af.fp, "source,cue,sample,value\n");
    for (int c = 0; c < p->task.n_cues; c++)
        for (int j = 0; j < e->n_samples; j++)
            fprintf(af.fp, "exact_expectiles,%d,%d,%.9g\n", c + 1, j + 1,
                    e->decoded[(size_t)c * e->n_samples + j]);
    if (isfinite(e->decode_learned_loss))
        for (int j = 0; j < e->n_samples; j++)
            fprintf(af.fp, "learned_cells,1,%d,%.9g\n", j + 1, e->decoded_learned[j]);
    return kn_rl_csv_commit(&af, err);
}

static void json_accuracy(cJSON *obj, const char *name, const kn_disttd_accuracy *a)
{
    cJSON *o = cJSON_AddObjectToObject(obj, name);
    cJSON_AddNumberToObject(o, "n_included", a->n_included);
    cJSON_AddItemToObject(o, "median_rel_err", kn_rl_json_number(a->median_rel_err));
    cJSON_AddItemToObject(o, "max_rel_err", kn_rl_json_number(a->max_rel_err));
    cJSON_AddItemToObject(o, "median_rel_err_vs_window_rewards",
                          kn_rl_json_number(a->median_rel_err_window));
    cJSON_AddItemToObject(o, "max_rel_err_vs_window_rewards",
                          kn_rl_json_number(a->max_rel_err_window));
    cJSON_AddItemToObject(o, "pearson_tau_value_included",
                          kn_rl_json_number(a->corr_tau_value_included));
    cJSON_AddItemToObject(o, "pearson_tau_value_all", kn_rl_json_number(a->corr_tau_value));
    cJSON_AddItemToObject(o, "spearman_tau_value_all", kn_rl_json_number(a->spearman_tau_value));
    cJSON_AddItemToObject(o, "value_min_included", kn_rl_json_number(a->value_min));
    cJSON_AddItemToObject(o, "value_max_included", kn_rl_json_number(a->value_max));
    /* in units of each cell's measured standard error (batch means of the window) */
    cJSON_AddNumberToObject(o, "n_z", a->n_z);
    cJSON_AddItemToObject(o, "max_abs_z", kn_rl_json_number(a->max_abs_z));
    cJSON_AddItemToObject(o, "median_abs_z", kn_rl_json_number(a->median_abs_z));
    cJSON_AddItemToObject(o, "p_max_z_bonferroni", kn_rl_json_number(a->p_max_z));

}

static void json_analysis(cJSON *obj, const char *name, const kn_rpe_analysis *a)
{
    cJSON *o = cJSON_AddObjectToObject(obj, name);
    cJSON_AddItemToObject(o, "corr_reversal_halves", kn_rl_json_number(a->corr_reversal_halves));
    cJSON_AddItemToObject(o, "corr_asymmetry_reversal",
                          kn_rl_json_number(a->corr_asymmetry_reversal));
    cJSON_AddNumberToObject(o, "n_valid_asymmetry", a->n_valid);
}

static int write_json(const char *dir, const kn_disttd_experiment_params *p,
                      const kn_disttd_experiment *e, const kn_rl_check *checks, int n_checks,
                      kn_error *err)
{
    cJSON *root = cJSON_CreateObject();
    if (!root)
        return kn_fail(err, KN_ENOMEM, "summary.json: out of memory");
    cJSON_AddStringToObject(root, "command", "rl disttd");
    cJSON *par = cJSON_AddObjectToObject(root, "params");
    cJSON_AddNumberToObject(par, "cells", p->cells.n_cells);
    cJSON_AddNumberToObject(par, "rate_min", p->cells.rate_min);
    cJSON_AddNumberToObject(par, "rate_max", p->cells.rate_max);
    cJSON_AddBoolToObject(par, "given_rates", p->cells.alpha_plus != NULL);
    cJSON_AddNumberToObject(par, "steps", p->cells.steps);
    cJSON_AddNumberToObject(par, "average_last", p->cells.average_last);
    cJSON_AddNumberToObject(par, "v_init", p->cells.v_init);
    cJSON_AddNumberToObject(par, "seed", (double)p->cells.seed);
    cJSON_AddNumberToObject(par, "min_rate", p->min_rate);
    cJSON_AddBoolToObject(par, "analyse", p->analyse);
    cJSON_AddNumberToObject(par, "noise", p->noise_sd);
    cJSON_AddNumberToObject(par, "trials_per_size", p->trials_per_size);
    cJSON_AddStringToObject(par, "recording_values", p->recording_learned ? "learned" : "analytic");
    cJSON_AddNumberToObject(par, "decode_cells", p->decode_cells);
    cJSON_AddNumberToObject(par, "decode_samples", p->decode.n_samples);
    cJSON_AddStringToObject(par, "decode_minimiser", "GSL vector_bfgs2, z = mid + half sin(y)");
    cJSON *cues = cJSON_AddArrayToObject(par, "task_cues");
    for (int c = 0; c < p->task.n_cues; c++) {
        const kn_reward_dist *d = &p->task.cue[c];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddItemToObject(o, "sizes", cJSON_CreateDoubleArray(d->sizes, d->n));
        cJSON_AddItemToObject(o, "probs", cJSON_CreateDoubleArray(d->probs, d->n));
        cJSON_AddNumberToObject(o, "mean", kn_reward_dist_mean(d));
        cJSON_AddNumberToObject(o, "sd", kn_reward_dist_sd(d));
        cJSON_AddItemToArray(cues, o);
    }
    cJSON *res = cJSON_AddArrayToObject(root, "cues");
    for (int c = 0; c < p->task.n_cues; c++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddItemToArray(res, o);
        json_accuracy(o, "expectile", &e->acc_expectile[c]);
        json_accuracy(o, "quantile", &e->acc_quantile[c]);
        json_accuracy(o, "classical", &e->acc_classical[c]);
        cJSON *dec = cJSON_AddObjectToObject(o, "decoding_exact_expectiles");
        cJSON_AddItemToObject(dec, "loss", kn_rl_json_number(e->decode_loss[c]));
        cJSON_AddItemToObject(dec, "mean", kn_rl_json_number(e->decoded_mean[c]));
        cJSON_AddItemToObject(dec, "w1_decoded", kn_rl_json_number(e->w1_decoded[c]));
        cJSON_AddItemToObject(dec, "w1_gaussian", kn_rl_json_number(e->w1_normal[c]));
        cJSON_AddItemToObject(dec, "w1_gaussian_clipped_to_range",
                              kn_rl_json_number(e->w1_normal_clipped[c]));
        cJSON_AddItemToObject(dec, "w1_uniform_on_range", kn_rl_json_number(e->w1_uniform[c]));
    }
    cJSON *dl = cJSON_AddObjectToObject(root, "decoding_learned_cells_cue1");
    cJSON_AddNumberToObject(dl, "cells", e->n_learned_cells_used);
    cJSON_AddItemToObject(dl, "loss", kn_rl_json_number(e->decode_learned_loss));
    cJSON_AddItemToObject(dl, "mean", kn_rl_json_number(e->decoded_learned_mean));
    cJSON_AddItemToObject(dl, "w1_decoded", kn_rl_json_number(e->w1_decoded_learned));
    if (e->analysed) {
        cJSON *an = cJSON_AddObjectToObject(root, "analysis");
        json_analysis(an, "distributional", &e->dist);
        json_analysis(an, "classical", &e->null);
        json_analysis(an, "distributional_slopes_around_half_a", &e->dist_other_origin);
        json_analysis(an, "classical_slopes_around_half_a", &e->null_other_origin);
    }
    cJSON *t = cJSON_AddObjectToObject(root, "seconds");
    cJSON_AddNumberToObject(t, "train", e->seconds_train);
    cJSON_AddNumberToObject(t, "analysis", e->seconds_analysis);
    cJSON_AddNumberToObject(t, "decode", e->seconds_decode);
    kn_rl_checks_json(root, checks, n_checks);
    int rc = kn_rl_json_write(dir, root, err);
    cJSON_Delete(root);
    return rc;
}

/* Step-function coordinates of a CDF with atoms x (sorted) and weights w, from x0 to x1. */
static int step_cdf(const double *x, const double *w, int n, double x0, double x1, double **ox,
                    double **oy, size_t *on)
{
    size_t m = 2 * (size_t)n + 2;
    *ox = malloc(m * sizeof **ox);
    *oy = malloc(m * sizeof **oy);
    if (!*ox || !*oy)
        return -1;
    size_t k = 0;
    double F = 0.0;
    (*ox)[k] = x0;
    (*oy)[k++] = 0.0;
    for (int i = 0; i < n; i++) {
        (*ox)[k] = x[i];
        (*oy)[k++] = F;
        F += w ? w[i] : 1.0 / n;
        (*ox)[k] = x[i];
        (*oy)[k++] = F;
    }
    (*ox)[k] = x1;
    (*oy)[k++] = F;
    *on = k;
    return 0;
}

static int plot_decoded(const char *path, const kn_disttd_experiment_params *p,
                        const kn_disttd_experiment *e, kn_error *err)
{
    const kn_reward_dist *d = &p->task.cue[0];
    double lo = d->sizes[0], hi = d->sizes[d->n - 1], pad = 0.05 * (hi - lo);
    double mu = kn_reward_dist_mean(d), sd = kn_reward_dist_sd(d);
    enum { G = 300 };
    double gx[G], gn[G], gu[G];
    for (int i = 0; i < G; i++) {
        gx[i] = lo - pad + (hi - lo + 2 * pad) * i / (G - 1);
        gn[i] = gsl_cdf_gaussian_P(gx[i] - mu, sd);
        gu[i] = gx[i] <= lo ? 0.0 : gx[i] >= hi ? 1.0 : (gx[i] - lo) / (hi - lo);
    }
    double *tx = NULL, *ty = NULL, *dx = NULL, *dy = NULL, *lx = NULL, *ly = NULL;
    size_t tn = 0, dn = 0, ln = 0;
    int rc = 0;
    if (step_cdf(d->sizes, d->probs, d->n, lo - pad, hi + pad, &tx, &ty, &tn) ||
        step_cdf(e->decoded, NULL, e->n_samples, lo - pad, hi + pad, &dx, &dy, &dn) ||
        step_cdf(e->decoded_learned, NULL, e->n_samples, lo - pad, hi + pad, &lx, &ly, &ln)) {
        rc = kn_fail(err, KN_ENOMEM, "%s: out of memory", path);
    } else {
        kn_plot_series s[5];
        size_t ns = 0;
        s[ns++] = (kn_plot_series){"true distribution", tx, ty, tn, NULL, NULL, KN_PLOT_LINE};
        s[ns++] = (kn_plot_series){"decoded (exact expectiles)", dx, dy, dn, NULL, NULL,
                                   KN_PLOT_LINE};
        if (isfinite(e->decode_learned_loss))
            s[ns++] = (kn_plot_series){"decoded (learned cells)", lx, ly, ln, NULL, NULL,
                                       KN_PLOT_LINE};
        if (sd > 0.0)
            s[ns++] = (kn_plot_series){"Gaussian (same mean, sd)", gx, gn, G, NULL, NULL,
                                       KN_PLOT_DASHED};
        s[ns++] = (kn_plot_series){"uniform on the range", gx, gu, G, NULL, NULL, KN_PLOT_DASHED};
        kn_plot_axes ax = {0};
        ax.title = "Decoded vs true reward distribution (CDF)";
        ax.xlabel = "reward";
        ax.ylabel = "P(reward <= x)";
        rc = kn_plot_lines(path, &ax, s, ns, err);
    }
    free(tx);
    free(ty);
    free(dx);
    free(dy);
    free(lx);
    free(ly);
    return rc;
}

static int plot_values(const char *path, const kn_disttd_experiment_params *p,
                       const kn_disttd_experiment *e, kn_error *err)
{
    const kn_reward_dist *d = &p->task.cue[0];
    enum { G = 199 };
    double gt[G], ge[G], gq[G];
    for (int i = 0; i < G; i++) {
        gt[i] = 0.005 * (i + 1);
        ge[i] = kn_expectile(d, gt[i]);
        gq[i] = kn_quantile(d, gt[i]);
    }
    const int N = e->expectile.n_cells, C = e->expectile.n_cues;
    double *ve = malloc((size_t)N * sizeof *ve), *vq = malloc((size_t)N * sizeof *vq);
    double *vc = malloc((size_t)N * sizeof *vc), *tc = malloc((size_t)N * sizeof *tc);
    int rc = 0;
    if (!ve || !vq || !vc || !tc) {
        rc = kn_fail(err, KN_ENOMEM, "%s: out of memory", path);
    } else {
        for (int i = 0; i < N; i++) {
            ve[i] = e->expectile.values[(size_t)i * C];
            vq[i] = e->quantile.values[(size_t)i * C];
            vc[i] = e->classical.values[(size_t)i * C];
            tc[i] = e->classical.tau[i];
        }
        kn_plot_series s[5] = {
            {"analytic expectile", gt, ge, G, NULL, NULL, KN_PLOT_LINE},
            {"learned (expectile rule)", e->expectile.tau, ve, (size_t)N, NULL, NULL,
             KN_PLOT_POINTS},
            {"analytic quantile", gt, gq, G, NULL, NULL, KN_PLOT_DASHED},
            {"learned (quantile rule)", e->quantile.tau, vq, (size_t)N, NULL, NULL,
             KN_PLOT_POINTS},
            {"classical TD (tau = 0.5)", tc, vc, (size_t)N, NULL, NULL, KN_PLOT_POINTS},
        };
        kn_plot_axes ax = {0};
        ax.title = "Learned values vs asymmetry tau";
        ax.xlabel = "tau = alpha+ / (alpha+ + alpha-)";
        ax.ylabel = "value (reversal point)";
        rc = kn_plot_lines(path, &ax, s, 5, err);
    }
    free(ve);
    free(vq);
    free(vc);
    free(tc);
    return rc;
}

static int plot_asymmetry(const char *path, const kn_disttd_experiment *e, kn_error *err)
{
    const int N = e->dist.n_cells;
    double *x = malloc(2 * (size_t)N * sizeof *x), *y = malloc(2 * (size_t)N * sizeof *y);
    if (!x || !y) {
        free(x);
        free(y);
        return kn_fail(err, KN_ENOMEM, "%s: out of memory", path);
    }
    size_t nd = 0, nn = 0;
    for (int i = 0; i < N; i++)
        if (isfinite(e->dist.asymmetry[i])) {
            x[nd] = e->dist.reversal_a[i];
            y[nd++] = e->dist.asymmetry[i];
        }
    for (int i = 0; i < N; i++)
        if (isfinite(e->null.asymmetry[i])) {
            x[nd + nn] = e->null.reversal_a[i];
            y[nd + nn++] = e->null.asymmetry[i];
        }
    kn_plot_series s[2] = {
        {"distributional TD + noise", x, y, nd, NULL, NULL, KN_PLOT_POINTS},
        {"classical TD + noise", x + nd, y + nd, nn, NULL, NULL, KN_PLOT_POINTS},
    };
    kn_plot_axes ax = {0};
    ax.title = "Asymmetry (half B) vs reversal point (half A)";
    ax.xlabel = "reversal point (utility axis, half A)";
    ax.ylabel = "asymmetry alpha+ / (alpha+ + alpha-)";
    int rc = kn_plot_lines(path, &ax, s, 2, err);
    free(x);
    free(y);
    return rc;
}

/* Indices of n_pick cells spread over the range of tau (at its quantiles (2j+1)/(2 n_pick)). */
static int pick_cells(const double *tau, int N, int *pick, int n_pick)
{
    int *order = malloc((size_t)N * sizeof *order);
    if (!order)
        return 0;
    for (int i = 0; i < N; i++)
        order[i] = i;
    for (int i = 1; i < N; i++) { /* insertion sort by tau: N is a few hundred */
        int v = order[i], j = i - 1;
        while (j >= 0 && tau[order[j]] > tau[v]) {
            order[j + 1] = order[j];
            j--;
        }
        order[j + 1] = v;
    }
    int n = N < n_pick ? N : n_pick;
    for (int j = 0; j < n; j++)
        pick[j] = order[(int)((2.0 * j + 1) / (2.0 * n) * N)];
    free(order);
    return n;
}

/* Dabney et al.'s analysis figures in one page: tuning curves (mean response vs reward size) of
 * cells spread over tau, distributional and classical; reversal points of half A vs half B; and
 * the estimated alpha+ vs alpha- (half B slopes above and below the reversal point). */
static int plot_analysis(const char *path, const kn_disttd_experiment_params *p,
                         const kn_disttd_experiment *e, kn_error *err)
{
    enum { PICK = 6 };
    const int N = e->dist.n_cells, K = e->dist.n_sizes;
    const double *sizes = p->task.cue[0].sizes;
    double *buf = malloc((size_t)(8 * N + 2 * PICK * K) * sizeof *buf);
    if (!buf)
        return kn_fail(err, KN_ENOMEM, "%s: out of memory", path);
    kn_plot_series tune[2][PICK], rev[2], slope[2];
    char names[2][PICK][32];
    const kn_disttd_result *pops[2] = {&e->expectile, &e->classical};
    const double *tuning[2] = {e->tuning_dist, e->tuning_null};
    double *tb = buf + 8 * (size_t)N;
    int np[2];
    for (int q = 0; q < 2; q++) {
        int pick[PICK];
        np[q] = pick_cells(pops[q]->tau, N, pick, PICK);
        for (int j = 0; j < np[q]; j++) {
            double *y = tb + ((size_t)q * PICK + j) * K;
            for (int k = 0; k < K; k++)
                y[k] = tuning[q][(size_t)pick[j] * K + k];
            /* classical cells all have tau 0.5: one legend entry for them */
            if (q == 0)
                snprintf(names[q][j], sizeof names[q][j], "tau %.2f", pops[q]->tau[pick[j]]);
            else
                snprintf(names[q][j], sizeof names[q][j], "%d cells, tau 0.5", np[q]);
            tune[q][j] = (kn_plot_series){q == 0 || j == 0 ? names[q][j] : NULL, sizes, y,
                                          (size_t)K, NULL, NULL, KN_PLOT_LINE_POINTS};
        }
    }
    const kn_rpe_analysis *an[2] = {&e->dist, &e->null};
    static const char *const pop_names[2] = {"distributional TD", "classical TD"};
    for (int q = 0; q < 2; q++) {
        double *ra = buf + (size_t)q * 4 * N, *rb = ra + N, *sp = rb + N, *sn = sp + N;
        for (int i = 0; i < N; i++) {
            ra[i] = an[q]->reversal_a[i];
            rb[i] = an[q]->reversal_b[i];
            sp[i] = an[q]->slope_pos[i];
            sn[i] = an[q]->slope_neg[i];
        }
        rev[q] = (kn_plot_series){pop_names[q], ra, rb, (size_t)N, NULL, NULL,
                                  q ? KN_PLOT_CROSSES : KN_PLOT_OPEN_CIRCLES};
        slope[q] = (kn_plot_series){pop_names[q], sn, sp, (size_t)N, NULL, NULL,
                                    q ? KN_PLOT_CROSSES : KN_PLOT_OPEN_CIRCLES};
    }
    kn_figure_panel panels[4];
    memset(panels, 0, sizeof panels);
    static const size_t same_colour[PICK] = {0, 0, 0, 0, 0, 0};
    static const char *const tune_titles[2] = {"Distributional TD: tuning of cells",
                                               "Classical TD: tuning of cells"};
    for (int q = 0; q < 2; q++) {
        panels[q].axes.title = tune_titles[q];
        panels[q].axes.xlabel = "reward size";
        panels[q].axes.ylabel = "mean response (simulated)";
        panels[q].series = tune[q];
        panels[q].n_series = (size_t)np[q];
        panels[q].zero_line = 1;
        panels[q].legend = q == 0 ? KN_LEGEND_TOP_LEFT : KN_LEGEND_BOTTOM_RIGHT;
        panels[q].colours = q == 1 ? same_colour : NULL;
    }
    panels[2].axes.title = "Reversal points: half A vs half B";
    panels[2].axes.xlabel = "reversal point (utility axis), half A";
    panels[2].axes.ylabel = "reversal point, half B";
    panels[2].series = rev;
    panels[2].n_series = 2;
    panels[2].identity_line = 1;
    panels[2].legend = KN_LEGEND_TOP_LEFT;
    panels[3].axes.title = "Estimated alpha+ vs alpha-";
    panels[3].axes.xlabel = "alpha- (slope below the reversal point)";
    panels[3].axes.ylabel = "alpha+ (slope above)";
    panels[3].series = slope;
    panels[3].n_series = 2;
    panels[3].identity_line = 1;
    panels[3].legend = KN_LEGEND_TOP_RIGHT;
    char title[160];
    snprintf(title, sizeof title, "Distributional code in simulated recordings (%d cells, %d "
             "trials per size, noise sd %g)", N, p->trials_per_size, p->noise_sd);
    int rc = kn_figure_panels(path, title, panels, 4, 2, 1300, 1100, err);
    free(buf);
    return rc;
}

int kn_disttd_write(const char *dir, const kn_disttd_experiment_params *p,
                    const kn_disttd_experiment *e, const kn_rl_check *checks, int n_checks,
                    int plots, kn_error *err)
{
    char path[4096];
    int rc = kn_mkdirs(dir, err);
    if (!rc)
        rc = write_cells(dir, e, err);
    if (!rc && e->analysed)
        rc = write_analysis(dir, p, e, err);
    if (!rc)
        rc = write_decoded(dir, p, e, err);
    if (!rc)
        rc = write_json(dir, p, e, checks, n_checks, err);
    if (!rc && plots) {
        rc = kn_rl_path(path, sizeof path, dir, "disttd_values_vs_tau.png", err);
        if (!rc)
            rc = plot_values(path, p, e, err);
        if (!rc && e->analysed) {
            rc = kn_rl_path(path, sizeof path, dir, "disttd_asymmetry_vs_reversal.png", err);
            if (!rc)
                rc = plot_asymmetry(path, e, err);
            if (!rc)
                rc = kn_rl_path(path, sizeof path, dir, "disttd_analysis.png", err);
            if (!rc)
                rc = plot_analysis(path, p, e, err);
        }
        if (!rc && isfinite(e->decode_loss[0])) {
            rc = kn_rl_path(path, sizeof path, dir, "disttd_decoded.png", err);
            if (!rc)
                rc = plot_decoded(path, p, e, err);
        }
    }
    return rc;
}
