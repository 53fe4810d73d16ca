/* Meta-RL tasks: drawing whole episodes (every outcome fixed in advance, so all agents can face the
 * same episodes) and stepping through them; see kenyon/bandit.h. */
#include "kenyon/bandit.h"

#include <stdlib.h>
#include <string.h>

static const char *const kind_names[] = {"independent", "dependent", "baited", "twostep"};

const char *kn_bandit_task_kind_name(kn_bandit_task_kind k)
{
    return (unsigned)k < sizeof kind_names / sizeof kind_names[0] ? kind_names[k] : "unknown";
}

int kn_bandit_task_kind_parse(const char *name)
{
    if (!name)
        return -1;
    for (size_t i = 0; i < sizeof kind_names / sizeof kind_names[0]; i++)
        if (strcmp(name, kind_names[i]) == 0)
            return (int)i;
    if (strcmp(name, "two-step") == 0)
        return KN_BANDIT_TASK_TWOSTEP;
    return -1;
}

void kn_bandit_task_params_default(kn_bandit_task_params *p, kn_bandit_task_kind kind)
{
    memset(p, 0, sizeof *p);
    p->kind = kind;
    p->n_trials = 100;
    p->common_prob = 0.8;
    p->reward_high = 0.9;
    p->reward_low = 0.1;
    p->switch_prob = 0.025;
    p->bait_total = 0.3;
}

static int is_prob(double x) { return x >= 0.0 && x <= 1.0; }

const char *kn_bandit_task_params_check(const kn_bandit_task_params *p)
{
    if (!p)
        return "task parameters are NULL";
    if ((unsigned)p->kind > KN_BANDIT_TASK_TWOSTEP)
        return "task kind must be independent, dependent, baited or twostep";
    if (p->n_trials < 1 || p->n_trials > 100000)
        return "trials per episode must be in [1, 100000]";
    if (!is_prob(p->common_prob))
        return "common transition probability must be in [0, 1]";
    if (!is_prob(p->reward_high) || !is_prob(p->reward_low))
        return "two-step reward probabilities must be in [0, 1]";
    if (!is_prob(p->switch_prob))
        return "two-step switch probability must be in [0, 1]";
    if (!(p->bait_total > 0.0 && p->bait_total <= 1.0))
        return "baited total arming probability must be in (0, 1]";
    return NULL;
}

int kn_episode_alloc(kn_episode *ep, int n_trials, kn_error *err)
{
    memset(ep, 0, sizeof *ep);
    if (n_trials < 1 || n_trials > 100000)
        return kn_fail(err, KN_EINVAL, "episode: trials per episode %d not in [1, 100000]",
                       n_trials);
    ep->outcome = calloc((size_t)n_trials * 2, 1);
    ep->common = calloc((size_t)n_trials, 1);
    ep->best_state = calloc((size_t)n_trials, 1);
    if (!ep->outcome || !ep->common || !ep->best_state) {
        kn_episode_free(ep);
        return kn_fail(err, KN_ENOMEM, "episode: out of memory for %d trials", n_trials);
    }
    ep->n_trials = n_trials;
    return 0;
}

void kn_episode_free(kn_episode *ep)
{
    if (!ep)
        return;
    free(ep->outcome);
    free(ep->common);
    free(ep->best_state);
    memset(ep, 0, sizeof *ep);
}

void kn_episode_draw(kn_episode *ep, const kn_bandit_task_params *p, kn_rng *rng)
{
    int n = p->n_trials < ep->n_trials ? p->n_trials : ep->n_trials;
    static const double bait_fraction[5] = {1.0 / 7.0, 1.0 / 4.0, 1.0 / 2.0, 3.0 / 4.0, 6.0 / 7.0};
    ep->kind = p->kind;
    ep->n_trials = n;
    ep->common_prob = p->common_prob;
    ep->reward_high = p->reward_high;
    ep->reward_low = p->reward_low;
    memset(ep->common, 0, (size_t)n);
    memset(ep->best_state, 0, (size_t)n);
    switch (p->kind) {
    case KN_BANDIT_TASK_INDEPENDENT:
        ep->p[0] = kn_rng_uniform(rng);
        ep->p[1] = kn_rng_uniform(rng);
        break;
    case KN_BANDIT_TASK_DEPENDENT:
        ep->p[0] = kn_rng_uniform(rng);
        ep->p[1] = 1.0 - ep->p[0];
        break;
    case KN_BANDIT_TASK_BAITED: {
        double f = bait_fraction[kn_rng_below(rng, 5)];
        ep->p[0] = p->bait_total * f;
        ep->p[1] = p->bait_total * (1.0 - f);
        break;
    }
    case KN_BANDIT_TASK_TWOSTEP: {
        ep->p[0] = ep->p[1] = 0.0;
        int best = (int)kn_rng_below(rng, 2);
        for (int t = 0; t < n; t++) {
            if (t > 0 && kn_rng_uniform(rng) < p->switch_prob)
                best = 1 - best;
            ep->best_state[t] = (uint8_t)best;
            ep->common[t] = kn_rng_uniform(rng) < p->common_prob;
            for (int s = 0; s < 2; s++) {
                double pr = s == best ? p->reward_high : p->reward_low;
                ep->outcome[2 * t + s] = kn_rng_uniform(rng) < pr;
            }
        }
        return;
    }
    }
    for (int t = 0; t < n; t++)
        for (int a = 0; a < 2; a++)
            ep->outcome[2 * t + a] = kn_rng_uniform(rng) < ep->p[a];
}

void kn_bandit_task_reset(kn_bandit_task_state *st) { memset(st, 0, sizeof *st); }

void kn_bandit_task_expected(const kn_episode *ep, const kn_bandit_task_state *st,
                             double expected[2])
{
    int t = st->trial < ep->n_trials ? st->trial : ep->n_trials - 1;
    switch (ep->kind) {
    case KN_BANDIT_TASK_BAITED:
        for (int a = 0; a < 2; a++)
            expected[a] = st->armed[a] ? 1.0 : ep->p[a];
        break;
    case KN_BANDIT_TASK_TWOSTEP: {
        double r[2];
        for (int s = 0; s < 2; s++)
            r[s] = s == ep->best_state[t] ? ep->reward_high : ep->reward_low;
        for (int a = 0; a < 2; a++)
            expected[a] = ep->common_prob * r[a] + (1.0 - ep->common_prob) * r[1 - a];
        break;
    }
    default:
        expected[0] = ep->p[0];
        expected[1] = ep->p[1];
        break;
    }
}

void kn_bandit_task_step(const kn_episode *ep, kn_bandit_task_state *st, int action, kn_step *out)
{
    double expected[2];
    int t = st->trial < ep->n_trials ? st->trial : ep->n_trials - 1;
    action = action ? 1 : 0;
    kn_bandit_task_expected(ep, st, expected);
    out->expected = expected[action];
    out->other_expected = expected[1 - action];
    out->best_expected = expected[0] > expected[1] ? expected[0] : expected[1];
    out->state2 = -1;
    out->common = -1;
    switch (ep->kind) {
    case KN_BANDIT_TASK_BAITED:
        for (int a = 0; a < 2; a++)
            st->armed[a] |= ep->outcome[2 * t + a];
        out->reward = st->armed[action];
        st->armed[action] = 0;
        break;
    case KN_BANDIT_TASK_TWOSTEP:
        out->common = ep->common[t];
        out->state2 = out->common ? action : 1 - action;
        out->reward = ep->outcome[2 * t + out->state2];
        break;
    default:
        out->reward = ep->outcome[2 * t + action];
        break;
    }
    st->trial++;
}

int kn_trace_alloc(kn_trace *tr, int n_trials, kn_error *err)
{
    memset(tr, 0, sizeof *tr);
    if (n_trials < 1 || n_trials > 100000)
        return kn_fail(err, KN_EINVAL, "trace: trials per episode %d not in [1, 100000]",
                       n_trials);
    size_t n = (size_t)n_trials;
    tr->action = calloc(n, 1);
    tr->reward = calloc(n, 1);
    tr->state2 = calloc(n, 1);
    tr->common = calloc(n, 1);
    tr->chose_best = calloc(n, 1);
    if (!tr->action || !tr->reward || !tr->state2 || !tr->common || !tr->chose_best) {
        kn_trace_free(tr);
        return kn_fail(err, KN_ENOMEM, "trace: out of memory for %d trials", n_trials);
    }
    tr->n_trials = n_trials;
    return 0;
}

void kn_trace_free(kn_trace *tr)
{
    if (!tr)
        return;
    free(tr->action);
    free(tr->reward);
    free(tr->state2);
    free(tr->common);
    free(tr->chose_best);
    memset(tr, 0, sizeof *tr);
}

void kn_trace_begin(kn_trace *tr)
{
    tr->regret = 0.0;
    tr->total_reward = 0;
}

void kn_trace_record(kn_trace *tr, int t, int action, const kn_step *s)
{
    if (t < 0 || t >= tr->n_trials)
        return;
    tr->action[t] = (uint8_t)action;
    tr->reward[t] = (uint8_t)s->reward;
    tr->state2[t] = (int8_t)s->state2;
    tr->common[t] = (int8_t)s->common;
    if (s->expected == s->other_expected)
        tr->chose_best[t] = 2;
    else
        tr->chose_best[t] = s->expected > s->other_expected;
    tr->regret += s->best_expected - s->expected;
    tr->total_reward += s->reward;
}
