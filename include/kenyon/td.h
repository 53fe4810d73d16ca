/* kenyon TD(0) model of the dopamine prediction error (Schultz, Dayan & Montague 1997; Niv 2009):
 * a trial is a walk through states 0..n_states-1 (one state per time step). The cue appears on
 * leaving state cue_state; the states after it form a tapped delay line (complete serial compound)
 * and learn V, while states 0..cue_state cannot predict the cue (it comes at random) and keep
 * V = 0. A reward of size `reward` is delivered, with probability reward_prob, on leaving state
 * reward_state. At every step delta = r + gamma V(next) - V(s) and V(s) += alpha delta (delay
 * states only), states visited in order, so the error at the cue is delta at cue_state and the
 * error at the reward is delta at reward_state. Limits: cue -> p gamma^(reward-cue) r; reward ->
 * (1-p) r when rewarded and -p r when not. */
#ifndef KENYON_TD_H
#define KENYON_TD_H

#include <stdint.h>

#include "kenyon/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct kn_td_params {
    int n_states;       /* states per trial (default 40) */
    int cue_state;      /* the cue appears on leaving this state (default 9) */
    int reward_state;   /* the reward comes on leaving this state (default 19) */
    double reward;      /* reward size (default 10) */
    double reward_prob; /* probability that a trial is rewarded (default 1) */
    double gamma;       /* discount (default 0.98) */
    double alpha;       /* learning rate (default 0.001) */
    int trials;         /* training trials (default 20000) */
    int record_every;   /* keep the whole error profile of every k-th trial (0: about 200 rows) */
    int average_last;   /* window (trials) for the end-of-training means (0: trials / 10) */
    uint64_t seed;      /* draws which trials are rewarded when reward_prob < 1 */
} kn_td_params;

void kn_td_params_default(kn_td_params *p);

/* 0 if p is usable, else KN_EINVAL with a message naming the parameter. */
int kn_td_params_check(const kn_td_params *p, kn_error *err);

typedef struct kn_td_result {
    int n_states, trials;
    double *values;          /* V after training, n_states */
    /* per training trial (length trials): */
    double *cue_error;       /* delta at cue_state */
    double *reward_error;    /* delta at reward_state */
    unsigned char *rewarded; /* 1 when the trial was rewarded */
    int *peak_state;         /* state with the largest delta (first of ties) */
    /* error profiles of recorded trials: rows n_recorded x n_states */
    int n_recorded;
    int *recorded_trial;     /* trial index (0-based) of each row; the last trial is always kept */
    double *errors;
    double *omission_probe;  /* per recorded row: delta at reward_state in a probe trial with the
                                reward withheld, run (without learning) after that trial */
    /* summary */
    double final_cue_error, final_reward_error; /* last training trial */
    double final_omission;                      /* omission probe after training */
    int first_cross_trial;  /* first trial (0-based) whose cue error exceeds its reward error; -1 */
    int n_average;          /* the last n_average trials form the window below */
    double mean_cue_error;               /* mean over the window */
    double mean_reward_error_rewarded;   /* over rewarded trials in the window (NAN if none) */
    double mean_reward_error_unrewarded; /* over unrewarded trials in the window (NAN if none) */
    double limit_cue, limit_reward_rewarded, limit_reward_unrewarded; /* the analytic limits */
} kn_td_result;

/* Trains and records; out is filled (free with kn_td_result_free) only on success. */
int kn_td_run(const kn_td_params *p, kn_td_result *out, kn_error *err);
void kn_td_result_free(kn_td_result *r);

/* One verdict: a measured number against a target (used by the rl commands and summary.json). */
typedef struct kn_rl_check {
    char what[112];      /* what was measured */
    double measured;
    double target;
    char criterion[40];  /* e.g. "within 1%", "< 0.05" */
    int pass;
} kn_rl_check;

#define KN_TD_MAX_CHECKS 12

/* The verdicts for a finished run: the analytic limits (within 1% of p gamma^k r at the cue,
 * |error| < 0.005 r at the reward and omission within 1% of -r when p = 1; with p < 1 the window
 * means of the three errors within 3 sd of p gamma^k r, (1-p) r and -p r, where
 * sd = sqrt(alpha / (2 - alpha) p (1 - p)) |r| is the spread of the fluctuating values, and at
 * least 1% of |r|); for the reference
 * setting also the observed 8.13, the crossing trial 4405 and the peak positions. Returns the
 * number of checks written to checks (at most KN_TD_MAX_CHECKS). */
int kn_td_checks(const kn_td_params *p, const kn_td_result *r, kn_rl_check *checks);

/* Writes td_trials.csv, td_errors.csv (recorded profiles), td_values.csv, summary.json and, when
 * plots != 0, td_error_heatmap.png and td_error_slices.png into dir (created if needed). */
int kn_td_write(const char *dir, const kn_td_params *p, const kn_td_result *r,
                const kn_rl_check *checks, int n_checks, double seconds, int plots, kn_error *err);

#ifdef __cplusplus
}
#endif
#endif
