/* CLI tests of `kenyon run` with the one-pass learners (ncm, slda, ranpac, er, and fly-ridge's
 * lambda choices) on small generated user data (.npy): each runs, learns the easy data (final
 * accuracy above 0.9, read from the output), the ridge learners print their chosen lambda per
 * task, a model saved with --save loads back, and bad options fail with a message naming them
 * and a non-zero exit. */
#include "test_support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kenyon/formats.h"
#include "kenyon/rng.h"

static const char *dir;
static char data_args[2048];

/* 6 classes, one strong feature each (d = 6), 30 train / 10 test per class. */
static int setup(void **state)
{
    (void)state;
    dir = kt_scratch_dir("onepasscli");
    const size_t d = 6, ntr = 180, nte = 60;
    float x[180 * 6];
    int32_t y[180];
    kn_rng r;
    kn_rng_seed(&r, 2);
    kn_error err;
    for (int part = 0; part < 2; part++) {
        size_t n = part ? nte : ntr;
        for (size_t i = 0; i < n; i++) {
            y[i] = (int32_t)(i % 6);
            for (size_t j = 0; j < d; j++)
                x[i * d + j] = ((size_t)y[i] == j ? 3.0f : 0.0f) + (float)(0.3 * kn_rng_normal(&r));
        }
        size_t sx[2] = {n, d}, sy[1] = {n};
        if (kn_npy_write_f32(kt_path(dir, part ? "test_x.npy" : "train_x.npy"), x, sx, 2, &err) ||
            kn_npy_write_i32(kt_path(dir, part ? "test_y.npy" : "train_y.npy"), y, sy, 1, &err))
            fail_msg("writing test data: %s", err.msg);
    }
    snprintf(data_args, sizeof data_args,
             "--train-x '%s/train_x.npy' --train-y '%s/train_y.npy' --test-x '%s/test_x.npy' "
             "--test-y '%s/test_y.npy'",
             dir, dir, dir, dir);
    return 0;
}

static double final_accuracy(const char *out)
{
    const char *p = strstr(out, "final accuracy ");
    return p ? atof(p + strlen("final accuracy ")) : -1;
}

static void test_each_method_learns(void **state)
{
    (void)state;
    const char *methods[] = {"ncm",
                             "slda",
                             "ranpac --M 60",
                             "ranpac --M 60 --lambda 0.1",
                             "er --hidden 16 --memory 30 --lr 0.05 --minibatch 4",
                             "fly-ridge --m 60 --c 2 --k 8 --lambda auto",
                             "fly-ridge --m 60 --c 2 --k 8 --lambda gcv"};
    for (size_t i = 0; i < sizeof methods / sizeof *methods; i++) {
        char *out = NULL;
        int rc = kt_run_cli(&out, "run --method %s %s --save '%s/m%zu.safetensors'", methods[i],
                            data_args, dir, i);
        if (rc != 0 || final_accuracy(out) < 0.9)
            fail_msg("%s: exit %d, output:\n%s", methods[i], rc, out);
        int ridge = !strncmp(methods[i], "ranpac", 6) || !strncmp(methods[i], "fly-ridge", 9);
        if (ridge && !strstr(out, "[lambda "))
            fail_msg("%s: no lambda note per task:\n%s", methods[i], out);
        free(out);
        /* The saved model loads (it has seen every task, so the run refuses to go on). */
        char name[32];
        assert_int_equal(sscanf(methods[i], "%31s", name), 1);
        rc = kt_run_cli(&out, "run --method %s %s --load '%s/m%zu.safetensors'", name, data_args,
                        dir, i);
        assert_int_not_equal(rc, 0);
        if (!strstr(out, "already learned all"))
            fail_msg("%s: --load: %s", methods[i], out);
        free(out);
    }
}

static void test_bad_options(void **state)
{
    (void)state;
    const struct {
        const char *args, *needle;
    } cases[] = {
        {"ranpac --M 0", "--M: 0 is out of range"},
        {"ranpac --lambda cheap", "--lambda: 'cheap' is not a number"},
        {"fly-ridge --lambda best", "--lambda: 'best' is not a number"},
        {"slda --shrinkage 2", "--shrinkage: 2 is out of range"},
        {"er --memory 0", "--memory: 0 is out of range"},
        {"ncm --k 3", "unknown option '--k' for method ncm"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *out = NULL;
        int rc = kt_run_cli(&out, "run --method %s %s", cases[i].args, data_args);
        if (rc == 0 || !strstr(out, cases[i].needle))
            fail_msg("%s: exit %d, expected '%s' in:\n%s", cases[i].args, rc, cases[i].needle,
                     out);
        free(out);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_each_method_learns),
        cmocka_unit_test(test_bad_options),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
