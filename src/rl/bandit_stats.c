/* Meta-RL measures over many episodes: regret per episode (mean and standard error), P(better arm)
 * per trial, two-step stay probabilities by (rewarded, common); and running a classical agent over
 * a seeded set of episodes. */
#include "kenyon/bandit.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int kn_bandit_stats_init(kn_bandit_stats *s, int n_trials, kn_error *err)
{
    memset(s, 0, sizeof *s);
    if (n_trials < 1 || n_trials > 100000)
        return kn_fail(err, KN_EINVAL, "stats: trials per episode %d not in [1, 100000]",
                       n_trials);
    s->best_count = calloc((size_t)n_trials, sizeof *s->best_count);
    s->best_valid = calloc((size_t)n_trials, sizeof *s->best_valid);
    if (!s->best_count || !s->best_valid) {
        kn_bandit_stats_free(s);
        return kn_fail(err, KN_ENOMEM, "stats: out of memory for %d trials", n_trials);
    }
    s->n_trials = n_trials;
    return 0;
}

void kn_bandit_stats_free(kn_bandit_stats *s)
{
    if (!s)
        return;
    free(s->best_count);
    free(s->best_valid);
    memset(s, 0, sizeof *s);
}

void kn_bandit_stats_add(kn_bandit_stats *s, const kn_trace *tr)
{
    int n = tr->n_trials < s->n_trials ? tr->n_trials : s->n_trials;
    if (s->episode_regret && s->n_episodes < s->episode_cap)
        s->episode_regret[s->n_episodes] = tr->regret;
    s->n_episodes++;
    s->regret_sum += tr->regret;
    s->regret_sumsq += tr->regret * tr->regret;
    s->reward_sum += tr->total_reward;
    for (int t = 0; t < n; t++) {
        if (tr->chose_best[t] != 2) {
            s->best_valid[t] += 1.0;
            s->best_count[t] += tr->chose_best[t];
        }
    }
    if (s->history && s->history->n_episodes < s->history->cap && tr->n_trials > 0 &&
        tr->common[0] >= 0) {
        kn_error ignored; /* cannot fail: room is reserved and the trace is a two-step one */
        (void)kn_twostep_history_add(s->history, tr, &ignored);
    }
    /* Stay after trial t: same first-stage action on t + 1, by trial t's reward and transition. */
    for (int t = 0; t + 1 < n; t++) {
        if (tr->common[t] < 0)
            break;
        int r = tr->reward[t] ? 1 : 0, c = tr->common[t] ? 1 : 0;
        s->stay_total[r][c] += 1.0;
        s->stay[r][c] += tr->action[t + 1] == tr->action[t];
    }
}

double kn_bandit_stats_regret_mean(const kn_bandit_stats *s)
{
    return s->n_episodes ? s->regret_sum / (double)s->n_episodes : NAN;
}

double kn_bandit_stats_regret_sem(const kn_bandit_stats *s)
{
    if (s->n_episodes < 2)
        return NAN;
    double n = (double)s->n_episodes, mean = s->regret_sum / n;
    double var = (s->regret_sumsq - n * mean * mean) / (n - 1.0);
    return var > 0.0 ? sqrt(var / n) : 0.0;
}

double kn_bandit_stats_p_best(const kn_bandit_stats *s, int t)
{
    if (t < 0 || t >= s->n_trials || s->best_valid[t] == 0.0)
        return NAN;
    return s->best_count[t] / s->best_valid[t];
}

double kn_bandit_stats_p_stay(const kn_bandit_stats *s, int rewarded, int common)
{
    int r = rewarded ? 1 : 0, c = common ? 1 : 0;
    return s->stay_total[r][c] > 0.0 ? s->stay[r][c] / s->stay_total[r][c] : NAN;
}

int kn_agent_evaluate(kn_agent_kind kind, const kn_agent_params *ap, const kn_bandit_task_params *p,
                      size_t n_episodes, uint64_t seed, kn_bandit_stats *s, kn_error *err)
{
    const char *bad = kn_bandit_task_params_check(p);
    if (bad)
        return kn_fail(err, KN_EINVAL, "agent evaluation: %s", bad);
    if ((unsigned)kind >= KN_AGENT_COUNT)
        return kn_fail(err, KN_EINVAL, "agent evaluation: unknown agent kind %d", (int)kind);
    kn_episode ep;
    kn_trace tr;
    int rc = kn_episode_alloc(&ep, p->n_trials, err);
    if (rc)
        return rc;
    rc = kn_trace_alloc(&tr, p->n_trials, err);
    if (rc) {
        kn_episode_free(&ep);
        return rc;
    }
    for (size_t i = 0; i < n_episodes; i++) {
        kn_rng task_rng, agent_rng;
        kn_rng_stream(&task_rng, seed, i);
        kn_rng_stream(&agent_rng, seed ^ KN_AGENT_STREAM_TAG, i);
        kn_episode_draw(&ep, p, &task_rng);
        kn_agent_run(kind, ap, &ep, &agent_rng, &tr);
        kn_bandit_stats_add(s, &tr);
    }
    kn_trace_free(&tr);
    kn_episode_free(&ep);
    return 0;
}
