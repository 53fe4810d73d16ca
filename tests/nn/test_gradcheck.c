/* Finite-difference gradient checks of every layer and loss of the network core, in double
 * precision: this file compiles the nn sources a second time with KN_NN_DOUBLE (kn_real =
 * double, dgemm), so the very code the library runs in float is checked with central
 * differences at a tolerance float could never reach. The symbols defined here take precedence
 * over the float library linked after this object (no archive member of kn_nn is pulled). */
#define KN_NN_DOUBLE 1
#include "../../src/nn/buffer.c"
#include "../../src/nn/net.c"
#include "../../src/nn/layer_dense.c"
#include "../../src/nn/layer_conv.c"
#include "../../src/nn/layer_batchnorm.c"
#include "../../src/nn/layer_pool.c"
#include "../../src/nn/loss.c"
#include "../../src/nn/optim.c"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "test_support.h"

/* loss(net) = sum(out * R) for a fixed random R, so dLoss/dOut = R. */
static double probe_loss(kn_net *net, const double *x, size_t n, const double *R)
{
    const double *y;
    kn_error err;
    assert_int_equal(kn_net_forward(net, x, n, &y, &err), 0);
    double s = 0;
    for (size_t i = 0; i < n * kn_net_out_dim(net); i++)
        s += y[i] * R[i];
    return s;
}

/* Relative error, with the denominator floored at 1e-2 so that gradients near zero are judged
 * by an absolute error (central differences carry ~1e-10 absolute round-off at h = 1e-6). */
static double rel_err(double a, double b)
{
    double d = fabs(a - b), s = fabs(a) + fabs(b);
    return d / (s > 1e-2 ? s : 1e-2);
}

/* Checks parameter and input gradients of `net` on n random samples. */
static void check_net(kn_net *net, size_t n, uint64_t seed, double tol)
{
    kn_rng rng;
    kn_rng_seed(&rng, seed);
    size_t din = kn_net_in_dim(net), dout = kn_net_out_dim(net), np = kn_net_n_params(net);
    double *x = malloc(n * din * sizeof *x), *R = malloc(n * dout * sizeof *R);
    double *dx = malloc(n * din * sizeof *dx), *g = malloc(np * sizeof *g);
    assert_non_null(x);
    assert_non_null(R);
    assert_non_null(dx);
    assert_non_null(g);
    for (size_t i = 0; i < n * din; i++)
        x[i] = kn_rng_normal(&rng);
    for (size_t i = 0; i < n * dout; i++)
        R[i] = kn_rng_normal(&rng);
    /* perturb all parameters away from their init so BN gamma/beta are not trivial */
    double *p = kn_net_params(net);
    for (size_t i = 0; i < np; i++)
        p[i] += 0.1 * kn_rng_normal(&rng);
    kn_error err;
    const double *y;
    assert_int_equal(kn_net_forward(net, x, n, &y, &err), 0);
    kn_net_zero_grad(net);
    assert_int_equal(kn_net_backward(net, R, dx, &err), 0);
    memcpy(g, kn_net_grads(net), np * sizeof *g);
    const double h = 1e-6;
    double worst = 0;
    for (size_t i = 0; i < np; i++) {
        double keep = p[i];
        p[i] = keep + h;
        double lp = probe_loss(net, x, n, R);
        p[i] = keep - h;
        double lm = probe_loss(net, x, n, R);
        p[i] = keep;
        double e = rel_err((lp - lm) / (2 * h), g[i]);
        if (e > worst)
            worst = e;
        if (e > tol)
            fail_msg("parameter %zu: numeric %.10g analytic %.10g", i, (lp - lm) / (2 * h), g[i]);
    }
    for (size_t i = 0; i < n * din; i++) {
        double keep = x[i];
        x[i] = keep + h;
        double lp = probe_loss(net, x, n, R);
        x[i] = keep - h;
        double lm = probe_loss(net, x, n, R);
        x[i] = keep;
        double e = rel_err((lp - lm) / (2 * h), dx[i]);
        if (e > tol)
            fail_msg("input %zu: numeric %.10g analytic %.10g", i, (lp - lm) / (2 * h), dx[i]);
    }
    free(x);
    free(R);
    free(dx);
    free(g);
}

static kn_net *make(int c, int h, int w)
{
    kn_net *net;
    kn_error err;
    assert_int_equal(kn_net_create(&net, c, h, w, &err), 0);
    return net;
}

static void build(kn_net *net, uint64_t seed)
{
    kn_rng rng;
    kn_rng_seed(&rng, seed);
    kn_error err;
    assert_int_equal(kn_net_build(net, &rng, &err), 0);
}

static void test_dense_relu(void **state)
{
    (void)state;
    kn_net *net = make(5, 1, 1);
    kn_error err;
    assert_int_equal(kn_net_add_dense(net, 7, &err), 0);
    assert_int_equal(kn_net_add_relu(net, &err), 0);
    assert_int_equal(kn_net_add_dense(net, 3, &err), 0);
    build(net, 1);
    check_net(net, 4, 11, 1e-7);
    kn_net_free(net);
}

static void test_batchnorm1d_train_and_eval(void **state)
{
    (void)state;
    kn_net *net = make(4, 1, 1);
    kn_error err;
    assert_int_equal(kn_net_add_dense(net, 6, &err), 0);
    assert_int_equal(kn_net_add_batchnorm(net, &err), 0);
    assert_int_equal(kn_net_add_relu(net, &err), 0);
    assert_int_equal(kn_net_add_dense(net, 3, &err), 0);
    build(net, 2);
    check_net(net, 5, 12, 1e-6);
    /* evaluation mode: running statistics (made non-trivial by the training forwards above) */
    kn_net_set_training(net, 0);
    check_net(net, 3, 13, 1e-7);
    kn_net_free(net);
}

static void test_conv_bn_pool_stack(void **state)
{
    (void)state;
    /* A small LeNet: conv 2->3 3x3, BN2d, ReLU, maxpool 2; conv 3->4 3x3 stride 2 pad 1, ReLU,
     * flatten, dense. */
    kn_net *net = make(2, 9, 8);
    kn_error err;
    assert_int_equal(kn_net_add_conv2d(net, 3, 3, 1, 0, &err), 0);
    assert_int_equal(kn_net_add_batchnorm(net, &err), 0);
    assert_int_equal(kn_net_add_relu(net, &err), 0);
    assert_int_equal(kn_net_add_maxpool2d(net, 2, 2, &err), 0);
    int c, h, w;
    kn_net_layer_shape(net, 3, &c, &h, &w);
    assert_int_equal(c, 3);
    assert_int_equal(h, 3);
    assert_int_equal(w, 3);
    assert_int_equal(kn_net_add_conv2d(net, 4, 3, 2, 1, &err), 0);
    kn_net_layer_shape(net, 4, &c, &h, &w);
    assert_int_equal(h, 2);
    assert_int_equal(w, 2);
    assert_int_equal(kn_net_add_relu(net, &err), 0);
    assert_int_equal(kn_net_add_flatten(net, &err), 0);
    assert_int_equal(kn_net_add_dense(net, 3, &err), 0);
    build(net, 3);
    check_net(net, 3, 14, 1e-6);
    kn_net_set_training(net, 0);
    check_net(net, 2, 15, 1e-7);
    kn_net_free(net);
}

/* Finite differences of a scalar loss f(z) against its analytic gradient. */
typedef double (*loss_fn)(double *z, double *dz, void *ctx);

static void check_loss(loss_fn f, size_t m, void *ctx, uint64_t seed)
{
    kn_rng rng;
    kn_rng_seed(&rng, seed);
    double *z = malloc(m * sizeof *z), *dz = malloc(m * sizeof *dz), *tmp = malloc(m * sizeof *tmp);
    assert_non_null(z);
    assert_non_null(dz);
    assert_non_null(tmp);
    for (size_t i = 0; i < m; i++)
        z[i] = 2 * kn_rng_normal(&rng);
    f(z, dz, ctx);
    const double h = 1e-6;
    for (size_t i = 0; i < m; i++) {
        double keep = z[i];
        z[i] = keep + h;
        double lp = f(z, tmp, ctx);
        z[i] = keep - h;
        double lm = f(z, tmp, ctx);
        z[i] = keep;
        double num = (lp - lm) / (2 * h);
        if (rel_err(num, dz[i]) > 1e-7)
            fail_msg("entry %zu: numeric %.10g analytic %.10g", i, num, dz[i]);
    }
    free(z);
    free(dz);
    free(tmp);
}

static const int32_t ce_labels[4] = {0, 3, 2, 3};
static const uint8_t ce_mask[5] = {1, 0, 1, 1, 0};

static double ce_all(double *z, double *dz, void *ctx)
{
    (void)ctx;
    double l;
    kn_error err;
    assert_int_equal(kn_loss_cross_entropy(z, 4, 5, ce_labels, NULL, &l, dz, &err), 0);
    return l;
}

static double ce_masked(double *z, double *dz, void *ctx)
{
    (void)ctx;
    double l;
    kn_error err;
    assert_int_equal(kn_loss_cross_entropy(z, 4, 5, ce_labels, ce_mask, &l, dz, &err), 0);
    return l;
}

static double soft_ce(double *z, double *dz, void *ctx)
{
    const double *t = ctx;
    double l;
    kn_error err;
    assert_int_equal(kn_loss_soft_cross_entropy(z, t, 3, 4, 2.0, NULL, &l, dz, &err), 0);
    return l;
}

static double mse(double *z, double *dz, void *ctx)
{
    return kn_loss_mse(z, (const double *)ctx, 6, dz);
}

static void test_losses(void **state)
{
    (void)state;
    check_loss(ce_all, 20, NULL, 21);
    check_loss(ce_masked, 20, NULL, 22);
    double t[12] = {0.1, 0.2, 0.3, 0.4, 1, 0, 0, 0, 0.25, 0.25, 0.25, 0.25};
    check_loss(soft_ce, 12, t, 23);
    double target[6] = {1, -2, 3, 0.5, 0, 4};
    check_loss(mse, 6, target, 24);
    /* masked gradient is exactly zero on inactive outputs */
    double z[20], dz[20];
    for (int i = 0; i < 20; i++)
        z[i] = i * 0.1;
    ce_masked(z, dz, NULL);
    for (int r = 0; r < 4; r++) {
        assert_true(dz[r * 5 + 1] == 0);
        assert_true(dz[r * 5 + 4] == 0);
    }
}

/* backward_sqgrad == sum over samples of w_r * (per-sample gradient)^2, computed one by one. */
static void test_sqgrad_matches_per_sample_loop(void **state)
{
    (void)state;
    kn_net *net = make(4, 1, 1);
    kn_error err;
    assert_int_equal(kn_net_add_dense(net, 5, &err), 0);
    assert_int_equal(kn_net_add_relu(net, &err), 0);
    assert_int_equal(kn_net_add_dense(net, 3, &err), 0);
    build(net, 4);
    const size_t n = 6, np = kn_net_n_params(net);
    kn_rng rng;
    kn_rng_seed(&rng, 5);
    double x[24], R[18], w[6];
    for (int i = 0; i < 24; i++)
        x[i] = kn_rng_normal(&rng);
    for (int i = 0; i < 18; i++)
        R[i] = kn_rng_normal(&rng);
    for (int i = 0; i < 6; i++)
        w[i] = kn_rng_uniform(&rng);
    double *acc = calloc(np, sizeof *acc), *ref = calloc(np, sizeof *ref);
    assert_non_null(acc);
    assert_non_null(ref);
    const double *y;
    assert_int_equal(kn_net_forward(net, x, n, &y, &err), 0);
    assert_int_equal(kn_net_backward_sqgrad(net, R, w, acc, &err), 0);
    for (size_t r = 0; r < n; r++) {
        assert_int_equal(kn_net_forward(net, x + 4 * r, 1, &y, &err), 0);
        kn_net_zero_grad(net);
        assert_int_equal(kn_net_backward(net, R + 3 * r, NULL, &err), 0);
        for (size_t i = 0; i < np; i++)
            ref[i] += w[r] * kn_net_grads(net)[i] * kn_net_grads(net)[i];
    }
    for (size_t i = 0; i < np; i++)
        assert_true(rel_err(acc[i], ref[i]) < 1e-12);
    free(acc);
    free(ref);
    kn_net_free(net);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dense_relu),
        cmocka_unit_test(test_batchnorm1d_train_and_eval),
        cmocka_unit_test(test_conv_bn_pool_stack),
        cmocka_unit_test(test_losses),
        cmocka_unit_test(test_sqgrad_matches_per_sample_loop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
