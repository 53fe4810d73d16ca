/* `kenyon rl <verb>`: the dopamine models. td: TD(0) with a tapped delay line; disttd: the
 * distributional TD population (expectile, quantile and classical cells), the paper's analysis of
 * simulated recordings (--analyse) and decoding. Each verb prints its measurements and a PASS/FAIL
 * verdict per target, and writes CSV + summary.json (+ plots) with --out DIR.
 * To add a verb (e.g. metarl): write `int kn_cmd_rl_<verb>(int argc, char **argv)` in
 * src/cli/cmd_rl_<verb>.c, declare it below and add one row to rl_verbs[]. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "opts.h"
#include "kenyon/clock.h"
#include "kenyon/disttd.h"
#include "kenyon/td.h"

int kn_cmd_rl_td(int argc, char **argv);
int kn_cmd_rl_disttd(int argc, char **argv);
int kn_cmd_rl_metarl(int argc, char **argv);

static const kn_subcommand rl_verbs[] = {
    {"td", "TD(0) prediction error with a tapped delay line (cue, reward, omission)",
     kn_cmd_rl_td},
    {"disttd", "distributional TD population, analysis of simulated recordings, decoding",
     kn_cmd_rl_disttd},
    {"metarl", "meta-RL: LSTM actor-critic that learns to learn bandits / two-step (train|test)", kn_cmd_rl_metarl},
    {NULL, NULL, NULL},
};

int kn_cmd_rl(int argc, char **argv) { return kn_dispatch("rl", rl_verbs, argc, argv); }

static int all_pass(const kn_rl_check *c, int n)
{
    for (int i = 0; i < n; i++)
        if (!c[i].pass)
            return 0;
    return 1;
}

static void print_checks(const kn_rl_check *c, int n)
{
    printf("verdicts:\n");
    for (int i = 0; i < n; i++)
        printf("  %s  %s: measured %.6g, target %s %.6g\n", c[i].pass ? "PASS" : "FAIL", c[i].what,
               c[i].measured, c[i].criterion, c[i].target);
    if (n == 0)
        printf("  (no targets apply to these settings)\n");
}

int kn_cmd_rl_td(int argc, char **argv)
{
    kn_td_params p;
    kn_td_params_default(&p);
    const char *out = NULL;
    int no_plots = 0, strict = 0;
    kn_opt opts[] = {
        {"states", KN_OPT_INT, &p.n_states, "states (time steps) per trial"},
        {"cue", KN_OPT_INT, &p.cue_state, "the cue appears on leaving this state"},
        {"reward-state", KN_OPT_INT, &p.reward_state, "the reward comes on leaving this state"},
        {"reward", KN_OPT_DOUBLE, &p.reward, "reward size"},
        {"prob", KN_OPT_DOUBLE, &p.reward_prob, "probability that a trial is rewarded"},
        {"gamma", KN_OPT_DOUBLE, &p.gamma, "discount factor"},
        {"alpha", KN_OPT_DOUBLE, &p.alpha, "learning rate"},
        {"trials", KN_OPT_INT, &p.trials, "training trials"},
        {"record-every", KN_OPT_INT, &p.record_every,
         "keep every k-th trial's error profile (0: about 200 rows)"},
        {"average-last", KN_OPT_INT, &p.average_last,
         "window (trials) for the end-of-training means (0: trials/10)"},
        {"seed", KN_OPT_U64, &p.seed, "seed (which trials are rewarded when --prob < 1)"},
        {"out", KN_OPT_OUT_DIR, &out, "directory for CSV, summary.json and plots"},
        {"no-plots", KN_OPT_FLAG, &no_plots, "do not draw plots"},
        {"strict", KN_OPT_FLAG, &strict, "exit with status 1 when a verdict fails"},
        {NULL, 0, NULL, NULL},
    };
    kn_command_spec spec = {
        "rl td", "[--alpha 0.001] [--trials 20000] [--prob 1] [--out DIR]",
        "TD(0) with a tapped-delay-line stimulus: delta = r + gamma V(next) - V(s), V(s) += alpha "
        "delta for the states after the cue (the states up to the cue keep V = 0). Records the "
        "error at every state over trials, runs omission probes (reward withheld, no learning) "
        "and reports the error at the cue and at the reward, the first trial at which the cue "
        "error exceeds the reward error, and where the peak sits over training.",
        opts};
    int r = kn_opts_parse(&spec, argc, argv, NULL, 0, NULL);
    if (r != KN_OPTS_OK)
        return kn_opts_exit_code(r);
    kn_error err;
    kn_error_clear(&err);
    kn_td_result res;
    double t0 = kn_seconds();
    if (kn_td_run(&p, &res, &err)) {
        fprintf(stderr, "kenyon rl td: %s\n", err.msg);
        return 2;
    }
    double secs = kn_seconds() - t0;
    printf("TD(0): %d states, cue on leaving state %d, reward %g (p = %g) on leaving state %d, "
           "gamma %g, alpha %g, %d trials (%.3f s)\n",
           p.n_states, p.cue_state, p.reward, p.reward_prob, p.reward_state, p.gamma, p.alpha,
           p.trials, secs);
    printf("  last trial: error at cue %.6g, at reward %.6g; omission probe %.6g\n",
           res.final_cue_error, res.final_reward_error, res.final_omission);
    printf("  last %d trials: mean error at cue %.6g (limit %.6g); at reward when rewarded %.6g "
           "(limit %.6g), when not %.6g (limit %.6g)\n",
           res.n_average, res.mean_cue_error, res.limit_cue, res.mean_reward_error_rewarded,
           res.limit_reward_rewarded, res.mean_reward_error_unrewarded,
           res.limit_reward_unrewarded);
    printf("  first trial with cue error > reward error: %d\n", res.first_cross_trial);
    printf("  peak state:");
    const int marks[] = {0, 1000, 2000, 3000, 4000, 5000, 7500, 10000, 15000};
    for (size_t k = 0; k < sizeof marks / sizeof *marks; k++)
        if (marks[k] < p.trials)
            printf(" trial %d -> %d;", marks[k], res.peak_state[marks[k]]);
    printf(" last -> %d\n", res.peak_state[p.trials - 1]);
    kn_rl_check checks[KN_TD_MAX_CHECKS];
    int nc = kn_td_checks(&p, &res, checks);
    print_checks(checks, nc);
    int rc = 0;
    if (out) {
        if (kn_td_write(out, &p, &res, checks, nc, secs, !no_plots, &err)) {
            fprintf(stderr, "kenyon rl td: %s\n", err.msg);
            rc = 1;
        } else {
            printf("wrote %s/summary.json, td_trials.csv, td_errors.csv, td_values.csv%s\n", out,
                   no_plots ? "" : ", td_error_heatmap.png, td_error_slices.png");
        }
    }
    int ok = all_pass(checks, nc);
    kn_td_result_free(&res);
    if (rc)
        return rc;
    return strict && !ok ? 1 : 0;
}

/* Parses "a,b,c" into out (at most max); errors name the option and the entry. */
static int parse_list(const char *opt, const char *s, double *out, int max, int *n)
{
    int k = 0;
    const char *p = s;
    while (*p) {
        if (k >= max) {
            fprintf(stderr, "kenyon rl disttd: --%s: more than %d values\n", opt, max);
            return -1;
        }
        char *end;
        errno = 0;
        double v = strtod(p, &end);
        if (end == p || errno || !isfinite(v) || (*end && *end != ',')) {
            fprintf(stderr, "kenyon rl disttd: --%s: entry %d ('%.*s') is not a number\n", opt,
                    k + 1, (int)strcspn(p, ","), p);
            return -1;
        }
        out[k++] = v;
        p = *end == ',' ? end + 1 : end;
    }
    if (k == 0) {
        fprintf(stderr, "kenyon rl disttd: --%s: empty list\n", opt);
        return -1;
    }
    *n = k;
    return 0;
}

static void print_accuracy(const char *name, const kn_disttd_accuracy *a)
{
    printf("  %-10s %3d cells: median rel. error %.4g, max %.4g (vs the window's own rewards: "
           "%.4g, %.4g); Pearson(tau, value) %.4f (all cells %.4f, Spearman %.4f); values "
           "%.4g..%.4g\n",
           name, a->n_included, a->median_rel_err, a->max_rel_err, a->median_rel_err_window,
           a->max_rel_err_window, a->corr_tau_value_included, a->corr_tau_value,
           a->spearman_tau_value, a->value_min, a->value_max);
    printf("  %-10s in measured standard errors (%d batch means): max |learned - analytic| / s.e. "
           "%.2f (median %.2f, family-wise p %.3g over %d cells)\n",
           "", KN_DISTTD_BATCHES, a->max_abs_z, a->median_abs_z, a->p_max_z, a->n_z);
}

int kn_cmd_rl_disttd(int argc, char **argv)
{
    kn_disttd_experiment_params p;
    kn_disttd_experiment_params_default(&p);
    const char *task = "variable", *sizes_s = NULL, *probs_s = NULL, *ap_s = NULL, *am_s = NULL,
               *out = NULL, *recording = "analytic";
    double cue_reward = 1.0;
    int no_plots = 0, strict = 0;
    kn_opt opts[] = {
        {"cells", KN_OPT_INT, &p.cells.n_cells, "number of cells"},
        {"rate-min", KN_OPT_DOUBLE, &p.cells.rate_min, "alpha+ and alpha- ~ U(rate-min, rate-max)"},
        {"rate-max", KN_OPT_DOUBLE, &p.cells.rate_max, "upper end of the rate distribution"},
        {"alpha-plus", KN_OPT_STRING, &ap_s, "given alpha+ per cell, comma-separated"},
        {"alpha-minus", KN_OPT_STRING, &am_s, "given alpha- per cell, comma-separated"},
        {"steps", KN_OPT_INT, &p.cells.steps, "training steps (one reward each)"},
        {"average-last", KN_OPT_INT, &p.cells.average_last, "values are averaged over the last N steps"},
        {"v-init", KN_OPT_DOUBLE, &p.cells.v_init, "initial value of every cell"},
        {"task", KN_OPT_STRING, &task,
         "variable (7 sizes), cues (10/50/90% cues), or custom (--sizes, --probs)"},
        {"sizes", KN_OPT_STRING, &sizes_s, "custom task: reward sizes, comma-separated"},
        {"probs", KN_OPT_STRING, &probs_s, "custom task: their probabilities"},
        {"cue-reward", KN_OPT_DOUBLE, &cue_reward, "cues task: reward size"},
        {"min-rate", KN_OPT_DOUBLE, &p.min_rate,
         "accuracy over cells whose smaller rate is at least this"},
        {"analyse", KN_OPT_FLAG, &p.analyse, "run the paper's analysis on simulated recordings"},
        {"noise", KN_OPT_DOUBLE, &p.noise_sd, "analysis: response noise sd"},
        {"trials-per-size", KN_OPT_INT, &p.trials_per_size,
         "analysis: simulated trials per reward size and cell (split in halves)"},
        {"recording-values", KN_OPT_STRING, &recording,
         "analysis: simulated cells reverse at their analytic fixed point or learned value"},
        {"decode-cells", KN_OPT_INT, &p.decode_cells,
         "decoding: cells with exact expectiles at tau = (j+0.5)/n"},
        {"decode-samples", KN_OPT_INT, &p.decode.n_samples, "decoding: samples M"},
        {"decode-candidates", KN_OPT_INT, &p.decode.n_candidates,
         "decoding: random sample sets drawn"},
        {"decode-starts", KN_OPT_INT, &p.decode.n_starts,
         "decoding: minimisations from the best candidates"},
        {"seed", KN_OPT_U64, &p.cells.seed, "seed (rates, rewards, recordings, decoding)"},
        {"out", KN_OPT_OUT_DIR, &out, "directory for CSV, summary.json and plots"},
        {"no-plots", KN_OPT_FLAG, &no_plots, "do not draw plots"},
        {"strict", KN_OPT_FLAG, &strict, "exit with status 1 when a verdict fails"},
        {NULL, 0, NULL, NULL},
    };
    kn_command_spec spec = {
        "rl disttd", "[--analyse] [--task variable|cues|custom] [--out DIR]",
        "Distributional TD (Dabney et al. 2020): cells with their own alpha+ and alpha- learn "
        "V += alpha+- (r - V) (expectile rule) or alpha+- sign(r - V) (quantile rule); equal "
        "rates are the classical control. All three populations are trained on one reward "
        "sequence and compared with the analytic tau-expectiles/quantiles, tau = alpha+ / "
        "(alpha+ + alpha-). The reward distribution is decoded from exact expectiles (GSL BFGS2) "
        "and judged by the Wasserstein-1 distance. --analyse adds the paper's split-half "
        "analysis of simulated recordings with classical TD + noise as the null.",
        opts};
    int r = kn_opts_parse(&spec, argc, argv, NULL, 0, NULL);
    if (r != KN_OPTS_OK)
        return kn_opts_exit_code(r);
    kn_error err;
    kn_error_clear(&err);
    p.decode.seed = p.cells.seed;
    if (strcmp(task, "variable") == 0) {
        kn_disttd_task_variable_magnitude(&p.task);
        p.default_task = 1;
    } else if (strcmp(task, "cues") == 0) {
        kn_disttd_task_probability_cues(&p.task, cue_reward);
        p.default_task = 0;
    } else if (strcmp(task, "custom") == 0) {
        static double sz[KN_REWARD_DIST_MAX], pr[KN_REWARD_DIST_MAX];
        int ns = 0, np = 0;
        if (!sizes_s || !probs_s) {
            fprintf(stderr, "kenyon rl disttd: --task custom needs --sizes and --probs\n");
            return 2;
        }
        if (parse_list("sizes", sizes_s, sz, KN_REWARD_DIST_MAX, &ns) ||
            parse_list("probs", probs_s, pr, KN_REWARD_DIST_MAX, &np))
            return 2;
        if (ns != np) {
            fprintf(stderr, "kenyon rl disttd: --sizes has %d values but --probs has %d\n", ns,
                    np);
            return 2;
        }
        memset(&p.task, 0, sizeof p.task);
        p.task.n_cues = 1;
        if (kn_reward_dist_set(&p.task.cue[0], sz, pr, ns, &err)) {
            fprintf(stderr, "kenyon rl disttd: --sizes/--probs: %s\n", err.msg);
            return 2;
        }
        p.default_task = 0;
    } else {
        fprintf(stderr, "kenyon rl disttd: --task: '%s' is not variable, cues or custom\n", task);
        return 2;
    }
    if ((sizes_s || probs_s) && strcmp(task, "custom") != 0) {
        fprintf(stderr, "kenyon rl disttd: --sizes/--probs need --task custom\n");
        return 2;
    }
    if (strcmp(recording, "analytic") == 0)
        p.recording_learned = 0;
    else if (strcmp(recording, "learned") == 0)
        p.recording_learned = 1;
    else {
        fprintf(stderr, "kenyon rl disttd: --recording-values: '%s' is not analytic or learned\n",
                recording);
        return 2;
    }
    double *ap = NULL, *am = NULL;
    if (ap_s || am_s) {
        if (!ap_s || !am_s) {
            fprintf(stderr, "kenyon rl disttd: give both --alpha-plus and --alpha-minus\n");
            return 2;
        }
        int cap = 1, na = 0, nm = 0; /* room for the longer list: commas + 1 */
        for (const char *q = strlen(ap_s) > strlen(am_s) ? ap_s : am_s; *q; q++)
            cap += *q == ',';
        ap = malloc((size_t)cap * sizeof *ap);
        am = malloc((size_t)cap * sizeof *am);
        if (!ap || !am) {
            free(ap);
            free(am);
            fprintf(stderr, "kenyon rl disttd: out of memory\n");
            return 1;
        }
        if (parse_list("alpha-plus", ap_s, ap, cap, &na) ||
            parse_list("alpha-minus", am_s, am, cap, &nm)) {
            free(ap);
            free(am);
            return 2;
        }
        if (na != nm) {
            fprintf(stderr, "kenyon rl disttd: --alpha-plus has %d values but --alpha-minus %d\n",
                    na, nm);
            free(ap);
            free(am);
            return 2;
        }
        p.cells.n_cells = na;
        p.cells.alpha_plus = ap;
        p.cells.alpha_minus = am;
    }
    kn_disttd_experiment e;
    double t0 = kn_seconds();
    if (kn_disttd_experiment_run(&p, &e, &err)) {
        fprintf(stderr, "kenyon rl disttd: %s\n", err.msg);
        free(ap);
        free(am);
        return 2;
    }
    double secs = kn_seconds() - t0;
    printf("distributional TD: %d cells, %d steps (values averaged over the last %d), %d cue%s "
           "(train %.3f s, analysis %.3f s, decoding %.3f s, total %.3f s)\n",
           p.cells.n_cells, p.cells.steps, p.cells.average_last, p.task.n_cues,
           p.task.n_cues > 1 ? "s" : "", e.seconds_train, e.seconds_analysis, e.seconds_decode,
           secs);
    for (int c = 0; c < p.task.n_cues; c++) {
        const kn_reward_dist *d = &p.task.cue[c];
        printf("cue %d: %d sizes, mean %.6g, sd %.6g; cells with min(alpha+, alpha-) >= %g:\n",
               c + 1, d->n, kn_reward_dist_mean(d), kn_reward_dist_sd(d), p.min_rate);
        print_accuracy("expectile", &e.acc_expectile[c]);
        print_accuracy("quantile", &e.acc_quantile[c]);
        print_accuracy("classical", &e.acc_classical[c]);
        printf("  decoding from %d exact expectiles (M = %d, GSL BFGS2): loss %.3g, mean %.6g; "
               "W1 to truth %.4g (Gaussian %.4g, Gaussian clipped to the range %.4g, uniform on "
               "the range %.4g)\n",
               e.n_decode_cells, e.n_samples, e.decode_loss[c], e.decoded_mean[c],
               e.w1_decoded[c], e.w1_normal[c], e.w1_normal_clipped[c], e.w1_uniform[c]);
    }
    printf("decoding cue 1 from the %d learned expectile cells: loss %.3g, mean %.6g, W1 %.4g\n",
           e.n_learned_cells_used, e.decode_learned_loss, e.decoded_learned_mean,
           e.w1_decoded_learned);
    if (e.analysed) {
        printf("analysis of simulated recordings (noise %g, %d trials per size, halves of %d/%d; "
               "reversal points at the %s values):\n",
               p.noise_sd, p.trials_per_size, p.trials_per_size / 2,
               p.trials_per_size - p.trials_per_size / 2, p.recording_learned ? "learned" : "analytic");
        printf("  distributional: reversal points across halves r = %.4f, asymmetry vs reversal "
               "r = %.4f (%d cells with both slopes > 0)\n",
               e.dist.corr_reversal_halves, e.dist.corr_asymmetry_reversal, e.dist.n_valid);
        printf("  classical:      reversal points across halves r = %.4f, asymmetry vs reversal "
               "r = %.4f (%d cells)\n",
               e.null.corr_reversal_halves, e.null.corr_asymmetry_reversal, e.null.n_valid);
        printf("  (slopes fitted around half A's reversal point instead: distributional r = "
               "%.4f, classical r = %.4f: the reversal error leaks into the asymmetry)\n",
               e.dist_other_origin.corr_asymmetry_reversal,
               e.null_other_origin.corr_asymmetry_reversal);
    }
    kn_rl_check checks[KN_DISTTD_MAX_CHECKS];
    int nc = kn_disttd_checks(&p, &e, checks);
    print_checks(checks, nc);
    int rc = 0;
    if (out) {
        if (kn_disttd_write(out, &p, &e, checks, nc, !no_plots, &err)) {
            fprintf(stderr, "kenyon rl disttd: %s\n", err.msg);
            rc = 1;
        } else {
            printf("wrote %s/summary.json, cells.csv, decoded.csv%s%s\n", out,
                   e.analysed ? ", analysis.csv, utility.csv" : "",
                   no_plots ? "" : " and plots");
        }
    }
    int ok = all_pass(checks, nc);
    kn_disttd_experiment_free(&e);
    free(ap);
    free(am);
    if (rc)
        return rc;
    return strict && !ok ? 1 : 0;
}
