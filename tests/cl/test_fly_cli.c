/* CLI tests of `kenyon run` with FlyModel on small generated user data (.npy): help with the
 * method's options, method options passed through and checked, impossible parameters, missing
 * data, results files only with --out, and --save / --load. */
#include "test_support.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "kenyon/formats.h"
#include "kenyon/learner.h"
#include "kenyon/rng.h"

static const char *dir;

/* 6 classes, one hot feature each (d = 6), 30 train / 10 test per class. */
static void write_user_data(void)
{
    const size_t d = 6, ntr = 180, nte = 60;
    float *x = malloc(ntr * d * sizeof *x);
    int32_t *y = malloc(ntr * sizeof *y);
    kn_rng r;
    kn_rng_seed(&r, 1);
    kn_error err;
    for (int part = 0; part < 2; part++) {
        size_t n = part ? nte : ntr;
        for (size_t i = 0; i < n; i++) {
            y[i] = (int32_t)(i % 6);
            for (size_t j = 0; j < d; j++)
                x[i * d + j] = ((size_t)y[i] == j ? 4.0f : 0.0f) + (float)(0.1 * kn_rng_normal(&r));
        }
        size_t sx[2] = {n, d}, sy[1] = {n};
        if (kn_npy_write_f32(kt_path(dir, part ? "test_x.npy" : "train_x.npy"), x, sx, 2, &err) ||
            kn_npy_write_i32(kt_path(dir, part ? "test_y.npy" : "train_y.npy"), y, sy, 1, &err))
            fail_msg("writing test data: %s", err.msg);
    }
    free(x);
    free(y);
}

static char data_args[2048];

static int setup(void **state)
{
    (void)state;
    dir = kt_scratch_dir("flycli");
    write_user_data();
    snprintf(data_args, sizeof data_args,
             "--train-x '%s/train_x.npy' --train-y '%s/train_y.npy' --test-x '%s/test_x.npy' "
             "--test-y '%s/test_y.npy' --classes-per-task 2",
             dir, dir, dir, dir);
    return 0;
}

static void test_help_lists_method_options(void **state)
{
    (void)state;
    char *out;
    assert_int_equal(kt_run_cli(&out, "run --method fly-ridge --help"), 0);
    assert_non_null(strstr(out, "--lambda X"));
    assert_non_null(strstr(out, "--k-fraction X"));
    assert_non_null(strstr(out, "--classes-per-task"));
    assert_non_null(strstr(out, "v3"));
    free(out);
}

static void test_unknown_and_bad_options(void **state)
{
    (void)state;
    char *out;
    assert_int_equal(kt_run_cli(&out, "run --method fly --kk 3 %s", data_args), 2);
    assert_non_null(strstr(out, "unknown option '--kk' for method fly"));
    assert_non_null(strstr(out, "--k-fraction"));
    free(out);
    assert_int_equal(kt_run_cli(&out, "run --method nope %s", data_args), 2);
    assert_non_null(strstr(out, "unknown method 'nope'"));
    free(out);
    /* Parameter values are checked before any data are loaded: a usage error (exit 2). Only
     * what needs the data (c <= d) fails later, with exit 1. */
    assert_int_equal(kt_run_cli(&out, "run --method fly --m 100 --c 2 --k 500 %s", data_args), 2);
    assert_non_null(strstr(out, "k (winners) cannot exceed m"));
    free(out);
    assert_int_equal(kt_run_cli(&out, "run --method fly --c 7 %s", data_args), 1);
    assert_non_null(strstr(out, "c (inputs per Kenyon cell) cannot exceed"));
    free(out);
    assert_int_equal(kt_run_cli(&out, "run --method fly --lr=abc %s", data_args), 2);
    assert_non_null(strstr(out, "--lr: 'abc' is not a number"));
    free(out);
    assert_int_equal(kt_run_cli(&out, "run --method fly --train-x '%s/train_x.npy'", dir), 2);
    assert_non_null(strstr(out, "need all of --train-x"));
    free(out);
    assert_true(kt_run_cli(&out, "run --method fly --dataset mnist20 --data '%s/none'", dir) != 0);
    assert_non_null(strstr(out, "kenyon data fetch"));
    free(out);
    /* --data-dir is the data-directory option of every command (--data stays as an alias). */
    assert_true(kt_run_cli(&out, "run --method fly --dataset mnist20 --data-dir '%s/none'", dir) !=
                0);
    assert_non_null(strstr(out, "kenyon data fetch"));
    assert_non_null(strstr(out, "none"));
    free(out);
}

static void test_run_writes_results_only_with_out(void **state)
{
    (void)state;
    char *out;
    const char *res = kt_path(dir, "res");
    assert_int_equal(kt_run_cli(&out, "run --method fly --m 300 --c 2 --k 100 --seed 4 %s",
                                data_args),
                     0);
    assert_non_null(strstr(out, "final accuracy"));
    assert_non_null(strstr(out, "parameters: m=300 c=2 k=100"));
    free(out);
    struct stat st;
    assert_int_not_equal(stat(res, &st), 0);
    const char *model = kt_path(dir, "fly.safetensors");
    assert_int_equal(kt_run_cli(&out,
                                "run --method fly --m 300 --c 2 --k=100 --seed 4 --out '%s' "
                                "--save '%s' %s",
                                res, model, data_args),
                     0);
    free(out);
    char path[1024];
    snprintf(path, sizeof path, "%s/summary.json", res);
    assert_int_equal(stat(path, &st), 0);
    snprintf(path, sizeof path, "%s/accuracy_matrix.csv", res);
    assert_int_equal(stat(path, &st), 0);
    kn_learner *l;
    kn_error err;
    assert_int_equal(kn_learner_load(model, &l, &err), 0);
    assert_string_equal(kn_learner_param(l, "k"), "100");
    assert_int_equal(l->task, 2);
    kn_learner_free(l);
    /* A model that has learned every task cannot be resumed on the same stream. */
    assert_int_equal(kt_run_cli(&out, "run --load '%s' %s", model, data_args), 1);
    assert_non_null(strstr(out, "already learned all 3 tasks"));
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_help_lists_method_options),
        cmocka_unit_test(test_unknown_and_bad_options),
        cmocka_unit_test(test_run_writes_results_only_with_out),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
