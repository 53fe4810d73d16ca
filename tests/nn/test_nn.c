/* Known-answer and behaviour tests of the float network core: dense/conv/pool/BatchNorm values
 * computed by hand, optimiser updates against PyTorch's formulas worked out by hand, StepLR,
 * initialisation bounds and determinism, save/load round trip, and bad inputs. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kenyon/nn.h"
#include "kenyon/safetensors.h"
#include "test_support.h"

static kn_net *net_new(int c, int h, int w)
{
    kn_net *n;
    kn_error err;
    assert_int_equal(kn_net_create(&n, c, h, w, &err), 0);
    return n;
}

static void net_build(kn_net *n, uint64_t seed)
{
    kn_rng r;
    kn_rng_seed(&r, seed);
    kn_error err;
    assert_int_equal(kn_net_build(n, &r, &err), 0);
}

static void test_dense_known_answer(void **state)
{
    (void)state;
    kn_net *n = net_new(2, 1, 1);
    kn_error err;
    assert_int_equal(kn_net_add_dense(n, 2, &err), 0);
    net_build(n, 1);
    float *p = kn_net_params(n);
    const float W[6] = {1, 2, 3, 4, 0.5f, -1};
    memcpy(p, W, sizeof W);
    const float x[4] = {1, 1, 2, -1};
    const float *y;
    assert_int_equal(kn_net_forward(n, x, 2, &y, &err), 0);
    assert_float_equal(y[0], 3.5, 1e-6);
    assert_float_equal(y[1], 6.0, 1e-6);
    assert_float_equal(y[2], 0.5, 1e-6);
    assert_float_equal(y[3], 1.0, 1e-6);
    /* dW = dy^T x, db = sum dy, dx = dy W with dy = ones */
    const float dy[4] = {1, 1, 1, 1};
    float dx[4];
    kn_net_zero_grad(n);
    assert_int_equal(kn_net_backward(n, dy, dx, &err), 0);
    const float *g = kn_net_grads(n);
    assert_float_equal(g[0], 3, 1e-6);
    assert_float_equal(g[1], 0, 1e-6);
    assert_float_equal(g[4], 2, 1e-6);
    assert_float_equal(dx[0], 4, 1e-6);
    assert_float_equal(dx[1], 6, 1e-6);
    /* backward accumulates */
    assert_int_equal(kn_net_backward(n, dy, NULL, &err), 0);
    assert_float_equal(g[0], 6, 1e-6);
    kn_net_free(n);
}

static void test_conv_pool_known_answer(void **state)
{
    (void)state;
    kn_net *n = net_new(1, 3, 3);
    kn_error err;
    assert_int_equal(kn_net_add_conv2d(n, 1, 2, 1, 0, &err), 0);
    net_build(n, 1);
    float *p = kn_net_params(n);
    p[0] = 1, p[1] = 1, p[2] = 1, p[3] = 1, p[4] = 0.5f; /* 2x2 ones, bias 0.5 */
    const float x[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    const float *y;
    assert_int_equal(kn_net_forward(n, x, 1, &y, &err), 0);
    assert_float_equal(y[0], 12.5, 1e-5);
    assert_float_equal(y[1], 16.5, 1e-5);
    assert_float_equal(y[2], 24.5, 1e-5);
    assert_float_equal(y[3], 28.5, 1e-5);
    kn_net_free(n);

    n = net_new(1, 4, 4);
    assert_int_equal(kn_net_add_maxpool2d(n, 2, 2, &err), 0);
    net_build(n, 1);
    const float img[16] = {1, 5, 2, 0, 3, 4, 8, 1, 0, 0, -1, -2, 9, 0, -3, -4};
    assert_int_equal(kn_net_forward(n, img, 1, &y, &err), 0);
    assert_float_equal(y[0], 5, 0);
    assert_float_equal(y[1], 8, 0);
    assert_float_equal(y[2], 9, 0);
    assert_float_equal(y[3], -1, 0);
    float d[4] = {1, 2, 3, 4}, dx[16];
    assert_int_equal(kn_net_backward(n, d, dx, &err), 0);
    assert_float_equal(dx[1], 1, 0);
    assert_float_equal(dx[6], 2, 0);
    assert_float_equal(dx[12], 3, 0);
    assert_float_equal(dx[10], 4, 0);
    assert_float_equal(dx[0], 0, 0);
    kn_net_free(n);
}

static void test_batchnorm_running_stats(void **state)
{
    (void)state;
    kn_net *n = net_new(1, 1, 1);
    kn_error err;
    assert_int_equal(kn_net_add_batchnorm(n, &err), 0);
    net_build(n, 1);
    assert_int_equal(kn_net_n_buffers(n), 2);
    const float x[2] = {1, 3};
    const float *y;
    assert_int_equal(kn_net_forward(n, x, 2, &y, &err), 0);
    assert_float_equal(y[0], -1 / sqrt(1 + 1e-5), 1e-6);
    assert_float_equal(y[1], 1 / sqrt(1 + 1e-5), 1e-6);
    const float *b = kn_net_buffers(n);
    assert_float_equal(b[0], 0.2, 1e-6);  /* 0.9 * 0 + 0.1 * mean 2 */
    assert_float_equal(b[1], 1.1, 1e-6);  /* 0.9 * 1 + 0.1 * unbiased var 2 */
    kn_net_set_training(n, 0);
    const float z[1] = {0.2f};
    assert_int_equal(kn_net_forward(n, z, 1, &y, &err), 0);
    assert_float_equal(y[0], 0, 1e-6);
    kn_net_free(n);
}

static void test_sgd_pytorch_form(void **state)
{
    (void)state;
    kn_optim_config c = kn_optim_sgd(0.1, 0.9);
    c.weight_decay = 0.01;
    kn_optim *o;
    kn_error err;
    assert_int_equal(kn_optim_create(&c, 1, &o, &err), 0);
    float p = 1, g = 0.5f;
    kn_optim_step(o, &p, &g); /* b = 0.51, p = 0.949 */
    assert_float_equal(p, 0.949, 1e-6);
    kn_optim_step(o, &p, &g); /* b = 0.9 * 0.51 + 0.5 + 0.00949 = 0.96849 */
    assert_float_equal(p, 0.852151, 1e-6);
    kn_optim_reset(o);
    p = 1;
    kn_optim_step(o, &p, &g);
    assert_float_equal(p, 0.949, 1e-6);
    kn_optim_free(o);
}

static void test_adam_and_rmsprop(void **state)
{
    (void)state;
    kn_optim_config c = kn_optim_adam(0.1);
    kn_optim *o;
    kn_error err;
    assert_int_equal(kn_optim_create(&c, 1, &o, &err), 0);
    float p = 1, g = 0.5f;
    kn_optim_step(o, &p, &g); /* bias-corrected m/sqrt(v) = 1: p -= 0.1 */
    assert_float_equal(p, 0.9, 1e-6);
    kn_optim_step(o, &p, &g);
    assert_float_equal(p, 0.8, 1e-5);
    kn_optim_free(o);
    c = kn_optim_rmsprop(0.01);
    assert_int_equal(kn_optim_create(&c, 1, &o, &err), 0);
    p = 1;
    kn_optim_step(o, &p, &g); /* v = 0.01 * 0.25; p -= 0.01 * 0.5 / 0.05 = 0.1 */
    assert_float_equal(p, 0.9, 1e-5);
    kn_optim_free(o);
    c = kn_optim_sgd(0.1, 1.5);
    assert_int_equal(kn_optim_create(&c, 1, &o, &err), KN_EINVAL);
    assert_non_null(strstr(err.msg, "momentum"));
}

static void test_step_lr(void **state)
{
    (void)state;
    assert_float_equal(kn_step_lr(1e-3, 0.1, 7, 0), 1e-3, 1e-15);
    assert_float_equal(kn_step_lr(1e-3, 0.1, 7, 6), 1e-3, 1e-15);
    assert_float_equal(kn_step_lr(1e-3, 0.1, 7, 7), 1e-4, 1e-15);
    assert_float_equal(kn_step_lr(1e-3, 0.1, 7, 20), 1e-5, 1e-15);
}

static void test_init_bounds_and_determinism(void **state)
{
    (void)state;
    kn_net *a = net_new(100, 1, 1), *b = net_new(100, 1, 1), *c = net_new(100, 1, 1);
    kn_error err;
    kn_net *all[3] = {a, b, c};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(kn_net_add_dense(all[i], 50, &err), 0);
        assert_int_equal(kn_net_add_batchnorm(all[i], &err), 0);
    }
    net_build(a, 7);
    net_build(b, 7);
    net_build(c, 8);
    size_t np = kn_net_n_params(a);
    assert_int_equal(np, 100 * 50 + 50 + 100);
    assert_memory_equal(kn_net_params(a), kn_net_params(b), np * sizeof(float));
    assert_true(memcmp(kn_net_params(a), kn_net_params(c), np * sizeof(float)) != 0);
    const float *p = kn_net_params(a);
    double mx = 0, s2 = 0;
    for (size_t i = 0; i < 5050; i++) {
        mx = fmax(mx, fabs(p[i]));
        s2 += p[i] * p[i];
    }
    assert_true(mx <= 0.1 + 1e-7);               /* bound 1/sqrt(100) */
    assert_float_equal(s2 / 5050, 0.01 / 3, 5e-4); /* variance of U(-b, b) = b^2 / 3 */
    assert_float_equal(p[5050], 1, 0);           /* BN gamma */
    assert_float_equal(p[5100], 0, 0);           /* BN beta */
    for (int i = 0; i < 3; i++)
        kn_net_free(all[i]);
}

static void test_save_load_round_trip(void **state)
{
    (void)state;
    kn_net *a = net_new(1, 6, 6), *b = net_new(1, 6, 6);
    kn_error err;
    kn_net *both[2] = {a, b};
    for (int i = 0; i < 2; i++) {
        assert_int_equal(kn_net_add_conv2d(both[i], 2, 3, 1, 0, &err), 0);
        assert_int_equal(kn_net_add_batchnorm(both[i], &err), 0);
        assert_int_equal(kn_net_add_flatten(both[i], &err), 0);
        assert_int_equal(kn_net_add_dense(both[i], 3, &err), 0);
    }
    net_build(a, 1);
    net_build(b, 2);
    float x[72];
    for (int i = 0; i < 72; i++)
        x[i] = (float)sin(i);
    const float *y;
    assert_int_equal(kn_net_forward(a, x, 2, &y, &err), 0); /* moves running stats */
    const char *path = kt_path(kt_scratch_dir("nn"), "net.safetensors");
    kn_st_writer w;
    kn_st_writer_init(&w);
    assert_int_equal(kn_net_write_tensors(a, "m.", &w, &err), 0);
    assert_int_equal(kn_st_writer_write(&w, path, &err), 0);
    kn_st_writer_free(&w);
    kn_st_file f;
    assert_int_equal(kn_st_read(path, &f, &err), 0);
    assert_non_null(kn_st_find(&f, "m.layer1.running_var"));
    assert_int_equal(kn_net_read_tensors(b, "m.", &f, &err), 0);
    assert_memory_equal(kn_net_params(a), kn_net_params(b), kn_net_n_params(a) * sizeof(float));
    assert_memory_equal(kn_net_buffers(a), kn_net_buffers(b), kn_net_n_buffers(a) * sizeof(float));
    /* a net of another shape is refused, naming the tensor */
    kn_net *c = net_new(1, 6, 6);
    assert_int_equal(kn_net_add_conv2d(c, 3, 3, 1, 0, &err), 0);
    net_build(c, 1);
    assert_int_not_equal(kn_net_read_tensors(c, "m.", &f, &err), 0);
    assert_non_null(strstr(err.msg, "m.layer0.weight"));
    kn_st_free(&f);
    kn_net_free(a);
    kn_net_free(b);
    kn_net_free(c);
}

static void test_clone_and_train_step(void **state)
{
    (void)state;
    kn_net *a = net_new(3, 1, 1);
    kn_error err;
    assert_int_equal(kn_net_add_dense(a, 8, &err), 0);
    assert_int_equal(kn_net_add_relu(a, &err), 0);
    assert_int_equal(kn_net_add_dense(a, 2, &err), 0);
    net_build(a, 3);
    kn_net *b;
    assert_int_equal(kn_net_clone(a, &b, &err), 0);
    assert_memory_equal(kn_net_params(a), kn_net_params(b), kn_net_n_params(a) * sizeof(float));
    /* learning a separable problem drives the loss down */
    kn_optim_config c = kn_optim_sgd(0.1, 0.9);
    kn_optim *o;
    assert_int_equal(kn_optim_create(&c, kn_net_n_params(a), &o, &err), 0);
    float x[24];
    int32_t y[8];
    for (int i = 0; i < 8; i++) {
        y[i] = i % 2;
        x[3 * i] = y[i] ? 1.0f : -1.0f;
        x[3 * i + 1] = (float)(i % 3) * 0.1f;
        x[3 * i + 2] = 0.5f;
    }
    double first = 0, loss = 0;
    for (int it = 0; it < 50; it++) {
        assert_int_equal(kn_net_train_step(a, o, x, y, 8, NULL, &loss, &err), 0);
        if (it == 0)
            first = loss;
    }
    assert_true(loss < 0.1 * first);
    assert_true(memcmp(kn_net_params(a), kn_net_params(b), kn_net_n_params(a) * sizeof(float)));
    kn_optim_free(o);
    kn_net_free(a);
    kn_net_free(b);
}

static void test_bad_inputs(void **state)
{
    (void)state;
    kn_net *n;
    kn_error err;
    assert_int_equal(kn_net_create(&n, 0, 1, 1, &err), KN_EINVAL);
    assert_non_null(strstr(err.msg, "input shape"));
    n = net_new(2, 5, 5);
    assert_int_equal(kn_net_add_conv2d(n, 2, 7, 1, 0, &err), KN_EINVAL);
    assert_non_null(strstr(err.msg, "kernel 7"));
    assert_int_equal(kn_net_add_dense(n, 0, &err), KN_EINVAL);
    const float x[50] = {0};
    assert_int_equal(kn_net_forward(n, x, 1, NULL, &err), KN_ESTATE);
    assert_int_equal(kn_net_backward(n, x, NULL, &err), KN_ESTATE);
    assert_int_equal(kn_net_add_dense(n, 3, &err), 0);
    net_build(n, 1);
    assert_int_equal(kn_net_add_relu(n, &err), KN_ESTATE);
    assert_int_equal(kn_net_backward(n, x, NULL, &err), KN_ESTATE);
    assert_non_null(strstr(err.msg, "no forward"));
    float logits[6] = {0}, d[6];
    int32_t y[2] = {0, 3};
    double loss;
    assert_int_equal(kn_loss_cross_entropy(logits, 2, 3, y, NULL, &loss, d, &err), KN_EINVAL);
    assert_non_null(strstr(err.msg, "row 1"));
    uint8_t mask[3] = {0, 1, 1};
    y[1] = 1;
    assert_int_equal(kn_loss_cross_entropy(logits, 2, 3, y, mask, &loss, d, &err), KN_EINVAL);
    assert_non_null(strstr(err.msg, "row 0"));
    assert_non_null(strstr(err.msg, "not an active output"));
    kn_net_free(n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dense_known_answer),
        cmocka_unit_test(test_conv_pool_known_answer),
        cmocka_unit_test(test_batchnorm_running_stats),
        cmocka_unit_test(test_sgd_pytorch_form),
        cmocka_unit_test(test_adam_and_rmsprop),
        cmocka_unit_test(test_step_lr),
        cmocka_unit_test(test_init_bounds_and_determinism),
        cmocka_unit_test(test_save_load_round_trip),
        cmocka_unit_test(test_clone_and_train_step),
        cmocka_unit_test(test_bad_inputs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
