/* Check 4 of `kenyon dynamics linreg`: phase-space oscillations, at the given lr and momentum
 * (weight decay 0, so a mode's stiffness k is its Hessian eigenvalue).
 *
 * Onset. The theory says a mode oscillates when k > k_on = (1-beta)^2 / (2 eta (1+beta))
 * (continuous limit; the exact discrete update has complex eigenvalues when
 * k > (1 - sqrt beta)^2 / eta, which agrees to O(eta k_on)). Two modes are placed just below and
 * just above the predicted onset (0.8 and 1.25 k_on) and classified from their trajectories by
 * the right criterion: does the MEAN oscillate? R replicas start far off the minimum with zero
 * velocity; an overdamped mode's mean decays to zero without crossing it, an underdamped one
 * overshoots (by exp(-pi gamma / Omega) of the start, 0.2% at 1.25 k_on). The mode counts as
 * oscillating when the replica mean goes below zero by more than 5 replica standard errors and
 * by more than 1e-5 of the start. A threshold wrong by a factor 1.25 or more in either direction
 * misclassifies one of the two modes. When the continuous limit does not hold (eta k_on > 0.05,
 * i.e. small momentum), the prediction tested is the exact discrete onset, and the verdict says so.
 *
 * Frequency. Modes at 1600, 400 and 100 k_on, as far as the continuous limit holds
 * (eta k <= 0.04) and damping stays small (k >= 10 k_on): Welch spectrum of each mode's
 * stationary position, the damped frequency from the oscillator line-shape fit
 * (kn_spectrum_oscillator_fit; the raw peak of a position spectrum sits at
 * sqrt(omega^2 - 2 gamma^2), not at Omega), compared with eta Omega / (2 pi) cycles per step
 * (2%). When no mode qualifies (small momentum), the frequency part is reported as not tested. */
#include "dynamics_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kenyon/progress.h"

static double rel_err_freq(double measured, double predicted)
{
    return predicted != 0 ? fabs(measured - predicted) / fabs(predicted) : fabs(measured);
}

double kn_dyn_discrete_onset(double lr, double momentum)
{
    double s = 1 - sqrt(momentum);
    return s * s / lr;
}

int kn_dyn_mean_oscillates(double lr, double momentum, double k, double noise, int replicas,
                           uint64_t seed, uint64_t stream, double *undershoot, kn_error *err)
{
    kn_linreg p;
    double sig = noise;
    int rc = kn_linreg_from_matrices(1, &k, &sig, NULL, &p, err);
    if (rc)
        return rc;
    kn_sgd_hparams hp = {.lr = lr, .momentum = momentum, .wd = 0, .batch = 1};
    kn_sgd_sim sim = {0};
    double C[4];
    if ((rc = kn_sgd_sim_create(&p, &hp, &sim, err)) || (rc = kn_lyap_discrete(&p, &hp, C, err))) {
        kn_sgd_sim_free(&sim);
        kn_linreg_free(&p);
        return rc;
    }
    kn_mode_params mp;
    kn_mode_params_compute(lr, momentum, k, &mp);
    /* Long enough for the slower relaxation rate to decay 12 e-folds, bounded. */
    double rate = lr * (mp.underdamped ? mp.gamma : mp.gamma - mp.big_omega);
    double M[4];
    kn_update_matrix(lr, momentum, k, M);
    size_t T = (size_t)ceil(12.0 / fmax(rate, 1e-9));
    if (T > 200000)
        T = 200000;
    if (T < 50)
        T = 50;
    double *sum = calloc(T, sizeof(double)), *sum2 = calloc(T, sizeof(double));
    if (!sum || !sum2) {
        free(sum);
        free(sum2);
        kn_sgd_sim_free(&sim);
        kn_linreg_free(&p);
        return kn_fail(err, KN_ENOMEM, "check 4: out of memory for %zu steps", T);
    }
    double a0 = 1e4 * sqrt(C[0]);
    for (int rep = 0; rep < replicas; rep++) {
        kn_rng rng;
        kn_rng_stream(&rng, seed, stream + (uint64_t)rep);
        sim.a[0] = a0;
        sim.b[0] = 0;
        for (size_t t = 0; t < T; t++) {
            kn_sgd_sim_step(&sim, &rng);
            sum[t] += sim.a[0];
            sum2[t] += sim.a[0] * sim.a[0];
        }
    }
    int osc = 0;
    double most = 0;
    for (size_t t = 0; t < T; t++) {
        double m = sum[t] / replicas;
        double var = fmax((sum2[t] - replicas * m * m) / (replicas - 1), 0);
        double se = sqrt(var / replicas);
        if (m < -5 * se && m < -1e-5 * a0)
            osc = 1;
        most = fmin(most, m / a0);
    }
    *undershoot = most < 0 ? -most : 0;
    free(sum);
    free(sum2);
    kn_sgd_sim_free(&sim);
    kn_linreg_free(&p);
    return osc;
}

int kn_dyn_check_oscillation(const kn_dyn_config *c, kn_dyn_result *r, kn_error *err)
{
    kn_dyn_result_init(r, 4, "oscillation onset (mean of replicas) and frequency per mode (FFT)");
    double t0 = kn_seconds();
    kn_sgd_hparams hp = c->hp;
    hp.wd = 0;
    hp.batch = 1;
    double kth = kn_oscillation_threshold(hp.lr, hp.momentum);
    double kdisc = kn_dyn_discrete_onset(hp.lr, hp.momentum);
    int continuous = hp.lr * kth <= 0.05;
    double k_on = continuous ? kth : kdisc;
    int rc = 0;

    /* ---- onset ---- */
    const double below = 0.8, above = 1.25;
    double under[2];
    int cls[2];
    int R = c->replicas < 20 ? 20 : c->replicas > 400 ? 400 : c->replicas;
    for (int j = 0; j < 2 && rc >= 0; j++) {
        double k = (j ? above : below) * k_on;
        rc = kn_dyn_mean_oscillates(hp.lr, hp.momentum, k, c->problem.noise, R, c->seed,
                                    420000 + 10000 * (uint64_t)j, &under[j], err);
        cls[j] = rc;
    }
    if (rc < 0)
        return rc;
    rc = 0;
    int onset_ok = cls[0] == 0 && cls[1] == 1;
    kn_dyn_verdict(r, "  eta %g, beta %g: onset k_on = %.5g (continuous (1-b)^2/(2 eta (1+b))), "
                   "exact discrete %.5g (%+.2f%%)\n", hp.lr, hp.momentum, kth, kdisc,
                   100 * (kdisc / kth - 1));
    if (!continuous)
        kn_dyn_verdict(r, "  eta k_on = %.3g > 0.05: the continuous limit does not hold; the "
                       "prediction tested is the exact discrete onset\n", hp.lr * kth);
    kn_dyn_verdict(r, "  onset, %d replicas from 1e4 sd, b0 = 0; mean oscillates if it undershoots"
                   " zero by > 5 SE:\n", R);
    for (int j = 0; j < 2; j++)
        kn_dyn_verdict(r, "    k = %.2f k_on: predicted %s, mean %s (largest undershoot %.3g of "
                       "the start)\n", j ? above : below, j ? "oscillates" : "damped",
                       cls[j] ? "oscillates" : "does not oscillate", under[j]);
    kn_dyn_set_value(r, "onset_threshold_k", kth);
    kn_dyn_set_value(r, "onset_threshold_k_discrete", kdisc);
    kn_dyn_set_value(r, "onset_below_oscillates", cls[0]);
    kn_dyn_set_value(r, "onset_above_oscillates", cls[1]);
    kn_dyn_set_value(r, "onset_above_undershoot", under[1]);
    kn_dyn_set_value(r, "onset_classification_correct", onset_ok);

    /* ---- frequencies ---- */
    enum { NM = 3 };
    double mult[NM], h[NM];
    int nm = 0;
    const double want[NM] = {100, 400, 1600};
    for (int i = 0; i < NM; i++)
        if (continuous && hp.lr * want[i] * kth <= 0.04)
            mult[nm++] = want[i];
    if (continuous && nm == 0) { /* the largest multiple >= 10 that keeps eta k <= 0.04 */
        double m = floor(0.04 / (hp.lr * kth));
        if (m >= 10)
            mult[nm++] = m;
    }
    double worst = 0;
    size_t seg = 4096, nb = seg / 2 + 1;
    size_t steps = c->steps < 16 * seg ? 16 * seg : c->steps;
    double *traj = NULL, *x = NULL, *psd = NULL, *Cd = NULL, *sig = NULL;
    kn_sgd_sim sim = {0};
    kn_linreg p = {0};
    if (nm == 0) {
        kn_dyn_verdict(r, "  frequency: no mode with 10 k_on <= k and eta k <= 0.04 at this "
                       "momentum: not tested\n");
        goto verdict;
    }
    for (int i = 0; i < nm; i++)
        h[i] = mult[i] * kth;
    traj = malloc(steps * (size_t)nm * sizeof(double));
    x = malloc(steps * sizeof(double));
    psd = malloc(nb * sizeof(double));
    Cd = malloc(4 * (size_t)nm * (size_t)nm * sizeof(double));
    sig = calloc((size_t)nm * (size_t)nm, sizeof(double));
    if (!traj || !x || !psd || !Cd || !sig) {
        rc = kn_fail(err, KN_ENOMEM, "check 4: out of memory for %zu steps", steps);
        goto done;
    }
    for (int i = 0; i < nm; i++)
        sig[i * nm + i] = c->problem.noise;
    if ((rc = kn_linreg_from_matrices(nm, h, sig, NULL, &p, err)))
        goto done;
    if ((rc = kn_sgd_sim_create(&p, &hp, &sim, err)) || (rc = kn_lyap_discrete(&p, &hp, Cd, err)))
        goto done;
    kn_rng rng;
    kn_rng_stream(&rng, c->seed, 400);
    if ((rc = kn_sgd_sim_draw_stationary(&sim, &p, &hp, &rng, err)))
        goto done;
    for (size_t t = 0; t < steps; t++) {
        kn_sgd_sim_step(&sim, &rng);
        for (int i = 0; i < nm; i++)
            traj[t * (size_t)nm + i] = sim.a[i];
    }
    kn_dyn_verdict(r, "  frequency: Welch, %zu stationary steps, segments of %zu\n", steps, seg);
    kn_dyn_verdict(r, "    %8s %10s %11s %11s %11s %11s %7s\n", "k/k_on", "k", "f_peak", "f_fit",
                   "f_theory", "f_discrete", "err");
    for (int i = 0; i < nm; i++) {
        for (size_t t = 0; t < steps; t++)
            x[t] = traj[t * (size_t)nm + i];
        if ((rc = kn_welch_psd(x, steps, seg, psd, err)))
            goto done;
        double pos;
        kn_spectrum_peak(psd, nb, &pos);
        double f_peak = pos / (double)seg, f_meas = f_peak;
        kn_error fit_err = {0};
        if (kn_spectrum_oscillator_fit(psd, nb, seg, &f_meas, NULL, &fit_err))
            f_meas = f_peak; /* no clean line: the refined peak (the error will show it) */
        kn_mode_params mp;
        kn_mode_params_compute(hp.lr, hp.momentum, h[i], &mp);
        double f_th = mp.underdamped ? hp.lr * mp.big_omega / (2 * KN_PI) : 0;
        double M[4];
        kn_update_matrix(hp.lr, hp.momentum, h[i], M);
        double cosphi = (M[0] + M[3]) / (2 * sqrt(M[0] * M[3] - M[1] * M[2]));
        double f_disc = fabs(cosphi) < 1 ? acos(cosphi) / (2 * KN_PI) : 0;
        double e = rel_err_freq(f_meas, f_th);
        worst = fmax(worst, e);
        char name[48];
        snprintf(name, sizeof name, "psd_k%g", mult[i]);
        kn_dyn_series *ps = kn_dyn_add_series(r, name, "cycles_per_step,power,theory_frequency",
                                              nb, 3, err);
        if (!ps) {
            rc = err->code ? err->code : KN_ENOMEM;
            goto done;
        }
        for (size_t j = 0; j < nb; j++) {
            ps->x[j] = (double)j / (double)seg;
            ps->y[j] = psd[j];
            ps->y2[j] = f_th;
        }
        char key[40];
        snprintf(key, sizeof key, "freq_rel_error_k%g", mult[i]);
        kn_dyn_set_value(r, key, e);
        kn_dyn_verdict(r, "    %8g %10.4g %11.5g %11.5g %11.5g %11.5g %6.2f%%\n", mult[i], h[i],
                       f_peak, f_meas, f_th, f_disc, 100 * e);
    }
    /* Phase portraits: one trajectory and the mean per mode, from a0 = 10 sd, plus the two
     * onset modes (their mean only: noise is irrelevant there). */
    for (int i = 0; i < nm + 2; i++) {
        double k = i < nm ? h[i] : (i == nm ? below : above) * k_on;
        double m = k / kth;
        char name[48];
        snprintf(name, sizeof name, "phase_k%g", i < nm ? mult[i] : m);
        size_t T = 1500;
        kn_dyn_series *ph = kn_dyn_add_series(r, name, "position,velocity,mean_position,"
                                              "mean_velocity", T, 4, err);
        if (!ph) {
            rc = err->code ? err->code : KN_ENOMEM;
            goto done;
        }
        kn_rng prng;
        kn_rng_stream(&prng, c->seed, 410 + (uint64_t)i);
        double a0 = i < nm ? 10 * sqrt(Cd[(size_t)i * 2 * nm + i]) : 1;
        for (int j = 0; j < nm; j++)
            sim.a[j] = sim.b[j] = 0;
        if (i < nm)
            sim.a[i] = a0;
        for (size_t t = 0; t < T; t++) {
            double am, vm;
            kn_closed_form_mean(hp.lr, hp.momentum, k, hp.lr * (double)t, a0, 0, &am, &vm);
            ph->x[t] = i < nm ? sim.a[i] : am;
            ph->y[t] = i < nm ? -sim.b[i] : vm;
            ph->y2[t] = am;
            ph->y3[t] = vm;
            if (i < nm)
                kn_sgd_sim_step(&sim, &prng);
        }
    }
verdict:
    r->measured = worst;
    r->predicted = 0.02;
    r->error = worst;
    r->pass = worst <= 0.02 && onset_ok;
    kn_dyn_set_value(r, "max_freq_rel_error", worst);
    kn_dyn_set_value(r, "frequency_modes_tested", nm);
    kn_dyn_verdict(r, "  onset %s; max frequency error %.2f%% over %d modes (target <= 2%%)\n",
                   onset_ok ? "predicted correctly" : "MISPREDICTED", 100 * worst, nm);
done:
    r->seconds = kn_seconds() - t0;
    kn_sgd_sim_free(&sim);
    kn_linreg_free(&p);
    free(traj);
    free(x);
    free(psd);
    free(Cd);
    free(sig);
    return rc;
}
