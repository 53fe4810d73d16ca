/* Verdicts and result files for the TD(0) run (kenyon rl td): CSV tables, summary.json, and the
 * error heat map (trials x time) with a few trial slices. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kenyon/plot.h"
#include "kenyon/plot_figures.h"
#include "kenyon/td.h"
#include "rl/rl_output.h"

static int is_reference_setting(const kn_td_params *p)
{
    return p->n_states == 40 && p->cue_state == 9 && p->reward_state == 19 && p->reward == 10.0 &&
           p->reward_prob == 1.0 && p->gamma == 0.98 && p->alpha == 0.001 && p->trials == 20000;
}

int kn_td_checks(const kn_td_params *p, const kn_td_result *r, kn_rl_check *c)
{
    int n = 0;
    char what[112];
    const double rw = fabs(p->reward);
    if (p->reward_prob >= 1.0) {
        double rel = fabs(r->final_cue_error - r->limit_cue) / fmax(fabs(r->limit_cue), 1e-12);
        snprintf(what, sizeof what, "error at cue (last trial) vs limit gamma^%d r",
                 p->reward_state - p->cue_state);
        kn_rl_check_set(&c[n++], what, r->final_cue_error, r->limit_cue, "within 1% of",
                        rel < 0.01);
        kn_rl_check_set(&c[n++], "|error at reward| (last trial)", fabs(r->final_reward_error),
                        0.005 * rw, "<", fabs(r->final_reward_error) < 0.005 * rw);
        rel = fabs(r->final_omission + p->reward) / fmax(rw, 1e-12);
        kn_rl_check_set(&c[n++], "omission probe at reward time after training",
                        r->final_omission, -p->reward, "within 1% of", rel < 0.01);
    } else {
        /* The values keep fluctuating around their limits with sd about
         * sqrt(alpha / (2 - alpha) p (1 - p)) |r| (a window shorter than a few 1/alpha trials
         * does not average that away), so the tolerance is 3 such sd, at least 1% of |r|. */
        double sd = sqrt(p->alpha / (2.0 - p->alpha) * p->reward_prob * (1.0 - p->reward_prob)) * rw;
        double tol = fmax(3.0 * sd, 0.01 * rw);
        char crit[40];
        snprintf(crit, sizeof crit, "within %.3g (3 sd) of", tol);
        snprintf(what, sizeof what, "error at cue (mean of last %d trials) vs p gamma^%d r",
                 r->n_average, p->reward_state - p->cue_state);
        kn_rl_check_set(&c[n++], what, r->mean_cue_error, r->limit_cue, crit,
                        fabs(r->mean_cue_error - r->limit_cue) < tol);
        if (isfinite(r->mean_reward_error_rewarded))
            kn_rl_check_set(&c[n++], "error at reward, rewarded trials (window mean) vs (1-p) r",
                            r->mean_reward_error_rewarded, r->limit_reward_rewarded, crit,
                            fabs(r->mean_reward_error_rewarded - r->limit_reward_rewarded) < tol);
        if (isfinite(r->mean_reward_error_unrewarded))
            kn_rl_check_set(&c[n++], "error at reward, unrewarded trials (window mean) vs -p r",
                            r->mean_reward_error_unrewarded, r->limit_reward_unrewarded, crit,
                            fabs(r->mean_reward_error_unrewarded - r->limit_reward_unrewarded) <
                                tol);
    }
    if (is_reference_setting(p)) {
        kn_rl_check_set(&c[n++], "error at cue (last trial) vs the reference run's 8.13",
                        r->final_cue_error, 8.13, "within 1% of",
                        fabs(r->final_cue_error - 8.13) / 8.13 < 0.01);
        kn_rl_check_set(&c[n++], "first trial with cue error > reward error (reference ~4405)",
                        r->first_cross_trial, 4405, "within 1% of",
                        r->first_cross_trial >= 0 && fabs(r->first_cross_trial - 4405.0) < 44.05);
        static const int at[3] = {3000, 5000, 10000}, want[3] = {17, 15, 9};
        for (int k = 0; k < 3; k++) {
            snprintf(what, sizeof what, "state of the peak error at trial %d", at[k]);
            kn_rl_check_set(&c[n++], what, r->peak_state[at[k]], want[k], "equal to",
                            r->peak_state[at[k]] == want[k]);
        }
    }
    return n;
}

static int write_trials(const char *dir, const kn_td_result *r, kn_error *err)
{
    kn_atomic_file af;
    int rc = kn_rl_csv_open(&af, dir, "td_trials.csv", err);
    if (rc)
        return rc;
    fprintf(af.fp, "trial,rewarded,cue_error,reward_error,peak_state\n");
    for (int n = 0; n < r->trials; n++)
        fprintf(af.fp, "%d,%d,%.9g,%.9g,%d\n", n, r->rewarded[n], r->cue_error[n],
                r->reward_error[n], r->peak_state[n]);
    return kn_rl_csv_commit(&af, err);
}

static int write_profiles(const char *dir, const kn_td_result *r, kn_error *err)
{
    kn_atomic_file af;
    int rc = kn_rl_csv_open(&af, dir, "td_errors.csv", err);
    if (rc)
        return rc;
    fprintf(af.fp, "trial,omission_probe");
    for (int s = 0; s < r->n_states; s++)
        fprintf(af.fp, ",delta_%d", s);
    fprintf(af.fp, "\n");
    for (int k = 0; k < r->n_recorded; k++) {
        fprintf(af.fp, "%d,%.9g", r->recorded_trial[k], r->omission_probe[k]);
        for (int s = 0; s < r->n_states; s++)
            fprintf(af.fp, ",%.9g", r->errors[(size_t)k * r->n_states + s]);
        fprintf(af.fp, "\n");
    }
    rc = kn_rl_csv_commit(&af, err);
    if (rc)
        return rc;
    rc = kn_rl_csv_open(&af, dir, "td_values.csv", err);
    if (rc)
        return rc;
    fprintf(af.fp, "state,value\n");
    for (int s = 0; s < r->n_states; s++)
        fprintf(af.fp, "%d,%.9g\n", s, r->values[s]);
    return kn_rl_csv_commit(&af, err);
}

static int write_json(const char *dir, const kn_td_params *p, const kn_td_result *r,
                      const kn_rl_check *checks, int n_checks, double seconds, kn_error *err)
{
    cJSON *root = cJSON_CreateObject();
    if (!root)
        return kn_fail(err, KN_ENOMEM, "summary.json: out of memory");
    cJSON_AddStringToObject(root, "command", "rl td");
    cJSON *par = cJSON_AddObjectToObject(root, "params");
    cJSON_AddNumberToObject(par, "n_states", p->n_states);
    cJSON_AddNumberToObject(par, "cue_state", p->cue_state);
    cJSON_AddNumberToObject(par, "reward_state", p->reward_state);
    cJSON_AddNumberToObject(par, "reward", p->reward);
    cJSON_AddNumberToObject(par, "reward_prob", p->reward_prob);
    cJSON_AddNumberToObject(par, "gamma", p->gamma);
    cJSON_AddNumberToObject(par, "alpha", p->alpha);
    cJSON_AddNumberToObject(par, "trials", p->trials);
    cJSON_AddNumberToObject(par, "seed", (double)p->seed);
    cJSON *res = cJSON_AddObjectToObject(root, "results");
    cJSON_AddItemToObject(res, "final_cue_error", kn_rl_json_number(r->final_cue_error));
    cJSON_AddItemToObject(res, "final_reward_error", kn_rl_json_number(r->final_reward_error));
    cJSON_AddItemToObject(res, "final_omission_probe", kn_rl_json_number(r->final_omission));
    cJSON_AddNumberToObject(res, "first_cross_trial", r->first_cross_trial);
    cJSON_AddNumberToObject(res, "window_trials", r->n_average);
    cJSON_AddItemToObject(res, "mean_cue_error", kn_rl_json_number(r->mean_cue_error));
    cJSON_AddItemToObject(res, "mean_reward_error_rewarded",
                          kn_rl_json_number(r->mean_reward_error_rewarded));
    cJSON_AddItemToObject(res, "mean_reward_error_unrewarded",
                          kn_rl_json_number(r->mean_reward_error_unrewarded));
    cJSON_AddNumberToObject(res, "limit_cue", r->limit_cue);
    cJSON_AddNumberToObject(res, "limit_reward_rewarded", r->limit_reward_rewarded);
    cJSON_AddNumberToObject(res, "limit_reward_unrewarded", r->limit_reward_unrewarded);
    cJSON *peaks = cJSON_AddArrayToObject(res, "peak_state_by_trial");
    for (int k = 0; k < r->n_recorded; k++) {
        cJSON *pk = cJSON_CreateObject();
        cJSON_AddNumberToObject(pk, "trial", r->recorded_trial[k]);
        cJSON_AddNumberToObject(pk, "peak_state", r->peak_state[r->recorded_trial[k]]);
        cJSON_AddItemToArray(peaks, pk);
    }
    cJSON_AddNumberToObject(root, "seconds", seconds);
    kn_rl_checks_json(root, checks, n_checks);
    int rc = kn_rl_json_write(dir, root, err);
    cJSON_Delete(root);
    return rc;
}

/* Niv's three panels: the error within a trial before learning (trial 1: at the reward), after
 * learning (last trial: at the cue, ~0 at the reward) and in a probe with the reward omitted after
 * training (a dip of -r at the reward time), on one y scale. The probe's profile is the error of a
 * trial with no reward under the final values, without learning (as the omission probe). */
static int plot_niv_panels(const char *dir, const kn_td_params *p, const kn_td_result *r,
                           kn_error *err)
{
    const int S = r->n_states;
    double *x = malloc((size_t)S * sizeof *x), *omit = malloc((size_t)S * sizeof *omit);
    if (!x || !omit) {
        free(x);
        free(omit);
        return kn_fail(err, KN_ENOMEM, "td plot: out of memory");
    }
    for (int s = 0; s < S; s++) {
        x[s] = s;
        double v_next = s + 1 < S ? r->values[s + 1] : r->values[0];
        omit[s] = p->gamma * v_next - r->values[s];
    }
    const double *first = r->errors, *last = r->errors + (size_t)(r->n_recorded - 1) * S;
    kn_plot_series s1 = {"TD error", x, first, (size_t)S, NULL, NULL, KN_PLOT_LINE_POINTS};
    kn_plot_series s2 = {"TD error", x, last, (size_t)S, NULL, NULL, KN_PLOT_LINE_POINTS};
    kn_plot_series s3 = {"TD error", x, omit, (size_t)S, NULL, NULL, KN_PLOT_LINE_POINTS};
    char t1[64], t2[64], xl[96];
    snprintf(t1, sizeof t1, "Before learning (trial %d)", r->recorded_trial[0] + 1);
    snprintf(t2, sizeof t2, "After learning (trial %d)", r->recorded_trial[r->n_recorded - 1] + 1);
    snprintf(xl, sizeof xl, "time step (cue at %d, reward at %d)", p->cue_state, p->reward_state);
    double m = 1.15 * fmax(fabs(p->reward), 1e-12);
    kn_figure_panel panels[3];
    memset(panels, 0, sizeof panels);
    const kn_plot_series *ser[3] = {&s1, &s2, &s3};
    const char *titles[3] = {t1, t2, "Reward omitted (after learning)"};
    for (int k = 0; k < 3; k++) {
        panels[k].axes.title = titles[k];
        panels[k].axes.xlabel = xl;
        panels[k].axes.ylabel = k == 0 ? "TD error (dopamine response)" : NULL;
        panels[k].axes.xmin = -0.5;
        panels[k].axes.xmax = S - 0.5;
        panels[k].axes.ymin = -m;
        panels[k].axes.ymax = m;
        panels[k].series = ser[k];
        panels[k].n_series = 1;
        panels[k].zero_line = 1;
    }
    char path[4096];
    int rc = kn_rl_path(path, sizeof path, dir, "td_error_panels.png", err);
    if (!rc)
        rc = kn_figure_panels(path, "TD prediction error: before learning, after learning, "
                              "reward omitted", panels, 3, 3, 1500, 520, err);
    free(x);
    free(omit);
    return rc;
}

static int plot_td(const char *dir, const kn_td_result *r, kn_error *err)
{
    char path[4096];
    int rc = kn_rl_path(path, sizeof path, dir, "td_error_heatmap.png", err);
    if (rc)
        return rc;
    kn_plot_axes ax = {0};
    ax.title = "TD error over training";
    ax.xlabel = "state (time step in trial)";
    char ylabel[64];
    int every = r->n_recorded > 1 ? r->recorded_trial[1] - r->recorded_trial[0] : 1;
    snprintf(ylabel, sizeof ylabel, "trial / %d", every);
    ax.ylabel = ylabel;
    kn_heatmap hm = {r->errors, (size_t)r->n_recorded, (size_t)r->n_states, 0, 0,
                     "TD error (signed; white = 0)", 0, 1, 0};
    rc = kn_figure_heatmap_diverging(path, &ax, &hm, err);
    if (rc)
        return rc;

    /* slices: a handful of recorded trials spread over training */
    enum { N_SLICES = 5 };
    double *x = malloc((size_t)r->n_states * sizeof *x);
    if (!x)
        return kn_fail(err, KN_ENOMEM, "td plot: out of memory");
    for (int s = 0; s < r->n_states; s++)
        x[s] = s;
    kn_plot_series series[N_SLICES];
    char labels[N_SLICES][48];
    int ns = 0;
    for (int k = 0; k < N_SLICES && r->n_recorded > 0; k++) {
        int row = (int)((long)(r->n_recorded - 1) * k / (N_SLICES - 1));
        if (ns > 0 && row == 0)
            continue;
        snprintf(labels[ns], sizeof labels[ns], "trial %d", r->recorded_trial[row]);
        series[ns] = (kn_plot_series){labels[ns], x, r->errors + (size_t)row * r->n_states,
                                      (size_t)r->n_states, NULL, NULL, KN_PLOT_LINE_POINTS};
        ns++;
    }
    rc = kn_rl_path(path, sizeof path, dir, "td_error_slices.png", err);
    if (!rc) {
        kn_plot_axes ax2 = {0};
        ax2.title = "TD error within a trial";
        ax2.xlabel = "state (time step in trial)";
        ax2.ylabel = "TD error";
        rc = kn_plot_lines(path, &ax2, series, (size_t)ns, err);
    }
    free(x);
    return rc;
}

int kn_td_write(const char *dir, const kn_td_params *p, const kn_td_result *r,
                const kn_rl_check *checks, int n_checks, double seconds, int plots, kn_error *err)
{
    int rc = kn_mkdirs(dir, err);
    if (!rc)
        rc = write_trials(dir, r, err);
    if (!rc)
        rc = write_profiles(dir, r, err);
    if (!rc)
        rc = write_json(dir, p, r, checks, n_checks, seconds, err);
    if (!rc && plots)
        rc = plot_td(dir, r, err);
    if (!rc && plots)
        rc = plot_niv_panels(dir, p, r, err);
    return rc;
}
