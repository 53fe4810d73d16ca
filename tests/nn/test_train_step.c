/* Tests of the fused training step (kn_net_train_step): the backward pass that overwrites the
 * gradients and steps each layer's parameters as soon as their gradient is complete must leave
 * the parameters, the gradient vector and the optimiser state bit-identical to kn_net_zero_grad,
 * kn_net_loss_grad and one kn_optim_step done one after the other. Covered: every optimiser
 * (SGD with and without momentum and weight decay, Adam, RMSprop), several steps (the first SGD
 * momentum step is special; with momentum the weight gradient GEMM accumulates onto the momentum
 * buffer, so its gradients are not stored and the parameters carry the check), a dense layer whose weight gradient is stepped in several row
 * blocks with a shorter last block, BatchNorm and convolution layers (stepped after their own
 * backward), stale gradients left before the step, and a partial last batch. */
#include <stdlib.h>
#include <string.h>

#include "kenyon/gemm.h"
#include "kenyon/nn.h"
#include "test_support.h"

enum { IN = 784, HIDDEN = 700, CLASSES = 7, BATCH = 64, STEPS = 3 };

/* 784 -> 700 (3 row blocks of the fused step: 320, 320, 60) -> ReLU -> 50 -> BatchNorm -> ReLU
 * -> 7. */
static kn_net *mlp_new(uint64_t seed)
{
    kn_net *n;
    kn_error err;
    assert_int_equal(kn_net_create(&n, IN, 1, 1, &err), 0);
    assert_int_equal(kn_net_add_dense(n, HIDDEN, &err), 0);
    assert_int_equal(kn_net_add_relu(n, &err), 0);
    assert_int_equal(kn_net_add_dense(n, 50, &err), 0);
    assert_int_equal(kn_net_add_batchnorm(n, &err), 0);
    assert_int_equal(kn_net_add_relu(n, &err), 0);
    assert_int_equal(kn_net_add_dense(n, CLASSES, &err), 0);
    kn_rng r;
    kn_rng_seed(&r, seed);
    assert_int_equal(kn_net_build(n, &r, &err), 0);
    return n;
}

/* 1 x 28 x 28 -> conv 4 x 5x5 -> ReLU -> maxpool 2 -> flatten -> 7 (784 inputs as the MLP). */
static kn_net *conv_new(uint64_t seed)
{
    kn_net *n;
    kn_error err;
    assert_int_equal(kn_net_create(&n, 1, 28, 28, &err), 0);
    assert_int_equal(kn_net_add_conv2d(n, 4, 5, 1, 0, &err), 0);
    assert_int_equal(kn_net_add_relu(n, &err), 0);
    assert_int_equal(kn_net_add_maxpool2d(n, 2, 2, &err), 0);
    assert_int_equal(kn_net_add_flatten(n, &err), 0);
    assert_int_equal(kn_net_add_dense(n, CLASSES, &err), 0);
    kn_rng r;
    kn_rng_seed(&r, seed);
    assert_int_equal(kn_net_build(n, &r, &err), 0);
    return n;
}

static void make_data(float *x, int32_t *y, size_t n)
{
    kn_rng r;
    kn_rng_seed(&r, 7);
    for (size_t i = 0; i < n * IN; i++)
        x[i] = (float)kn_rng_uniform(&r);
    for (size_t i = 0; i < n; i++)
        y[i] = (int32_t)((i * 5 + 3) % CLASSES);
}

/* Trains two copies of the same net, one with kn_net_train_step, one with the separate calls,
 * and requires the same bits after every step. */
static void check_same_bits(kn_net *(*make)(uint64_t), kn_optim_config cfg)
{
    /* The last batch is partial: 44 rows, so the 700 -> 50 layer's weight-gradient product
     * (50 x 700 x 44) falls below the size where the momentum is folded into the GEMM, after two
     * steps where it was folded. */
    const size_t n_rows = STEPS * BATCH - 20;
    float *x = malloc(n_rows * IN * sizeof *x);
    int32_t *y = malloc(n_rows * sizeof *y);
    assert_non_null(x);
    assert_non_null(y);
    make_data(x, y, n_rows);
    kn_net *fused = make(3), *plain = make(3);
    size_t np = kn_net_n_params(fused);
    float *start = malloc(np * sizeof *start);
    assert_non_null(start);
    memcpy(start, kn_net_params(fused), np * sizeof *start);
    kn_optim *of, *op;
    kn_error err;
    assert_int_equal(kn_optim_create(&cfg, np, &of, &err), 0);
    assert_int_equal(kn_optim_create(&cfg, np, &op, &err), 0);
    /* Stale gradients: the fused step must overwrite them, not add to them. */
    float *g = kn_net_grads(fused);
    for (size_t i = 0; i < np; i++)
        g[i] = 1000.0f;
    /* SGD with momentum on OpenBLAS folds the momentum into the weight-gradient GEMM. */
    const int folded = cfg.kind == KN_OPTIM_SGD && cfg.momentum > 0 && make == mlp_new &&
                       kn_gemm_backend_used() == KN_GEMM_OPENBLAS;
    for (size_t i = 0; i < n_rows; i += BATCH) {
        size_t m = n_rows - i < BATCH ? n_rows - i : BATCH;
        double lf = 0, lp = 0;
        assert_int_equal(kn_net_train_step(fused, of, x + i * IN, y + i, m, NULL, &lf, &err), 0);
        kn_net_zero_grad(plain);
        assert_int_equal(kn_net_loss_grad(plain, x + i * IN, y + i, m, NULL, &lp, &err), 0);
        kn_optim_step(op, kn_net_params(plain), kn_net_grads(plain));
        assert_true(lf == lp);
        if (folded) {
            /* The dense weight gradients went into the momentum buffer: the first layer's
             * entries keep the stale values (kn_net_train_step's contract), the biases behind
             * them are stored. */
            for (size_t k = 0; k < (size_t)HIDDEN * IN; k++)
                assert_true(g[k] == 1000.0f);
            assert_memory_equal(g + (size_t)HIDDEN * IN, kn_net_grads(plain) + (size_t)HIDDEN * IN,
                                HIDDEN * sizeof(float));
        } else {
            assert_memory_equal(kn_net_grads(fused), kn_net_grads(plain), np * sizeof(float));
        }
        assert_memory_equal(kn_net_params(fused), kn_net_params(plain), np * sizeof(float));
        assert_memory_equal(kn_net_buffers(fused), kn_net_buffers(plain),
                            kn_net_n_buffers(fused) * sizeof(float));
    }
    /* Not vacuous: training moved the parameters. */
    assert_true(memcmp(start, kn_net_params(fused), np * sizeof *start) != 0);
    free(start);
    kn_optim_free(of);
    kn_optim_free(op);
    kn_net_free(fused);
    kn_net_free(plain);
    free(x);
    free(y);
}

static void test_sgd_momentum(void **state)
{
    (void)state;
    kn_optim_config c = kn_optim_sgd(0.05, 0.9);
    c.weight_decay = 0.01;
    check_same_bits(mlp_new, c);
}

/* Without weight decay the folded step leaves the momentum buffer as the GEMM wrote it. */
static void test_sgd_momentum_no_decay(void **state)
{
    (void)state;
    check_same_bits(mlp_new, kn_optim_sgd(0.05, 0.9));
}

static void test_sgd_plain(void **state)
{
    (void)state;
    check_same_bits(mlp_new, kn_optim_sgd(0.1, 0));
}

static void test_adam(void **state)
{
    (void)state;
    check_same_bits(mlp_new, kn_optim_adam(1e-3));
}

static void test_rmsprop(void **state)
{
    (void)state;
    check_same_bits(mlp_new, kn_optim_rmsprop(1e-3));
}

static void test_conv_net(void **state)
{
    (void)state;
    check_same_bits(conv_new, kn_optim_sgd(0.05, 0.9));
}

/* An optimiser over a different number of parameters than the net's (allowed by the API) takes
 * the unfused path; it must still step exactly as the separate calls do. */
static void test_other_optimiser_size(void **state)
{
    (void)state;
    const size_t n_rows = BATCH;
    float *x = malloc(n_rows * IN * sizeof *x);
    int32_t *y = malloc(n_rows * sizeof *y);
    assert_non_null(x);
    assert_non_null(y);
    make_data(x, y, n_rows);
    kn_net *a = mlp_new(5), *b = mlp_new(5);
    size_t np = kn_net_n_params(a);
    kn_optim_config c = kn_optim_sgd(0.05, 0.9);
    kn_optim *oa, *ob;
    kn_error err;
    assert_int_equal(kn_optim_create(&c, np - 7, &oa, &err), 0);
    assert_int_equal(kn_optim_create(&c, np - 7, &ob, &err), 0);
    assert_int_equal(kn_net_train_step(a, oa, x, y, n_rows, NULL, NULL, &err), 0);
    kn_net_zero_grad(b);
    assert_int_equal(kn_net_loss_grad(b, x, y, n_rows, NULL, NULL, &err), 0);
    kn_optim_step(ob, kn_net_params(b), kn_net_grads(b));
    assert_memory_equal(kn_net_params(a), kn_net_params(b), np * sizeof(float));
    kn_optim_free(oa);
    kn_optim_free(ob);
    kn_net_free(a);
    kn_net_free(b);
    free(x);
    free(y);
}

/* The fused step keeps part of SGD's momentum buffer pre-multiplied; plain kn_optim_step
 * calls on the same optimiser, between fused steps, must still step exactly as if every step
 * had been a plain one. */
static void test_fused_and_plain_steps_mixed(void **state)
{
    (void)state;
    const size_t n_rows = 4 * BATCH;
    float *x = malloc(n_rows * IN * sizeof *x);
    int32_t *y = malloc(n_rows * sizeof *y);
    assert_non_null(x);
    assert_non_null(y);
    make_data(x, y, n_rows);
    kn_net *a = mlp_new(9), *b = mlp_new(9);
    size_t np = kn_net_n_params(a);
    kn_optim_config c = kn_optim_sgd(0.05, 0.9);
    kn_optim *oa, *ob;
    kn_error err;
    assert_int_equal(kn_optim_create(&c, np, &oa, &err), 0);
    assert_int_equal(kn_optim_create(&c, np, &ob, &err), 0);
    for (size_t i = 0; i < 4; i++) {
        const float *xb = x + i * BATCH * IN;
        const int32_t *yb = y + i * BATCH;
        if (i % 2 == 1) { /* plain first: the fused step then converts a non-zero buffer */
            assert_int_equal(kn_net_train_step(a, oa, xb, yb, BATCH, NULL, NULL, &err), 0);
        } else {
            kn_net_zero_grad(a);
            assert_int_equal(kn_net_loss_grad(a, xb, yb, BATCH, NULL, NULL, &err), 0);
            kn_optim_step(oa, kn_net_params(a), kn_net_grads(a));
        }
        kn_net_zero_grad(b);
        assert_int_equal(kn_net_loss_grad(b, xb, yb, BATCH, NULL, NULL, &err), 0);
        kn_optim_step(ob, kn_net_params(b), kn_net_grads(b));
        assert_memory_equal(kn_net_params(a), kn_net_params(b), np * sizeof(float));
    }
    /* after a reset both start again from a zero buffer */
    kn_optim_reset(oa);
    kn_optim_reset(ob);
    assert_int_equal(kn_net_train_step(a, oa, x, y, BATCH, NULL, NULL, &err), 0);
    kn_net_zero_grad(b);
    assert_int_equal(kn_net_loss_grad(b, x, y, BATCH, NULL, NULL, &err), 0);
    kn_optim_step(ob, kn_net_params(b), kn_net_grads(b));
    assert_int_equal(kn_net_train_step(a, oa, x + BATCH * IN, y + BATCH, BATCH, NULL, NULL, &err),
                     0);
    kn_net_zero_grad(b);
    assert_int_equal(kn_net_loss_grad(b, x + BATCH * IN, y + BATCH, BATCH, NULL, NULL, &err), 0);
    kn_optim_step(ob, kn_net_params(b), kn_net_grads(b));
    assert_memory_equal(kn_net_params(a), kn_net_params(b), np * sizeof(float));
    kn_optim_free(oa);
    kn_optim_free(ob);
    kn_net_free(a);
    kn_net_free(b);
    free(x);
    free(y);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sgd_momentum), cmocka_unit_test(test_sgd_momentum_no_decay),
        cmocka_unit_test(test_sgd_plain),
        cmocka_unit_test(test_adam),         cmocka_unit_test(test_rmsprop),
        cmocka_unit_test(test_conv_net),     cmocka_unit_test(test_other_optimiser_size),
        cmocka_unit_test(test_fused_and_plain_steps_mixed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
