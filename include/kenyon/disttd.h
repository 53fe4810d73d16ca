/* kenyon distributional TD (Dabney et al., Nature 2020): a population of value cells, each with
 * its own learning rates alpha+ (for positive errors) and alpha- (negative errors). In the one-step
 * reward task delta_i = r - V_i and V_i += alpha+-_i delta_i (expectile rule) or
 * V_i += alpha+-_i sign(delta_i) (quantile rule). With tau_i = alpha+_i / (alpha+_i + alpha-_i),
 * V_i converges to the tau_i-expectile (quantile) of the reward distribution; equal rates
 * (classical TD) give the mean for every cell.
 * Also here: analytic expectiles/quantiles of discrete distributions, Wasserstein-1 distances,
 * the paper's analysis of (simulated) recordings, and decoding a distribution from expectiles. */
#ifndef KENYON_DISTTD_H
#define KENYON_DISTTD_H

#include <stdint.h>

#include "kenyon/error.h"
#include "kenyon/td.h" /* kn_rl_check */

#ifdef __cplusplus
extern "C" {
#endif

/* ---- discrete reward distributions (src/rl/expectile.c) ---- */
#define KN_REWARD_DIST_MAX 256

typedef struct kn_reward_dist {
    int n;                              /* number of atoms, sorted by size, distinct */
    double sizes[KN_REWARD_DIST_MAX];
    double probs[KN_REWARD_DIST_MAX];   /* sum to 1 */
} kn_reward_dist;

/* The mouse variable-magnitude task: 7 sizes 0.1 .. 20 ul with the observed trial frequencies. */
void kn_reward_dist_variable_magnitude(kn_reward_dist *d);
/* Reward `size` with probability p, else 0. */
int kn_reward_dist_bernoulli(kn_reward_dist *d, double p, double size, kn_error *err);
/* Any distribution: sizes are sorted and equal sizes merged; probabilities must be >= 0 and sum
 * to 1 within 1e-3 (they are then renormalised). Errors name the offending entry. */
int kn_reward_dist_set(kn_reward_dist *d, const double *sizes, const double *probs, int n,
                       kn_error *err);
double kn_reward_dist_mean(const kn_reward_dist *d);
double kn_reward_dist_sd(const kn_reward_dist *d);
/* Draws one reward: u is a uniform number in [0, 1). */
double kn_reward_dist_draw(const kn_reward_dist *d, double u);
int kn_reward_dist_draw_index(const kn_reward_dist *d, double u); /* the atom's index */

/* The tau-expectile: the e with tau E[(r-e)+] = (1-tau) E[(e-r)+] (exact, segment by segment);
 * tau in (0, 1); tau = 0.5 gives the mean. */
double kn_expectile(const kn_reward_dist *d, double tau);
/* The tau-quantile: the smallest atom z with P(r <= z) >= tau (the fixed point of the sign rule
 * when tau is not exactly a value of the CDF). */
double kn_quantile(const kn_reward_dist *d, double tau);

/* Wasserstein-1 distance between the distribution d and the empirical distribution of the n
 * samples x (exact: the integral of |F - G|). Fails only on allocation. */
int kn_w1_samples(const kn_reward_dist *d, const double *x, int n, double *out, kn_error *err);
/* W1 between d and a normal N(mu, sd^2), and a uniform U(lo, hi) (numerical integration, GSL). */
int kn_w1_normal(const kn_reward_dist *d, double mu, double sd, double *out, kn_error *err);
int kn_w1_uniform(const kn_reward_dist *d, double lo, double hi, double *out, kn_error *err);
/* W1 between d and N(mu, sd^2) clipped to [lo, hi] (mass outside moved onto the ends), the fair
 * Gaussian comparison for a decoder whose samples are confined to [lo, hi]. */
int kn_w1_normal_clipped(const kn_reward_dist *d, double mu, double sd, double lo, double hi,
                         double *out, kn_error *err);

/* Pearson and Spearman correlations over the pairs where both values are finite; NAN when fewer
 * than 3 such pairs or a variance is 0. */
double kn_corr_pearson(const double *x, const double *y, int n);
double kn_corr_spearman(const double *x, const double *y, int n);

/* ---- the population of cells (src/rl/disttd.c) ---- */
typedef enum { KN_DISTTD_EXPECTILE = 0, KN_DISTTD_QUANTILE = 1 } kn_disttd_rule;

#define KN_DISTTD_MAX_CUES 16

/* A task: each step a cue is drawn uniformly, then a reward from that cue's distribution. */
typedef struct kn_disttd_task {
    int n_cues;
    kn_reward_dist cue[KN_DISTTD_MAX_CUES];
} kn_disttd_task;

/* One cue with the variable-magnitude distribution; and the 10/50/90% cue task (reward `size`). */
void kn_disttd_task_variable_magnitude(kn_disttd_task *t);
void kn_disttd_task_probability_cues(kn_disttd_task *t, double size);

#define KN_DISTTD_BATCHES 20

typedef struct kn_disttd_params {
    int n_cells;          /* default 151 */
    kn_disttd_rule rule;  /* default expectile */
    int equal_rates;      /* classical TD control: alpha- = alpha+ (default 0) */
    double rate_min, rate_max; /* rates ~ U(rate_min, rate_max) (default 0, 0.2) */
    const double *alpha_plus, *alpha_minus; /* optional given rates (n_cells each, > 0) */
    int steps;            /* default 20000 */
    int average_last;     /* values are averaged over the last steps (default 5000) */
    double v_init;        /* default 0 */
    uint64_t seed;
} kn_disttd_params;

void kn_disttd_params_default(kn_disttd_params *p);
int kn_disttd_params_check(const kn_disttd_params *p, const kn_disttd_task *t, kn_error *err);

typedef struct kn_disttd_result {
    int n_cells, n_cues;
    kn_disttd_rule rule;
    double *alpha_plus, *alpha_minus, *tau; /* n_cells */
    double *values;   /* n_cells x n_cues, the mean over the averaging window */
    double *analytic; /* n_cells x n_cues, the tau-expectile (or quantile) of each cue */
    /* The same statistic of the rewards actually delivered during the averaging window: all
     * cells share one reward sequence, so the window's sampling error (sd about
     * SD / sqrt(average_last), 1.4% of the mean at the defaults) is common to every cell; the
     * error against these values isolates what the learning rule itself gets wrong. */
    double *window_analytic; /* n_cells x n_cues */
    /* Standard error of each value (the window mean) measured from KN_DISTTD_BATCHES batch
     * means of the averaging window (batches much longer than a cell's memory 1/alpha, so they
     * are nearly independent); NaN when the window is shorter than 2 steps per batch. It holds
     * both the reward sampling error and the cell's own fluctuation. */
    double *value_se;        /* n_cells x n_cues */

    double cue_range[KN_DISTTD_MAX_CUES]; /* largest minus smallest reward of each cue */
} kn_disttd_result;

int kn_disttd_run(const kn_disttd_params *p, const kn_disttd_task *t, kn_disttd_result *out,
                  kn_error *err);
void kn_disttd_result_free(kn_disttd_result *r);

typedef struct kn_disttd_accuracy {
    int n_included;        /* cells with min(alpha+, alpha-) >= min_rate */
    double median_rel_err; /* |learned - analytic| / max(|analytic|, 1% of the cue's reward
                              range) over the included cells */
    double max_rel_err;
    double corr_tau_value;     /* Pearson correlation of tau with the learned value, all cells */
    double spearman_tau_value;
    double value_min, value_max; /* learned values of the included cells */
    double corr_tau_value_included; /* Pearson over the included cells */
    double median_rel_err_window, max_rel_err_window; /* against window_analytic */
    /* z_i = (learned - analytic) / value_se over the included cells with a finite s.e.: */
    int n_z;
    double max_abs_z, median_abs_z;
    /* family-wise p-value of max |z| under "every cell converges to its analytic value":
     * Bonferroni over n_z cells of the two-sided Student-t (KN_DISTTD_BATCHES - 1 d.f.) tail,
     * valid whatever the correlation between cells (they share one reward sequence) */
    double p_max_z;
} kn_disttd_accuracy;

int kn_disttd_accuracy_of(const kn_disttd_result *r, int cue, double min_rate,
                          kn_disttd_accuracy *out, kn_error *err);

/* ---- the paper's analysis of recordings (src/rl/analysis.c) ---- */

/* Simulated recordings: cell i's response on a trial with reward size s_k is its scaled error
 * 2 tau_i (s_k - rev_i) above its reversal point rev_i and 2 (1 - tau_i) (s_k - rev_i) below
 * (gains normalised so that alpha+ + alpha- = 2; a classical cell has gain 1), plus N(0, noise^2).
 * responses is n_cells x n_sizes x n_trials (cell-major). */
int kn_rpe_simulate(const double *sizes, int n_sizes, const double *tau, const double *reversal,
                    int n_cells, int n_trials, double noise_sd, uint64_t seed, double *responses,
                    kn_error *err);

typedef enum {
    KN_SLOPE_ORIGIN_OWN_HALF = 0,   /* slopes on half B around half B's own reversal point */
    KN_SLOPE_ORIGIN_OTHER_HALF = 1, /* slopes on half B around half A's reversal point */
} kn_slope_origin;

typedef struct kn_rpe_analysis {
    int n_cells, n_sizes;
    double *utility_a, *utility_b; /* n_sizes: mean response across cells per size, per half */
    double *reversal_a, *reversal_b; /* n_cells, on the utility axis of each half */
    double *slope_pos, *slope_neg;   /* n_cells, half B; NAN when a side has no sizes */
    double *asymmetry;               /* slope_pos / (slope_pos + slope_neg); NAN if undefined */
    int n_valid;                     /* cells with a finite asymmetry */
    double corr_reversal_halves;     /* Pearson(reversal_a, reversal_b) */
    double corr_asymmetry_reversal;  /* Pearson(asymmetry, reversal_a) */
} kn_rpe_analysis;

/* The analysis: trials of each (cell, size) are split at random (seed) into halves A and B; the
 * utility axis and reversal points (best sign cut between sizes, interpolated on the utility
 * axis) come from each half; slopes with no intercept above and below the reversal point and the
 * asymmetry come from half B (origin: see kn_slope_origin); the correlations compare reversal
 * points across halves and half B's asymmetry with half A's reversal point. Sizes ascending;
 * n_trials >= 2. */
int kn_rpe_analyse(const double *responses, int n_cells, int n_sizes, int n_trials,
                   kn_slope_origin origin, uint64_t seed, kn_rpe_analysis *out, kn_error *err);
void kn_rpe_analysis_free(kn_rpe_analysis *a);

/* Reversal point of one cell from its mean response per size (best cut, interpolation). */
double kn_reversal_point(const double *utility, const double *mean_response, int n_sizes);

/* ---- decoding the distribution from expectiles (src/rl/decode.c) ---- */
typedef struct kn_decode_params {
    int n_samples;     /* M, default 100 */
    double lo, hi;     /* the samples stay in [lo, hi] (the reward range) */
    int n_candidates;  /* random sample sets drawn, default 2000 */
    int n_starts;      /* minimisations started from the best candidates, default 10 */
    int max_iter;      /* per minimisation, default 5000 */
    uint64_t seed;
} kn_decode_params;

void kn_decode_params_default(kn_decode_params *p, double lo, double hi);

/* The expectile-mismatch loss: mean over cells of [mean_j |tau_i - 1(z_j <= e_i)| (z_j - e_i)]^2. */
double kn_expectile_loss(const double *tau, const double *expectile, int n_cells, const double *z,
                         int m);

/* Finds M samples in [lo, hi] minimising the loss (GSL BFGS2 on z = mid + half sin(y), which keeps
 * the samples in the box and lets them reach its ends). samples: M values, sorted on return. */
int kn_expectile_decode(const double *tau, const double *expectile, int n_cells,
                        const kn_decode_params *p, double *samples, double *loss, kn_error *err);

/* ---- the whole experiment behind `kenyon rl disttd` (src/rl/disttd_experiment.c) ---- */
typedef struct kn_disttd_experiment_params {
    kn_disttd_params cells;   /* rates, steps, window, seed (the rule field is ignored: the
                                 expectile, quantile and classical populations are all run) */
    kn_disttd_task task;
    int default_task;         /* the variable-magnitude task: the targets apply */
    double min_rate;          /* accuracy over cells with min(alpha+, alpha-) >= this (0.02) */
    int analyse;              /* run the analysis of simulated recordings */
    double noise_sd;          /* response noise (0.5) */
    int trials_per_size;      /* simulated trials per reward size and cell (20) */
    int recording_learned;    /* reversal points of simulated cells: learned values (1) or the
                                 analytic fixed points (0, default) */
    int decode_cells;         /* cells with exact expectiles for the decoding target (40) */
    kn_decode_params decode;  /* lo/hi are set from each cue's reward range */
} kn_disttd_experiment_params;

void kn_disttd_experiment_params_default(kn_disttd_experiment_params *p);

typedef struct kn_disttd_experiment {
    kn_disttd_result expectile, quantile, classical;
    kn_disttd_accuracy acc_expectile[KN_DISTTD_MAX_CUES], acc_quantile[KN_DISTTD_MAX_CUES],
        acc_classical[KN_DISTTD_MAX_CUES];
    /* analysis (cue 0) */
    int analysed;
    double *rev_true_dist, *rev_true_null;        /* n_cells: the simulated cells' values */
    kn_rpe_analysis dist, null, null_other_origin; /* last: slopes around half A's reversal */
    kn_rpe_analysis dist_other_origin;
    /* n_cells x n_sizes: each simulated cell's mean response per reward size over all its trials
     * (the tuning curves), for the distributional and the classical population */
    double *tuning_dist, *tuning_null;
    /* decoding, per cue: from exact expectiles of decode_cells cells at tau = (j+0.5)/n */
    int n_decode_cells, n_samples;
    double *decode_tau;      /* n_decode_cells */
    double *decoded;         /* n_cues x n_samples, sorted */
    double decode_loss[KN_DISTTD_MAX_CUES], decoded_mean[KN_DISTTD_MAX_CUES];
    double w1_decoded[KN_DISTTD_MAX_CUES], w1_normal[KN_DISTTD_MAX_CUES],
        w1_normal_clipped[KN_DISTTD_MAX_CUES], w1_uniform[KN_DISTTD_MAX_CUES];
    /* decoding from the learned expectile cells (cue 0, cells with min rate >= min_rate) */
    double *decoded_learned; /* n_samples */
    double decode_learned_loss, decoded_learned_mean, w1_decoded_learned;
    int n_learned_cells_used;
    double seconds_train, seconds_analysis, seconds_decode;
} kn_disttd_experiment;

int kn_disttd_experiment_run(const kn_disttd_experiment_params *p, kn_disttd_experiment *out,
                             kn_error *err);
void kn_disttd_experiment_free(kn_disttd_experiment *e);

#define KN_DISTTD_MAX_CHECKS 24
/* The targets as verdicts (only those that apply to the task that was run). */
int kn_disttd_checks(const kn_disttd_experiment_params *p, const kn_disttd_experiment *e,
                     kn_rl_check *checks);

/* cells.csv, analysis.csv, utility.csv, decoded.csv, summary.json and (plots != 0)
 * disttd_values_vs_tau.png, disttd_asymmetry_vs_reversal.png, disttd_analysis.png (with the
 * analysis), disttd_decoded.png in dir. */
int kn_disttd_write(const char *dir, const kn_disttd_experiment_params *p,
                    const kn_disttd_experiment *e, const kn_rl_check *checks, int n_checks,
                    int plots, kn_error *err);

#ifdef __cplusplus
}
#endif
#endif
