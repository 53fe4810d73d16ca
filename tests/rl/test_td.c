/* Tests for TD(0) with a tapped delay line (src/rl/td.c): hand-computed first trials, the
 * reference run's numbers (cue 8.13, crossing at trial 4405, peak 19 -> 17 -> 15 -> 9), the exact
 * limit with alpha 0.1, the three limits with a reward probability, and bad parameters. */
#include "test_support.h"

#include <math.h>
#include <string.h>

#include "kenyon/td.h"

static void test_first_trials_by_hand(void **state)
{
    (void)state;
    kn_td_params p;
    kn_td_params_default(&p);
    p.alpha = 0.5;
    p.trials = 2;
    p.record_every = 1;
    kn_td_result r;
    kn_error err;
    assert_int_equal(kn_td_run(&p, &r, &err), 0);
    assert_int_equal(r.n_recorded, 2);
    /* trial 0: only the reward is unpredicted: delta(19) = 10, V(19) = 5 */
    for (int s = 0; s < 40; s++)
        assert_true(r.errors[s] == (s == 19 ? 10.0 : 0.0));
    /* trial 1: delta(18) = 0.98 * 5, delta(19) = 10 - 5 */
    assert_true(fabs(r.errors[40 + 18] - 4.9) < 1e-12);
    assert_true(fabs(r.errors[40 + 19] - 5.0) < 1e-12);
    assert_true(fabs(r.values[18] - 2.45) < 1e-12);
    assert_true(fabs(r.values[19] - 7.5) < 1e-12);
    assert_int_equal(r.peak_state[0], 19);
    /* omission probe after trial 1: 0.98 V(20) - V(19) = -7.5 */
    assert_true(fabs(r.omission_probe[1] + 7.5) < 1e-12);
    assert_int_equal(r.first_cross_trial, -1);
    kn_td_result_free(&r);
}

static void test_reference_setting(void **state)
{
    (void)state;
    kn_td_params p;
    kn_td_params_default(&p); /* 40 states, cue 9, reward 10 at 19, gamma .98, alpha .001 */
    kn_td_result r;
    kn_error err;
    assert_int_equal(kn_td_run(&p, &r, &err), 0);
    assert_true(fabs(r.final_cue_error - 8.13) / 8.13 < 0.01);
    assert_true(fabs(r.final_cue_error - 8.1300) < 5e-4); /* the reference run's 8.130 */
    assert_true(fabs(r.final_reward_error) < 0.05);
    assert_true(fabs(r.final_omission + 10.0) / 10.0 < 0.01);
    assert_int_equal(r.first_cross_trial, 4405);
    assert_int_equal(r.peak_state[0], 19);
    assert_int_equal(r.peak_state[3000], 17);
    assert_int_equal(r.peak_state[5000], 15);
    assert_int_equal(r.peak_state[10000], 9);
    assert_true(fabs(r.limit_cue - 10.0 * pow(0.98, 10)) < 1e-12);
    kn_rl_check c[KN_TD_MAX_CHECKS];
    int n = kn_td_checks(&p, &r, c);
    assert_true(n >= 8);
    for (int i = 0; i < n; i++)
        assert_true(c[i].pass);
    kn_td_result_free(&r);
}

static void test_alpha_01_converges_exactly(void **state)
{
    (void)state;
    kn_td_params p;
    kn_td_params_default(&p);
    p.alpha = 0.1;
    p.trials = 3000;
    kn_td_result r;
    kn_error err;
    assert_int_equal(kn_td_run(&p, &r, &err), 0);
    assert_true(fabs(r.final_cue_error - 8.170728068875467) < 1e-9);
    assert_true(fabs(r.final_reward_error) < 1e-9);
    assert_true(fabs(r.final_omission + 10.0) < 1e-9);
    kn_td_result_free(&r);
}

static void check_probability(double prob, uint64_t seed)
{
    kn_td_params p;
    kn_td_params_default(&p);
    p.reward_prob = prob;
    p.alpha = 0.01;
    p.trials = 20000;
    p.average_last = 10000;
    p.seed = seed;
    kn_td_result r;
    kn_error err;
    assert_int_equal(kn_td_run(&p, &r, &err), 0);
    double cue = prob * pow(0.98, 10) * 10.0;
    assert_true(fabs(r.limit_cue - cue) < 1e-12);
    assert_true(fabs(r.mean_cue_error - cue) / cue < 0.02);
    assert_true(fabs(r.mean_reward_error_rewarded - (1.0 - prob) * 10.0) < 0.3);
    assert_true(fabs(r.mean_reward_error_unrewarded + prob * 10.0) < 0.3);
    /* the fraction of rewarded trials follows p */
    int k = 0;
    for (int n = 0; n < p.trials; n++)
        k += r.rewarded[n];
    assert_true(fabs((double)k / p.trials - prob) < 0.02);
    kn_rl_check c[KN_TD_MAX_CHECKS];
    int nc = kn_td_checks(&p, &r, c);
    assert_int_equal(nc, 3);
    for (int i = 0; i < nc; i++)
        assert_true(c[i].pass);
    kn_td_result_free(&r);
}

static void test_reward_probability_limits(void **state)
{
    (void)state;
    check_probability(0.5, 3);
    check_probability(0.8, 4);
    check_probability(0.25, 5);
}

static void test_seed_reproducible(void **state)
{
    (void)state;
    kn_td_params p;
    kn_td_params_default(&p);
    p.reward_prob = 0.5;
    p.trials = 500;
    kn_td_result a, b, c;
    kn_error err;
    assert_int_equal(kn_td_run(&p, &a, &err), 0);
    assert_int_equal(kn_td_run(&p, &b, &err), 0);
    p.seed = 2;
    assert_int_equal(kn_td_run(&p, &c, &err), 0);
    assert_memory_equal(a.rewarded, b.rewarded, 500);
    assert_memory_equal(a.values, b.values, 40 * sizeof(double));
    assert_true(memcmp(a.rewarded, c.rewarded, 500) != 0);
    kn_td_result_free(&a);
    kn_td_result_free(&b);
    kn_td_result_free(&c);
}

static void expect_bad(kn_td_params *p, const char *needle)
{
    kn_td_result r;
    kn_error err;
    kn_error_clear(&err);
    assert_int_equal(kn_td_run(p, &r, &err), KN_EINVAL);
    if (!strstr(err.msg, needle))
        fail_msg("message '%s' does not name '%s'", err.msg, needle);
    kn_td_params_default(p);
}

static void test_bad_parameters(void **state)
{
    (void)state;
    kn_td_params p;
    kn_td_params_default(&p);
    p.cue_state = 39;
    expect_bad(&p, "cue_state");
    p.reward_state = 5;
    expect_bad(&p, "reward_state");
    p.reward_state = 40;
    expect_bad(&p, "reward_state");
    p.alpha = 0.0;
    expect_bad(&p, "alpha");
    p.reward_prob = 1.5;
    expect_bad(&p, "reward_prob");
    p.gamma = NAN;
    expect_bad(&p, "gamma");
    p.trials = 0;
    expect_bad(&p, "trials");
    p.n_states = 2;
    expect_bad(&p, "n_states");
    p.reward = INFINITY;
    expect_bad(&p, "reward");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_first_trials_by_hand),
        cmocka_unit_test(test_reference_setting),
        cmocka_unit_test(test_alpha_01_converges_exactly),
        cmocka_unit_test(test_reward_probability_limits),
        cmocka_unit_test(test_seed_reproducible),
        cmocka_unit_test(test_bad_parameters),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
