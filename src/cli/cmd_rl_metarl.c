/* `kenyon rl metarl train|test`: meta-reinforcement learning (Wang et al. 2018). `train` trains
 * the LSTM actor-critic across episodes of a bandit or two-step task and saves it (safetensors);
 * `test` freezes the weights, runs fresh episodes, compares with Thompson sampling, UCB1,
 * epsilon-greedy and random (model-based / model-free for the two-step task) on the same
 * episodes, and proves the weights did not change (parameter checksum before and after).
 * A thin layer over src/rl (kenyon/metarl.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/opts.h"
#include "commands.h"
#include "kenyon/fileio.h"
#include "kenyon/metarl.h"
#include "kenyon/progress.h"

int kn_cmd_rl_metarl(int argc, char **argv);

typedef struct train_ctx {
    kn_progress progress;
    kn_metarl_curve curve;
    double start;
    int failed;
    kn_error err;
} train_ctx;

static int on_progress(void *p, long done, double regret, double reward, double loss)
{
    train_ctx *c = p;
    if (kn_metarl_curve_add(&c->curve, done, kn_seconds() - c->start, regret, reward, loss,
                            &c->err)) {
        c->failed = 1;
        return 1;
    }
    char detail[96];
    snprintf(detail, sizeof detail, "regret %.2f reward %.1f", regret, reward);
    kn_progress_update(&c->progress, (size_t)done, detail);
    return 0;
}

static int cmd_train(int argc, char **argv)
{
    const char *task = "independent", *out = NULL, *model = NULL;
    int episodes = 40000, time_input = 0, quiet = 0, every = 0;
    kn_metarl_config c;
    kn_metarl_config_default(&c, KN_BANDIT_TASK_INDEPENDENT);
    kn_opt opts[] = {
        {"task", KN_OPT_STRING, &task, "independent, dependent, baited or twostep"},
        {"episodes", KN_OPT_INT, &episodes, "training episodes"},
        {"trials", KN_OPT_INT, &c.task.n_trials, "trials per episode"},
        {"hidden", KN_OPT_INT, &c.net.hidden, "LSTM units"},
        {"time-input", KN_OPT_FLAG, &time_input, "also give the network t / trials"},
        {"batch", KN_OPT_INT, &c.batch, "episodes per update (run in lockstep)"},
        {"lr", KN_OPT_DOUBLE, &c.lr, "RMSprop learning rate"},
        {"lr-end", KN_OPT_DOUBLE, &c.lr_end,
         "if >= 0, the learning rate falls linearly from --lr to this over training"},
        {"gamma", KN_OPT_DOUBLE, &c.coefs.gamma, "discount factor"},
        {"value-coef", KN_OPT_DOUBLE, &c.coefs.value_coef, "weight of the value loss"},
        {"entropy-coef", KN_OPT_DOUBLE, &c.coefs.entropy_coef, "weight of the entropy bonus"},
        {"grad-clip", KN_OPT_DOUBLE, &c.grad_clip, "global gradient-norm clip (0: none)"},
        {"seed", KN_OPT_U64, &c.seed, "random seed (initial weights and training episodes)"},
        {"every", KN_OPT_INT, &every, "episodes per row of the training curve (0: episodes / 100)"},
        {"out", KN_OPT_OUT_DIR, &out, "output directory (default metarl-TASK-sSEED)"},
        {"model", KN_OPT_OUT_FILE, &model, "model file (default OUT/model.safetensors)"},
        {"quiet", KN_OPT_FLAG, &quiet, "no progress display"},
        {NULL, 0, NULL, NULL},
    };
    kn_command_spec spec = {
        "rl metarl train", "[options]",
        "Trains an LSTM actor-critic (advantage actor-critic, RMSprop) across episodes whose "
        "reward probabilities are redrawn every episode, so that it learns to learn (Wang et "
        "al. 2018). Inputs: previous action (one-hot), previous reward (two-step: the "
        "second-stage state reached). Writes the model (safetensors), train_curve.csv/.png and "
        "train_summary.json.",
        opts};
    int pr = kn_opts_parse(&spec, argc, argv, NULL, 0, NULL);
    if (pr != KN_OPTS_OK)
        return kn_opts_exit_code(pr);
    int kind = kn_bandit_task_kind_parse(task);
    if (kind < 0) {
        fprintf(stderr, "kenyon rl metarl train: --task '%s' is not independent, dependent, "
                        "baited or twostep\n", task);
        return 2;
    }
    kn_metarl_config d;
    kn_metarl_config_default(&d, (kn_bandit_task_kind)kind);
    d.task.n_trials = c.task.n_trials;
    d.net.hidden = c.net.hidden;
    d.net.time_input = time_input;
    d.episodes = episodes;
    d.batch = c.batch;
    d.lr = c.lr;
    d.lr_end = c.lr_end;
    d.coefs = c.coefs;
    d.grad_clip = c.grad_clip;
    d.seed = c.seed;
    c = d;
    const char *bad = kn_metarl_config_check(&c);
    if (bad) {
        fprintf(stderr, "kenyon rl metarl train: %s\n", bad);
        return 2;
    }
    if (every < 0) {
        fprintf(stderr, "kenyon rl metarl train: --every must be >= 0\n");
        return 2;
    }
    if (every == 0)
        every = episodes >= 100 ? episodes / 100 : 1;
    char out_buf[512], model_buf[1024];
    if (!out) {
        snprintf(out_buf, sizeof out_buf, "metarl-%s-s%llu", task, (unsigned long long)c.seed);
        out = out_buf;
    }
    if (!model) {
        snprintf(model_buf, sizeof model_buf, "%s/model.safetensors", out);
        model = model_buf;
    }
    kn_error err;
    kn_metarl_net net;
    kn_rng rng;
    kn_rng_seed(&rng, c.seed);
    if (kn_metarl_net_create(&net, &c.net, (size_t)c.batch, (size_t)c.task.n_trials, &rng,
                             &err)) {
        fprintf(stderr, "kenyon rl metarl train: %s\n", err.msg);
        return 1;
    }
    train_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    char label[128];
    snprintf(label, sizeof label, "metarl train %s", task);
    kn_progress_start(&ctx.progress, NULL, quiet, label, (size_t)episodes);
    double t0 = kn_seconds();
    ctx.start = t0;
    long done = 0;
    int rc = kn_metarl_train(&net, &c, every, on_progress, &ctx, &done, &err);
    double seconds = kn_seconds() - t0;
    if (ctx.failed) {
        rc = ctx.err.code ? ctx.err.code : KN_ENOMEM;
        err = ctx.err;
    }
    char summary[160];
    snprintf(summary, sizeof summary, "%ld episodes, last training regret %.2f", done,
             ctx.curve.n ? ctx.curve.regret[ctx.curve.n - 1] : NAN);
    kn_progress_finish(&ctx.progress, rc ? "failed" : summary);
    if (!rc)
        rc = kn_mkdirs(out, &err);
    if (!rc)
        rc = kn_metarl_save(model, &net, &c.task, &c, done, seconds, &err);
    uint64_t checksum = kn_metarl_net_checksum(&net);
    if (!rc)
        rc = kn_metarl_write_train_report(out, &c, &ctx.curve, done, seconds, model, checksum,
                                          &err);
    kn_metarl_curve_free(&ctx.curve);
    kn_metarl_net_free(&net);
    if (rc) {
        fprintf(stderr, "kenyon rl metarl train: %s\n", err.msg);
        return 1;
    }
    char dur[32];
    kn_format_duration(seconds, dur, sizeof dur);
    printf("trained %ld episodes of %s in %s (%.1f s); parameter checksum %016llx\n", done, task,
           dur, seconds, (unsigned long long)checksum);
    printf("model: %s\nresults: %s/train_curve.csv, train_curve.png, train_summary.json\n", model,
           out);
    return 0;
}

static void print_stats_line(const char *name, const kn_bandit_stats *s, double ref)
{
    printf("  %-12s regret %6.3f +- %.3f", name, kn_bandit_stats_regret_mean(s),
           kn_bandit_stats_regret_sem(s));
    if (isfinite(ref) && s->n_trials == 100) {
        double z = (kn_bandit_stats_regret_mean(s) - ref) / kn_bandit_stats_regret_sem(s);
        printf("   (reference %.2f, %+.1f s.e.%s)", ref, z, fabs(z) > 3.0 ? ": DIFFERS" : "");
    }
    printf("   P(better arm) trial 1 %.3f, trial %d %.3f\n", kn_bandit_stats_p_best(s, 0),
           s->n_trials, kn_bandit_stats_p_best(s, s->n_trials - 1));
}

static void print_stays(const char *name, const kn_bandit_stats *s)
{
    double rc = kn_bandit_stats_p_stay(s, 1, 1), ru = kn_bandit_stats_p_stay(s, 1, 0);
    double uc = kn_bandit_stats_p_stay(s, 0, 1), uu = kn_bandit_stats_p_stay(s, 0, 0);
    printf("  %-12s P(stay): rewarded common %.3f, rewarded uncommon %.3f, unrewarded common "
           "%.3f, unrewarded uncommon %.3f (raw reward x transition %.3f, confounded by the "
           "drifting rewards)\n",
           name, rc, ru, uc, uu, (rc - ru) - (uc - uu));
}

static void print_regression(const char *name, const kn_metarl_test_result *r, int k)
{
    if (!r->fit_ok[k]) {
        printf("  %-12s choice regression not fitted: %s\n", name, r->fit_error[k]);
        return;
    }
    const kn_twostep_fit *f = &r->fit[k];
    const kn_twostep_verdict *v = &r->verdict[k];
    const double z = KN_TWOSTEP_Z95;
    printf("  %-12s regression (%d lags, %zu trials, %zu episodes): model-free %.3f [%.3f, "
           "%.3f], model-based %.3f [%.3f, %.3f], model-based share %.3f [%.3f, %.3f] vs "
           "threshold %.3f -> model-based signature %s\n",
           name, f->lags, f->n_rows, f->n_episodes, f->model_free, f->model_free - z * f->model_free_se,
           f->model_free + z * f->model_free_se, f->model_based,
           f->model_based - z * f->model_based_se, f->model_based + z * f->model_based_se,
           f->mb_share, f->mb_share - z * f->mb_share_se, f->mb_share + z * f->mb_share_se,
           v->threshold, v->model_based_signature ? "yes" : "no");
}

static int cmd_test(int argc, char **argv)
{
    const char *model = NULL, *out = NULL;
    int episodes = 2000, greedy = 0, quiet = 0;
    uint64_t seed = 20180514;
    kn_opt opts[] = {
        {"model", KN_OPT_STRING, &model, "model file written by `kenyon rl metarl train`"},
        {"episodes", KN_OPT_INT, &episodes, "fresh test episodes"},
        {"seed", KN_OPT_U64, &seed, "seed of the test episodes (shared by all agents)"},
        {"greedy", KN_OPT_FLAG, &greedy, "network takes the most probable action (default: samples)"},
        {"out", KN_OPT_OUT_DIR, &out, "output directory (default: MODEL's directory/test)"},
        {"quiet", KN_OPT_FLAG, &quiet, "print only the summary"},
        {NULL, 0, NULL, NULL},
    };
    kn_command_spec spec = {
        "rl metarl test", "--model FILE [options]",
        "Tests a trained meta-RL network with its weights frozen on fresh episodes of the task it "
        "was trained on, and runs the classical agents on the same episodes. Reports regret per "
        "episode, P(better arm) per trial, two-step stay probabilities, and the parameter "
        "checksum before and after (must match). Writes summary.json, regret.csv, episodes.csv, "
        "p_best.csv, stay.csv and plots. Two-step: the model-based and model-free agents are tuned "
        "(alpha x beta grid) on separate episodes, and every agent is read by a lagged logistic "
        "regression of its choices (regression.csv) whose model-based share decides the verdict.",
        opts};
    int pr = kn_opts_parse(&spec, argc, argv, NULL, 0, NULL);
    if (pr != KN_OPTS_OK)
        return kn_opts_exit_code(pr);
    if (!model) {
        fprintf(stderr, "kenyon rl metarl test: --model is required\n");
        return 2;
    }
    if (episodes < 1) {
        fprintf(stderr, "kenyon rl metarl test: --episodes must be >= 1\n");
        return 2;
    }
    char out_buf[1100];
    if (!out) {
        const char *slash = strrchr(model, '/');
        if (slash)
            snprintf(out_buf, sizeof out_buf, "%.*s/test", (int)(slash - model), model);
        else
            snprintf(out_buf, sizeof out_buf, "test");
        out = out_buf;
    }
    kn_error err;
    kn_metarl_net net;
    kn_bandit_task_params task;
    if (kn_metarl_load(model, &net, &task, 1, &err)) {
        fprintf(stderr, "kenyon rl metarl test: %s\n", err.msg);
        return 1;
    }
    if (!quiet)
        fprintf(stderr, "metarl test: %d episodes of %s, weights frozen...\n", episodes,
                kn_bandit_task_kind_name(task.kind));
    kn_metarl_test_result r;
    int rc = kn_metarl_test(&net, &task, (size_t)episodes, seed, greedy, &r, &err);
    if (!rc)
        rc = kn_metarl_write_test_report(out, &r, model, &err);
    if (rc) {
        if (r.episode_regret)
            kn_metarl_test_result_free(&r);
        kn_metarl_net_free(&net);
        fprintf(stderr, "kenyon rl metarl test: %s\n", err.msg);
        return 1;
    }
    printf("meta-RL test: task %s, %zu fresh episodes (seed %llu), weights frozen, %s actions\n",
           kn_bandit_task_kind_name(task.kind), r.n_episodes, (unsigned long long)seed,
           greedy ? "greedy" : "sampled");
    printf("parameter checksum before %016llx after %016llx: %s\n",
           (unsigned long long)r.checksum_before, (unsigned long long)r.checksum_after,
           r.checksum_before == r.checksum_after ? "unchanged" : "CHANGED");
    print_stats_line("network", &r.net.stats, NAN);
    for (int i = 0; i < r.n_agents; i++)
        print_stats_line(kn_agent_kind_name(r.agents[i]), &r.agent_stats[i],
                         kn_metarl_reference_regret(task.kind, r.agents[i]));
    for (int i = 0; i < r.n_agents && task.n_trials == 100; i++)
        if (r.agents[i] == KN_AGENT_EPS_GREEDY)
            printf("  eps-greedy: an untried arm is worth %.2f here; the reference does not say "
                   "(0 gives a higher regret, 0.5 a lower one, the reference lies between)\n",
                   r.agent_params[i].eps_prior);
    printf("  network on trial 1: P(better arm) %.3f (chance 0.5), policy P(action 0) %.3f\n",
           r.net.trial1_p_best, r.net.trial1_p_action0);
    if (task.kind == KN_BANDIT_TASK_TWOSTEP) {
        for (int i = 0; i < r.n_agents; i++)
            if (isfinite(r.agent_tuned_regret[i]))
                printf("  %-12s tuned: alpha %.2f, beta %.0f (regret %.3f on %d tuning "
                       "episodes)\n", kn_agent_kind_name(r.agents[i]), r.agent_params[i].alpha,
                       r.agent_params[i].beta, r.agent_tuned_regret[i], KN_METARL_TUNE_EPISODES);
        print_stays("network", &r.net.stats);
        for (int i = 0; i < r.n_agents; i++)
            print_stays(kn_agent_kind_name(r.agents[i]), &r.agent_stats[i]);
        print_regression("network", &r, 0);
        for (int i = 0; i < r.n_agents; i++)
            print_regression(kn_agent_kind_name(r.agents[i]), &r, i + 1);
    } else {
        double net_regret = kn_bandit_stats_regret_mean(&r.net.stats), th = NAN, eps = NAN;
        for (int i = 0; i < r.n_agents; i++) {
            if (r.agents[i] == KN_AGENT_THOMPSON)
                th = kn_bandit_stats_regret_mean(&r.agent_stats[i]);
            if (r.agents[i] == KN_AGENT_EPS_GREEDY)
                eps = kn_bandit_stats_regret_mean(&r.agent_stats[i]);
        }
        printf("  network / Thompson regret ratio %.2f; below eps-greedy: %s\n", net_regret / th,
               net_regret < eps ? "yes" : "no");
    }
    printf("results: %s (summary.json, regret.csv, episodes.csv, p_best.csv%s, plots)\n", out,
           task.kind == KN_BANDIT_TASK_TWOSTEP ? ", stay.csv, regression.csv" : "");
    kn_metarl_test_result_free(&r);
    kn_metarl_net_free(&net);
    return 0;
}

int kn_cmd_rl_metarl(int argc, char **argv)
{
    static const kn_subcommand verbs[] = {
        {"train", "train the LSTM actor-critic across episodes and save it", cmd_train},
        {"test", "test a saved network with frozen weights against classical agents", cmd_test},
        {NULL, NULL, NULL},
    };
    return kn_dispatch("rl metarl", verbs, argc, argv);
}
