/* The six checks of `kenyon dynamics linreg` on small problems with fixed seeds: each must reach
 * its target (issue 8), the simulator must be deterministic for a seed, and the outputs (CSV,
 * summary.json, figures) must be written. */
#include "test_support.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "dynamics/dynamics_internal.h"
#include "kenyon/dynamics.h"

static kn_dyn_config small_config(void)
{
    kn_dyn_config c;
    kn_dyn_config_default(&c);
    c.problem.dim = 8;
    c.steps = 400000;
    c.replicas = 100;
    c.seed = 3;
    c.quiet = 1;
    return c;
}

static double value(const kn_dyn_result *r, const char *key)
{
    for (int i = 0; i < r->n_values; i++)
        if (strcmp(r->keys[i], key) == 0)
            return r->values[i];
    fail_msg("no value %s", key);
    return NAN;
}

static void test_check1_speed_law_within_3_percent(void **state)
{
    (void)state;
    kn_dyn_config c = small_config();
    kn_dyn_result r;
    kn_error err = {0};
    assert_int_equal(kn_dyn_check_speed(&c, &r, &err), 0);
    assert_int_equal(r.pass, 1);
    assert_true(value(&r, "max_rel_error") < 0.03);
    /* 9 sweep points: 3 lr, 3 batch, 3 momentum; law scales as eta^2 */
    assert_int_equal(r.series[0].n, 9);
    assert_true(fabs(r.series[0].x[2] / r.series[0].x[0] - 16) < 1e-9);
    kn_dyn_result_free(&r);
}

static void test_check2_stationary_covariances_within_5_percent(void **state)
{
    (void)state;
    kn_dyn_config c = small_config();
    c.problem.commute = 0; /* the general (Lyapunov) case */
    kn_dyn_result r;
    kn_error err = {0};
    assert_int_equal(kn_dyn_check_stationary(&c, &r, &err), 0);
    assert_int_equal(r.pass, 1);
    assert_true(value(&r, "max_rel_error_var_position") < 0.05);
    assert_true(value(&r, "max_rel_error_var_velocity") < 0.05);
    assert_true(value(&r, "max_abs_error_correlation") < 0.05);
    /* off-diagonal position covariances and the antisymmetric position-velocity covariance
     * match the Lyapunov solution; the antisymmetric part is clearly non-zero, so comparing with
     * a commuting theory (all off-diagonals zero) would fail */
    double zcrit = value(&r, "offdiag_z_critical");
    assert_true(zcrit > 3 && zcrit < 10);
    assert_true(value(&r, "offdiag_max_z_position") <= zcrit);
    assert_true(value(&r, "offdiag_max_z_antisymmetric") <= zcrit);
    assert_true(value(&r, "offdiag_fraction_within_3se") >= 0.95);
    assert_true(value(&r, "antisymmetric_signature_z") > 5);
    assert_true(value(&r, "offdiag_max_z_vs_zero") > 2 * zcrit);
    assert_true(fabs(value(&r, "antisymmetric_norm_measured") /
                     value(&r, "antisymmetric_norm_theory") - 1) < 0.1);
    kn_dyn_result_free(&r);
    /* commuting: no antisymmetric part in theory, none detected */
    c.problem.commute = 1;
    assert_int_equal(kn_dyn_check_stationary(&c, &r, &err), 0);
    assert_int_equal(r.pass, 1);
    assert_true(value(&r, "antisymmetric_norm_theory") < 1e-9);
    assert_true(value(&r, "antisymmetric_signature_z") < 5);
    kn_dyn_result_free(&r);
}

static void test_check3_mean_inside_band(void **state)
{
    (void)state;
    kn_dyn_config c = small_config();
    kn_dyn_result r;
    kn_error err = {0};
    assert_int_equal(kn_dyn_check_transient(&c, &r, &err), 0);
    assert_int_equal(r.pass, 1);
    assert_true(value(&r, "fraction_mean_in_3se_band") >= 0.95);
    assert_true(fabs(value(&r, "mean_z_squared") - 1) < 0.3);
    kn_dyn_result_free(&r);
}

static void test_check4_frequencies_within_2_percent_and_onset(void **state)
{
    (void)state;
    kn_dyn_config c = small_config();
    c.steps = 1 << 18;
    c.hp.momentum = 0.99;
    kn_dyn_result r;
    kn_error err = {0};
    assert_int_equal(kn_dyn_check_oscillation(&c, &r, &err), 0);
    assert_int_equal(r.pass, 1);
    assert_true(value(&r, "max_freq_rel_error") < 0.02);
    assert_true(value(&r, "frequency_modes_tested") >= 2);
    assert_true(value(&r, "onset_classification_correct") == 1);
    assert_true(value(&r, "onset_below_oscillates") == 0);
    assert_true(value(&r, "onset_above_oscillates") == 1);
    kn_dyn_result_free(&r);
}

/* Checks 4 and 5 run at the given lr and momentum (they used to force beta 0.99 and 0). */
static void test_checks4_5_honour_lr_and_momentum(void **state)
{
    (void)state;
    const double lrs[3] = {0.01, 0.003, 0.02}, moms[3] = {0.9, 0.95, 0.5};
    for (int i = 0; i < 3; i++) {
        kn_dyn_config c = small_config();
        c.steps = 1 << 18;
        c.hp.lr = lrs[i];
        c.hp.momentum = moms[i];
        kn_dyn_result r;
        kn_error err = {0};
        assert_int_equal(kn_dyn_check_oscillation(&c, &r, &err), 0);
        assert_int_equal(r.pass, 1);
        assert_true(fabs(value(&r, "onset_threshold_k") /
                         kn_oscillation_threshold(lrs[i], moms[i]) - 1) < 1e-12);
        kn_dyn_result_free(&r);
        c.steps = 1000000;
        assert_int_equal(kn_dyn_check_toy2d(&c, &r, &err), 0);
        assert_int_equal(r.pass, 1);
        assert_non_null(strstr(r.verdict, moms[i] == 0.9 ? "beta 0.9," : moms[i] == 0.95 ?
                               "beta 0.95," : "beta 0.5,"));
        kn_dyn_result_free(&r);
    }
}

/* The onset criterion (does the replica mean oscillate?) tells modes 25% either side of the
 * predicted threshold apart, so a threshold wrong by 10x in either direction would misclassify:
 * modes at 8 and 12.5 k_on both oscillate, modes at 0.08 and 0.125 k_on both do not. */
static void test_onset_classifier_resolves_the_threshold(void **state)
{
    (void)state;
    const double moms[3] = {0.9, 0.99, 0.5};
    for (int i = 0; i < 3; i++) {
        double lr = 0.01, b = moms[i];
        double kon = kn_oscillation_threshold(lr, b);
        const double mult[6] = {0.08, 0.125, 0.8, 1.25, 8, 12.5};
        const int expect[6] = {0, 0, 0, 1, 1, 1};
        if (b == 0.5) /* continuous limit off by 3%: the exact discrete onset is the reference */
            kon = kn_dyn_discrete_onset(lr, b);
        for (int j = 0; j < 6; j++) {
            double under;
            kn_error err = {0};
            int osc = kn_dyn_mean_oscillates(lr, b, mult[j] * kon, 1.0, 50, 7, 1000 * (uint64_t)j,
                                             &under, &err);
            assert_true(osc >= 0);
            if (osc != expect[j])
                fail_msg("beta %g, k = %g k_on: oscillates %d, expected %d (undershoot %g)", b,
                         mult[j], osc, expect[j], under);
        }
    }
    /* without momentum the continuous onset 1/(2 eta) is wrong by 2x: the discrete one holds */
    double under;
    kn_error err = {0};
    assert_int_equal(kn_dyn_mean_oscillates(0.01, 0, 1.25 * kn_oscillation_threshold(0.01, 0),
                                            1.0, 50, 7, 0, &under, &err), 0);
    assert_int_equal(kn_dyn_mean_oscillates(0.01, 0, 1.25 * kn_dyn_discrete_onset(0.01, 0), 1.0,
                                            50, 7, 0, &under, &err), 1);
}

static void test_check5_toy_follows_psi_not_L(void **state)
{
    (void)state;
    kn_dyn_config c = small_config();
    c.hp.momentum = 0; /* the paper's toy */
    kn_dyn_result r;
    kn_error err = {0};
    assert_int_equal(kn_dyn_check_toy2d(&c, &r, &err), 0);
    assert_int_equal(r.pass, 1);
    assert_true(value(&r, "axis_error_psi_deg") < 5);
    assert_true(value(&r, "axis_error_L_deg") > 10);
    assert_true(value(&r, "current_rel_error") < 0.10);
    /* the paper's toy: Psi's major axis is ~16 degrees from L's */
    double off = fabs(value(&r, "axis_angle_psi_deg") - value(&r, "axis_angle_L_deg"));
    assert_true(off > 15 && off < 18);
    kn_dyn_result_free(&r);
}

static const kn_dyn_series *series_named(const kn_dyn_result *r, const char *name)
{
    for (size_t i = 0; i < r->n_series; i++)
        if (strcmp(r->series[i].name, name) == 0)
            return &r->series[i];
    fail_msg("no series %s", name);
    return NULL;
}

/* Check 6 is a real check: the replica MSD against the exact curve, in replica standard errors,
 * over a sweep of lr, batch and momentum and two broad-spectrum weight-decay settings where c is
 * clearly above 1; the same band test rejects a wrong theory curve. */
static void test_check6_msd_follows_theory(void **state)
{
    (void)state;
    kn_dyn_config c = small_config();
    c.replicas = 100;
    kn_dyn_result r;
    kn_error err = {0};
    assert_int_equal(kn_dyn_check_msd(&c, &r, &err), 0);
    assert_int_equal(r.pass, 1);
    const char *tags[6] = {"given", "lr_half", "batch_x4", "momentum", "broad_wd_b100",
                           "broad_wd_b1000"};
    for (int i = 0; i < 6; i++) {
        char key[48];
        snprintf(key, sizeof key, "band_%s", tags[i]);
        assert_true(value(&r, key) >= 0.95);
        snprintf(key, sizeof key, "msd_%s", tags[i]);
        assert_true(series_named(&r, key)->n >= 1000);
    }
    /* anomalous: c clearly above 1 in the measurement, and matching the theory curve's c */
    for (int i = 4; i < 6; i++) {
        char k1[48], k2[48], k3[48];
        snprintf(k1, sizeof k1, "c_%s", tags[i]);
        snprintf(k2, sizeof k2, "c_theory_%s", tags[i]);
        snprintf(k3, sizeof k3, "c_se_%s", tags[i]);
        assert_true(value(&r, k2) > 1.1);
        assert_true(value(&r, k1) - 5 * value(&r, k3) > 1);
        assert_true(fabs(value(&r, k1) - value(&r, k2)) < 5 * value(&r, k3) + 1e-9);
    }
    /* the band rejects a theory curve 25% off (about 4 replica SE at d = 8, 100 replicas) */
    const kn_dyn_series *s = series_named(&r, "msd_given");
    double *wrong = malloc(s->n * sizeof(double));
    assert_non_null(wrong);
    for (size_t t = 0; t < s->n; t++)
        wrong[t] = 1.25 * s->y2[t];
    double z2;
    assert_true(kn_dyn_band_fraction(s->y, s->y3, s->y2, s->n, 3, &z2) >= 0.95);
    assert_true(z2 < 3);
    assert_true(kn_dyn_band_fraction(s->y, s->y3, wrong, s->n, 3, NULL) < 0.5);
    free(wrong);
    kn_dyn_result_free(&r);
}

static void test_same_seed_same_numbers(void **state)
{
    (void)state;
    kn_dyn_config c = small_config();
    c.steps = 20000;
    kn_dyn_result a, b;
    kn_error err = {0};
    assert_int_equal(kn_dyn_check_stationary(&c, &a, &err), 0);
    assert_int_equal(kn_dyn_check_stationary(&c, &b, &err), 0);
    for (size_t i = 0; i < a.series[0].n; i++)
        assert_memory_equal(&a.series[0].y[i], &b.series[0].y[i], sizeof(double));
    c.seed = 4;
    kn_dyn_result_free(&b);
    assert_int_equal(kn_dyn_check_stationary(&c, &b, &err), 0);
    assert_true(a.series[0].y[0] != b.series[0].y[0]);
    kn_dyn_result_free(&a);
    kn_dyn_result_free(&b);
}

static void test_outputs_written(void **state)
{
    (void)state;
    kn_dyn_config c = small_config();
    c.steps = 20000;
    c.replicas = 20;
    kn_dyn_result r[2];
    kn_error err = {0};
    assert_int_equal(kn_dyn_check_speed(&c, &r[0], &err), 0);
    assert_int_equal(kn_dyn_check_msd(&c, &r[1], &err), 0);
    const char *dir = kt_scratch_dir("dynamics_outputs");
    assert_int_equal(kn_dyn_write_outputs(dir, &c, r, 2, 1, &err), 0);
    struct stat st;
    assert_int_equal(stat(kt_path(dir, "summary.json"), &st), 0);
    assert_int_equal(stat(kt_path(dir, "check1_speed.csv"), &st), 0);
    assert_int_equal(stat(kt_path(dir, "check6_msd_given.csv"), &st), 0);
    assert_int_equal(stat(kt_path(dir, "check6_msd_broad_wd_b100.csv"), &st), 0);
    assert_int_equal(stat(kt_path(dir, "speed.png"), &st), 0);
    assert_true(st.st_size > 1000);
    assert_int_equal(stat(kt_path(dir, "msd.png"), &st), 0);
    FILE *f = fopen(kt_path(dir, "check1_speed.csv"), "r");
    char line[256];
    assert_non_null(fgets(line, sizeof line, f));
    assert_string_equal(line, "law,measured,exact_discrete,lr2_over_S_1mb2\n");
    fclose(f);
    kn_dyn_result_free(&r[0]);
    kn_dyn_result_free(&r[1]);
    /* bad check number names the check */
    assert_int_equal(kn_dyn_check_run(7, &c, &r[0], &err), KN_EINVAL);
    assert_non_null(strstr(err.msg, "--check 7"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_check1_speed_law_within_3_percent),
        cmocka_unit_test(test_check2_stationary_covariances_within_5_percent),
        cmocka_unit_test(test_check3_mean_inside_band),
        cmocka_unit_test(test_check4_frequencies_within_2_percent_and_onset),
        cmocka_unit_test(test_checks4_5_honour_lr_and_momentum),
        cmocka_unit_test(test_onset_classifier_resolves_the_threshold),
        cmocka_unit_test(test_check5_toy_follows_psi_not_L),
        cmocka_unit_test(test_check6_msd_follows_theory),
        cmocka_unit_test(test_same_seed_same_numbers),
        cmocka_unit_test(test_outputs_written),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
