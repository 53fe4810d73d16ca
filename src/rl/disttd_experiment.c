/* The experiment behind `kenyon rl disttd`: expectile, quantile and classical populations on one
 * reward sequence, their accuracy, the split-half analysis of simulated recordings (with the
 * classical null), and decoding the reward distribution from expectiles. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kenyon/clock.h"
#include "kenyon/disttd.h"
#include "kenyon/fileio.h"
#include "kenyon/rng.h"

/* A seed for a sub-task, derived from the user's seed (independent of the cells' streams). */
static uint64_t derived_seed(uint64_t seed, uint64_t which)
{
    kn_rng r;
    kn_rng_stream(&r, seed, 1000 + which);
    return kn_rng_next(&r);
}

void kn_disttd_experiment_params_default(kn_disttd_experiment_params *p)
{
    memset(p, 0, sizeof *p);
    kn_disttd_params_default(&p->cells);
    kn_disttd_task_variable_magnitude(&p->task);
    p->default_task = 1;
    p->min_rate = 0.02;
    p->analyse = 0;
    p->noise_sd = 0.5;
    p->trials_per_size = 20;
    p->recording_learned = 0;
    p->decode_cells = 40;
    kn_decode_params_default(&p->decode, 0.0, 1.0);
}

void kn_disttd_experiment_free(kn_disttd_experiment *e)
{
    if (!e)
        return;
    kn_disttd_result_free(&e->expectile);
    kn_disttd_result_free(&e->quantile);
    kn_disttd_result_free(&e->classical);
    free(e->rev_true_dist);
    free(e->rev_true_null);
    kn_rpe_analysis_free(&e->dist);
    kn_rpe_analysis_free(&e->null);
    kn_rpe_analysis_free(&e->null_other_origin);
    kn_rpe_analysis_free(&e->dist_other_origin);
    free(e->tuning_dist);
    free(e->tuning_null);
    free(e->decode_tau);
    free(e->decoded);
    free(e->decoded_learned);
    memset(e, 0, sizeof *e);
}

/* Mean over trials of responses (cells x sizes x trials) into out (cells x sizes). */
static void mean_responses(const double *resp, int N, int K, int T, double *out)
{
    for (int i = 0; i < N; i++)
        for (int k = 0; k < K; k++) {
            const double *r = resp + ((size_t)i * K + k) * T;
            double m = 0.0;
            for (int t = 0; t < T; t++)
                m += r[t];
            out[(size_t)i * K + k] = m / T;
        }
}

static int run_analysis(const kn_disttd_experiment_params *p, kn_disttd_experiment *e,
                        kn_error *err)
{
    const kn_reward_dist *d = &p->task.cue[0];
    const int N = e->expectile.n_cells, K = d->n, T = p->trials_per_size, C = e->expectile.n_cues;
    if (K < 3)
        return kn_fail(err, KN_EINVAL,
                       "--analyse needs a reward distribution with at least 3 sizes (cue 1 has %d)",
                       K);
    size_t n_resp;
    if (kn_size_mul((size_t)N * K, (size_t)T, &n_resp) || n_resp > ((size_t)1 << 31))
        return kn_fail(err, KN_EINVAL, "--analyse: %d cells x %d sizes x %d trials is too many",
                       N, K, T);
    e->rev_true_dist = malloc((size_t)N * sizeof(double));
    e->rev_true_null = malloc((size_t)N * sizeof(double));
    double *resp = malloc(n_resp * sizeof(double));
    if (!e->rev_true_dist || !e->rev_true_null || !resp) {
        free(resp);
        return kn_fail(err, KN_ENOMEM, "--analyse: out of memory for %zu responses", n_resp);
    }
    for (int i = 0; i < N; i++) {
        size_t k = (size_t)i * C;
        e->rev_true_dist[i] =
            p->recording_learned ? e->expectile.values[k] : e->expectile.analytic[k];
        e->rev_true_null[i] =
            p->recording_learned ? e->classical.values[k] : e->classical.analytic[k];
    }
    e->tuning_dist = malloc((size_t)N * K * sizeof(double));
    e->tuning_null = malloc((size_t)N * K * sizeof(double));
    if (!e->tuning_dist || !e->tuning_null) {
        free(resp);
        return kn_fail(err, KN_ENOMEM, "--analyse: out of memory for the tuning curves");
    }
    const uint64_t s = p->cells.seed;
    int rc = kn_rpe_simulate(d->sizes, K, e->expectile.tau, e->rev_true_dist, N, T, p->noise_sd,
                             derived_seed(s, 1), resp, err);
    if (!rc)
        mean_responses(resp, N, K, T, e->tuning_dist);
    if (!rc)
        rc = kn_rpe_analyse(resp, N, K, T, KN_SLOPE_ORIGIN_OWN_HALF, derived_seed(s, 2), &e->dist,
                            err);
    if (!rc)
        rc = kn_rpe_analyse(resp, N, K, T, KN_SLOPE_ORIGIN_OTHER_HALF, derived_seed(s, 2),
                            &e->dist_other_origin, err);
    if (!rc)
        rc = kn_rpe_simulate(d->sizes, K, e->classical.tau, e->rev_true_null, N, T, p->noise_sd,
                             derived_seed(s, 3), resp, err);
    if (!rc)
        mean_responses(resp, N, K, T, e->tuning_null);
    if (!rc)
        rc = kn_rpe_analyse(resp, N, K, T, KN_SLOPE_ORIGIN_OWN_HALF, derived_seed(s, 4), &e->null,
                            err);
    if (!rc)
        rc = kn_rpe_analyse(resp, N, K, T, KN_SLOPE_ORIGIN_OTHER_HALF, derived_seed(s, 4),
                            &e->null_other_origin, err);
    free(resp);
    if (!rc)
        e->analysed = 1;
    return rc;
}

static int run_decoding(const kn_disttd_experiment_params *p, kn_disttd_experiment *e,
                        kn_error *err)
{
    const int C = p->task.n_cues, n = p->decode_cells, M = p->decode.n_samples;
    if (n < 1)
        return kn_fail(err, KN_EINVAL, "decode cells = %d: must be >= 1", n);
    e->n_decode_cells = n;
    e->n_samples = M;
    e->decode_tau = malloc((size_t)n * sizeof(double));
    e->decoded = malloc((size_t)C * M * sizeof(double));
    e->decoded_learned = malloc((size_t)M * sizeof(double));
    double *ex = malloc((size_t)(n > e->expectile.n_cells ? n : e->expectile.n_cells) *
                        sizeof(double));
    double *tl = malloc((size_t)e->expectile.n_cells * sizeof(double));
    if (!e->decode_tau || !e->decoded || !e->decoded_learned || !ex || !tl) {
        free(ex);
        free(tl);
        return kn_fail(err, KN_ENOMEM, "decode: out of memory");
    }
    for (int j = 0; j < n; j++)
        e->decode_tau[j] = (j + 0.5) / n;
    int rc = 0;
    for (int c = 0; c < C && !rc; c++) {
        const kn_reward_dist *d = &p->task.cue[c];
        double *z = e->decoded + (size_t)c * M;
        double lo = d->sizes[0], hi = d->sizes[d->n - 1], mu = kn_reward_dist_mean(d),
               sd = kn_reward_dist_sd(d);
        e->decode_loss[c] = e->decoded_mean[c] = e->w1_decoded[c] = NAN;
        e->w1_normal[c] = e->w1_normal_clipped[c] = e->w1_uniform[c] = NAN;
        if (!(hi > lo)) { /* a single reward size: nothing to decode */
            for (int j = 0; j < M; j++)
                z[j] = lo;
            continue;
        }
        for (int j = 0; j < n; j++)
            ex[j] = kn_expectile(d, e->decode_tau[j]);
        kn_decode_params dp = p->decode;
        dp.lo = lo;
        dp.hi = hi;
        rc = kn_expectile_decode(e->decode_tau, ex, n, &dp, z, &e->decode_loss[c], err);
        if (rc)
            break;
        double m = 0.0;
        for (int j = 0; j < M; j++)
            m += z[j];
        e->decoded_mean[c] = m / M;
        rc = kn_w1_samples(d, z, M, &e->w1_decoded[c], err);
        if (!rc)
            rc = kn_w1_normal(d, mu, sd, &e->w1_normal[c], err);
        if (!rc)
            rc = kn_w1_normal_clipped(d, mu, sd, lo, hi, &e->w1_normal_clipped[c], err);
        if (!rc)
            rc = kn_w1_uniform(d, lo, hi, &e->w1_uniform[c], err);
    }
    /* from the learned expectile cells of cue 0 */
    e->decode_learned_loss = e->decoded_learned_mean = e->w1_decoded_learned = NAN;
    const kn_reward_dist *d0 = &p->task.cue[0];
    int used = 0;
    for (int i = 0; i < e->expectile.n_cells && !rc; i++) {
        double a = fmin(e->expectile.alpha_plus[i], e->expectile.alpha_minus[i]);
        if (a >= p->min_rate && e->expectile.tau[i] > 0.0 && e->expectile.tau[i] < 1.0) {
            tl[used] = e->expectile.tau[i];
            ex[used] = e->expectile.values[(size_t)i * e->expectile.n_cues];
            used++;
        }
    }
    e->n_learned_cells_used = used;
    if (!rc && used > 0 && d0->sizes[d0->n - 1] > d0->sizes[0]) {
        kn_decode_params dp = p->decode;
        dp.lo = d0->sizes[0];
        dp.hi = d0->sizes[d0->n - 1];
        rc = kn_expectile_decode(tl, ex, used, &dp, e->decoded_learned, &e->decode_learned_loss,
                                 err);
        if (!rc) {
            double m = 0.0;
            for (int j = 0; j < M; j++)
                m += e->decoded_learned[j];
            e->decoded_learned_mean = m / M;
            rc = kn_w1_samples(d0, e->decoded_learned, M, &e->w1_decoded_learned, err);
        }
    }
    free(ex);
    free(tl);
    return rc;
}

int kn_disttd_experiment_run(const kn_disttd_experiment_params *p, kn_disttd_experiment *out,
                             kn_error *err)
{
    kn_disttd_experiment e;
    memset(&e, 0, sizeof e);
    if (!(p->min_rate >= 0.0))
        return kn_fail(err, KN_EINVAL, "min rate = %g: must be >= 0", p->min_rate);
    if (p->analyse && (p->trials_per_size < 2 || !(p->noise_sd >= 0.0)))
        return kn_fail(err, KN_EINVAL, "--analyse: trials per size (%d) must be >= 2 and noise "
                                       "(%g) >= 0", p->trials_per_size, p->noise_sd);
    double t0 = kn_seconds();
    kn_disttd_params cp = p->cells;
    cp.rule = KN_DISTTD_EXPECTILE;
    cp.equal_rates = 0;
    int rc = kn_disttd_run(&cp, &p->task, &e.expectile, err);
    if (!rc) {
        cp.rule = KN_DISTTD_QUANTILE;
        rc = kn_disttd_run(&cp, &p->task, &e.quantile, err);
    }
    if (!rc) {
        cp.rule = KN_DISTTD_EXPECTILE;
        cp.equal_rates = 1;
        rc = kn_disttd_run(&cp, &p->task, &e.classical, err);
    }
    for (int c = 0; c < p->task.n_cues && !rc; c++) {
        rc = kn_disttd_accuracy_of(&e.expectile, c, p->min_rate, &e.acc_expectile[c], err);
        if (!rc)
            rc = kn_disttd_accuracy_of(&e.quantile, c, p->min_rate, &e.acc_quantile[c], err);
        if (!rc)
            rc = kn_disttd_accuracy_of(&e.classical, c, p->min_rate, &e.acc_classical[c], err);
    }
    double t1 = kn_seconds();
    e.seconds_train = t1 - t0;
    if (!rc && p->analyse)
        rc = run_analysis(p, &e, err);
    double t2 = kn_seconds();
    e.seconds_analysis = t2 - t1;
    if (!rc)
        rc = run_decoding(p, &e, err);
    e.seconds_decode = kn_seconds() - t2;
    if (rc) {
        kn_disttd_experiment_free(&e);
        return rc;
    }
    *out = e;
    return 0;
}
