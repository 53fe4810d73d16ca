/* Tests of kn_net_group_grads (kenyon/nn.h), GEM's one-pass memory gradients: on a net shaped
 * like GEM's (dense, relu, dense, batchnorm, relu, dense) every group's gradient row, and the
 * BatchNorm running statistics afterwards, must be bit-identical to one kn_net_zero_grad +
 * kn_net_loss_grad per group in order, over groups of mixed sizes (an empty group among them) and
 * with the workspace reused. The net's own gradient vector must be left alone, and a single call on the
 * concatenated groups must differ (BatchNorm statistics per group are what is tested). Bad
 * arguments are refused. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kenyon/nn.h"
#include "kenyon/rng.h"
#include "test_support.h"

enum { D = 13, H = 24, C = 5, NG = 6 };

static kn_net *gem_like_net(uint64_t seed)
{
    kn_net *net;
    kn_error err;
    assert_int_equal(kn_net_create(&net, D, 1, 1, &err), 0);
    assert_int_equal(kn_net_add_dense(net, H, &err), 0);
    assert_int_equal(kn_net_add_relu(net, &err), 0);
    assert_int_equal(kn_net_add_dense(net, H, &err), 0);
    assert_int_equal(kn_net_add_batchnorm(net, &err), 0);
    assert_int_equal(kn_net_add_relu(net, &err), 0);
    assert_int_equal(kn_net_add_dense(net, C, &err), 0);
    kn_rng rng;
    kn_rng_seed(&rng, seed);
    assert_int_equal(kn_net_build(net, &rng, &err), 0);
    /* non-trivial BatchNorm affine parameters and running statistics */
    size_t off, cnt;
    kn_net_layer_params(net, 3, &off, &cnt, NULL);
    kn_fill_uniform(kn_net_params(net) + off, cnt, 0.7, &rng);
    for (size_t i = 0; i < kn_net_n_buffers(net); i++)
        kn_net_buffers(net)[i] = (kn_real)(0.5 + kn_rng_uniform(&rng));
    return net;
}

typedef struct groups {
    size_t rows[NG];
    kn_real *x[NG];
    int32_t *y[NG];
} groups;

/* Group sizes: 7, empty, 600, 33, 16, 64. */
static void make_groups(groups *g, uint64_t seed)
{
    static const size_t sizes[NG] = {7, 0, 600, 33, 16, 64};
    kn_rng rng;
    kn_rng_seed(&rng, seed);
    for (int k = 0; k < NG; k++) {
        g->rows[k] = sizes[k];
        g->x[k] = malloc((sizes[k] ? sizes[k] : 1) * D * sizeof(kn_real));
        g->y[k] = malloc((sizes[k] ? sizes[k] : 1) * sizeof(int32_t));
        assert_non_null(g->x[k]);
        assert_non_null(g->y[k]);
        for (size_t i = 0; i < sizes[k] * D; i++)
            g->x[k][i] = (kn_real)(2 * kn_rng_uniform(&rng) - 1 + 0.3 * k);
        for (size_t i = 0; i < sizes[k]; i++)
            g->y[k][i] = (int32_t)(kn_rng_uniform(&rng) * C);
    }
}

static void free_groups(groups *g)
{
    for (int k = 0; k < NG; k++) {
        free(g->x[k]);
        free(g->y[k]);
    }
}

/* The reference: one zero_grad + loss_grad per group. */
static void reference_grads(kn_net *net, const groups *g, kn_real *G)
{
    const size_t np = kn_net_n_params(net);
    kn_error err;
    for (int k = 0; k < NG; k++) {
        if (g->rows[k] == 0) {
            memset(G + k * np, 0, np * sizeof *G);
            continue;
        }
        kn_net_zero_grad(net);
        assert_int_equal(kn_net_loss_grad(net, g->x[k], g->y[k], g->rows[k], NULL, NULL, &err), 0);
        memcpy(G + k * np, kn_net_grads(net), np * sizeof *G);
    }
}

static void test_identical(void **st)
{
    (void)st;
    kn_net *ref = gem_like_net(5), *net;
    kn_error err;
    assert_int_equal(kn_net_clone(ref, &net, &err), 0);
    const size_t np = kn_net_n_params(ref), nb = kn_net_n_buffers(ref);
    const size_t ld = np + 3; /* a stride beyond the row, to catch writes past it */
    kn_real *G0 = malloc(NG * np * sizeof *G0), *G1 = malloc(NG * ld * sizeof *G1);
    assert_non_null(G0);
    assert_non_null(G1);
    for (size_t i = 0; i < np; i++)
        kn_net_grads(net)[i] = (kn_real)i; /* must survive */
    kn_net_group_ws *ws = kn_net_group_ws_create();
    assert_non_null(ws);
    for (int round = 0; round < 2; round++) { /* the second reuses the workspace */
        groups g;
        make_groups(&g, 11 + (uint64_t)round);
        reference_grads(ref, &g, G0);
        for (size_t i = 0; i < NG * ld; i++)
            G1[i] = -7; /* the gaps past each row must stay */
        assert_int_equal(kn_net_group_grads(net, ws, (const kn_real *const *)g.x,
                                            (const int32_t *const *)g.y, g.rows, NG, G1, ld,
                                            &err), 0);
        int nonzero = 0;
        for (int k = 0; k < NG; k++) {
            assert_memory_equal(G0 + k * np, G1 + k * ld, np * sizeof *G0);
            for (size_t i = np; i < ld; i++)
                assert_true(G1[k * ld + i] == -7);
            for (size_t i = 0; i < np; i++)
                nonzero += G0[k * np + i] != 0;
        }
        assert_true(nonzero > (int)(np)); /* the comparison is not between zero vectors */
        assert_memory_equal(kn_net_buffers(ref), kn_net_buffers(net), nb * sizeof(kn_real));
        free_groups(&g);
    }
    for (size_t i = 0; i < np; i++)
        assert_true(kn_net_grads(net)[i] == (kn_real)i);
    kn_net_group_ws_free(ws);
    kn_net_free(ref);
    kn_net_free(net);
    free(G0);
    free(G1);
}

/* Statistics per group matter: one call over the concatenation gives other gradients. */
static void test_statistics_are_per_group(void **st)
{
    (void)st;
    kn_net *a = gem_like_net(6), *b;
    kn_error err;
    assert_int_equal(kn_net_clone(a, &b, &err), 0);
    const size_t np = kn_net_n_params(a);
    groups g;
    make_groups(&g, 3);
    /* groups 3 and 4 (33 and 16 rows) as two groups, and as one of 49 rows */
    kn_real *G = malloc(2 * np * sizeof *G), *x = malloc(49 * D * sizeof *x);
    int32_t *y = malloc(49 * sizeof *y);
    assert_non_null(G);
    assert_non_null(x);
    assert_non_null(y);
    memcpy(x, g.x[3], 33 * D * sizeof *x);
    memcpy(x + 33 * D, g.x[4], 16 * D * sizeof *x);
    memcpy(y, g.y[3], 33 * sizeof *y);
    memcpy(y + 33, g.y[4], 16 * sizeof *y);
    kn_net_group_ws *ws = kn_net_group_ws_create();
    assert_non_null(ws);
    assert_int_equal(kn_net_group_grads(a, ws, (const kn_real *const *)(g.x + 3),
                                        (const int32_t *const *)(g.y + 3), g.rows + 3, 2, G, np,
                                        &err), 0);
    kn_net_zero_grad(b);
    assert_int_equal(kn_net_loss_grad(b, x, y, 49, NULL, NULL, &err), 0);
    /* the joint gradient of 49 rows is not the row-weighted mix of the two groups' gradients */
    double diff = 0;
    for (size_t i = 0; i < np; i++)
        diff += fabs((33.0 * G[i] + 16.0 * G[np + i]) / 49.0 - kn_net_grads(b)[i]);
    assert_true(diff > 1e-3);
    kn_net_group_ws_free(ws);
    free_groups(&g);
    free(G);
    free(x);
    free(y);
    kn_net_free(a);
    kn_net_free(b);
}

static void test_bad_arguments(void **st)
{
    (void)st;
    kn_net *net = gem_like_net(7), *conv;
    kn_error err;
    const size_t np = kn_net_n_params(net);
    groups g;
    make_groups(&g, 4);
    kn_real *G = malloc(NG * np * sizeof *G);
    assert_non_null(G);
    kn_net_group_ws *ws = kn_net_group_ws_create();
    assert_non_null(ws);
    /* a row stride shorter than the gradient */
    assert_int_equal(kn_net_group_grads(net, ws, (const kn_real *const *)g.x,
                                        (const int32_t *const *)g.y, g.rows, NG, G, np - 1, &err),
                     KN_EINVAL);
    assert_non_null(strstr(err.msg, "stride"));
    /* a label out of range is named by the loss */
    g.y[3][2] = C;
    assert_int_not_equal(kn_net_group_grads(net, ws, (const kn_real *const *)g.x,
                                            (const int32_t *const *)g.y, g.rows, NG, G, np, &err),
                         0);
    /* a layer the pass does not support */
    assert_int_equal(kn_net_create(&conv, 1, 6, 6, &err), 0);
    assert_int_equal(kn_net_add_conv2d(conv, 2, 3, 1, 0, &err), 0);
    assert_int_equal(kn_net_add_flatten(conv, &err), 0);
    assert_int_equal(kn_net_add_dense(conv, C, &err), 0);
    kn_rng rng;
    kn_rng_seed(&rng, 1);
    assert_int_equal(kn_net_build(conv, &rng, &err), 0);
    kn_net_group_ws *ws2 = kn_net_group_ws_create();
    assert_non_null(ws2);
    assert_int_equal(kn_net_group_grads(conv, ws2, (const kn_real *const *)g.x,
                                        (const int32_t *const *)g.y, g.rows, 1, G, np, &err),
                     KN_EINVAL);
    assert_non_null(strstr(err.msg, "layer 0"));
    kn_net_group_ws_free(ws2);
    kn_net_group_ws_free(ws);
    kn_net_free(conv);
    kn_net_free(net);
    free_groups(&g);
    free(G);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_identical),
        cmocka_unit_test(test_statistics_are_per_group),
        cmocka_unit_test(test_bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
