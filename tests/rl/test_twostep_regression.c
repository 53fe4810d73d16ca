/* Tests of the two-step choice regression and its verdict: known coefficients are recovered from
 * choices simulated from a logistic model (within their standard errors); the tuned model-free
 * agent gets "no" and the tuned model-based agent "yes", although the model-free agent's raw
 * stay probabilities show the reward x transition interaction that fooled the old verdict;
 * the tuning finds a model-based agent better than the default one; bad input is refused and
 * perfectly predictable choices still give finite coefficients. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kenyon/bandit.h"
#include "test_support.h"

static double sigm(double z) { return 1.0 / (1.0 + exp(-z)); }

/* Choices from a known lag-2 model; rewards and transitions are coin flips. */
static void test_recovers_known_coefficients(void **state)
{
    (void)state;
    const int T = 60, lags = 2;
    const size_t E = 3000;
    /* [group][lag]: choice, reward, transition, interaction */
    const double truth[4][2] = {{0.3, -0.1}, {0.8, 0.3}, {-0.2, 0.0}, {0.6, 0.25}};
    const double bias = 0.15;
    kn_twostep_history h;
    kn_error err;
    kn_trace tr;
    assert_int_equal(kn_twostep_history_init(&h, T, &err), 0);
    assert_int_equal(kn_trace_alloc(&tr, T, &err), 0);
    kn_rng rng;
    kn_rng_seed(&rng, 42);
    for (size_t e = 0; e < E; e++) {
        for (int t = 0; t < T; t++) {
            double z = bias;
            for (int l = 1; l <= lags && t - l >= 0; l++) {
                double s = tr.action[t - l] == 0 ? 1 : -1, r = tr.reward[t - l] ? 1 : -1,
                       c = tr.common[t - l] ? 1 : -1;
                z += truth[0][l - 1] * s + truth[1][l - 1] * s * r + truth[2][l - 1] * s * c +
                     truth[3][l - 1] * s * r * c;
            }
            tr.action[t] = kn_rng_uniform(&rng) < sigm(z) ? 0 : 1;
            tr.reward[t] = kn_rng_uniform(&rng) < 0.5;
            tr.common[t] = kn_rng_uniform(&rng) < 0.7;
        }
        assert_int_equal(kn_twostep_history_add(&h, &tr, &err), 0);
    }
    kn_twostep_fit f;
    assert_int_equal(kn_twostep_regress(&h, lags, &f, &err), 0);
    assert_int_equal(f.n_episodes, E);
    assert_int_equal(f.n_rows, E * (size_t)(T - lags));
    int outside = 0;
    for (int g = 0; g < 4; g++)
        for (int l = 0; l < lags; l++) {
            double z = (f.coef[g][l] - truth[g][l]) / f.se[g][l];
            printf("group %d lag %d: %.3f +- %.3f (truth %.2f, z %.2f)\n", g, l + 1,
                   f.coef[g][l], f.se[g][l], truth[g][l], z);
            assert_true(f.se[g][l] > 0.0 && f.se[g][l] < 0.05);
            assert_true(fabs(z) < 4.0);
            outside += fabs(z) > KN_TWOSTEP_Z95;
        }
    assert_true(outside <= 3); /* 8 coefficients, 5% each outside their 95% interval */
    assert_true(fabs(f.intercept - bias) < 4 * f.intercept_se);
    assert_true(fabs(f.model_free - 1.1) < 4 * f.model_free_se);
    assert_true(fabs(f.model_based - 0.85) < 4 * f.model_based_se);
    assert_true(fabs(f.mb_share - 0.85 / 1.95) < 4 * f.mb_share_se);
    kn_trace_free(&tr);
    kn_twostep_history_free(&h);
}

typedef struct agent_run {
    kn_twostep_fit fit;
    double raw_interaction, regret;
} agent_run;

static void run_agent(kn_agent_kind kind, const kn_agent_params *ap, size_t E, uint64_t seed,
                      agent_run *out)
{
    kn_bandit_task_params p;
    kn_bandit_task_params_default(&p, KN_BANDIT_TASK_TWOSTEP);
    kn_bandit_stats s;
    kn_twostep_history h;
    kn_error err;
    assert_int_equal(kn_bandit_stats_init(&s, p.n_trials, &err), 0);
    assert_int_equal(kn_twostep_history_init(&h, p.n_trials, &err), 0);
    assert_int_equal(kn_twostep_history_reserve(&h, E, &err), 0);
    s.history = &h;
    assert_int_equal(kn_agent_evaluate(kind, ap, &p, E, seed, &s, &err), 0);
    assert_int_equal(h.n_episodes, E);
    assert_int_equal(kn_twostep_regress(&h, 5, &out->fit, &err), 0);
    double rc = kn_bandit_stats_p_stay(&s, 1, 1), ru = kn_bandit_stats_p_stay(&s, 1, 0);
    double nc = kn_bandit_stats_p_stay(&s, 0, 1), nu = kn_bandit_stats_p_stay(&s, 0, 0);
    out->raw_interaction = (rc - ru) - (nc - nu);
    out->regret = kn_bandit_stats_regret_mean(&s);
    printf("%-11s alpha %.1f beta %4.1f regret %.2f raw interaction %.3f | MF %.3f +- %.3f, MB "
           "%.3f +- %.3f, share %.3f +- %.3f\n",
           kn_agent_kind_name(kind), ap->alpha, ap->beta, out->regret, out->raw_interaction,
           out->fit.model_free, out->fit.model_free_se, out->fit.model_based,
           out->fit.model_based_se, out->fit.mb_share, out->fit.mb_share_se);
    kn_bandit_stats_free(&s);
    kn_twostep_history_free(&h);
}

static void test_model_free_no_model_based_yes(void **state)
{
    (void)state;
    kn_bandit_task_params p;
    kn_bandit_task_params_default(&p, KN_BANDIT_TASK_TWOSTEP);
    kn_agent_params def, mf, mb;
    kn_agent_params_default(&def);
    mf = mb = def;
    kn_error err;
    double mf_tuned, mb_tuned;
    assert_int_equal(kn_agent_tune_default(KN_AGENT_MODEL_FREE, &p, 300, 901, &mf, &mf_tuned,
                                           &err), 0);
    assert_int_equal(kn_agent_tune_default(KN_AGENT_MODEL_BASED, &p, 300, 901, &mb, &mb_tuned,
                                           &err), 0);
    const size_t E = 1500;
    const uint64_t seed = 31;
    agent_run rmf, rmb, rdef_mf, rdef_mb, rrnd;
    run_agent(KN_AGENT_MODEL_FREE, &mf, E, seed, &rmf);
    run_agent(KN_AGENT_MODEL_BASED, &mb, E, seed, &rmb);
    run_agent(KN_AGENT_MODEL_FREE, &def, E, seed, &rdef_mf);
    run_agent(KN_AGENT_MODEL_BASED, &def, E, seed, &rdef_mb);
    run_agent(KN_AGENT_RANDOM, &def, E, seed, &rrnd);
    /* Tuning beats the defaults on fresh episodes (model-based 9.7 -> about 4.4). */
    assert_true(rmb.regret < rdef_mb.regret - 2.0);
    assert_true(rmf.regret < rdef_mf.regret);
    assert_true(rmb.regret < rmf.regret);
    /* The confound: the default model-free agent's raw stay probabilities show a clear
     * reward x transition interaction (the old verdict called it model-based). */
    assert_true(rdef_mf.raw_interaction > 0.2);

    kn_twostep_verdict v;
    kn_twostep_judge(&rmf.fit, &rmb.fit, &rmf.fit, &v);
    assert_true(v.baselines_separated);
    assert_false(v.model_based_signature);
    kn_twostep_judge(&rmb.fit, &rmb.fit, &rmf.fit, &v);
    assert_true(v.model_based_signature);
    assert_true(fabs(v.mb_fraction - 1.0) < 1e-12);
    /* The untuned agents judged against the tuned baselines: same answers. */
    kn_twostep_judge(&rdef_mf.fit, &rmb.fit, &rmf.fit, &v);
    assert_false(v.model_based_signature);
    kn_twostep_judge(&rdef_mb.fit, &rmb.fit, &rmf.fit, &v);
    assert_true(v.model_based_signature);
    /* A random chooser has no significant model-based index. */
    kn_twostep_judge(&rrnd.fit, &rmb.fit, &rmf.fit, &v);
    assert_false(v.model_based_signature);
    /* Swapped baselines do not separate: the verdict is "no" for everyone. */
    kn_twostep_judge(&rmb.fit, &rmf.fit, &rmb.fit, &v);
    assert_false(v.baselines_separated);
    assert_false(v.model_based_signature);
}

static void test_bad_input_refused(void **state)
{
    (void)state;
    kn_twostep_history h;
    kn_error err;
    kn_trace tr;
    kn_twostep_fit f;
    assert_int_equal(kn_twostep_history_init(&h, 1, &err), KN_EINVAL);
    assert_int_equal(kn_twostep_history_init(&h, 20, &err), 0);
    assert_int_equal(kn_trace_alloc(&tr, 20, &err), 0);
    memset(tr.common, 0xff, 20); /* -1: a bandit trace */
    assert_int_equal(kn_twostep_history_add(&h, &tr, &err), KN_EINVAL);
    assert_non_null(strstr(err.msg, "not a two-step episode"));
    assert_int_equal(kn_twostep_regress(&h, 0, &f, &err), KN_EINVAL);
    assert_non_null(strstr(err.msg, "lags 0"));
    assert_int_equal(kn_twostep_regress(&h, 20, &f, &err), KN_EINVAL);
    assert_int_equal(kn_twostep_regress(&h, 2, &f, &err), KN_EINVAL); /* no episodes */
    /* An agent that always chooses action 0: its choices are perfectly predictable, which the
     * weak prior keeps finite (plain maximum likelihood would diverge). */
    memset(tr.common, 1, 20);
    memset(tr.action, 0, 20);
    kn_rng rng;
    kn_rng_seed(&rng, 3);
    for (int e = 0; e < 200; e++) {
        for (int t = 0; t < 20; t++)
            tr.reward[t] = kn_rng_uniform(&rng) < 0.5;
        assert_int_equal(kn_twostep_history_add(&h, &tr, &err), 0);
    }
    assert_int_equal(kn_twostep_regress(&h, 2, &f, &err), 0);
    assert_true(isfinite(f.intercept) && isfinite(f.coef[KN_TWOSTEP_CHOICE][0]));
    assert_true(f.intercept + f.coef[KN_TWOSTEP_CHOICE][0] + f.coef[KN_TWOSTEP_CHOICE][1] > 5.0);
    assert_true(f.intercept < 4 * KN_TWOSTEP_PRIOR_SD);
    kn_trace_free(&tr);
    kn_twostep_history_free(&h);
    /* Tuning needs a tunable agent and a valid grid. */
    kn_bandit_task_params p;
    kn_bandit_task_params_default(&p, KN_BANDIT_TASK_TWOSTEP);
    kn_agent_params ap;
    kn_agent_params_default(&ap);
    double alphas[] = {0.0}, betas[] = {1.0};
    assert_int_equal(kn_agent_tune(KN_AGENT_THOMPSON, &p, alphas, 1, betas, 1, 10, 1, &ap, NULL,
                                   &err), KN_EINVAL);
    assert_int_equal(kn_agent_tune(KN_AGENT_MODEL_FREE, &p, alphas, 1, betas, 1, 10, 1, &ap, NULL,
                                   &err), KN_EINVAL);
    assert_non_null(strstr(err.msg, "alpha 0"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_recovers_known_coefficients),
        cmocka_unit_test(test_model_free_no_model_based_yes),
        cmocka_unit_test(test_bad_input_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
