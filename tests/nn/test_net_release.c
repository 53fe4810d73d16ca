/* Tests of kn_net_release_buffers (kenyon/nn.h): after a large evaluation pass and a release,
 * training steps give bit-identical gradients, parameters and running statistics to a net that
 * kept its buffers; a backward straight after a release is refused (no forward state); a
 * release of a fresh net and a double release are harmless. */
#include <stdlib.h>
#include <string.h>

#include "kenyon/nn.h"
#include "kenyon/rng.h"
#include "test_support.h"

enum { D = 11, H = 20, C = 4, N = 300, B = 16 };

static kn_net *small_net(void)
{
    kn_net *net;
    kn_error err;
    assert_int_equal(kn_net_create(&net, D, 1, 1, &err), 0);
    assert_int_equal(kn_net_add_dense(net, H, &err), 0);
    assert_int_equal(kn_net_add_batchnorm(net, &err), 0);
    assert_int_equal(kn_net_add_relu(net, &err), 0);
    assert_int_equal(kn_net_add_dense(net, C, &err), 0);
    kn_rng rng;
    kn_rng_seed(&rng, 3);
    assert_int_equal(kn_net_build(net, &rng, &err), 0);
    return net;
}

static void test_release_keeps_results(void **st)
{
    (void)st;
    kn_net *a = small_net(), *b;
    kn_error err;
    assert_int_equal(kn_net_clone(a, &b, &err), 0);
    float *x = malloc(N * D * sizeof *x), *out = malloc(N * C * sizeof *out);
    int32_t *y = malloc(N * sizeof *y);
    assert_non_null(x);
    assert_non_null(out);
    assert_non_null(y);
    kn_rng rng;
    kn_rng_seed(&rng, 4);
    for (size_t i = 0; i < (size_t)N * D; i++)
        x[i] = (float)(2 * kn_rng_uniform(&rng) - 1);
    for (int i = 0; i < N; i++)
        y[i] = i % C;
    kn_net *nets[2] = {a, b};
    for (int round = 0; round < 3; round++) {
        for (int k = 0; k < 2; k++) {
            kn_net_set_training(nets[k], 0);
            assert_int_equal(kn_net_predict(nets[k], x, N, out, &err), 0);
            kn_net_set_training(nets[k], 1);
            if (k == 1)
                kn_net_release_buffers(nets[k]); /* only b gives its buffers back */
            kn_net_zero_grad(nets[k]);
            assert_int_equal(kn_net_loss_grad(nets[k], x + round * B * D, y + round * B, B, NULL,
                                              NULL, &err), 0);
            kn_real *p = kn_net_params(nets[k]), *g = kn_net_grads(nets[k]);
            for (size_t i = 0; i < kn_net_n_params(nets[k]); i++)
                p[i] -= 0.1f * g[i];
        }
        assert_memory_equal(kn_net_grads(a), kn_net_grads(b), kn_net_n_params(a) * sizeof(kn_real));
        assert_memory_equal(kn_net_params(a), kn_net_params(b), kn_net_n_params(a) * sizeof(kn_real));
        assert_memory_equal(kn_net_buffers(a), kn_net_buffers(b),
                            kn_net_n_buffers(a) * sizeof(kn_real));
    }
    /* the steps moved the parameters (the comparison is not between untouched nets) */
    kn_net *fresh = small_net();
    assert_memory_not_equal(kn_net_params(a), kn_net_params(fresh),
                            kn_net_n_params(a) * sizeof(kn_real));
    /* after a release there is no forward to differentiate */
    kn_net_release_buffers(b);
    kn_net_release_buffers(b);
    float dout[C] = {0};
    assert_int_equal(kn_net_backward(b, dout, NULL, &err), KN_ESTATE);
    kn_net_release_buffers(fresh); /* never ran: nothing to free */
    kn_net_free(fresh);
    kn_net_free(a);
    kn_net_free(b);
    free(x);
    free(out);
    free(y);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_release_keeps_results),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
