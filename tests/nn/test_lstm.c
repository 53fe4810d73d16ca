/* LSTM layer tests, in double precision: this file compiles src/nn/lstm.c with KN_NN_DOUBLE
 * (kn_real = double, dgemm), so finite differences check the library's own code to a tolerance
 * float could not reach. The symbols defined here take precedence over the float library linked
 * after this object. Checks: a hand-computed single step, the gradient of every parameter and
 * input over a whole sequence (relative error < 1e-5), and the state errors. */
#define KN_NN_DOUBLE 1
#include "../../src/nn/lstm.c"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_support.h"

enum { IN = 3, HID = 5, BATCH = 2, STEPS = 30 };

static double sig(double z) { return 1.0 / (1.0 + exp(-z)); }

/* One step by hand with every weight 0.1, biases 0, x = (1, 0, -1)... then h by the formulas. */
static void test_single_step_by_hand(void **state)
{
    (void)state;
    kn_lstm l;
    kn_error err;
    assert_int_equal(kn_lstm_create(&l, IN, HID, 1, 2, &err), 0);
    size_t np = kn_lstm_n_params(IN, HID);
    assert_int_equal(np, 4 * HID * (IN + HID) + 8 * HID);
    double *p = calloc(np, sizeof *p);
    assert_non_null(p);
    for (size_t i = 0; i < 4 * HID * (IN + HID); i++)
        p[i] = 0.1;
    /* forget-gate bias_ih = 1 */
    double *b_ih = p + 4 * HID * (IN + HID);
    for (int j = 0; j < HID; j++)
        b_ih[HID + j] = 1.0;
    double x[IN] = {1.0, 0.5, -2.0};
    const double *h;
    kn_lstm_reset(&l);
    assert_int_equal(kn_lstm_step(&l, p, x, &h, &err), 0);
    double zsum = 0.1 * (1.0 + 0.5 - 2.0); /* -0.05, h_prev = 0 */
    double i1 = sig(zsum), g1 = tanh(zsum), o1 = sig(zsum);
    double c1 = i1 * g1, h1 = o1 * tanh(c1);
    for (int j = 0; j < HID; j++)
        assert_true(fabs(h[j] - h1) < 1e-14);
    /* second step: z = 0.1 * sum(x) + 0.1 * HID * h1, forget gate z + 1 */
    assert_int_equal(kn_lstm_step(&l, p, x, &h, &err), 0);
    double z2 = zsum + 0.1 * HID * h1;
    double c2 = sig(z2 + 1.0) * c1 + sig(z2) * tanh(z2), h2 = sig(z2) * tanh(c2);
    for (int j = 0; j < HID; j++)
        assert_true(fabs(h[j] - h2) < 1e-14);
    /* a third step exceeds the record */
    assert_int_equal(kn_lstm_step(&l, p, x, &h, &err), KN_ESTATE);
    assert_non_null(strstr(err.msg, "step 3"));
    kn_lstm_reset(&l);
    assert_int_equal(kn_lstm_step(&l, p, x, &h, &err), 0);
    assert_true(fabs(h[0] - h1) < 1e-14);
    free(p);
    kn_lstm_free(&l);
}

/* loss = sum_t sum h_t * R_t for fixed random R. */
static double run_loss(kn_lstm *l, const double *p, const double *xs, const double *R)
{
    kn_error err;
    kn_lstm_reset(l);
    double s = 0;
    for (int t = 0; t < STEPS; t++) {
        const double *h;
        assert_int_equal(kn_lstm_step(l, p, xs + t * BATCH * IN, &h, &err), 0);
        for (int k = 0; k < BATCH * HID; k++)
            s += h[k] * R[t * BATCH * HID + k];
    }
    return s;
}

static double rel_err(double a, double b)
{
    double d = fabs(a - b), s = fabs(a) + fabs(b);
    return s < 1e-9 ? d : d / s;
}

static void test_gradient_through_time(void **state)
{
    (void)state;
    kn_lstm l;
    kn_error err;
    assert_int_equal(kn_lstm_create(&l, IN, HID, BATCH, STEPS, &err), 0);
    size_t np = kn_lstm_n_params(IN, HID);
    double *p = malloc(np * sizeof *p), *g = calloc(np, sizeof *g);
    double *xs = malloc(STEPS * BATCH * IN * sizeof *xs), *R = malloc(STEPS * BATCH * HID * sizeof *R);
    double *dx = malloc(STEPS * BATCH * IN * sizeof *dx);
    assert_true(p && g && xs && R && dx);
    kn_rng rng;
    kn_rng_seed(&rng, 42);
    kn_lstm_init_params(IN, HID, p, &rng);
    for (size_t i = 0; i < np; i++) /* larger weights than the default so gates saturate a bit */
        p[i] *= 3.0;
    for (int i = 0; i < STEPS * BATCH * IN; i++)
        xs[i] = kn_rng_normal(&rng);
    for (int i = 0; i < STEPS * BATCH * HID; i++)
        R[i] = kn_rng_normal(&rng);
    run_loss(&l, p, xs, R);
    assert_int_equal(kn_lstm_backward(&l, p, R, g, dx, &err), 0);
    const double eps = 1e-6;
    double worst = 0;
    for (size_t i = 0; i < np; i++) {
        double keep = p[i];
        p[i] = keep + eps;
        double lp = run_loss(&l, p, xs, R);
        p[i] = keep - eps;
        double lm = run_loss(&l, p, xs, R);
        p[i] = keep;
        double e = rel_err(g[i], (lp - lm) / (2 * eps));
        worst = e > worst ? e : worst;
    }
    for (int i = 0; i < STEPS * BATCH * IN; i++) {
        double keep = xs[i];
        xs[i] = keep + eps;
        double lp = run_loss(&l, p, xs, R);
        xs[i] = keep - eps;
        double lm = run_loss(&l, p, xs, R);
        xs[i] = keep;
        double e = rel_err(dx[i], (lp - lm) / (2 * eps));
        worst = e > worst ? e : worst;
    }
    printf("lstm gradient check over %d steps: worst relative error %.3g\n", STEPS, worst);
    assert_true(worst < 1e-5);
    /* backward adds: a second call doubles the gradient */
    double g0 = g[7];
    run_loss(&l, p, xs, R);
    assert_int_equal(kn_lstm_backward(&l, p, R, g, NULL, &err), 0);
    assert_true(fabs(g[7] - 2 * g0) < 1e-12 * (1 + fabs(g0)));
    free(p); free(g); free(xs); free(R); free(dx);
    kn_lstm_free(&l);
}

static void test_bad_sizes_name_the_parameter(void **state)
{
    (void)state;
    kn_lstm l;
    kn_error err;
    assert_int_equal(kn_lstm_create(&l, 0, 4, 1, 1, &err), KN_EINVAL);
    assert_non_null(strstr(err.msg, "input size 0"));
    assert_int_equal(kn_lstm_create(&l, 2, -3, 1, 1, &err), KN_EINVAL);
    assert_non_null(strstr(err.msg, "hidden size -3"));
    assert_int_equal(kn_lstm_create(&l, 2, 3, 0, 1, &err), KN_EINVAL);
    assert_non_null(strstr(err.msg, "batch"));
    assert_int_equal(kn_lstm_create(&l, 2, 3, 1, 4, &err), 0);
    assert_int_equal(kn_lstm_backward(&l, NULL, NULL, NULL, NULL, &err), KN_ESTATE);
    assert_non_null(strstr(err.msg, "without any forward"));
    kn_lstm_free(&l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_single_step_by_hand),
        cmocka_unit_test(test_gradient_through_time),
        cmocka_unit_test(test_bad_sizes_name_the_parameter),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
