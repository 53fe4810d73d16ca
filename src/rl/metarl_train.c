/* Meta-RL training and frozen-weight testing: advantage actor-critic over seeded episodes, several
 * episodes per update run in lockstep as one batch, RMSprop from the network core; and testing on
 * fresh episodes shared with the classical agents. See kenyon/metarl.h. */
#include "kenyon/metarl.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

void kn_metarl_config_default(kn_metarl_config *c, kn_bandit_task_kind kind)
{
    memset(c, 0, sizeof *c);
    kn_bandit_task_params_default(&c->task, kind);
    c->net.hidden = 48;
    c->net.n_actions = KN_BANDIT_TASK_ACTIONS;
    c->net.n_obs = kind == KN_BANDIT_TASK_TWOSTEP ? 2 : 0;
    c->net.time_input = 0;
    c->episodes = 20000;
    c->batch = 1;
    c->lr = 7e-4;
    c->lr_end = -1.0;
    c->rms_alpha = 0.99;
    c->rms_eps = 1e-5;
    c->grad_clip = 0.0;
    c->coefs.gamma = 0.9;
    c->coefs.value_coef = 0.05;
    c->coefs.entropy_coef = 0.05;
    c->seed = 1;
}

const char *kn_metarl_config_check(const kn_metarl_config *c)
{
    const char *bad = kn_bandit_task_params_check(&c->task);
    if (bad)
        return bad;
    if (c->net.hidden < 1 || c->net.hidden > 4096)
        return "hidden units must be in [1, 4096]";
    if (c->net.n_actions != KN_BANDIT_TASK_ACTIONS)
        return "the tasks have 2 actions";
    if (c->task.kind == KN_BANDIT_TASK_TWOSTEP && c->net.n_obs != 2)
        return "the two-step task needs 2 observation inputs (the second-stage state)";
    if (c->episodes < 1 || c->episodes > 1000000000L)
        return "episodes must be in [1, 1e9]";
    if (c->batch < 1 || c->batch > 4096)
        return "batch (episodes per update) must be in [1, 4096]";
    if (!(c->lr > 0 && c->lr < 1))
        return "learning rate must be in (0, 1)";
    if (!(c->lr_end < 1))
        return "final learning rate must be < 1 (negative: constant learning rate)";
    if (!(c->rms_alpha >= 0 && c->rms_alpha < 1) || !(c->rms_eps > 0))
        return "RMSprop alpha must be in [0, 1) and eps positive";
    if (!(c->grad_clip >= 0))
        return "gradient clip must be >= 0";
    if (!(c->coefs.gamma >= 0 && c->coefs.gamma <= 1))
        return "gamma must be in [0, 1]";
    if (!(c->coefs.value_coef >= 0) || !(c->coefs.entropy_coef >= 0))
        return "value and entropy coefficients must be >= 0";
    return NULL;
}

/* The LSTM's products are tiny (48 units): OpenBLAS threads only add overhead there, and a
 * threaded gemm may split sums differently, which would make results depend on the thread
 * count. Training and testing therefore run BLAS single-threaded and restore the setting. */
static int blas_single_thread_begin(void)
{
    int n = openblas_get_num_threads();
    if (n != 1)
        openblas_set_num_threads(1);
    return n;
}

static void blas_threads_restore(int n)
{
    if (n != 1)
        openblas_set_num_threads(n);
}

/* Samples from softmax(logits) (A entries) with u ~ U(0,1); also returns the probabilities. */
static int sample_policy(const kn_real *logits, int A, double u, int greedy, double *probs)
{
    double mx = logits[0], z = 0;
    for (int a = 1; a < A; a++)
        mx = logits[a] > mx ? logits[a] : mx;
    for (int a = 0; a < A; a++) {
        probs[a] = exp((double)logits[a] - mx);
        z += probs[a];
    }
    int best = 0;
    for (int a = 0; a < A; a++) {
        probs[a] /= z;
        if (probs[a] > probs[best])
            best = a;
    }
    if (greedy)
        return best;
    double cum = 0;
    for (int a = 0; a < A; a++) {
        cum += probs[a];
        if (u < cum)
            return a;
    }
    return A - 1;
}

typedef struct rollout {
    kn_episode *ep;
    kn_bandit_task_state *st;
    kn_rng *act_rng;
    kn_trace *tr;
    int *actions;     /* T x n */
    kn_real *rewards; /* T x n */
    int *prev_action, *prev_state;
    double *prev_reward;
} rollout;

static void rollout_free(rollout *r, size_t n)
{
    if (r->ep)
        for (size_t i = 0; i < n; i++)
            kn_episode_free(&r->ep[i]);
    if (r->tr)
        for (size_t i = 0; i < n; i++)
            kn_trace_free(&r->tr[i]);
    free(r->ep);
    free(r->tr);
    free(r->st);
    free(r->act_rng);
    free(r->actions);
    free(r->rewards);
    free(r->prev_action);
    free(r->prev_state);
    free(r->prev_reward);
    memset(r, 0, sizeof *r);
}

static int rollout_alloc(rollout *r, size_t n, int T, kn_error *err)
{
    memset(r, 0, sizeof *r);
    r->ep = calloc(n, sizeof *r->ep);
    r->tr = calloc(n, sizeof *r->tr);
    r->st = calloc(n, sizeof *r->st);
    r->act_rng = calloc(n, sizeof *r->act_rng);
    r->actions = calloc(n * (size_t)T, sizeof *r->actions);
    r->rewards = calloc(n * (size_t)T, sizeof *r->rewards);
    r->prev_action = calloc(n, sizeof(int));
    r->prev_state = calloc(n, sizeof(int));
    r->prev_reward = calloc(n, sizeof(double));
    if (!r->ep || !r->tr || !r->st || !r->act_rng || !r->actions || !r->rewards ||
        !r->prev_action || !r->prev_state || !r->prev_reward) {
        rollout_free(r, 0);
        return kn_fail(err, KN_ENOMEM, "metarl: out of memory for %zu episodes", n);
    }
    for (size_t i = 0; i < n; i++) {
        int rc = kn_episode_alloc(&r->ep[i], T, err);
        if (!rc)
            rc = kn_trace_alloc(&r->tr[i], T, err);
        if (rc) {
            rollout_free(r, n);
            return rc;
        }
    }
    return 0;
}

/* Runs the n = net->batch episodes in r (already drawn, rngs seeded) through the net. */
static int run_episodes(kn_metarl_net *net, rollout *r, int T, int greedy, double *trial1_p0,
                        kn_error *err)
{
    const size_t n = net->batch;
    const int A = net->cfg.n_actions, in = net->in;
    double probs[64];
    kn_metarl_net_reset(net);
    for (size_t i = 0; i < n; i++) {
        kn_bandit_task_reset(&r->st[i]);
        kn_trace_begin(&r->tr[i]);
        r->prev_action[i] = -1;
        r->prev_state[i] = -1;
        r->prev_reward[i] = 0.0;
    }
    for (int t = 0; t < T; t++) {
        for (size_t i = 0; i < n; i++)
            kn_metarl_make_input(&net->cfg, r->prev_action[i], r->prev_reward[i],
                                 r->prev_state[i], t, T, net->input + i * (size_t)in);
        int rc = kn_metarl_net_step(net, net->input, err);
        if (rc)
            return rc;
        for (size_t i = 0; i < n; i++) {
            const kn_real *lg = net->logits + ((size_t)t * n + i) * (size_t)A;
            double u = kn_rng_uniform(&r->act_rng[i]);
            int a = sample_policy(lg, A, u, greedy, probs);
            if (t == 0 && i == 0 && trial1_p0)
                *trial1_p0 = probs[0];
            kn_step s;
            kn_bandit_task_step(&r->ep[i], &r->st[i], a, &s);
            kn_trace_record(&r->tr[i], t, a, &s);
            r->actions[(size_t)t * n + i] = a;
            r->rewards[(size_t)t * n + i] = (kn_real)s.reward;
            r->prev_action[i] = a;
            r->prev_reward[i] = s.reward;
            r->prev_state[i] = s.state2;
        }
    }
    return 0;
}

int kn_metarl_train(kn_metarl_net *net, const kn_metarl_config *c, long every,
                    kn_metarl_progress_fn progress, void *ctx, long *episodes_done,
                    kn_error *err)
{
    if (episodes_done)
        *episodes_done = 0;
    const char *bad = kn_metarl_config_check(c);
    if (bad)
        return kn_fail(err, KN_EINVAL, "metarl train: %s", bad);
    const int T = c->task.n_trials;
    const size_t n = (size_t)c->batch;
    if (net->batch != n || net->max_steps < (size_t)T)
        return kn_fail(err, KN_EINVAL, "metarl train: net was made for batch %zu and %zu steps, "
                       "training needs batch %zu and %d steps", net->batch, net->max_steps, n, T);
    if (net->cfg.n_obs != c->net.n_obs)
        return kn_fail(err, KN_EINVAL, "metarl train: net has %d observation inputs, task %s "
                       "needs %d", net->cfg.n_obs, kn_bandit_task_kind_name(c->task.kind),
                       c->net.n_obs);
    kn_optim_config oc = kn_optim_rmsprop(c->lr);
    oc.alpha = c->rms_alpha;
    oc.eps = c->rms_eps;
    kn_optim *opt = NULL;
    int rc = kn_optim_create(&oc, net->n_params, &opt, err);
    if (rc)
        return rc;
    rollout r;
    rc = rollout_alloc(&r, n, T, err);
    if (rc) {
        kn_optim_free(opt);
        return rc;
    }
    long done = 0, since = 0;
    double regret_acc = 0, reward_acc = 0, loss_acc = 0;
    int blas_threads = blas_single_thread_begin();
    long updates = (c->episodes + c->batch - 1) / c->batch;
    for (long u = 0; u < updates && !rc; u++) {
        for (size_t i = 0; i < n; i++) {
            uint64_t e = (uint64_t)u * n + i;
            kn_rng task_rng;
            kn_rng_stream(&task_rng, c->seed ^ KN_METARL_TRAIN_TAG, e);
            kn_rng_stream(&r.act_rng[i], c->seed ^ KN_METARL_ACTION_TAG, e);
            kn_episode_draw(&r.ep[i], &c->task, &task_rng);
        }
        rc = run_episodes(net, &r, T, 0, NULL, err);
        if (rc)
            break;
        kn_a2c_parts parts;
        rc = kn_metarl_net_a2c(net, &c->coefs, r.actions, r.rewards, NULL, 1, &parts, err);
        if (rc)
            break;
        if (!isfinite(parts.total)) {
            rc = kn_fail(err, KN_ESTATE, "metarl train: loss became %g at update %ld (lower "
                         "the learning rate?)", parts.total, u + 1);
            break;
        }
        if (c->grad_clip > 0) {
            double norm = sqrt(kn_vec_dot(net->grads, net->grads, net->n_params));
            if (norm > c->grad_clip) {
                kn_real scale = (kn_real)(c->grad_clip / norm);
                for (size_t k = 0; k < net->n_params; k++)
                    net->grads[k] *= scale;
            }
        }
        if (c->lr_end >= 0)
            kn_optim_set_lr(opt, c->lr + (c->lr_end - c->lr) * (double)u / (double)updates);
        kn_optim_step(opt, net->params, net->grads);
        for (size_t i = 0; i < n; i++) {
            regret_acc += r.tr[i].regret;
            reward_acc += r.tr[i].total_reward;
        }
        loss_acc += parts.total * (double)n;
        done += (long)n;
        since += (long)n;
        if (progress && every > 0 && (since >= every || u + 1 == updates)) {
            int stop = progress(ctx, done, regret_acc / since, reward_acc / since,
                                loss_acc / since);
            since = 0;
            regret_acc = reward_acc = loss_acc = 0;
            if (stop)
                break;
        }
    }
    blas_threads_restore(blas_threads);
    if (episodes_done)
        *episodes_done = done;
    rollout_free(&r, n);
    kn_optim_free(opt);
    return rc;
}

int kn_metarl_evaluate(kn_metarl_net *net, const kn_bandit_task_params *task, size_t n_episodes,
                       uint64_t seed, int greedy, double *episode_regret, kn_metarl_eval *out,
                       kn_error *err)
{
    return kn_metarl_evaluate_history(net, task, n_episodes, seed, greedy, episode_regret, NULL,
                                      out, err);
}

int kn_metarl_evaluate_history(kn_metarl_net *net, const kn_bandit_task_params *task,
                               size_t n_episodes, uint64_t seed, int greedy,
                               double *episode_regret, kn_twostep_history *history,
                               kn_metarl_eval *out, kn_error *err)
{
    memset(out, 0, sizeof *out);
    const char *bad = kn_bandit_task_params_check(task);
    if (bad)
        return kn_fail(err, KN_EINVAL, "metarl test: %s", bad);
    const int T = task->n_trials;
    if (net->batch != 1 || net->max_steps < (size_t)T)
        return kn_fail(err, KN_EINVAL, "metarl test: net was made for batch %zu and %zu steps, "
                       "testing needs batch 1 and %d steps", net->batch, net->max_steps, T);
    if ((task->kind == KN_BANDIT_TASK_TWOSTEP) != (net->cfg.n_obs == 2))
        return kn_fail(err, KN_EINVAL, "metarl test: the net has %d observation inputs, which "
                       "does not fit task %s", net->cfg.n_obs,
                       kn_bandit_task_kind_name(task->kind));
    int rc = kn_bandit_stats_init(&out->stats, T, err);
    if (rc)
        return rc;
    out->stats.episode_regret = episode_regret;
    out->stats.episode_cap = episode_regret ? n_episodes : 0;
    if (history && task->kind == KN_BANDIT_TASK_TWOSTEP) {
        rc = kn_twostep_history_reserve(history, n_episodes, err);
        if (rc) {
            kn_bandit_stats_free(&out->stats);
            return rc;
        }
        out->stats.history = history;
    }
    rollout r;
    rc = rollout_alloc(&r, 1, T, err);
    if (rc) {
        kn_bandit_stats_free(&out->stats);
        return rc;
    }
    int blas_threads = blas_single_thread_begin();
    for (size_t e = 0; e < n_episodes && !rc; e++) {
        kn_rng task_rng;
        kn_rng_stream(&task_rng, seed, e);
        kn_rng_stream(&r.act_rng[0], seed ^ KN_METARL_ACTION_TAG, e);
        kn_episode_draw(&r.ep[0], task, &task_rng);
        rc = run_episodes(net, &r, T, greedy, e == 0 ? &out->trial1_p_action0 : NULL, err);
        if (!rc)
            kn_bandit_stats_add(&out->stats, &r.tr[0]);
    }
    blas_threads_restore(blas_threads);
    out->trial1_p_best = kn_bandit_stats_p_best(&out->stats, 0);
    rollout_free(&r, 1);
    if (rc)
        kn_bandit_stats_free(&out->stats);
    return rc;
}
