/* kenyon dynamics: the limiting dynamics of SGD (Kunin, Sagastuy-Brena, Gillespie, Margalit,
 * Tanaka, Ganguli, Yamins, "Rethinking the limiting dynamics of SGD", arXiv 2107.09133, 2021).
 *
 * Part 1, exactly solvable: SGD with momentum and weight decay (PyTorch form
 *   b_{k+1} = beta b_k + g_k + lambda theta_k,  theta_{k+1} = theta_k - eta b_{k+1})
 * on a quadratic loss L = 1/2 (theta-mu0)^T H (theta-mu0) with Gaussian gradient noise of
 * covariance Sigma / S (linear regression with label noise in the many-sample limit, where the
 * per-sample gradient covariance at the minimum is Sigma = sigma^2 H, or a rotated Sigma that does
 * not commute with H). Everything is linear, so the simulator and the theory both work in the
 * eigenbasis of H, in the coordinates a = V^T (theta - mu) (mu the minimiser of L + lambda/2|theta|^2)
 * and the momentum buffer b (velocity v = -b = (theta_k - theta_{k-1}) / eta). Norms, traces and
 * displacements are rotation invariant, so nothing is lost.
 *
 * Theory: per-mode closed forms (underdamped Langevin limit), the continuous Lyapunov equation
 * A C + C A^T = B B^T, and the exact discrete Lyapunov equation of the update, C = M C M^T + W.
 * Both Lyapunov solves use the structure: in the eigenbasis of H the drift is block diagonal with
 * one 2x2 block per mode, so block (i, j) of C solves a 4x4 Kronecker system
 * (I (x) A_i + A_j (x) I) or (I - M_j (x) M_i), solved with LAPACKE_dgesv: O(d^2) small solves
 * instead of one (2d)^2 x (2d)^2 system. kn_lyap_*_dense solve the unstructured Kronecker system
 * (small sizes; used to cross-check the block solver).
 *
 * Part 2: the six checks of the theory against simulation (kn_dyn_check_*), each filling a result
 * with measured and predicted numbers and a verdict whose tolerance comes from the measured noise
 * (replica or batch-means standard errors) where the theory is exact.
 *
 * Part 3: displacement tracking of a real network (kn_dyn_train_*): pretrain an MLP
 * (include/kenyon/nn.h), then continue at fixed hyperparameters and record, per step,
 * |delta_k|^2 = eta^2 |b_{k+1}|^2, |theta_k - theta_0|^2, |theta_k| and theta_k . theta_0. */
#ifndef KENYON_DYNAMICS_H
#define KENYON_DYNAMICS_H

#include <stddef.h>
#include <stdint.h>

#include "kenyon/error.h"
#include "kenyon/rng.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------------------------------
 * Hyperparameters of SGD in the PyTorch form. */
typedef struct kn_sgd_hparams {
    double lr;       /* eta > 0 */
    double momentum; /* beta in [0, 1) */
    double wd;       /* lambda >= 0 */
    double batch;    /* S >= 1 (noise covariance Sigma / S) */
} kn_sgd_hparams;

/* Returns NULL or a message naming the bad hyperparameter. */
const char *kn_sgd_hparams_check(const kn_sgd_hparams *hp);

/* ---------------------------------------------------------------------------------------------
 * The synthetic linear-regression problem, in the eigenbasis of H. */
typedef enum { KN_SPECTRUM_LOGUNIFORM = 0, KN_SPECTRUM_POWERLAW, KN_SPECTRUM_LINEAR } kn_spectrum;

typedef struct kn_linreg_spec {
    int dim;             /* d >= 1 */
    kn_spectrum spectrum;
    double h_min, h_max; /* Hessian eigenvalue range, 0 < h_min <= h_max */
    double noise;        /* sigma^2 > 0: label-noise variance, Sigma = sigma^2 H when commuting */
    int commute;         /* 1: Sigma = sigma^2 H; 0: Sigma = sigma^2 R H R^T, R a random rotation */
    uint64_t seed;       /* rotation R and the true parameter direction */
} kn_linreg_spec;

void kn_linreg_spec_default(kn_linreg_spec *s);
const char *kn_linreg_spec_check(const kn_linreg_spec *s);
int kn_spectrum_parse(const char *name, kn_spectrum *out, kn_error *err);
const char *kn_spectrum_name(kn_spectrum s);

typedef struct kn_linreg {
    int d;
    double *h;       /* d Hessian eigenvalues, ascending */
    double *sigma;   /* d x d per-sample gradient covariance at the minimum, in H's eigenbasis */
    int diagonal;    /* sigma is diagonal (commutes with H) */
    double *theta_star; /* d: minimiser of the unregularised loss, in the eigenbasis */
} kn_linreg;

int kn_linreg_create(const kn_linreg_spec *s, kn_linreg *out, kn_error *err);
/* A problem from explicit eigenvalues h (d) and noise covariance sigma (d x d, eigenbasis of H;
 * must be symmetric positive definite). theta_star may be NULL (zero). */
int kn_linreg_from_matrices(int d, const double *h, const double *sigma, const double *theta_star,
                            kn_linreg *out, kn_error *err);
void kn_linreg_free(kn_linreg *p);
double kn_linreg_trace_sigma(const kn_linreg *p);

/* ---------------------------------------------------------------------------------------------
 * Simulator: SGD with Gaussian gradient noise on the quadratic, in eigen coordinates. */
typedef struct kn_sgd_sim {
    int d;
    double lr, momentum;
    double *k;       /* h_i + lambda (stiffness of mode i) */
    double *noise_l; /* d x d lower Cholesky factor of Sigma / S (row-major), or NULL */
    double *noise_sd;/* d: sqrt(Sigma_ii / S) when Sigma is diagonal, else NULL */
    double *a, *b;   /* state: position offset from the minimum, momentum buffer */
    double *scratch; /* d normals */
    size_t step;
} kn_sgd_sim;

int kn_sgd_sim_create(const kn_linreg *p, const kn_sgd_hparams *hp, kn_sgd_sim *out,
                      kn_error *err);
void kn_sgd_sim_free(kn_sgd_sim *s);
/* One update: draws xi ~ N(0, Sigma/S), b <- beta b + k a + xi, a <- a - eta b. */
void kn_sgd_sim_step(kn_sgd_sim *s, kn_rng *rng);
/* Sets (a, b) to a draw from the exact stationary distribution (discrete Lyapunov solution). */
int kn_sgd_sim_draw_stationary(kn_sgd_sim *s, const kn_linreg *p, const kn_sgd_hparams *hp,
                               kn_rng *rng, kn_error *err);

/* ---------------------------------------------------------------------------------------------
 * Theory. Covariances of the 2d-dimensional state are (2d) x (2d) row-major, ordered
 * (a_1..a_d, v_1..v_d) with v = velocity (continuous: d theta/dt; discrete: (theta_k -
 * theta_{k-1})/eta = -b_k). */
typedef struct kn_mode_params {
    double mass;       /* eta (1+beta)/2 */
    double gamma;      /* (1-beta) / (eta (1+beta)) */
    double omega;      /* sqrt(2 k / (eta (1+beta))) */
    double big_omega;  /* sqrt(|omega^2 - gamma^2|) */
    int underdamped;   /* omega > gamma */
} kn_mode_params;

void kn_mode_params_compute(double lr, double momentum, double k, kn_mode_params *out);
/* Onset of oscillation: a mode oscillates when k > (1-beta)^2 / (2 eta (1+beta)). */
double kn_oscillation_threshold(double lr, double momentum);
/* Predicted stationary local speed E|delta|^2 = eta^2 tr Sigma / (S (1 - beta^2)). */
double kn_speed_law(const kn_sgd_hparams *hp, double trace_sigma);

/* Commuting closed forms for one mode with noise variance sigma_ii:
 * Var a = eta sigma_ii / (2 S (1-beta) k), Var v = sigma_ii / (S (1-beta^2)), Cov = 0. */
void kn_closed_form_stationary(const kn_sgd_hparams *hp, double k, double sigma_ii,
                               double *var_a, double *var_v, double *cov_av);

/* Mean of one mode at time t = eta * steps from (a0, v0), continuous closed form (both regimes
 * and the critical limit). Also the 2x2 propagator P(t) (row-major, (a,v) -> (a,v)). */
void kn_closed_form_mean(double lr, double momentum, double k, double t, double a0, double v0,
                         double *a_t, double *v_t);
void kn_closed_form_propagator(double lr, double momentum, double k, double t, double P[4]);

/* Stationary covariance, continuous Lyapunov equation A C + C A^T = B B^T (block solver). */
int kn_lyap_continuous(const kn_linreg *p, const kn_sgd_hparams *hp, double *C, kn_error *err);
/* Stationary covariance of the exact discrete recursion C = M C M^T + W (block solver). */
int kn_lyap_discrete(const kn_linreg *p, const kn_sgd_hparams *hp, double *C, kn_error *err);
/* Unstructured solvers (n x n matrices, row-major, n <= 40): A X + X A^T = Q and X = M X M^T + Q
 * via the n^2 x n^2 Kronecker system and LAPACKE_dgesv. */
int kn_lyap_continuous_dense(int n, const double *A, const double *Q, double *X, kn_error *err);
int kn_lyap_discrete_dense(int n, const double *M, const double *Q, double *X, kn_error *err);
/* The 2x2 update matrix of mode k for the state (a, b): [[1 - eta k, -eta beta], [k, beta]]. */
void kn_update_matrix(double lr, double momentum, double k, double M[4]);

/* Theory of the mean squared displacement E|theta_k - theta_0|^2 for k = 0..n-1 from the
 * deterministic start (a0, b = 0), exact discrete recursion: |M^k z0 - z0|_a^2 + tr Cov_k with
 * Cov_k = C - M^k C M^kT (diagonal blocks). Needs the discrete stationary covariance C. */
int kn_msd_theory(const kn_linreg *p, const kn_sgd_hparams *hp, const double *a0, size_t n,
                  double *msd, kn_error *err);

/* ---------------------------------------------------------------------------------------------
 * Analysis helpers. */

/* Welch power spectrum of x[0..n) with Hann-windowed segments of length seg (a power of 2),
 * 50% overlap; psd gets seg/2+1 bins (bin j = frequency j/seg cycles per step). */
int kn_welch_psd(const double *x, size_t n, size_t seg, double *psd, kn_error *err);
/* Peak of a spectrum over bins >= 1: refined (parabolic on log power) bin position. Returns the
 * integer argmax; *refined gets the interpolated position. */
size_t kn_spectrum_peak(const double *psd, size_t nbins, double *refined);

/* Damped-oscillator line-shape fit around the spectrum's peak: the position spectrum of
 * a'' + 2 gamma a' + omega^2 a = noise is 1/((omega^2 - nu^2)^2 + 4 gamma^2 nu^2), so 1/P is a
 * quadratic in nu^2; weighted least squares over the bins holding >= 1/4 of the peak power gives
 * omega and gamma, and the damped frequency Omega = sqrt(omega^2 - gamma^2), all in cycles per
 * step (bin j is j/seg). Returns 0 and fills *f_damped (and *f_gamma), or KN_EINVAL if the
 * peak is not an underdamped line. */
int kn_spectrum_oscillator_fit(const double *psd, size_t nbins, size_t seg, double *f_damped,
                               double *f_gamma, kn_error *err);

/* Power-law fit y ~ x^c by ordinary least squares of log y on log x over x in [x_lo, x_hi],
 * using points with x > 0, y > 0. ci95 is the half-width of the 95% confidence interval from the
 * OLS standard error (residuals of a trajectory are correlated, so it is optimistic). */
typedef struct kn_powerfit {
    double c, ci95, intercept;
    size_t n_points;
    double x_lo, x_hi;
} kn_powerfit;
int kn_powerlaw_fit(const double *x, const double *y, size_t n, double x_lo, double x_hi,
                    kn_powerfit *out, kn_error *err);

/* ---------------------------------------------------------------------------------------------
 * The six checks. Each fills a result; `pass` is the verdict against the target. Series used for
 * CSV and figures are owned by the result and released by kn_dyn_result_free. */
typedef struct kn_dyn_series {
    char name[48];
    char header[160];            /* CSV header: comma-separated column names */
    size_t n;
    double *x, *y, *y2, *y3, *y4; /* y2.. optional (NULL) */
} kn_dyn_series;

typedef struct kn_dyn_result {
    int check;           /* 1..6 */
    char title[96];
    int pass;            /* 1 pass, 0 fail, -1 report only */
    char verdict[4096];  /* human-readable measured vs predicted lines */
    double measured, predicted, error; /* headline numbers */
    double seconds;
    kn_dyn_series *series;
    size_t n_series;
    /* for JSON: up to 128 named numbers */
    char keys[128][40];
    double values[128];
    int n_values;
} kn_dyn_result;

void kn_dyn_result_free(kn_dyn_result *r);

typedef struct kn_dyn_config {
    kn_linreg_spec problem;
    kn_sgd_hparams hp;
    size_t steps;      /* stationary run length for checks 1, 2, 4, 5 */
    int replicas;      /* checks 3 and 6 */
    size_t transient_steps; /* checks 3 and 6: length of each replica (0: automatic) */
    uint64_t seed;
    int quiet;
} kn_dyn_config;

void kn_dyn_config_default(kn_dyn_config *c);

int kn_dyn_check_speed(const kn_dyn_config *c, kn_dyn_result *r, kn_error *err);      /* 1 */
int kn_dyn_check_stationary(const kn_dyn_config *c, kn_dyn_result *r, kn_error *err); /* 2 */
int kn_dyn_check_transient(const kn_dyn_config *c, kn_dyn_result *r, kn_error *err);  /* 3 */
int kn_dyn_check_oscillation(const kn_dyn_config *c, kn_dyn_result *r, kn_error *err);/* 4 */
int kn_dyn_check_toy2d(const kn_dyn_config *c, kn_dyn_result *r, kn_error *err);      /* 5 */
int kn_dyn_check_msd(const kn_dyn_config *c, kn_dyn_result *r, kn_error *err);        /* 6 */
int kn_dyn_check_run(int check, const kn_dyn_config *c, kn_dyn_result *r, kn_error *err);

/* Writes <dir>/check<N>_<series>.csv for every series of every result, <dir>/summary.json, and
 * the figures (PNG). */
int kn_dyn_write_outputs(const char *dir, const kn_dyn_config *c, const kn_dyn_result *results,
                         size_t n_results, int plots, kn_error *err);

/* ---------------------------------------------------------------------------------------------
 * Part 3: an MLP after pretraining. */
struct kn_split;

#define KN_DYN_MAX_RUNS 8
#define KN_DYN_MAX_REPS 16
/* Fit windows for c after the burn-in k0: [k0, T], [k0, sqrt(k0 T)], [sqrt(k0 T), T]. */
#define KN_DYN_C_WINDOWS 3
/* A training loss still falling by more than this fraction over a continuation run after its
 * burn-in means optimisation is going on (on Fashion-MNIST with the defaults: 6% after 30
 * pretraining epochs, 1.1-1.6% after 150). */
#define KN_DYN_CONVERGED 0.02

typedef struct kn_dyn_train_config {
    int hidden, depth;        /* depth hidden ReLU layers of width hidden (dense, no BatchNorm) */
    size_t n_train;           /* random training subset (0: all rows) */
    int pre_epochs;           /* pretraining epochs */
    kn_sgd_hparams pre;       /* pretraining hyperparameters (batch is an integer) */
    kn_sgd_hparams hp;        /* continuation hyperparameters */
    size_t steps;             /* continuation steps per run */
    const char *sweep_name;   /* NULL or "lr", "batch", "momentum", "wd" */
    double sweep[KN_DYN_MAX_RUNS];
    int n_sweep;              /* 0: runs at hp.lr and hp.lr / 2 */
    int hessian_k;            /* top Hessian eigenvectors at theta_0 to project onto (0: none) */
    size_t hessian_batch;     /* training rows for the Hessian (1024) */
    int hessian_iters;        /* subspace iterations (20) */
    double burn_in;           /* fraction of each run dropped before the CV and the fit (0.1) */
    int windows;              /* windows for the coefficient of variation (10) */
    int replicates;           /* continuations per run from the same theta_0 with independent
                                 minibatch orders, for c's interval (3; 1..KN_DYN_MAX_REPS) */
    int test_points;          /* test-set evaluations (loss) during each run's first replicate (20) */
    uint64_t seed;
    int quiet;
} kn_dyn_train_config;

void kn_dyn_train_config_default(kn_dyn_train_config *c);

typedef struct kn_dyn_train_run {
    kn_sgd_hparams hp;
    size_t steps;
    double *delta_sq, *disp_sq, *norm, *dot; /* per step k = 1..steps (index k-1) */
    double *loss;                            /* batch loss per step */
    double *proj;      /* steps x hessian_k: v_j . (theta_k - theta_0), or NULL */
    double *proj_vel;  /* steps x hessian_k: v_j . (theta_{k} - theta_{k-1}) / eta, or NULL */
    double mean_delta_sq;                    /* after burn-in */
    double cv;                               /* across windows, after burn-in */
    double law;                              /* eta^2 / (S (1 - beta^2)) */
    double trace_sigma;   /* per-sample gradient covariance trace, mean of 4 points after burn-in */
    double law_absolute;  /* eta^2 tr Sigma (N-S)/(N-1) / (S (1-beta^2)) with that trace */
    kn_powerfit fit;                         /* log |theta_k - theta_0|^2 on log k */
    double test_accuracy, seconds;
    double trace_sigma_se;   /* standard error of trace_sigma over its 4 points */
    /* exponent c per window (KN_DYN_C_WINDOWS) and replicate; mean and a t interval (95%) over
     * the replicates (0 when there is one) */
    int replicates;
    double c_window[KN_DYN_C_WINDOWS][2];
    double c_rep[KN_DYN_MAX_REPS][KN_DYN_C_WINDOWS];
    double c_mean[KN_DYN_C_WINDOWS], c_ci95[KN_DYN_C_WINDOWS];
    /* convergence: relative decline of the batch loss over the post-burn-in part (OLS trend of
     * window means) and its standard error; converged when the decline is below
     * max(3 SE, KN_DYN_CONVERGED) */
    double loss_decline, loss_decline_se;
    int converged;
    /* test loss and accuracy at test_points steps of the first replicate (NULL without a test
     * set) */
    size_t n_test_points;
    double *test_step, *test_loss, *test_acc;
} kn_dyn_train_run;

typedef struct kn_dyn_train_result {
    size_t n_params, n_train, n_test;
    double pre_test_accuracy, pre_train_loss, pre_seconds;
    double theta0_norm;
    int hessian_k;
    double hessian_eigenvalues[8]; /* top Ritz values of the training-loss Hessian at theta_0 */
    double hessian_seconds;
    kn_dyn_train_run runs[KN_DYN_MAX_RUNS];
    int n_runs;
    double cv_max, law_error_max;
    double law_error_measured_trace_max; /* ratio test with each run's own measured tr Sigma */
    double law_abs_error_max;   /* max |E|delta|^2 / law_absolute - 1| over runs (the check) */
    double law_tolerance;       /* max(10%, 3 SE of that ratio) over runs */
    int converged;              /* the runs at the pretraining hyperparameters (all runs if none
                                   is) passed the convergence test */
    int pass;
    char verdict[3072];
} kn_dyn_train_result;

/* Top-k (k <= 8) eigenvectors of the cross-entropy loss Hessian on (x, y, n) at the net's current
 * parameters: subspace iteration (iters rounds) with Hessian-vector products by central
 * differences of gradients (step 1e-3 along unit vectors), then Rayleigh-Ritz. It finds the
 * eigenvalues largest in MAGNITUDE (after pretraining the Hessian is close to positive
 * semi-definite, so these are the top curvatures). Q gets k rows of n_params (unit Ritz vectors),
 * eig the Ritz values in decreasing order. Parameters are restored. */
struct kn_net;
int kn_dyn_hessian_top(struct kn_net *net, const float *x, const int32_t *y, size_t n, int k,
                       int iters, double *Q, double *eig, kn_rng *rng, kn_error *err);

int kn_dyn_train(const kn_dyn_train_config *c, const struct kn_split *data,
                 kn_dyn_train_result *r, kn_error *err);
void kn_dyn_train_result_free(kn_dyn_train_result *r);
/* <dir>/train_run<i>.csv, <dir>/summary.json, figures (msd_train.png, speed_train.png). */
int kn_dyn_train_write_outputs(const char *dir, const kn_dyn_train_config *c,
                               const kn_dyn_train_result *r, int plots, kn_error *err);

#ifdef __cplusplus
}
#endif
#endif
