/* kenyon meta-reinforcement learning (Wang et al., Nature Neuroscience 2018): an LSTM that
 * receives its previous action (one-hot) and previous reward (and, for the two-step task, the
 * second-stage state it reached; optionally the time step), with a softmax policy head and a
 * value head, trained by advantage actor-critic across many episodes whose reward probabilities
 * are redrawn every episode. After training the weights are frozen and the network still learns
 * within each episode through its recurrent activity.
 *
 * Loss per episode (summed over its trials, averaged over the episodes of an update):
 *   -log pi(a_t) A_t + value_coef * 0.5 (R_t - V_t)^2 - entropy_coef * H(pi_t),
 * R_t the discounted return (gamma, no bootstrap past the last trial), A_t = R_t - V_t held
 * constant. Optimiser: RMSprop (kn_optim, PyTorch form). Memory is reset every episode.
 *
 * Model files are safetensors with PyTorch-style names (lstm.weight_ih_l0, lstm.weight_hh_l0,
 * lstm.bias_ih_l0, lstm.bias_hh_l0, policy.weight, policy.bias, value.weight, value.bias) and the
 * task and hyperparameters in __metadata__. */
#ifndef KENYON_METARL_H
#define KENYON_METARL_H

#include <stddef.h>
#include <stdint.h>

#include "kenyon/bandit.h"
#include "kenyon/error.h"
#include "kenyon/lstm.h"
#include "kenyon/nn.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ the network */

typedef struct kn_metarl_net_config {
    int hidden;         /* LSTM units; default 48 */
    int n_actions;      /* 2 */
    int n_obs;          /* extra observation inputs: 2 for the two-step task (state reached) */
    int time_input;     /* append t / n_trials to the input */
} kn_metarl_net_config;

/* Input size: n_actions + 1 (reward) + n_obs + time_input. */
int kn_metarl_input_size(const kn_metarl_net_config *c);

typedef struct kn_metarl_net {
    kn_metarl_net_config cfg;
    int in;                          /* input size */
    size_t n_params;
    kn_real *params, *grads;         /* flat: LSTM, policy W (A x H), b (A), value w (H), b (1) */
    size_t off_policy_w, off_policy_b, off_value_w, off_value_b;
    kn_lstm lstm;
    size_t batch, max_steps;
    /* per step t, n rows */
    kn_real *logits;                 /* max_steps x n x A */
    kn_real *value;                  /* max_steps x n */
    kn_real *input;                  /* n x in, the input being built for the next step */
    kn_real *dh;                     /* max_steps x n x H */
} kn_metarl_net;

/* Creates a net with parameters initialised from rng: LSTM as PyTorch, policy weights
 * U(-0.01, 0.01) (near-uniform initial policy), value weights U(-1/sqrt(H), 1/sqrt(H)), biases 0. */
int kn_metarl_net_create(kn_metarl_net *net, const kn_metarl_net_config *cfg, size_t batch,
                         size_t max_steps, kn_rng *rng, kn_error *err);
void kn_metarl_net_free(kn_metarl_net *net);
/* Zero memory, forget the record (every episode starts here). */
void kn_metarl_net_reset(kn_metarl_net *net);
/* One step on x (batch x in); after it, logits and value of this step are at
 * net->logits + t*batch*A and net->value + t*batch (t = steps before the call). */
int kn_metarl_net_step(kn_metarl_net *net, const kn_real *x, kn_error *err);
size_t kn_metarl_net_steps(const kn_metarl_net *net);

/* Fills one row of an input: previous action (-1: none), previous reward, state reached (-1:
 * none), trial index t of n_trials. */
void kn_metarl_make_input(const kn_metarl_net_config *c, int prev_action, double prev_reward,
                          int prev_state, int t, int n_trials, kn_real *row);

/* A2C loss over the recorded steps: actions and rewards are steps x batch. If fixed_adv is not
 * NULL its entries (steps x batch) are used as the advantages (for gradient checks); otherwise
 * A = R - V from this forward. If want_grad, ZEROES and fills net->grads. parts (may be NULL)
 * gets the policy, value and entropy terms (batch means) and the total loss. */
typedef struct kn_a2c_coefs {
    double gamma, value_coef, entropy_coef;
} kn_a2c_coefs;
typedef struct kn_a2c_parts {
    double policy, value, entropy, total;
} kn_a2c_parts;
int kn_metarl_net_a2c(kn_metarl_net *net, const kn_a2c_coefs *co, const int *actions,
                      const kn_real *rewards, const kn_real *fixed_adv, int want_grad,
                      kn_a2c_parts *parts, kn_error *err);

/* 64-bit FNV-1a of the parameter bytes (proves that testing leaves the weights unchanged). */
uint64_t kn_metarl_net_checksum(const kn_metarl_net *net);

/* ------------------------------------------------------------------ training */

typedef struct kn_metarl_config {
    kn_bandit_task_params task;
    kn_metarl_net_config net;
    long episodes;          /* training episodes; default 20000 */
    int batch;              /* episodes per update (run in lockstep); default 1 */
    double lr;              /* RMSprop learning rate; default 7e-4 */
    double lr_end;          /* < 0: constant lr (default); else lr falls linearly to lr_end
                             * over training */
    double rms_alpha;       /* default 0.99 */
    double rms_eps;         /* default 1e-5 */
    double grad_clip;       /* global gradient-norm clip; 0 = none; default 0 */
    kn_a2c_coefs coefs;     /* gamma 0.9, value 0.05, entropy 0.05 */
    uint64_t seed;
} kn_metarl_config;

void kn_metarl_config_default(kn_metarl_config *c, kn_bandit_task_kind kind);
/* NULL when valid, else a message naming the parameter. */
const char *kn_metarl_config_check(const kn_metarl_config *c);

/* Called every `every` episodes with the mean training regret and reward per episode of the
 * episodes since the last call. Return non-zero to stop training early. */
typedef int (*kn_metarl_progress_fn)(void *ctx, long episodes_done, double mean_regret,
                                     double mean_reward, double mean_loss);

/* Trains net (created with batch = c->batch, max_steps = c->task.n_trials) in place. Episode e
 * of training draws its task from kn_rng_stream(seed ^ KN_METARL_TRAIN_TAG, e) and its actions
 * from kn_rng_stream(seed ^ KN_METARL_ACTION_TAG, e). *episodes_done (may be NULL) gets the
 * count actually run. */
#define KN_METARL_TRAIN_TAG 0x7a1e0000ull
#define KN_METARL_ACTION_TAG 0xac710000ull
int kn_metarl_train(kn_metarl_net *net, const kn_metarl_config *c, long every,
                    kn_metarl_progress_fn progress, void *ctx, long *episodes_done,
                    kn_error *err);

/* ------------------------------------------------------------------ frozen-weight testing */

typedef struct kn_metarl_eval {
    kn_bandit_stats stats;
    double trial1_p_action0;  /* policy probability of action 0 on trial 1 (fixed input) */
    double trial1_p_best;     /* P(better arm) on trial 1 */
} kn_metarl_eval;

/* Runs n_episodes with the weights frozen. Episode i's task comes from kn_rng_stream(seed, i),
 * the same episodes kn_agent_evaluate(..., seed, ...) gives the classical agents; actions are
 * sampled from the policy with kn_rng_stream(seed ^ KN_METARL_ACTION_TAG, i) (greedy: argmax).
 * The net must have batch 1. out->stats is initialised here (free with kn_bandit_stats_free).
 * episode_regret (may be NULL) gets each episode's regret (n_episodes entries). */
int kn_metarl_evaluate(kn_metarl_net *net, const kn_bandit_task_params *task, size_t n_episodes,
                       uint64_t seed, int greedy, double *episode_regret, kn_metarl_eval *out,
                       kn_error *err);
/* The same, also appending every two-step episode to history (may be NULL; room for n_episodes
 * more is reserved first). */
int kn_metarl_evaluate_history(kn_metarl_net *net, const kn_bandit_task_params *task,
                               size_t n_episodes, uint64_t seed, int greedy,
                               double *episode_regret, kn_twostep_history *history,
                               kn_metarl_eval *out, kn_error *err);

/* ------------------------------------------------------------------ test against baselines */

#define KN_METARL_MAX_AGENTS 6
#define KN_METARL_ROWS (1 + KN_METARL_MAX_AGENTS) /* the network, then the agents */
/* Two-step: lags of the choice regression (as Miller et al. 2017), and the tuning of the
 * baselines: KN_METARL_TUNE_EPISODES episodes from seed ^ KN_METARL_TUNE_TAG (never the test's). */
#define KN_METARL_REGRESSION_LAGS 5
#define KN_METARL_TUNE_EPISODES 500
#define KN_METARL_TUNE_TAG 0x7e57ull
typedef struct kn_metarl_test_result {
    kn_bandit_task_params task;
    size_t n_episodes;
    uint64_t seed;
    int greedy;
    kn_metarl_eval net;                 /* the network, weights frozen */
    int n_agents;                       /* classical agents on the same episodes */
    kn_agent_kind agents[KN_METARL_MAX_AGENTS];
    kn_bandit_stats agent_stats[KN_METARL_MAX_AGENTS];
    kn_agent_params agent_params[KN_METARL_MAX_AGENTS]; /* as run (two-step: tuned) */
    double agent_tuned_regret[KN_METARL_MAX_AGENTS];    /* on the tuning episodes; NaN: untuned */
    /* two-step: the choice regression of each row (0 = network) and its verdict against the
     * model-based and model-free baselines; fit_ok 0 with fit_error when it could not be fitted
     * (too few trials, or choices perfectly predictable) */
    int fit_ok[KN_METARL_ROWS];
    kn_twostep_fit fit[KN_METARL_ROWS];
    kn_twostep_verdict verdict[KN_METARL_ROWS];
    char fit_error[KN_METARL_ROWS][160];
    double *episode_regret;             /* (1 + n_agents) x n_episodes, the net first */
    uint64_t checksum_before, checksum_after;
    double seconds;
} kn_metarl_test_result;

/* Tests the frozen net on n_episodes fresh episodes (seed) and runs the classical agents on the
 * same episodes: Thompson, UCB1, eps-greedy, random for the bandits; model-based, model-free,
 * random for the two-step task, whose model-based and model-free agents are first tuned
 * (kn_agent_tune_default on the tuning episodes) and every row then read by the choice
 * regression (kn_twostep_regress) and judged (kn_twostep_judge). Records the parameter checksum before and after and fails
 * (KN_ESTATE) if they differ. */
int kn_metarl_test(kn_metarl_net *net, const kn_bandit_task_params *task, size_t n_episodes,
                   uint64_t seed, int greedy, kn_metarl_test_result *out, kn_error *err);
void kn_metarl_test_result_free(kn_metarl_test_result *r);

/* Reference regrets over 100 trials (Wang et al. 2018 and the classical agents' published
 * values) or NaN. The test report compares with them only for 100-trial episodes, and flags an
 * agent whose regret is more than 3 of its standard errors away. */
double kn_metarl_reference_regret(kn_bandit_task_kind task, kn_agent_kind agent);

/* Writes into dir: summary.json, regret.csv, episodes.csv, p_best.csv (and stay.csv and
 * regression.csv for the two-step task), and the plots regret.png, p_best.png (two-step:
 * stay.png and stay_agents.png, stay bars grouped by reward x transition; regression.png, the
 * choice-regression coefficients by lag). */
int kn_metarl_write_test_report(const char *dir, const kn_metarl_test_result *r,
                                const char *model_path, kn_error *err);

/* Training curve: rows of (episodes done, seconds, mean regret, mean reward, mean loss) -> dir/
 * train_curve.csv and train_curve.png (with the regret of Thompson sampling, or of the tuned
 * model-based agent for the two-step task, and of random choice as reference lines, measured on
 * 2000 fresh episodes); train_summary.json with the given facts. */
typedef struct kn_metarl_curve {
    long *episodes;
    double *seconds, *regret, *reward, *loss;
    size_t n, cap;
} kn_metarl_curve;
int kn_metarl_curve_add(kn_metarl_curve *c, long episodes, double seconds, double regret,
                        double reward, double loss, kn_error *err);
void kn_metarl_curve_free(kn_metarl_curve *c);
int kn_metarl_write_train_report(const char *dir, const kn_metarl_config *cfg,
                                 const kn_metarl_curve *curve, long episodes_done,
                                 double seconds, const char *model_path, uint64_t checksum,
                                 kn_error *err);

/* ------------------------------------------------------------------ model files */

/* Saves parameters, net config, task parameters and training facts (metadata). */
int kn_metarl_save(const char *path, const kn_metarl_net *net, const kn_bandit_task_params *task,
                   const kn_metarl_config *train_cfg, long episodes_trained,
                   double train_seconds, kn_error *err);
/* Loads a model into a freshly created net of the given batch; task gets the saved task. */
int kn_metarl_load(const char *path, kn_metarl_net *net, kn_bandit_task_params *task, size_t batch,
                   kn_error *err);

#ifdef __cplusplus
}
#endif
#endif
