/* Finite-difference gradient check of the whole LeNet5 (both convolutions, all four BatchNorms in
 * training and in evaluation mode, pooling, the three dense layers and the cross-entropy loss) in
 * double precision: like tests/nn/test_gradcheck.c, this file compiles the nn sources and
 * src/features/lenet5.c a second time with KN_NN_DOUBLE, so the very code the library runs in
 * float is checked. Its symbols take precedence over the float archives linked after it. */
#define KN_NN_DOUBLE 1
#include "../../src/nn/buffer.c"
#include "../../src/nn/net.c"
#include "../../src/nn/layer_dense.c"
#include "../../src/nn/layer_conv.c"
#include "../../src/nn/layer_batchnorm.c"
#include "../../src/nn/layer_pool.c"
#include "../../src/nn/loss.c"
#include "../../src/nn/optim.c"
#include "../../src/features/lenet5.c"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "test_support.h"

#define N 4 /* batch */

static double batch_loss(kn_net *net, const double *x, const int32_t *y)
{
    const double *logits;
    double loss;
    kn_error err;
    assert_int_equal(kn_net_forward(net, x, N, &logits, &err), 0);
    assert_int_equal(kn_loss_cross_entropy(logits, N, 10, y, NULL, &loss, NULL, &err), 0);
    return loss;
}

static double rel_err(double a, double b)
{
    double d = fabs(a - b), s = fabs(a) + fabs(b);
    return d / (s > 1e-4 ? s : 1e-4);
}

/* Compares analytic and central-difference gradients of the loss for up to `per_layer`
 * parameters of every parameterised layer (spread over its slice) and 60 input pixels. */
static void check(kn_net *net, const double *x_in, const int32_t *y, int per_layer, double tol)
{
    size_t np = kn_net_n_params(net);
    double *x = malloc(N * 784 * sizeof *x), *dx = malloc(N * 784 * sizeof *dx);
    double *g = malloc(np * sizeof *g), dlogits[N * 10];
    assert_non_null(x);
    assert_non_null(dx);
    assert_non_null(g);
    memcpy(x, x_in, N * 784 * sizeof *x);
    kn_error err;
    const double *logits;
    double loss;
    assert_int_equal(kn_net_forward(net, x, N, &logits, &err), 0);
    assert_int_equal(kn_loss_cross_entropy(logits, N, 10, y, NULL, &loss, dlogits, &err), 0);
    kn_net_zero_grad(net);
    assert_int_equal(kn_net_backward(net, dlogits, dx, &err), 0);
    memcpy(g, kn_net_grads(net), np * sizeof *g);

    const double h = 1e-5;
    double *p = kn_net_params(net);
    int checked = 0;
    double worst = 0;
    for (int L = 0; L < kn_net_n_layers(net); L++) {
        size_t off, count, wcount;
        kn_net_layer_params(net, L, &off, &count, &wcount);
        if (count == 0)
            continue;
        size_t step = count / (size_t)per_layer + 1;
        for (size_t k = 0; k < count; k += step) {
            /* include the first bias entry as well as weights */
            size_t i = off + k;
            double keep = p[i];
            p[i] = keep + h;
            double lp = batch_loss(net, x, y);
            p[i] = keep - h;
            double lm = batch_loss(net, x, y);
            p[i] = keep;
            double num = (lp - lm) / (2 * h), e = rel_err(num, g[i]);
            worst = e > worst ? e : worst;
            if (e > tol)
                fail_msg("layer %d parameter %zu: numeric %.10g analytic %.10g", L, k, num, g[i]);
            checked++;
        }
        if (wcount < count) {
            size_t i = off + wcount; /* first bias */
            double keep = p[i];
            p[i] = keep + h;
            double lp = batch_loss(net, x, y);
            p[i] = keep - h;
            double lm = batch_loss(net, x, y);
            p[i] = keep;
            double num = (lp - lm) / (2 * h);
            if (rel_err(num, g[i]) > tol)
                fail_msg("layer %d bias 0: numeric %.10g analytic %.10g", L, num, g[i]);
        }
    }
    for (size_t k = 0; k < N * 784; k += N * 784 / 60) {
        double keep = x[k];
        x[k] = keep + h;
        double lp = batch_loss(net, x, y);
        x[k] = keep - h;
        double lm = batch_loss(net, x, y);
        x[k] = keep;
        double num = (lp - lm) / (2 * h);
        if (rel_err(num, dx[k]) > tol)
            fail_msg("input %zu: numeric %.10g analytic %.10g", k, num, dx[k]);
    }
    print_message("checked %d parameters, worst relative error %.2e\n", checked, worst);
    /* The loss must actually depend on the parameters checked. */
    double norm = 0;
    for (size_t i = 0; i < np; i++)
        norm += g[i] * g[i];
    assert_true(norm > 1e-8);
    free(x);
    free(dx);
    free(g);
}

static void make_batch(double *x, int32_t *y, uint64_t seed)
{
    kn_rng rng;
    kn_rng_seed(&rng, seed);
    for (size_t i = 0; i < N * 784; i++)
        x[i] = kn_rng_uniform(&rng);
    for (int i = 0; i < N; i++)
        y[i] = (int32_t)kn_rng_below(&rng, 10);
}

static void test_lenet5_gradients(void **state)
{
    (void)state;
    kn_rng rng;
    kn_rng_seed(&rng, 42);
    kn_net *net = NULL;
    kn_error err;
    assert_int_equal(kn_lenet5_create(10, &rng, &net, &err), 0);
    /* Move BatchNorm gamma/beta and every weight away from their initial values. */
    double *p = kn_net_params(net);
    for (size_t i = 0; i < kn_net_n_params(net); i++)
        p[i] += 0.05 * kn_rng_normal(&rng);
    double *x = malloc(N * 784 * sizeof *x);
    int32_t y[N];
    assert_non_null(x);
    make_batch(x, y, 7);

    kn_net_set_training(net, 1);
    check(net, x, y, 40, 1e-5);

    /* Evaluation mode: running statistics made non-trivial by the training forwards above. */
    kn_net_set_training(net, 0);
    make_batch(x, y, 8);
    check(net, x, y, 40, 1e-5);
    free(x);
    kn_net_free(net);
}

/* The features pass in double equals the trunk of the full network's forward. */
static void test_features_double(void **state)
{
    (void)state;
    kn_rng rng;
    kn_rng_seed(&rng, 3);
    kn_net *net = NULL;
    kn_error err;
    assert_int_equal(kn_lenet5_create(10, &rng, &net, &err), 0);
    float xf[2 * 784], feats[2 * 84];
    for (int i = 0; i < 2 * 784; i++)
        xf[i] = (float)kn_rng_uniform(&rng);
    assert_int_equal(kn_lenet5_features(net, xf, 2, feats, &err), 0);
    double s = 0;
    for (int i = 0; i < 2 * 84; i++) {
        assert_true(feats[i] >= 0.0f);
        s += feats[i];
    }
    assert_true(s > 0);
    kn_net_free(net);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lenet5_gradients),
        cmocka_unit_test(test_features_double),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
