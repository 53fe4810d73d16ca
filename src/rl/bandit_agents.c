/* Classical agents for the meta-RL tasks: random, epsilon-greedy, UCB1 and Thompson sampling for
 * the bandits, and model-free / model-based learners for the two-step task (used to check that the
 * stay-probability analysis separates the two). Beta and gamma draws are written here (Marsaglia &
 * Tsang 2000) rather than taken from GSL so that every random number comes from kn_rng. */
#include "kenyon/bandit.h"

#include <math.h>
#include <string.h>

static const char *const agent_names[] = {"random",   "eps-greedy", "ucb1",
                                          "thompson", "model-free", "model-based"};

const char *kn_agent_kind_name(kn_agent_kind k)
{
    return (unsigned)k < KN_AGENT_COUNT ? agent_names[k] : "unknown";
}

void kn_agent_params_default(kn_agent_params *p)
{
    p->epsilon = 0.1;
    p->eps_prior = 0.5;
    p->alpha = 0.3;
    p->beta = 5.0;
}

double kn_rng_gamma(kn_rng *rng, double shape)
{
    if (shape < 1.0) {
        /* Gamma(a) = Gamma(a + 1) * U^(1/a). */
        double u;
        do {
            u = kn_rng_uniform(rng);
        } while (u == 0.0);
        return kn_rng_gamma(rng, shape + 1.0) * pow(u, 1.0 / shape);
    }
    double d = shape - 1.0 / 3.0, c = 1.0 / sqrt(9.0 * d);
    for (;;) {
        double x, v;
        do {
            x = kn_rng_normal(rng);
            v = 1.0 + c * x;
        } while (v <= 0.0);
        v = v * v * v;
        double u = kn_rng_uniform(rng);
        if (u < 1.0 - 0.0331 * x * x * x * x)
            return d * v;
        if (u > 0.0 && log(u) < 0.5 * x * x + d * (1.0 - v + log(v)))
            return d * v;
    }
}

double kn_rng_beta(kn_rng *rng, double a, double b)
{
    double x = kn_rng_gamma(rng, a), y = kn_rng_gamma(rng, b);
    return x + y > 0.0 ? x / (x + y) : 0.5;
}

static int argmax2_random_ties(const double v[2], kn_rng *rng)
{
    if (v[0] > v[1])
        return 0;
    if (v[1] > v[0])
        return 1;
    return (int)kn_rng_below(rng, 2);
}

static int softmax2_choice(const double q[2], double beta, kn_rng *rng)
{
    double p1 = 1.0 / (1.0 + exp(-beta * (q[1] - q[0])));
    return kn_rng_uniform(rng) < p1;
}

void kn_agent_run(kn_agent_kind kind, const kn_agent_params *ap, const kn_episode *ep,
                  kn_rng *rng, kn_trace *tr)
{
    kn_agent_params defaults;
    if (!ap) {
        kn_agent_params_default(&defaults);
        ap = &defaults;
    }
    double count[2] = {0, 0}, wins[2] = {0, 0}, q[2] = {0.5, 0.5};
    kn_bandit_task_state st;
    kn_bandit_task_reset(&st);
    kn_trace_begin(tr);
    int n = ep->n_trials < tr->n_trials ? ep->n_trials : tr->n_trials;
    for (int t = 0; t < n; t++) {
        int a = 0;
        switch (kind) {
        case KN_AGENT_EPS_GREEDY:
            if (kn_rng_uniform(rng) < ap->epsilon) {
                a = (int)kn_rng_below(rng, 2);
            } else {
                double mean[2];
                for (int i = 0; i < 2; i++)
                    mean[i] = count[i] > 0 ? wins[i] / count[i] : ap->eps_prior;
                a = argmax2_random_ties(mean, rng);
            }
            break;
        case KN_AGENT_UCB1:
            if (count[0] == 0 || count[1] == 0) {
                a = count[0] == 0 && count[1] == 0 ? (int)kn_rng_below(rng, 2) : count[0] == 0 ? 0 : 1;
            } else {
                double ucb[2];
                for (int i = 0; i < 2; i++)
                    ucb[i] = wins[i] / count[i] + sqrt(2.0 * log((double)t) / count[i]);
                a = argmax2_random_ties(ucb, rng);
            }
            break;
        case KN_AGENT_THOMPSON: {
            double draw[2];
            if (ep->kind == KN_BANDIT_TASK_DEPENDENT) {
                /* The agent knows p1 = 1 - p0: one Beta posterior over p0, to which a loss on
                 * arm 1 counts as a win on arm 0. */
                double s0 = wins[0] + (count[1] - wins[1]), f0 = (count[0] - wins[0]) + wins[1];
                draw[0] = kn_rng_beta(rng, 1.0 + s0, 1.0 + f0);
                draw[1] = 1.0 - draw[0];
            } else {
                for (int i = 0; i < 2; i++)
                    draw[i] = kn_rng_beta(rng, 1.0 + wins[i], 1.0 + count[i] - wins[i]);
            }
            a = argmax2_random_ties(draw, rng);
            break;
        }
        case KN_AGENT_MODEL_FREE:
            a = softmax2_choice(q, ap->beta, rng);
            break;
        case KN_AGENT_MODEL_BASED: {
            /* q holds second-stage state values; plan through the known transition model. */
            double pc = ep->common_prob, qa[2];
            for (int i = 0; i < 2; i++)
                qa[i] = pc * q[i] + (1.0 - pc) * q[1 - i];
            a = softmax2_choice(qa, ap->beta, rng);
            break;
        }
        case KN_AGENT_RANDOM:
        default:
            a = (int)kn_rng_below(rng, 2);
            break;
        }
        kn_step s;
        kn_bandit_task_step(ep, &st, a, &s);
        kn_trace_record(tr, t, a, &s);
        count[a] += 1.0;
        wins[a] += s.reward;
        if (kind == KN_AGENT_MODEL_FREE)
            q[a] += ap->alpha * (s.reward - q[a]);
        else if (kind == KN_AGENT_MODEL_BASED && s.state2 >= 0)
            q[s.state2] += ap->alpha * (s.reward - q[s.state2]);
    }
}
