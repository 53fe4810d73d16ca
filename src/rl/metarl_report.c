/* Meta-RL testing against the classical agents and the result files: summary.json, CSV tables
 * and PLplot figures for the frozen-weight test, and the training curve. */
#include "kenyon/metarl.h"

#include <errno.h>
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kenyon/fileio.h"
#include "kenyon/plot.h"
#include "kenyon/plot_figures.h"
#include "kenyon/progress.h"

double kn_metarl_reference_regret(kn_bandit_task_kind task, kn_agent_kind agent)
{
    if (task == KN_BANDIT_TASK_INDEPENDENT) {
        switch (agent) {
        case KN_AGENT_THOMPSON: return 2.78;
        case KN_AGENT_UCB1: return 5.56;
        case KN_AGENT_EPS_GREEDY: return 4.23;
        case KN_AGENT_RANDOM: return 16.6;
        default: return NAN;
        }
    }
    if (task == KN_BANDIT_TASK_DEPENDENT) {
        switch (agent) {
        case KN_AGENT_THOMPSON: return 2.12;
        case KN_AGENT_EPS_GREEDY: return 4.97;
        case KN_AGENT_RANDOM: return 25.0;
        default: return NAN;
        }
    }
    return NAN;
}

void kn_metarl_test_result_free(kn_metarl_test_result *r)
{
    if (!r)
        return;
    kn_bandit_stats_free(&r->net.stats);
    for (int i = 0; i < r->n_agents; i++)
        kn_bandit_stats_free(&r->agent_stats[i]);
    free(r->episode_regret);
    memset(r, 0, sizeof *r);
}

int kn_metarl_test(kn_metarl_net *net, const kn_bandit_task_params *task, size_t n_episodes,
                   uint64_t seed, int greedy, kn_metarl_test_result *out, kn_error *err)
{
    memset(out, 0, sizeof *out);
    if (n_episodes < 1 || n_episodes > 100000000)
        return kn_fail(err, KN_EINVAL, "metarl test: episodes %zu not in [1, 1e8]", n_episodes);
    double t0 = kn_seconds();
    out->task = *task;
    out->n_episodes = n_episodes;
    out->seed = seed;
    out->greedy = greedy;
    if (task->kind == KN_BANDIT_TASK_TWOSTEP) {
        kn_agent_kind a[] = {KN_AGENT_MODEL_BASED, KN_AGENT_MODEL_FREE, KN_AGENT_RANDOM};
        out->n_agents = 3;
        memcpy(out->agents, a, sizeof a);
    } else {
        kn_agent_kind a[] = {KN_AGENT_THOMPSON, KN_AGENT_UCB1, KN_AGENT_EPS_GREEDY,
                             KN_AGENT_RANDOM};
        out->n_agents = 4;
        memcpy(out->agents, a, sizeof a);
    }
    size_t rows = (size_t)(1 + out->n_agents);
    out->episode_regret = calloc(rows * n_episodes, sizeof(double));
    if (!out->episode_regret) {
        out->n_agents = 0;
        return kn_fail(err, KN_ENOMEM, "metarl test: out of memory for %zu episodes", n_episodes);
    }
    const int twostep = task->kind == KN_BANDIT_TASK_TWOSTEP;
    kn_twostep_history hist[KN_METARL_ROWS];
    memset(hist, 0, sizeof hist);
    int rc = 0;
    for (int k = 0; twostep && k <= out->n_agents && !rc; k++)
        rc = kn_twostep_history_init(&hist[k], task->n_trials, err);
    if (rc) {
        out->n_agents = 0;
        free(out->episode_regret);
        out->episode_regret = NULL;
        return rc;
    }
    out->checksum_before = kn_metarl_net_checksum(net);
    rc = kn_metarl_evaluate_history(net, task, n_episodes, seed, greedy, out->episode_regret,
                                    twostep ? &hist[0] : NULL, &out->net, err);
    out->net.stats.history = NULL;
    out->checksum_after = kn_metarl_net_checksum(net);
    if (rc) {
        out->n_agents = 0; /* no agent statistics were made yet */
        free(out->episode_regret);
        out->episode_regret = NULL;
        for (int k = 0; k < KN_METARL_ROWS; k++)
            kn_twostep_history_free(&hist[k]);
        return rc;
    }
    int made = 0;
    for (int i = 0; i < out->n_agents && !rc; i++) {
        kn_agent_params_default(&out->agent_params[i]);
        out->agent_tuned_regret[i] = NAN;
        if (twostep && (out->agents[i] == KN_AGENT_MODEL_FREE ||
                        out->agents[i] == KN_AGENT_MODEL_BASED))
            rc = kn_agent_tune_default(out->agents[i], task, KN_METARL_TUNE_EPISODES,
                                       seed ^ KN_METARL_TUNE_TAG, &out->agent_params[i],
                                       &out->agent_tuned_regret[i], err);
        if (!rc)
            rc = kn_bandit_stats_init(&out->agent_stats[i], task->n_trials, err);
        if (rc)
            break;
        made++;
        out->agent_stats[i].episode_regret = out->episode_regret + (size_t)(i + 1) * n_episodes;
        out->agent_stats[i].episode_cap = n_episodes;
        if (twostep) {
            rc = kn_twostep_history_reserve(&hist[i + 1], n_episodes, err);
            out->agent_stats[i].history = &hist[i + 1];
        }
        if (!rc)
            rc = kn_agent_evaluate(out->agents[i], &out->agent_params[i], task, n_episodes, seed,
                                   &out->agent_stats[i], err);
        out->agent_stats[i].history = NULL;
    }
    if (!rc && twostep) {
        /* Fit every row; a row that cannot be fitted is reported, not fatal. */
        for (int k = 0; k <= made; k++) {
            kn_error fe;
            out->fit_ok[k] = kn_twostep_regress(&hist[k], KN_METARL_REGRESSION_LAGS,
                                                &out->fit[k], &fe) == 0;
            if (!out->fit_ok[k])
                snprintf(out->fit_error[k], sizeof out->fit_error[k], "%.159s", fe.msg);
        }
        int mb = -1, mf = -1;
        for (int i = 0; i < made; i++) {
            if (out->agents[i] == KN_AGENT_MODEL_BASED && out->fit_ok[i + 1])
                mb = i + 1;
            if (out->agents[i] == KN_AGENT_MODEL_FREE && out->fit_ok[i + 1])
                mf = i + 1;
        }
        for (int k = 0; k <= made; k++) {
            if (out->fit_ok[k] && mb >= 0 && mf >= 0) {
                kn_twostep_judge(&out->fit[k], &out->fit[mb], &out->fit[mf], &out->verdict[k]);
            } else {
                memset(&out->verdict[k], 0, sizeof out->verdict[k]);
                out->verdict[k].mb_fraction = out->verdict[k].mf_fraction = NAN;
                out->verdict[k].mb_z = out->verdict[k].threshold = NAN;
            }
        }
    }
    for (int k = 0; k < KN_METARL_ROWS; k++)
        kn_twostep_history_free(&hist[k]);
    out->n_agents = made;
    out->seconds = kn_seconds() - t0;
    if (!rc && out->checksum_before != out->checksum_after)
        rc = kn_fail(err, KN_ESTATE, "metarl test: the parameters changed during testing "
                     "(checksum %016llx -> %016llx)", (unsigned long long)out->checksum_before,
                     (unsigned long long)out->checksum_after);
    if (rc)
        kn_metarl_test_result_free(out);
    return rc;
}

/* ------------------------------------------------------------------ files */

static int join(char *buf, size_t cap, const char *dir, const char *name, kn_error *err)
{
    int n = snprintf(buf, cap, "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= cap)
        return kn_fail(err, KN_EINVAL, "output path %s/%s is too long", dir, name);
    return 0;
}

static int open_out(kn_atomic_file *af, const char *dir, const char *name, kn_error *err)
{
    char path[4096];
    int rc = join(path, sizeof path, dir, name, err);
    return rc ? rc : kn_atomic_open(af, path, err);
}

static int commit_out(kn_atomic_file *af, kn_error *err)
{
    if (ferror(af->fp)) {
        int e = errno ? errno : EIO;
        int rc = kn_fail_path(err, KN_EIO, af->final_path ? af->final_path : "output",
                              "write failed", e);
        kn_atomic_abort(af);
        return rc;
    }
    return kn_atomic_commit(af, err);
}

static cJSON *num(double x) { return isfinite(x) ? cJSON_CreateNumber(x) : cJSON_CreateNull(); }

static int write_json(const char *dir, const char *name, cJSON *obj, kn_error *err)
{
    char path[4096];
    int rc = join(path, sizeof path, dir, name, err);
    if (rc)
        return rc;
    char *text = cJSON_Print(obj);
    if (!text)
        return kn_fail(err, KN_ENOMEM, "%s: out of memory serialising JSON", path);
    size_t len = strlen(text);
    text[len] = '\0';
    char *with_nl = malloc(len + 2);
    if (!with_nl) {
        free(text);
        return kn_fail(err, KN_ENOMEM, "%s: out of memory", path);
    }
    memcpy(with_nl, text, len);
    with_nl[len] = '\n';
    rc = kn_write_file_atomic(path, with_nl, len + 1, err);
    free(with_nl);
    free(text);
    return rc;
}

static const char *const stay_names[4] = {"rewarded_common", "rewarded_uncommon",
                                          "unrewarded_common", "unrewarded_uncommon"};
static const int stay_rc[4][2] = {{1, 1}, {1, 0}, {0, 1}, {0, 0}};

static cJSON *interval(double x, double se)
{
    cJSON *a = cJSON_CreateArray();
    if (a) {
        cJSON_AddItemToArray(a, num(x - KN_TWOSTEP_Z95 * se));
        cJSON_AddItemToArray(a, num(x + KN_TWOSTEP_Z95 * se));
    }
    return a;
}

/* The choice regression of row k and its verdict (two-step only). */
static cJSON *regression_json(const kn_metarl_test_result *r, int k)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    if (!r->fit_ok[k]) {
        cJSON_AddBoolToObject(o, "fitted", 0);
        cJSON_AddStringToObject(o, "error", r->fit_error[k]);
        return o;
    }
    const kn_twostep_fit *f = &r->fit[k];
    const kn_twostep_verdict *v = &r->verdict[k];
    cJSON_AddBoolToObject(o, "fitted", 1);
    cJSON_AddNumberToObject(o, "lags", f->lags);
    cJSON_AddNumberToObject(o, "trials", (double)f->n_rows);
    cJSON_AddNumberToObject(o, "episodes", (double)f->n_episodes);
    cJSON_AddItemToObject(o, "model_free_index", num(f->model_free));
    cJSON_AddItemToObject(o, "model_free_index_ci95", interval(f->model_free, f->model_free_se));
    cJSON_AddItemToObject(o, "model_based_index", num(f->model_based));
    cJSON_AddItemToObject(o, "model_based_index_ci95",
                          interval(f->model_based, f->model_based_se));
    cJSON_AddItemToObject(o, "model_based_z", num(v->mb_z));
    cJSON_AddItemToObject(o, "model_based_share", num(f->mb_share));
    cJSON_AddItemToObject(o, "model_based_share_ci95", interval(f->mb_share, f->mb_share_se));
    cJSON_AddItemToObject(o, "share_threshold", num(v->threshold));
    cJSON_AddItemToObject(o, "model_based_fraction_of_mb_agent", num(v->mb_fraction));
    cJSON_AddItemToObject(o, "model_free_fraction_of_mf_agent", num(v->mf_fraction));
    cJSON_AddBoolToObject(o, "baselines_separated", v->baselines_separated);
    cJSON_AddBoolToObject(o, "model_based_signature", v->model_based_signature);
    static const char *const group_names[KN_TWOSTEP_GROUPS] = {"choice", "reward", "transition",
                                                               "reward_x_transition"};
    cJSON *lag = cJSON_AddObjectToObject(o, "coefficients_by_lag");
    for (int g = 0; lag && g < KN_TWOSTEP_GROUPS; g++) {
        cJSON *a = cJSON_AddArrayToObject(lag, group_names[g]);
        for (int l = 0; a && l < f->lags; l++)
            cJSON_AddItemToArray(a, num(f->coef[g][l]));
    }
    return o;
}

/* The reference regret of an agent for the task actually run (NaN unless 100 trials). */
static double reference_for(const kn_metarl_test_result *r, kn_agent_kind a)
{
    return r->task.n_trials == 100 ? kn_metarl_reference_regret(r->task.kind, a) : NAN;
}

static cJSON *stats_json(const kn_bandit_stats *s, double reference, int twostep)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    cJSON_AddItemToObject(o, "regret_mean", num(kn_bandit_stats_regret_mean(s)));
    cJSON_AddItemToObject(o, "regret_sem", num(kn_bandit_stats_regret_sem(s)));
    cJSON_AddItemToObject(o, "regret_reference", num(reference));
    if (isfinite(reference)) {
        /* Distance from the reference in our standard errors (the reference's own error is not
         * given, so |z| > 3 flags a difference of definition or of implementation). */
        double z = (kn_bandit_stats_regret_mean(s) - reference) / kn_bandit_stats_regret_sem(s);
        cJSON_AddItemToObject(o, "regret_reference_z", num(z));
        cJSON_AddBoolToObject(o, "agrees_with_reference", fabs(z) <= 3.0);
    }
    cJSON_AddItemToObject(o, "reward_mean",
                          num(s->n_episodes ? s->reward_sum / (double)s->n_episodes : NAN));
    cJSON_AddItemToObject(o, "p_best_trial1", num(kn_bandit_stats_p_best(s, 0)));
    cJSON_AddItemToObject(o, "p_best_last_trial", num(kn_bandit_stats_p_best(s, s->n_trials - 1)));
    if (twostep) {
        cJSON *st = cJSON_AddObjectToObject(o, "p_stay");
        for (int k = 0; st && k < 4; k++)
            cJSON_AddItemToObject(st, stay_names[k],
                                  num(kn_bandit_stats_p_stay(s, stay_rc[k][0], stay_rc[k][1])));
        /* Raw stay probabilities are confounded when rewards drift (a model-free learner shows
         * an interaction too): reported, but the verdict is the choice regression's. */
        double rc = kn_bandit_stats_p_stay(s, 1, 1), ru = kn_bandit_stats_p_stay(s, 1, 0);
        double nc = kn_bandit_stats_p_stay(s, 0, 1), nu = kn_bandit_stats_p_stay(s, 0, 0);
        cJSON_AddItemToObject(o, "reward_main_effect", num(0.5 * (rc + ru) - 0.5 * (nc + nu)));
        cJSON_AddItemToObject(o, "raw_reward_x_transition", num((rc - ru) - (nc - nu)));
    }
    return o;
}

static int write_summary(const char *dir, const kn_metarl_test_result *r, const char *model,
                         kn_error *err)
{
    int twostep = r->task.kind == KN_BANDIT_TASK_TWOSTEP;
    cJSON *root = cJSON_CreateObject();
    if (!root)
        return kn_fail(err, KN_ENOMEM, "summary.json: out of memory");
    char hex[32];
    cJSON_AddStringToObject(root, "command", "rl metarl test");
    cJSON_AddStringToObject(root, "model", model ? model : "");
    cJSON_AddStringToObject(root, "task", kn_bandit_task_kind_name(r->task.kind));
    cJSON_AddNumberToObject(root, "trials", r->task.n_trials);
    cJSON_AddNumberToObject(root, "episodes", (double)r->n_episodes);
    cJSON_AddNumberToObject(root, "seed", (double)r->seed);
    cJSON_AddBoolToObject(root, "greedy", r->greedy);
    snprintf(hex, sizeof hex, "%016llx", (unsigned long long)r->checksum_before);
    cJSON_AddStringToObject(root, "parameter_checksum_before", hex);
    snprintf(hex, sizeof hex, "%016llx", (unsigned long long)r->checksum_after);
    cJSON_AddStringToObject(root, "parameter_checksum_after", hex);
    cJSON_AddBoolToObject(root, "weights_unchanged", r->checksum_before == r->checksum_after);
    cJSON_AddNumberToObject(root, "seconds", r->seconds);
    cJSON *net = stats_json(&r->net.stats, NAN, twostep);
    if (net) {
        cJSON_AddItemToObject(net, "p_action0_trial1", num(r->net.trial1_p_action0));
        if (twostep)
            cJSON_AddItemToObject(net, "choice_regression", regression_json(r, 0));
        cJSON_AddItemToObject(root, "network", net);
    }
    cJSON *agents = cJSON_AddObjectToObject(root, "agents");
    for (int i = 0; agents && i < r->n_agents; i++) {
        cJSON *a = stats_json(&r->agent_stats[i], reference_for(r, r->agents[i]), twostep);
        if (!a)
            continue;
        if (r->agents[i] == KN_AGENT_EPS_GREEDY) {
            cJSON_AddNumberToObject(a, "untried_arm_value", r->agent_params[i].eps_prior);
            cJSON_AddStringToObject(a, "reference_note",
                                    "the reference does not define an untried arm's value: 0.5 "
                                    "(kenyon) gives a lower regret, 0 a higher one; the "
                                    "reference lies between the two");
        }
        if (twostep) {
            cJSON *pa = cJSON_AddObjectToObject(a, "parameters");
            if (pa && isfinite(r->agent_tuned_regret[i])) {
                cJSON_AddNumberToObject(pa, "alpha", r->agent_params[i].alpha);
                cJSON_AddNumberToObject(pa, "beta", r->agent_params[i].beta);
                cJSON_AddStringToObject(pa, "chosen_by", "lowest regret over the alpha x beta "
                                        "grid on the tuning episodes");
                cJSON_AddNumberToObject(pa, "tuning_episodes", KN_METARL_TUNE_EPISODES);
                cJSON_AddItemToObject(pa, "tuning_regret", num(r->agent_tuned_regret[i]));
            }
            cJSON_AddItemToObject(a, "choice_regression", regression_json(r, i + 1));
        }
        cJSON_AddItemToObject(agents, kn_agent_kind_name(r->agents[i]), a);
    }
    /* Targets of issue 10. */
    cJSON *targets = cJSON_AddObjectToObject(root, "targets");
    if (targets && !twostep) {
        double net_regret = kn_bandit_stats_regret_mean(&r->net.stats), thompson = NAN, eps = NAN;
        for (int i = 0; i < r->n_agents; i++) {
            if (r->agents[i] == KN_AGENT_THOMPSON)
                thompson = kn_bandit_stats_regret_mean(&r->agent_stats[i]);
            if (r->agents[i] == KN_AGENT_EPS_GREEDY)
                eps = kn_bandit_stats_regret_mean(&r->agent_stats[i]);
        }
        cJSON_AddBoolToObject(targets, "regret_below_eps_greedy", net_regret < eps);
        cJSON_AddItemToObject(targets, "regret_over_thompson", num(net_regret / thompson));
        cJSON_AddBoolToObject(targets, "within_1.25x_thompson", net_regret <= 1.25 * thompson);
        /* On trial 1 nothing is known yet: P(better arm) must be at chance. Whether the policy
         * itself prefers one side on trial 1 costs nothing and is reported separately. */
        cJSON_AddBoolToObject(targets, "trial1_p_better_arm_at_chance",
                              fabs(r->net.trial1_p_best - 0.5) <= 0.05);
        cJSON_AddBoolToObject(targets, "trial1_policy_unbiased",
                              fabs(r->net.trial1_p_action0 - 0.5) <= 0.05);
    } else if (targets) {
        cJSON_AddBoolToObject(targets, "model_based_signature",
                              r->fit_ok[0] && r->verdict[0].model_based_signature);
    }
    int rc = write_json(dir, "summary.json", root, err);
    cJSON_Delete(root);
    return rc;
}

static const char *agent_label(const kn_metarl_test_result *r, int row)
{
    return row == 0 ? "network" : kn_agent_kind_name(r->agents[row - 1]);
}

static const kn_bandit_stats *row_stats(const kn_metarl_test_result *r, int row)
{
    return row == 0 ? &r->net.stats : &r->agent_stats[row - 1];
}

static int write_tables(const char *dir, const kn_metarl_test_result *r, kn_error *err)
{
    const int rows = 1 + r->n_agents, T = r->task.n_trials;
    kn_atomic_file af;
    int rc = open_out(&af, dir, "regret.csv", err);
    if (rc)
        return rc;
    fprintf(af.fp, "agent,regret_mean,regret_sem,reference,reward_mean\n");
    for (int k = 0; k < rows; k++) {
        const kn_bandit_stats *s = row_stats(r, k);
        double ref = k ? reference_for(r, r->agents[k - 1]) : NAN;
        fprintf(af.fp, "%s,%.6f,%.6f,", agent_label(r, k), kn_bandit_stats_regret_mean(s),
                kn_bandit_stats_regret_sem(s));
        if (isfinite(ref))
            fprintf(af.fp, "%.2f", ref);
        fprintf(af.fp, ",%.4f\n", s->n_episodes ? s->reward_sum / (double)s->n_episodes : 0.0);
    }
    if ((rc = commit_out(&af, err)))
        return rc;

    if ((rc = open_out(&af, dir, "episodes.csv", err)))
        return rc;
    fprintf(af.fp, "episode");
    for (int k = 0; k < rows; k++)
        fprintf(af.fp, ",%s", agent_label(r, k));
    fprintf(af.fp, "\n");
    for (size_t e = 0; e < r->n_episodes; e++) {
        fprintf(af.fp, "%zu", e);
        for (int k = 0; k < rows; k++)
            fprintf(af.fp, ",%.6f", r->episode_regret[(size_t)k * r->n_episodes + e]);
        fprintf(af.fp, "\n");
    }
    if ((rc = commit_out(&af, err)))
        return rc;

    if ((rc = open_out(&af, dir, "p_best.csv", err)))
        return rc;
    fprintf(af.fp, "trial");
    for (int k = 0; k < rows; k++)
        fprintf(af.fp, ",%s", agent_label(r, k));
    fprintf(af.fp, "\n");
    for (int t = 0; t < T; t++) {
        fprintf(af.fp, "%d", t + 1);
        for (int k = 0; k < rows; k++)
            fprintf(af.fp, ",%.6f", kn_bandit_stats_p_best(row_stats(r, k), t));
        fprintf(af.fp, "\n");
    }
    if ((rc = commit_out(&af, err)))
        return rc;

    if (r->task.kind == KN_BANDIT_TASK_TWOSTEP) {
        if ((rc = open_out(&af, dir, "stay.csv", err)))
            return rc;
        fprintf(af.fp, "agent,rewarded,common,p_stay,count\n");
        for (int k = 0; k < rows; k++) {
            const kn_bandit_stats *s = row_stats(r, k);
            for (int c = 0; c < 4; c++)
                fprintf(af.fp, "%s,%d,%d,%.6f,%.0f\n", agent_label(r, k), stay_rc[c][0],
                        stay_rc[c][1], kn_bandit_stats_p_stay(s, stay_rc[c][0], stay_rc[c][1]),
                        s->stay_total[stay_rc[c][0]][stay_rc[c][1]]);
        }
        if ((rc = commit_out(&af, err)))
            return rc;

        static const char *const gn[KN_TWOSTEP_GROUPS] = {"choice", "reward", "transition",
                                                          "reward_x_transition"};
        if ((rc = open_out(&af, dir, "regression.csv", err)))
            return rc;
        fprintf(af.fp, "agent,term,lag,coefficient,se,ci95_lo,ci95_hi\n");
        for (int k = 0; k < rows; k++) {
            if (!r->fit_ok[k])
                continue;
            const kn_twostep_fit *f = &r->fit[k];
            for (int g = 0; g < KN_TWOSTEP_GROUPS; g++)
                for (int l = 0; l < f->lags; l++)
                    fprintf(af.fp, "%s,%s,%d,%.6f,%.6f,%.6f,%.6f\n", agent_label(r, k), gn[g],
                            l + 1, f->coef[g][l], f->se[g][l],
                            f->coef[g][l] - KN_TWOSTEP_Z95 * f->se[g][l],
                            f->coef[g][l] + KN_TWOSTEP_Z95 * f->se[g][l]);
            fprintf(af.fp, "%s,model_free_index,0,%.6f,%.6f,%.6f,%.6f\n", agent_label(r, k),
                    f->model_free, f->model_free_se, f->model_free - KN_TWOSTEP_Z95 * f->model_free_se,
                    f->model_free + KN_TWOSTEP_Z95 * f->model_free_se);
            fprintf(af.fp, "%s,model_based_index,0,%.6f,%.6f,%.6f,%.6f\n", agent_label(r, k),
                    f->model_based, f->model_based_se,
                    f->model_based - KN_TWOSTEP_Z95 * f->model_based_se,
                    f->model_based + KN_TWOSTEP_Z95 * f->model_based_se);
            fprintf(af.fp, "%s,model_based_share,0,%.6f,%.6f,%.6f,%.6f\n", agent_label(r, k),
                    f->mb_share, f->mb_share_se, f->mb_share - KN_TWOSTEP_Z95 * f->mb_share_se,
                    f->mb_share + KN_TWOSTEP_Z95 * f->mb_share_se);
        }
        if ((rc = commit_out(&af, err)))
            return rc;
    }
    return 0;
}

static int write_plots(const char *dir, const kn_metarl_test_result *r, kn_error *err)
{
    const int rows = 1 + r->n_agents, T = r->task.n_trials;
    char path[4096], title[160];
    const char *labels[1 + KN_METARL_MAX_AGENTS];
    char tuned_names[1 + KN_METARL_MAX_AGENTS][40];
    double values[1 + KN_METARL_MAX_AGENTS], errs[1 + KN_METARL_MAX_AGENTS];
    for (int k = 0; k < rows; k++) {
        labels[k] = agent_label(r, k);
        if (k > 0 && isfinite(r->agent_tuned_regret[k - 1])) { /* say which baselines were tuned */
            snprintf(tuned_names[k], sizeof tuned_names[k], "%s (tuned)", labels[k]);
            labels[k] = tuned_names[k];
        }
        values[k] = kn_bandit_stats_regret_mean(row_stats(r, k));
        errs[k] = kn_bandit_stats_regret_sem(row_stats(r, k));
    }
    snprintf(title, sizeof title, "Regret per %d-trial episode (%s, %zu episodes)", T,
             kn_bandit_task_kind_name(r->task.kind), r->n_episodes);
    kn_plot_axes ax = {title, "agent", "regret (mean +- s.e.m.)", 0, 0, 0, 0, 0, 0};
    int rc = join(path, sizeof path, dir, "regret.png", err);
    if (!rc)
        rc = kn_plot_bars(path, &ax, labels, values, errs, (size_t)rows, err);
    if (rc)
        return rc;

    double *x = malloc((size_t)T * sizeof(double));
    double *y = malloc((size_t)T * (size_t)rows * sizeof(double));
    if (!x || !y) {
        free(x);
        free(y);
        return kn_fail(err, KN_ENOMEM, "metarl plots: out of memory");
    }
    kn_plot_series series[1 + KN_METARL_MAX_AGENTS];
    for (int t = 0; t < T; t++)
        x[t] = t + 1;
    for (int k = 0; k < rows; k++) {
        for (int t = 0; t < T; t++) {
            double p = kn_bandit_stats_p_best(row_stats(r, k), t);
            y[(size_t)k * T + t] = isfinite(p) ? p : 0.5;
        }
        kn_plot_series s = {labels[k], x, y + (size_t)k * T, (size_t)T, NULL, NULL,
                            k == 0 ? KN_PLOT_LINE : KN_PLOT_DASHED};
        series[k] = s;
    }
    snprintf(title, sizeof title, "P(better arm) by trial (%s)",
             kn_bandit_task_kind_name(r->task.kind));
    kn_plot_axes ax2 = {title, "trial", "P(choose the better arm)", 0, 0, 1, T, 0.3, 1.0};
    rc = join(path, sizeof path, dir, "p_best.png", err);
    if (!rc)
        rc = kn_plot_lines(path, &ax2, series, (size_t)rows, err);
    free(x);
    free(y);
    if (rc || r->task.kind != KN_BANDIT_TASK_TWOSTEP)
        return rc;

    /* Stay probabilities as the papers show them: per agent, the rewarded and unrewarded groups
     * with a common and an uncommon bar each (the network first, as in Wang et al. Fig. 5). */
    static const char *const groups[2] = {"rewarded", "unrewarded"};
    static const char *const bars[2] = {"common transition", "uncommon transition"};
    double vals[1 + KN_METARL_MAX_AGENTS][4], sems[1 + KN_METARL_MAX_AGENTS][4];
    char titles[1 + KN_METARL_MAX_AGENTS][48];
    kn_bar_panel panels[1 + KN_METARL_MAX_AGENTS];
    size_t np = 0;
    for (int k = 0; k < rows; k++) {
        const kn_bandit_stats *s = row_stats(r, k);
        for (int rw = 0; rw < 2; rw++)
            for (int cm = 0; cm < 2; cm++) {
                int rewarded = rw == 0, common = cm == 0;
                double pst = kn_bandit_stats_p_stay(s, rewarded, common);
                double n = s->stay_total[rewarded][common];
                vals[np][rw * 2 + cm] = pst;
                sems[np][rw * 2 + cm] = n > 0 && isfinite(pst) ? sqrt(pst * (1 - pst) / n) : NAN;
            }
        snprintf(titles[np], sizeof titles[np], "%s", labels[k]);
        panels[np] = (kn_bar_panel){titles[np], vals[np], sems[np]};
        np++;
    }
    rc = join(path, sizeof path, dir, "stay.png", err);
    if (!rc)
        rc = kn_figure_grouped_bars(path, "Two-step task: P(stay) by the previous trial's "
                                    "reward and transition", "P(same first-stage choice)", 0.0,
                                    1.05, groups, 2, bars, 2, panels, 1, err);
    if (rc)
        return rc;
    rc = join(path, sizeof path, dir, "stay_agents.png", err);
    if (!rc)
        rc = kn_figure_grouped_bars(path, "Two-step task: P(stay) by the previous trial's "
                                    "reward and transition, network and baselines",
                                    "P(same first-stage choice)", 0.0, 1.05, groups, 2, bars, 2,
                                    panels, np, err);
    return rc;
}

/* The choice regression as Miller et al. show it: per agent, the reward (model-free) and
 * reward x transition (model-based) coefficients against the lag, with 95% intervals dashed. */
static int plot_regression(const char *dir, const kn_metarl_test_result *r, kn_error *err)
{
    const int rows = 1 + r->n_agents;
    enum { L = KN_TWOSTEP_MAX_LAGS, ROWS = 1 + KN_METARL_MAX_AGENTS };
    double lag[L], y[ROWS][6][L];
    kn_plot_series ser[ROWS][6];
    kn_figure_panel panels[ROWS];
    char titles[ROWS][64];
    static const size_t colours[6] = {0, 0, 0, 1, 1, 1};
    static const int groups[2] = {KN_TWOSTEP_REWARD, KN_TWOSTEP_INTERACTION};
    static const char *const names[2] = {"reward (model-free)",
                                         "reward x transition (model-based)"};
    memset(panels, 0, sizeof panels);
    size_t np = 0;
    for (int l = 0; l < L; l++)
        lag[l] = l + 1;
    for (int k = 0; k < rows; k++) {
        if (!r->fit_ok[k])
            continue;
        const kn_twostep_fit *f = &r->fit[k];
        for (int q = 0; q < 2; q++) {
            for (int l = 0; l < f->lags; l++) {
                double c = f->coef[groups[q]][l], h = KN_TWOSTEP_Z95 * f->se[groups[q]][l];
                y[np][3 * q][l] = c;
                y[np][3 * q + 1][l] = c - h;
                y[np][3 * q + 2][l] = c + h;
            }
            ser[np][3 * q] = (kn_plot_series){names[q], lag, y[np][3 * q], (size_t)f->lags, NULL,
                                              NULL, KN_PLOT_LINE_POINTS};
            for (int b = 1; b <= 2; b++)
                ser[np][3 * q + b] = (kn_plot_series){NULL, lag, y[np][3 * q + b],
                                                      (size_t)f->lags, NULL, NULL, KN_PLOT_DASHED};
        }
        snprintf(titles[np], sizeof titles[np], "%s (MB share %.2f)", agent_label(r, k),
                 f->mb_share);
        /* room above the data for the legend */
        double lo = 0.0, hi = 0.0;
        for (int b = 0; b < 6; b++)
            for (int l = 0; l < f->lags; l++) {
                lo = fmin(lo, y[np][b][l]);
                hi = fmax(hi, y[np][b][l]);
            }
        double span = hi > lo ? hi - lo : 1.0;
        panels[np].axes.ymin = lo - 0.05 * span;
        panels[np].axes.ymax = hi + 0.45 * span;
        panels[np].axes.title = titles[np];
        panels[np].axes.xlabel = "trials back (lag)";
        panels[np].axes.ylabel = np == 0 ? "coefficient (log-odds of repeating)" : NULL;
        panels[np].axes.xmin = 0.5;
        panels[np].axes.xmax = f->lags + 0.5;
        panels[np].series = ser[np];
        panels[np].n_series = 6;
        panels[np].colours = colours;
        panels[np].zero_line = 1;
        panels[np].legend = KN_LEGEND_TOP_RIGHT;
        np++;
    }
    if (np == 0)
        return 0;
    char path[4096];
    int rc = join(path, sizeof path, dir, "regression.png", err);
    if (!rc)
        rc = kn_figure_panels(path, "Two-step task: logistic regression of choices on past "
                              "trials (dashed: 95% intervals)", panels, np, np > 2 ? 2 : (int)np,
                              np > 1 ? 1300 : 800, np > 2 ? 1000 : 560, err);
    return rc;
}

int kn_metarl_write_test_report(const char *dir, const kn_metarl_test_result *r,
                                const char *model_path, kn_error *err)
{
    int rc = kn_mkdirs(dir, err);
    if (!rc)
        rc = write_tables(dir, r, err);
    if (!rc)
        rc = write_summary(dir, r, model_path, err);
    if (!rc)
        rc = write_plots(dir, r, err);
    if (!rc && r->task.kind == KN_BANDIT_TASK_TWOSTEP)
        rc = plot_regression(dir, r, err);
    return rc;
}

/* ------------------------------------------------------------------ training report */

int kn_metarl_curve_add(kn_metarl_curve *c, long episodes, double seconds, double regret,
                        double reward, double loss, kn_error *err)
{
    if (c->n == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 64;
        long *e = realloc(c->episodes, cap * sizeof *e);
        if (e)
            c->episodes = e;
        double *sec = e ? realloc(c->seconds, cap * sizeof *sec) : NULL;
        if (sec)
            c->seconds = sec;
        double *a = sec ? realloc(c->regret, cap * sizeof *a) : NULL;
        if (a)
            c->regret = a;
        double *b = a ? realloc(c->reward, cap * sizeof *b) : NULL;
        if (b)
            c->reward = b;
        double *d = b ? realloc(c->loss, cap * sizeof *d) : NULL;
        if (d)
            c->loss = d;
        if (!d)
            return kn_fail(err, KN_ENOMEM, "training curve: out of memory");
        c->cap = cap;
    }
    c->episodes[c->n] = episodes;
    c->seconds[c->n] = seconds;
    c->regret[c->n] = regret;
    c->reward[c->n] = reward;
    c->loss[c->n] = loss;
    c->n++;
    return 0;
}

void kn_metarl_curve_free(kn_metarl_curve *c)
{
    if (!c)
        return;
    free(c->episodes);
    free(c->seconds);
    free(c->regret);
    free(c->reward);
    free(c->loss);
    memset(c, 0, sizeof *c);
}

int kn_metarl_write_train_report(const char *dir, const kn_metarl_config *cfg,
                                 const kn_metarl_curve *curve, long episodes_done,
                                 double seconds, const char *model_path, uint64_t checksum,
                                 kn_error *err)
{
    int rc = kn_mkdirs(dir, err);
    if (rc)
        return rc;
    kn_atomic_file af;
    if ((rc = open_out(&af, dir, "train_curve.csv", err)))
        return rc;
    fprintf(af.fp, "episodes,seconds,regret,reward,loss\n");
    for (size_t i = 0; i < curve->n; i++)
        fprintf(af.fp, "%ld,%.3f,%.6f,%.6f,%.6f\n", curve->episodes[i], curve->seconds[i],
                curve->regret[i], curve->reward[i], curve->loss[i]);
    if ((rc = commit_out(&af, err)))
        return rc;

    cJSON *root = cJSON_CreateObject();
    if (!root)
        return kn_fail(err, KN_ENOMEM, "train_summary.json: out of memory");
    char hex[32];
    snprintf(hex, sizeof hex, "%016llx", (unsigned long long)checksum);
    cJSON_AddStringToObject(root, "command", "rl metarl train");
    cJSON_AddStringToObject(root, "model", model_path ? model_path : "");
    cJSON_AddStringToObject(root, "parameter_checksum", hex);
    cJSON_AddStringToObject(root, "task", kn_bandit_task_kind_name(cfg->task.kind));
    cJSON_AddNumberToObject(root, "trials", cfg->task.n_trials);
    cJSON_AddNumberToObject(root, "episodes", (double)episodes_done);
    cJSON_AddNumberToObject(root, "seconds", seconds);
    cJSON_AddNumberToObject(root, "seed", (double)cfg->seed);
    cJSON_AddNumberToObject(root, "hidden", cfg->net.hidden);
    cJSON_AddBoolToObject(root, "time_input", cfg->net.time_input);
    cJSON_AddNumberToObject(root, "batch", cfg->batch);
    cJSON_AddNumberToObject(root, "lr", cfg->lr);
    cJSON_AddNumberToObject(root, "lr_end", cfg->lr_end);
    cJSON_AddNumberToObject(root, "gamma", cfg->coefs.gamma);
    cJSON_AddNumberToObject(root, "value_coef", cfg->coefs.value_coef);
    cJSON_AddNumberToObject(root, "entropy_coef", cfg->coefs.entropy_coef);
    cJSON_AddNumberToObject(root, "grad_clip", cfg->grad_clip);
    if (curve->n)
        cJSON_AddItemToObject(root, "final_train_regret", num(curve->regret[curve->n - 1]));
    rc = write_json(dir, "train_summary.json", root, err);
    cJSON_Delete(root);
    if (rc || curve->n < 2)
        return rc;

    /* Reference lines: the best classical agent for the task (Thompson sampling for the bandits,
     * the tuned model-based agent for the two-step task) and random choice, on fresh episodes. */
    const int twostep = cfg->task.kind == KN_BANDIT_TASK_TWOSTEP;
    kn_agent_kind best_kind = twostep ? KN_AGENT_MODEL_BASED : KN_AGENT_THOMPSON;
    kn_agent_params ap;
    kn_agent_params_default(&ap);
    const uint64_t ref_seed = cfg->seed ^ KN_METARL_TUNE_TAG ^ 0x5eedull;
    double ref[2] = {NAN, NAN};
    if (twostep)
        rc = kn_agent_tune_default(best_kind, &cfg->task, KN_METARL_TUNE_EPISODES, ref_seed, &ap,
                                   NULL, err);
    for (int k = 0; k < 2 && !rc; k++) {
        kn_bandit_stats st;
        rc = kn_bandit_stats_init(&st, cfg->task.n_trials, err);
        if (!rc)
            rc = kn_agent_evaluate(k == 0 ? best_kind : KN_AGENT_RANDOM, &ap, &cfg->task, 2000,
                                   ref_seed + 1, &st, err);
        ref[k] = kn_bandit_stats_regret_mean(&st);
        kn_bandit_stats_free(&st);
    }
    if (rc)
        return rc;
    double *x = malloc(curve->n * sizeof *x);
    double *r0 = malloc(curve->n * sizeof *r0), *r1 = malloc(curve->n * sizeof *r1);
    if (!x || !r0 || !r1) {
        free(x);
        free(r0);
        free(r1);
        return kn_fail(err, KN_ENOMEM, "training plot: out of memory");
    }
    for (size_t i = 0; i < curve->n; i++) {
        x[i] = (double)curve->episodes[i];
        r0[i] = ref[0];
        r1[i] = ref[1];
    }
    char l0[96], l1[64];
    snprintf(l0, sizeof l0, "%s %.2f", twostep ? "tuned model-based" : "Thompson", ref[0]);
    snprintf(l1, sizeof l1, "random %.2f", ref[1]);
    kn_plot_series s[3] = {
        {"network (training)", x, curve->regret, curve->n, NULL, NULL,
         KN_PLOT_LINE},
        {l0, x, r0, curve->n, NULL, NULL, KN_PLOT_DASHED},
        {l1, x, r1, curve->n, NULL, NULL, KN_PLOT_DASHED},
    };
    char title[160], path[4096];
    snprintf(title, sizeof title, "Meta-RL training regret (%s, seed %llu)",
             kn_bandit_task_kind_name(cfg->task.kind), (unsigned long long)cfg->seed);
    kn_plot_axes ax = {title, "training episodes", "regret per episode", 0, 0, 0, 0, 0, 0};
    rc = join(path, sizeof path, dir, "train_curve.png", err);
    if (!rc)
        rc = kn_plot_lines(path, &ax, s, 3, err);
    free(x);
    free(r0);
    free(r1);
    return rc;
}
