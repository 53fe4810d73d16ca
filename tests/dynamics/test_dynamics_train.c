/* Tests for `kenyon dynamics train` on a small synthetic classification problem: the recorded
 * series are consistent with each other (first step: |theta_1 - theta_0|^2 = |delta_0|^2;
 * |theta - theta_0|^2 = |theta|^2 - 2 theta . theta_0 + |theta_0|^2), the law ratio is computed
 * from eta^2/(S(1-beta^2)), runs are deterministic, and bad settings name the culprit. */
#include "test_support.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kenyon/dataset.h"
#include "kenyon/dynamics.h"

/* Four Gaussian clusters in 10 dimensions. */
static void make_split(kn_split *sp)
{
    kn_error err = {0};
    kn_rng rng;
    kn_rng_seed(&rng, 42);
    kn_dataset *parts[2] = {&sp->train, &sp->test};
    size_t sizes[2] = {400, 200};
    for (int p = 0; p < 2; p++) {
        assert_int_equal(kn_dataset_alloc(parts[p], sizes[p], 10, 4, &err), 0);
        for (size_t i = 0; i < sizes[p]; i++) {
            int c = (int)(i % 4);
            parts[p]->y[i] = c;
            for (size_t j = 0; j < 10; j++)
                parts[p]->x[i * 10 + j] =
                    (float)((j == (size_t)c ? 1.5 : 0.0) + kn_rng_normal(&rng));
        }
    }
}

static kn_dyn_train_config small(void)
{
    kn_dyn_train_config c;
    kn_dyn_train_config_default(&c);
    c.hidden = 16;
    c.n_train = 0;
    c.pre_epochs = 10;
    c.pre.batch = 16;
    c.hp.batch = 16;
    c.hp.lr = 0.02;
    c.pre.lr = 0.02;
    c.steps = 400;
    c.quiet = 1;
    return c;
}

static void test_series_are_consistent(void **state)
{
    (void)state;
    kn_split sp;
    memset(&sp, 0, sizeof sp);
    make_split(&sp);
    kn_dyn_train_config c = small();
    kn_dyn_train_result r;
    kn_error err = {0};
    assert_int_equal(kn_dyn_train(&c, &sp, &r, &err), 0);
    assert_int_equal(r.n_runs, 2);
    assert_true(r.pre_test_accuracy > 0.6); /* the clusters are learnable */
    assert_true(fabs(r.runs[1].hp.lr - 0.01) < 1e-15);
    assert_true(fabs(r.runs[1].law / r.runs[0].law - 0.25) < 1e-12);
    for (int i = 0; i < 2; i++) {
        const kn_dyn_train_run *run = &r.runs[i];
        /* first step from theta_0 with b_0 = 0 */
        assert_true(fabs(run->disp_sq[0] - run->delta_sq[0]) <= 1e-3 * run->delta_sq[0]);
        for (size_t k = 0; k < run->steps; k += 37) {
            double n0 = r.theta0_norm * r.theta0_norm;
            double via = run->norm[k] * run->norm[k] - 2 * run->dot[k] + n0;
            assert_true(fabs(via - run->disp_sq[k]) <= 1e-3 * n0);
            assert_true(run->delta_sq[k] > 0 && isfinite(run->delta_sq[k]));
        }
        assert_true(run->cv >= 0 && isfinite(run->fit.c));
        assert_true(run->fit.x_lo == 40 && run->fit.x_hi == 400);
    }
    assert_non_null(strstr(r.verdict, "flatness"));
    /* outputs */
    const char *dir = kt_scratch_dir("dynamics_train");
    assert_int_equal(kn_dyn_train_write_outputs(dir, &c, &r, 1, &err), 0);
    FILE *f = fopen(kt_path(dir, "train_run2.csv"), "r");
    assert_non_null(f);
    char line[128];
    assert_non_null(fgets(line, sizeof line, f));
    assert_string_equal(line, "step,delta_sq,disp_sq,norm,dot_theta0,batch_loss\n");
    fclose(f);
    f = fopen(kt_path(dir, "msd_train.png"), "r");
    assert_non_null(f);
    fclose(f);
    /* determinism */
    kn_dyn_train_result r2;
    assert_int_equal(kn_dyn_train(&c, &sp, &r2, &err), 0);
    assert_memory_equal(r.runs[1].disp_sq, r2.runs[1].disp_sq, 400 * sizeof(double));
    kn_dyn_train_result_free(&r);
    kn_dyn_train_result_free(&r2);
    kn_split_free(&sp);
}

static void test_sweep_and_bad_settings(void **state)
{
    (void)state;
    kn_split sp;
    memset(&sp, 0, sizeof sp);
    make_split(&sp);
    kn_dyn_train_config c = small();
    c.pre_epochs = 1;
    c.steps = 100;
    kn_dyn_train_result r;
    kn_error err = {0};
    c.sweep_name = "batch";
    c.sweep[0] = 8;
    c.sweep[1] = 32;
    c.sweep[2] = 16;
    c.n_sweep = 3;
    assert_int_equal(kn_dyn_train(&c, &sp, &r, &err), 0);
    assert_int_equal(r.n_runs, 3);
    assert_true(r.runs[1].hp.batch == 32);
    kn_dyn_train_result_free(&r);
    c.sweep_name = "gamma";
    assert_int_equal(kn_dyn_train(&c, &sp, &r, &err), KN_EINVAL);
    assert_non_null(strstr(err.msg, "--sweep gamma"));
    kn_dyn_train_result_free(&r);
    c.n_sweep = 0;
    c.hp.batch = 1000;
    assert_int_equal(kn_dyn_train(&c, &sp, &r, &err), KN_EINVAL);
    assert_non_null(strstr(err.msg, "batch 1000"));
    kn_dyn_train_result_free(&r);
    c.hp.batch = 16;
    c.hp.momentum = 1.2;
    assert_int_equal(kn_dyn_train(&c, &sp, &r, &err), KN_EINVAL);
    assert_non_null(strstr(err.msg, "momentum"));
    kn_dyn_train_result_free(&r);
    kn_split_free(&sp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_series_are_consistent),
        cmocka_unit_test(test_sweep_and_bad_settings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
