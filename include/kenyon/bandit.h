/* kenyon bandit tasks for meta-reinforcement learning (Wang et al. 2018): two-armed bandits with
 * independent arms, dependent arms (p, 1-p) and baited arms, and the two-step task; the classical
 * agents a meta-learner is judged against (Thompson sampling, UCB1, epsilon-greedy, random, and
 * model-free / model-based learners for the two-step task); and the measures: regret per episode,
 * P(better arm) per trial, two-step stay probabilities.
 *
 * An episode is drawn once, with all of its randomness (every reward outcome, bait arrival,
 * transition and switch) fixed in advance, so that every agent can be run on exactly the same
 * episodes: the outcome of choosing arm a on trial t is a property of the episode, not of the
 * agent. */
#ifndef KENYON_BANDIT_H
#define KENYON_BANDIT_H

#include <stddef.h>
#include <stdint.h>

#include "kenyon/error.h"
#include "kenyon/rng.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    KN_BANDIT_TASK_INDEPENDENT = 0, /* p0, p1 ~ U(0,1) independently */
    KN_BANDIT_TASK_DEPENDENT,       /* p0 ~ U(0,1), p1 = 1 - p0 */
    KN_BANDIT_TASK_BAITED,          /* a reward, once armed (prob. p_a per trial), waits until
                                     * collected */
    KN_BANDIT_TASK_TWOSTEP,         /* Daw et al. 2011 two-step task as in Wang et al. 2018 */
} kn_bandit_task_kind;

#define KN_BANDIT_TASK_ACTIONS 2 /* every task here has two actions */

/* "independent", "dependent", "baited", "twostep"; parse returns -1 for an unknown name. */
const char *kn_bandit_task_kind_name(kn_bandit_task_kind k);
int kn_bandit_task_kind_parse(const char *name);

typedef struct kn_bandit_task_params {
    kn_bandit_task_kind kind;
    int n_trials;          /* per episode; default 100 */
    /* two-step */
    double common_prob;    /* default 0.8 */
    double reward_high;    /* default 0.9 */
    double reward_low;     /* default 0.1 */
    double switch_prob;    /* default 0.025 per trial */
    /* baited: arming probabilities p0 + p1 = bait_total, p0 / (p0 + p1) drawn from
     * {1/7, 1/4, 1/2, 3/4, 6/7} (reward ratios 1:6 ... 6:1, as in Lau & Glimcher 2005) */
    double bait_total;     /* default 0.3 */
} kn_bandit_task_params;

void kn_bandit_task_params_default(kn_bandit_task_params *p, kn_bandit_task_kind kind);
/* NULL when valid, else a message naming the parameter. */
const char *kn_bandit_task_params_check(const kn_bandit_task_params *p);

/* One episode with all of its randomness drawn. */
typedef struct kn_episode {
    kn_bandit_task_kind kind;
    int n_trials;
    double p[2];         /* bandits: reward (baited: arming) probability of each arm */
    uint8_t *outcome;    /* n_trials x 2: bandits: reward if arm a chosen on trial t; baited: a
                          * reward is armed on arm a at trial t; two-step: reward if second-stage
                          * state s is reached on trial t */
    uint8_t *common;     /* two-step: n_trials, the transition on trial t is the common one */
    uint8_t *best_state; /* two-step: n_trials, which second-stage state pays reward_high */
    double common_prob, reward_high, reward_low;
} kn_episode;

int kn_episode_alloc(kn_episode *ep, int n_trials, kn_error *err);
void kn_episode_free(kn_episode *ep);
/* Draws an episode of p->kind from rng into ep (allocated with at least p->n_trials). */
void kn_episode_draw(kn_episode *ep, const kn_bandit_task_params *p, kn_rng *rng);

/* The running state of an episode, for step-by-step agents (the network). */
typedef struct kn_bandit_task_state {
    int trial;
    uint8_t armed[2];    /* baited */
} kn_bandit_task_state;

typedef struct kn_step {
    int reward;          /* 0 or 1 */
    int state2;          /* two-step: second-stage state reached (0 or 1); bandits: -1 */
    int common;          /* two-step: the transition was the common one */
    double expected;     /* expected reward of the chosen action before its outcome */
    double other_expected;/* expected reward of the action not taken */
    double best_expected;/* the larger expected reward of the two actions */
} kn_step;

void kn_bandit_task_reset(kn_bandit_task_state *st);
/* Plays `action` (0 or 1) on the current trial and advances. */
void kn_bandit_task_step(const kn_episode *ep, kn_bandit_task_state *st, int action, kn_step *out);
/* Expected reward of each action on the current trial (for regret and "better arm"). For the
 * baited task this is the expected reward given the arm states, which the agent cannot see. */
void kn_bandit_task_expected(const kn_episode *ep, const kn_bandit_task_state *st,
                             double expected[2]);

/* What an agent did in one episode. */
typedef struct kn_trace {
    int n_trials;
    uint8_t *action, *reward;
    int8_t *state2, *common;  /* two-step; -1 for bandits */
    uint8_t *chose_best;      /* 1 if the action had the (strictly) larger expected reward,
                               * 0 if the smaller, 2 if they were equal */
    double regret;            /* sum over trials of best_expected - expected */
    int total_reward;
} kn_trace;

int kn_trace_alloc(kn_trace *tr, int n_trials, kn_error *err);
void kn_trace_free(kn_trace *tr);
void kn_trace_begin(kn_trace *tr);
/* Records trial t (= tr's current count). */
void kn_trace_record(kn_trace *tr, int t, int action, const kn_step *s);

/* Classical agents. */
typedef enum {
    KN_AGENT_RANDOM = 0,
    KN_AGENT_EPS_GREEDY,  /* sample means (untried arm: eps_prior, default 0.5), greedy with
                           * ties at random, random arm with probability epsilon */
    KN_AGENT_UCB1,        /* each arm once, then argmax mean + sqrt(2 ln t / n) */
    KN_AGENT_THOMPSON,    /* Beta(1,1) priors, play the arm with the larger posterior draw */
    KN_AGENT_MODEL_FREE,  /* two-step: TD(1) values of the first-stage actions */
    KN_AGENT_MODEL_BASED, /* two-step: learned second-stage values + known transitions */
    KN_AGENT_COUNT
} kn_agent_kind;

/* "random", "eps-greedy", "ucb1", "thompson", "model-free", "model-based". */
const char *kn_agent_kind_name(kn_agent_kind k);

typedef struct kn_agent_params {
    double epsilon;       /* eps-greedy; default 0.1 */
    /* eps-greedy: the value of an arm not yet pulled; default 0.5 (the prior mean of U(0,1)).
     * The reference's 4.23 (dependent 4.97) does not say which it used: 0.5 gives 3.83 (4.53),
     * 0 (values initialised to zero, the usual textbook form) gives 4.56 (5.47); the reference
     * lies between the two, so kenyon reports its own definition and flags the difference. */
    double eps_prior;
    double alpha;         /* model-free / model-based learning rate; default 0.3 */
    double beta;          /* softmax inverse temperature (two-step agents); default 5 */
} kn_agent_params;

void kn_agent_params_default(kn_agent_params *p);

/* Runs agent `kind` through episode ep, drawing its own choices from rng; fills tr. */
void kn_agent_run(kn_agent_kind kind, const kn_agent_params *ap, const kn_episode *ep,
                  kn_rng *rng, kn_trace *tr);

/* A Beta(a, b) draw from kn_rng (via two Marsaglia-Tsang gamma draws); a, b > 0. */
double kn_rng_beta(kn_rng *rng, double a, double b);
/* A Gamma(shape, 1) draw; shape > 0. */
double kn_rng_gamma(kn_rng *rng, double shape);

/* The first-stage history of many two-step episodes (what the regression needs). */
typedef struct kn_twostep_history {
    int n_trials;
    size_t n_episodes, cap;
    uint8_t *action, *reward, *common; /* n_episodes x n_trials */
} kn_twostep_history;

int kn_twostep_history_init(kn_twostep_history *h, int n_trials, kn_error *err);
void kn_twostep_history_free(kn_twostep_history *h);
/* Appends one two-step episode (tr->common must be set: a bandit trace is refused). */
int kn_twostep_history_add(kn_twostep_history *h, const kn_trace *tr, kn_error *err);
/* Makes room for n_more episodes, so that the next n_more adds cannot fail for memory. */
int kn_twostep_history_reserve(kn_twostep_history *h, size_t n_more, kn_error *err);

/* Statistics over many episodes of one agent. */
typedef struct kn_bandit_stats {
    int n_trials;
    size_t n_episodes;
    double regret_sum, regret_sumsq;
    double reward_sum;
    double *best_count;     /* per trial: episodes where the better arm was chosen */
    double *best_valid;     /* per trial: episodes where one arm was strictly better */
    /* two-step stay counts, indexed [rewarded][common] */
    double stay[2][2], stay_total[2][2];
    /* optional, caller-owned: regret of episode k (k < episode_cap) in the order added */
    double *episode_regret;
    size_t episode_cap;
    /* optional, caller-owned: two-step episodes are appended here while it has reserved room
     * (kn_twostep_history_reserve); adding never allocates */
    kn_twostep_history *history;
} kn_bandit_stats;

int kn_bandit_stats_init(kn_bandit_stats *s, int n_trials, kn_error *err);
void kn_bandit_stats_free(kn_bandit_stats *s);
void kn_bandit_stats_add(kn_bandit_stats *s, const kn_trace *tr);
double kn_bandit_stats_regret_mean(const kn_bandit_stats *s);
/* Standard error of the mean regret. */
double kn_bandit_stats_regret_sem(const kn_bandit_stats *s);
/* P(better arm) on trial t (NaN when no episode had a better arm there). */
double kn_bandit_stats_p_best(const kn_bandit_stats *s, int t);
/* P(stay | rewarded, common) (NaN when the condition never occurred). */
double kn_bandit_stats_p_stay(const kn_bandit_stats *s, int rewarded, int common);

/* Convenience: mean regret (and stats, if s != NULL) of agent `kind` over n_episodes episodes
 * drawn from task p; episode i uses kn_rng_stream(seed, i) for the task and
 * kn_rng_stream(seed ^ KN_AGENT_STREAM_TAG, i) for the agent's choices. */
#define KN_AGENT_STREAM_TAG 0xa6e17ull
int kn_agent_evaluate(kn_agent_kind kind, const kn_agent_params *ap, const kn_bandit_task_params *p,
                      size_t n_episodes, uint64_t seed, kn_bandit_stats *s, kn_error *err);


/* ------------------------------------------------------------------ two-step choice regression */

/* Raw stay probabilities split by reward x transition are confounded when rewards drift (a pure
 * model-free learner shows an interaction too: Akam, Costa & Dayan 2015). The standard reading is a
 * logistic regression of each first-stage choice on the previous trials (Daw et al. 2011; Miller,
 * Botvinick & Brody 2017). With s = +1 if trial t-l chose action 0 (else -1), r = +1 if it was
 * rewarded (else -1) and c = +1 if its transition was common (else -1), trial t's choice of
 * action 0 is regressed, for every lag l = 1..lags, on
 *   s          (perseveration),
 *   s r        (reward: what a model-free learner loads on),
 *   s c        (transition),
 *   s r c      (reward x transition: what a model-based learner loads on),
 * plus an intercept (side bias). At lag 1 this is the stay regression. The model-free index is the
 * sum over lags of the s r coefficients, the model-based index the sum of the s r c coefficients.
 * Standard errors are cluster-robust by episode (sandwich estimator), since trials of one episode
 * are not independent. The coefficients carry a weak N(0, 5^2) prior so that near-greedy agents,
 * whose choices after some trial types never vary, still get finite estimates. */

#define KN_TWOSTEP_PRIOR_SD 5.0

#define KN_TWOSTEP_MAX_LAGS 10

/* Regressor groups of one lag, in this order. */
enum { KN_TWOSTEP_CHOICE = 0, KN_TWOSTEP_REWARD, KN_TWOSTEP_TRANSITION, KN_TWOSTEP_INTERACTION,
       KN_TWOSTEP_GROUPS };

typedef struct kn_twostep_fit {
    int lags;
    size_t n_rows, n_episodes;          /* trials fitted (t >= lags), episodes (clusters) */
    double intercept, intercept_se;
    double coef[KN_TWOSTEP_GROUPS][KN_TWOSTEP_MAX_LAGS]; /* [group][lag - 1] */
    double se[KN_TWOSTEP_GROUPS][KN_TWOSTEP_MAX_LAGS];
    double model_free, model_free_se;   /* sum over lags of the reward coefficients */
    double model_based, model_based_se; /* sum over lags of the reward x transition ones */
    /* Model-based share |MB| / (|MF| + |MB|) of the two indices (scale-free: a softer policy
     * shrinks both), with its delta-method standard error. */
    double mb_share, mb_share_se;
    double log_likelihood;
    int iterations;
} kn_twostep_fit;

/* Fits the regression by Newton's method (iteratively reweighted least squares). Fails
 * (KN_EINVAL) when lags is not in [1, KN_TWOSTEP_MAX_LAGS] or there are fewer than 2 episodes
 * or too few rows, and (KN_ESTATE) when the fit does not converge. */
int kn_twostep_regress(const kn_twostep_history *h, int lags, kn_twostep_fit *fit,
                       kn_error *err);

/* Two-sided 95% interval half-width for a coefficient with standard error se (1.96 se). */
#define KN_TWOSTEP_Z95 1.959963984540054

/* Verdict of the regression, judged against the tuned model-free and model-based agents fitted
 * the same way on the same episodes. The coefficients' scale depends on how deterministic a
 * policy is, so agents are compared on the model-based share of their two indices. The threshold
 * is the midpoint of the two baselines' shares; "model-based signature" = the model-based index is
 * significantly positive (95% interval above 0) AND the whole 95% interval of the share lies above
 * the threshold (the agent is reliably closer to the model-based baseline). When the baselines do
 * not separate (model-based share not above the model-free one) the verdict is "no". */
typedef struct kn_twostep_verdict {
    double mb_fraction;     /* model_based / the model-based agent's model_based */
    double mf_fraction;     /* model_free / the model-free agent's model_free */
    double mb_z;            /* model_based / model_based_se */
    double threshold;       /* midpoint of the baselines' model-based shares */
    int baselines_separated;
    int model_based_signature;
} kn_twostep_verdict;

void kn_twostep_judge(const kn_twostep_fit *fit, const kn_twostep_fit *mb_agent,
                      const kn_twostep_fit *mf_agent, kn_twostep_verdict *out);

/* ------------------------------------------------------------------ tuning the baselines */

/* Sweeps the learning rate alpha and inverse temperature beta of a two-step agent (model-free or
 * model-based) over the grid alphas x betas, on n_episodes episodes from `seed` (use a seed other
 * than the test's), and keeps the pair with the lowest mean regret in *best (its epsilon is left
 * as given). best_regret (may be NULL) gets that regret. */
int kn_agent_tune(kn_agent_kind kind, const kn_bandit_task_params *p, const double *alphas,
                  size_t n_alphas, const double *betas, size_t n_betas, size_t n_episodes,
                  uint64_t seed, kn_agent_params *best, double *best_regret, kn_error *err);
/* The default grid: alpha 0.1 ... 1.0 in steps of 0.1, beta in {1, 2, 3, 5, 8, 12, 20, 30} (beyond 30
 * the policies are near-greedy, gain < 0.05 regret, and their choices become perfectly
 * predictable, which the choice regression cannot fit). */
int kn_agent_tune_default(kn_agent_kind kind, const kn_bandit_task_params *p, size_t n_episodes,
                          uint64_t seed, kn_agent_params *best, double *best_regret,
                          kn_error *err);

#ifdef __cplusplus
}
#endif
#endif
