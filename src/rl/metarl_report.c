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
#include "kenyon/progress.h"

double kn_metarl_reference_regret(kn_task_kind task, kn_agent_kind agent)
{
    if (task == KN_TASK_INDEPENDENT) {
        switch (agent) {
        case KN_AGENT_THOMPSON: return 2.78;
        case KN_AGENT_UCB1: return 5.56;
        case KN_AGENT_EPS_GREEDY: return 4.23;
        case KN_AGENT_RANDOM: return 16.6;
        default: return NAN;
        }
    }
    if (task == KN_TASK_DEPENDENT) {
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

int kn_metarl_test(kn_metarl_net *net, const kn_task_params *task, size_t n_episodes,
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
    if (task->kind == KN_TASK_TWOSTEP) {
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
    out->checksum_before = kn_metarl_net_checksum(net);
    int rc = kn_metarl_evaluate(net, task, n_episodes, seed, greedy, out->episode_regret,
                                &out->net, err);
    out->checksum_after = kn_metarl_net_checksum(net);
    if (rc) {
        out->n_agents = 0; /* no agent statistics were made yet */
        free(out->episode_regret);
        out->episode_regret = NULL;
        return rc;
    }
    kn_agent_params ap;
    kn_agent_params_default(&ap);
    int made = 0;
    for (int i = 0; i < out->n_agents && !rc; i++) {
        rc = kn_bandit_stats_init(&out->agent_stats[i], task->n_trials, err);
        if (rc)
            break;
        made++;
        out->agent_stats[i].episode_regret = out->episode_regret + (size_t)(i + 1) * n_episodes;
        out->agent_stats[i].episode_cap = n_episodes;
        rc = kn_agent_evaluate(out->agents[i], &ap, task, n_episodes, seed, &out->agent_stats[i],
                               err);
    }
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

static int stay_signature(const kn_bandit_stats *s)
{
    return kn_bandit_stats_p_stay(s, 1, 1) > kn_bandit_stats_p_stay(s, 1, 0) &&
           kn_bandit_stats_p_stay(s, 0, 0) > kn_bandit_stats_p_stay(s, 0, 1);
}

static cJSON *stats_json(const kn_bandit_stats *s, double reference, int twostep)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    cJSON_AddItemToObject(o, "regret_mean", num(kn_bandit_stats_regret_mean(s)));
    cJSON_AddItemToObject(o, "regret_sem", num(kn_bandit_stats_regret_sem(s)));
    cJSON_AddItemToObject(o, "regret_reference", num(reference));
    cJSON_AddItemToObject(o, "reward_mean",
                          num(s->n_episodes ? s->reward_sum / (double)s->n_episodes : NAN));
    cJSON_AddItemToObject(o, "p_best_trial1", num(kn_bandit_stats_p_best(s, 0)));
    cJSON_AddItemToObject(o, "p_best_last_trial", num(kn_bandit_stats_p_best(s, s->n_trials - 1)));
    if (twostep) {
        cJSON *st = cJSON_AddObjectToObject(o, "p_stay");
        for (int k = 0; st && k < 4; k++)
            cJSON_AddItemToObject(st, stay_names[k],
                                  num(kn_bandit_stats_p_stay(s, stay_rc[k][0], stay_rc[k][1])));
        cJSON_AddBoolToObject(o, "model_based_signature", stay_signature(s));
        /* The usual summary of the stay analysis: a model-free learner shows a main effect of
         * reward, a model-based one the reward x transition interaction. */
        double rc = kn_bandit_stats_p_stay(s, 1, 1), ru = kn_bandit_stats_p_stay(s, 1, 0);
        double nc = kn_bandit_stats_p_stay(s, 0, 1), nu = kn_bandit_stats_p_stay(s, 0, 0);
        cJSON_AddItemToObject(o, "reward_main_effect", num(0.5 * (rc + ru) - 0.5 * (nc + nu)));
        cJSON_AddItemToObject(o, "reward_x_transition", num((rc - ru) - (nc - nu)));
    }
    return o;
}

static int write_summary(const char *dir, const kn_metarl_test_result *r, const char *model,
                         kn_error *err)
{
    int twostep = r->task.kind == KN_TASK_TWOSTEP;
    cJSON *root = cJSON_CreateObject();
    if (!root)
        return kn_fail(err, KN_ENOMEM, "summary.json: out of memory");
    char hex[32];
    cJSON_AddStringToObject(root, "command", "rl metarl test");
    cJSON_AddStringToObject(root, "model", model ? model : "");
    cJSON_AddStringToObject(root, "task", kn_task_kind_name(r->task.kind));
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
        cJSON_AddItemToObject(root, "network", net);
    }
    cJSON *agents = cJSON_AddObjectToObject(root, "agents");
    for (int i = 0; agents && i < r->n_agents; i++)
        cJSON_AddItemToObject(agents, kn_agent_kind_name(r->agents[i]),
                              stats_json(&r->agent_stats[i],
                                         kn_metarl_reference_regret(r->task.kind, r->agents[i]),
                                         twostep));
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
        cJSON_AddBoolToObject(targets, "model_based_signature", stay_signature(&r->net.stats));
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
        double ref = k ? kn_metarl_reference_regret(r->task.kind, r->agents[k - 1]) : NAN;
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

    if (r->task.kind == KN_TASK_TWOSTEP) {
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
    }
    return 0;
}

static int write_plots(const char *dir, const kn_metarl_test_result *r, kn_error *err)
{
    const int rows = 1 + r->n_agents, T = r->task.n_trials;
    char path[4096], title[160];
    const char *labels[1 + KN_METARL_MAX_AGENTS];
    double values[1 + KN_METARL_MAX_AGENTS], errs[1 + KN_METARL_MAX_AGENTS];
    for (int k = 0; k < rows; k++) {
        labels[k] = agent_label(r, k);
        values[k] = kn_bandit_stats_regret_mean(row_stats(r, k));
        errs[k] = kn_bandit_stats_regret_sem(row_stats(r, k));
    }
    snprintf(title, sizeof title, "Regret per %d-trial episode (%s, %zu episodes)", T,
             kn_task_kind_name(r->task.kind), r->n_episodes);
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
    snprintf(title, sizeof title, "P(better arm) by trial (%s)", kn_task_kind_name(r->task.kind));
    kn_plot_axes ax2 = {title, "trial", "P(choose the better arm)", 0, 0, 1, T, 0.3, 1.0};
    rc = join(path, sizeof path, dir, "p_best.png", err);
    if (!rc)
        rc = kn_plot_lines(path, &ax2, series, (size_t)rows, err);
    free(x);
    free(y);
    if (rc || r->task.kind != KN_TASK_TWOSTEP)
        return rc;

    /* Stay probabilities: the network alone (as in Wang et al. Fig. 5), then every agent. */
    static const char *const long_names[4] = {"rew. common", "rew. uncommon", "unrew. common",
                                              "unrew. uncommon"};
    static const char *const short_names[4] = {"RC", "RU", "NC", "NU"};
    double nv[4];
    for (int c = 0; c < 4; c++) {
        nv[c] = kn_bandit_stats_p_stay(&r->net.stats, stay_rc[c][0], stay_rc[c][1]);
        if (!isfinite(nv[c]))
            nv[c] = 0;
    }
    kn_plot_axes ax3 = {"Two-step task: network stay probability", "previous trial", "P(stay)",
                        0, 0, 0, 0, 0, 1.1};
    rc = join(path, sizeof path, dir, "stay.png", err);
    if (!rc)
        rc = kn_plot_bars(path, &ax3, long_names, nv, NULL, 4, err);
    if (rc)
        return rc;
    enum { MAXB = 4 * (1 + KN_METARL_MAX_AGENTS) };
    char names[MAXB][24];
    const char *blabels[MAXB];
    double bvals[MAXB];
    int nb = 0;
    for (int k = 0; k < rows; k++) {
        if (k > 0 && r->agents[k - 1] == KN_AGENT_RANDOM)
            continue; /* flat at 0.5; in stay.csv, left out here to keep the labels legible */
        const char *who = k == 0 ? "net"
                          : r->agents[k - 1] == KN_AGENT_MODEL_BASED ? "MB"
                          : r->agents[k - 1] == KN_AGENT_MODEL_FREE  ? "MF"
                          : r->agents[k - 1] == KN_AGENT_RANDOM      ? "rnd"
                                                                     : labels[k];
        for (int c = 0; c < 4; c++) {
            snprintf(names[nb], sizeof names[nb], "%s %s", who, short_names[c]);
            blabels[nb] = names[nb];
            bvals[nb] = kn_bandit_stats_p_stay(row_stats(r, k), stay_rc[c][0], stay_rc[c][1]);
            if (!isfinite(bvals[nb]))
                bvals[nb] = 0;
            nb++;
        }
    }
    kn_plot_axes ax4 = {"Stay probability: R/N rewarded or not, C/U common or uncommon",
                        "agent and previous trial", "P(stay)", 0, 0, 0, 0, 0, 1.1};
    rc = join(path, sizeof path, dir, "stay_agents.png", err);
    if (!rc)
        rc = kn_plot_bars(path, &ax4, blabels, bvals, NULL, (size_t)nb, err);
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
    cJSON_AddStringToObject(root, "task", kn_task_kind_name(cfg->task.kind));
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

    double *x = malloc(curve->n * sizeof *x);
    if (!x)
        return kn_fail(err, KN_ENOMEM, "training plot: out of memory");
    for (size_t i = 0; i < curve->n; i++)
        x[i] = (double)curve->episodes[i];
    kn_plot_series s = {"network (training, sampled actions)", x, curve->regret, curve->n, NULL,
                        NULL, KN_PLOT_LINE};
    char title[160], path[4096];
    snprintf(title, sizeof title, "Meta-RL training regret (%s, seed %llu)",
             kn_task_kind_name(cfg->task.kind), (unsigned long long)cfg->seed);
    kn_plot_axes ax = {title, "training episodes", "regret per episode", 0, 0, 0, 0, 0, 0};
    rc = join(path, sizeof path, dir, "train_curve.png", err);
    if (!rc)
        rc = kn_plot_lines(path, &ax, &s, 1, err);
    free(x);
    return rc;
}
