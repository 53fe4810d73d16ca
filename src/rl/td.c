/* TD(0) with a tapped-delay-line stimulus: the classic dopamine prediction-error simulation
 * (see kenyon/td.h for the model and its limits). */
#include "kenyon/td.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kenyon/rng.h"

void kn_td_params_default(kn_td_params *p)
{
    memset(p, 0, sizeof *p);
    p->n_states = 40;
    p->cue_state = 9;
    p->reward_state = 19;
    p->reward = 10.0;
    p->reward_prob = 1.0;
    p->gamma = 0.98;
    p->alpha = 0.001;
    p->trials = 20000;
    p->record_every = 0;
    p->average_last = 0;
    p->seed = 1;
}

int kn_td_params_check(const kn_td_params *p, kn_error *err)
{
    if (p->n_states < 3 || p->n_states > 100000)
        return kn_fail(err, KN_EINVAL, "n_states = %d: must be in [3, 100000]", p->n_states);
    if (p->cue_state < 0 || p->cue_state >= p->n_states - 1)
        return kn_fail(err, KN_EINVAL, "cue_state = %d: must be in [0, n_states-2 = %d]",
                       p->cue_state, p->n_states - 2);
    if (p->reward_state <= p->cue_state || p->reward_state >= p->n_states)
        return kn_fail(err, KN_EINVAL,
                       "reward_state = %d: must be after cue_state (%d) and below n_states (%d)",
                       p->reward_state, p->cue_state, p->n_states);
    if (!isfinite(p->reward) || fabs(p->reward) > 1e12)
        return kn_fail(err, KN_EINVAL, "reward = %g: must be finite", p->reward);
    if (!(p->reward_prob >= 0.0 && p->reward_prob <= 1.0))
        return kn_fail(err, KN_EINVAL, "reward_prob = %g: must be in [0, 1]", p->reward_prob);
    if (!(p->gamma >= 0.0 && p->gamma <= 1.0))
        return kn_fail(err, KN_EINVAL, "gamma = %g: must be in [0, 1]", p->gamma);
    if (!(p->alpha > 0.0 && p->alpha <= 1.0))
        return kn_fail(err, KN_EINVAL, "alpha = %g: must be in (0, 1]", p->alpha);
    if (p->trials < 1 || p->trials > 100000000)
        return kn_fail(err, KN_EINVAL, "trials = %d: must be in [1, 1e8]", p->trials);
    if (p->record_every < 0)
        return kn_fail(err, KN_EINVAL, "record_every = %d: must be >= 0", p->record_every);
    if (p->average_last < 0 || p->average_last > p->trials)
        return kn_fail(err, KN_EINVAL, "average_last = %d: must be in [0, trials = %d]",
                       p->average_last, p->trials);
    return 0;
}

void kn_td_result_free(kn_td_result *r)
{
    if (!r)
        return;
    free(r->values);
    free(r->cue_error);
    free(r->reward_error);
    free(r->rewarded);
    free(r->peak_state);
    free(r->recorded_trial);
    free(r->errors);
    free(r->omission_probe);
    memset(r, 0, sizeof *r);
}

int kn_td_run(const kn_td_params *p, kn_td_result *out, kn_error *err)
{
    int rc = kn_td_params_check(p, err);
    if (rc)
        return rc;
    const int S = p->n_states, T = p->trials, cue = p->cue_state, rs = p->reward_state;
    int every = p->record_every;
    if (every == 0)
        every = T > 200 ? T / 200 : 1;
    /* rows: trials 0, every, 2*every, ... plus the last trial */
    int n_rec = (T - 1) / every + 1;
    if ((T - 1) % every != 0)
        n_rec++;

    kn_td_result r;
    memset(&r, 0, sizeof r);
    r.n_states = S;
    r.trials = T;
    r.n_recorded = n_rec;
    double *delta = calloc((size_t)S, sizeof *delta);
    r.values = calloc((size_t)S, sizeof *r.values);
    r.cue_error = malloc((size_t)T * sizeof *r.cue_error);
    r.reward_error = malloc((size_t)T * sizeof *r.reward_error);
    r.rewarded = malloc((size_t)T);
    r.peak_state = malloc((size_t)T * sizeof *r.peak_state);
    r.recorded_trial = malloc((size_t)n_rec * sizeof *r.recorded_trial);
    r.errors = malloc((size_t)n_rec * (size_t)S * sizeof *r.errors);
    r.omission_probe = malloc((size_t)n_rec * sizeof *r.omission_probe);
    if (!delta || !r.values || !r.cue_error || !r.reward_error || !r.rewarded || !r.peak_state ||
        !r.recorded_trial || !r.errors || !r.omission_probe) {
        free(delta);
        kn_td_result_free(&r);
        return kn_fail(err, KN_ENOMEM, "td: out of memory for %d trials x %d states", T, S);
    }

    kn_rng rng;
    kn_rng_seed(&rng, p->seed);
    double *V = r.values;
    const double g = p->gamma, a = p->alpha;
    int row = 0;
    r.first_cross_trial = -1;
    for (int n = 0; n < T; n++) {
        int rewarded = p->reward_prob >= 1.0 ? 1 : kn_rng_uniform(&rng) < p->reward_prob;
        for (int s = 0; s < S; s++) {
            /* the last state ends the trial: the next state is the first pre-cue state (V = 0) */
            double v_next = s + 1 < S ? V[s + 1] : V[0];
            double rwd = (s == rs && rewarded) ? p->reward : 0.0;
            delta[s] = rwd + g * v_next - V[s];
            if (s > cue)
                V[s] += a * delta[s];
        }
        r.cue_error[n] = delta[cue];
        r.reward_error[n] = delta[rs];
        r.rewarded[n] = (unsigned char)rewarded;
        int peak = 0;
        for (int s = 1; s < S; s++)
            if (delta[s] > delta[peak])
                peak = s;
        r.peak_state[n] = peak;
        if (r.first_cross_trial < 0 && delta[cue] > delta[rs])
            r.first_cross_trial = n;
        if (n % every == 0 || n == T - 1) {
            r.recorded_trial[row] = n;
            memcpy(r.errors + (size_t)row * S, delta, (size_t)S * sizeof *delta);
            double v_after = rs + 1 < S ? V[rs + 1] : V[0];
            r.omission_probe[row] = g * v_after - V[rs];
            row++;
        }
    }
    free(delta);

    r.final_cue_error = r.cue_error[T - 1];
    r.final_reward_error = r.reward_error[T - 1];
    r.final_omission = r.omission_probe[n_rec - 1];
    r.n_average = p->average_last ? p->average_last : (T >= 10 ? T / 10 : T);
    double sc = 0, sr = 0, su = 0;
    int nr = 0, nu = 0;
    for (int n = T - r.n_average; n < T; n++) {
        sc += r.cue_error[n];
        if (r.rewarded[n]) {
            sr += r.reward_error[n];
            nr++;
        } else {
            su += r.reward_error[n];
            nu++;
        }
    }
    r.mean_cue_error = sc / r.n_average;
    r.mean_reward_error_rewarded = nr ? sr / nr : NAN;
    r.mean_reward_error_unrewarded = nu ? su / nu : NAN;
    r.limit_cue = p->reward_prob * pow(g, rs - cue) * p->reward;
    r.limit_reward_rewarded = (1.0 - p->reward_prob) * p->reward;
    r.limit_reward_unrewarded = -p->reward_prob * p->reward;
    *out = r;
    return 0;
}
