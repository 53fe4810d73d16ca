/* Tests of BatchNorm1d (one value per channel and row), whose kernels read the rows in order,
 * a block of channels at a time: the outputs, running statistics, input gradient and
 * gamma/beta gradients must be bit-identical to the column-wise loops (each channel's sums over
 * the rows in row order, in double) written out here, in training and in evaluation mode, with
 * a channel count that leaves a partial last block. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kenyon/nn.h"
#include "test_support.h"

enum { C = 600, ROWS = 37 };

#define EPS 1e-5
#define MOM 0.1

/* The reference: channel after channel, as kn_bn_forward / kn_bn_backward do for h = w > 1. */
static void reference(const float *x, const float *dy, size_t n, int training, const float *gamma,
                      const float *beta, float *rmean, float *rvar, float *y, float *dx,
                      float *dgamma, float *dbeta)
{
    float *xh = malloc(n * C * sizeof *xh);
    assert_non_null(xh);
    const double count = (double)n;
    for (size_t c = 0; c < C; c++) {
        double mean, var;
        if (training) {
            double s = 0, s2 = 0;
            for (size_t r = 0; r < n; r++)
                s += x[r * C + c];
            mean = s / count;
            for (size_t r = 0; r < n; r++) {
                double dv = x[r * C + c] - mean;
                s2 += dv * dv;
            }
            var = s2 / count;
            double unbiased = count > 1 ? s2 / (count - 1) : var;
            rmean[c] = (float)((1 - MOM) * rmean[c] + MOM * mean);
            rvar[c] = (float)((1 - MOM) * rvar[c] + MOM * unbiased);
        } else {
            mean = rmean[c];
            var = rvar[c];
        }
        double is = 1.0 / sqrt(var + EPS);
        for (size_t r = 0; r < n; r++) {
            float h = (float)((x[r * C + c] - mean) * is);
            xh[r * C + c] = h;
            y[r * C + c] = gamma[c] * h + beta[c];
        }
        double sdy = 0, sdyx = 0;
        for (size_t r = 0; r < n; r++) {
            sdy += dy[r * C + c];
            sdyx += (double)dy[r * C + c] * xh[r * C + c];
        }
        dgamma[c] += (float)sdyx;
        dbeta[c] += (float)sdy;
        const double gi = gamma[c] * is;
        for (size_t r = 0; r < n; r++) {
            const float g = dy[r * C + c], h = xh[r * C + c];
            dx[r * C + c] = training ? (float)(gi * (g - sdy / count - h * sdyx / count))
                                     : (float)(gi * g);
        }
    }
    free(xh);
}

static void check_mode(int training)
{
    kn_net *net;
    kn_error err;
    assert_int_equal(kn_net_create(&net, C, 1, 1, &err), 0);
    assert_int_equal(kn_net_add_batchnorm(net, &err), 0);
    kn_rng r;
    kn_rng_seed(&r, 11);
    assert_int_equal(kn_net_build(net, &r, &err), 0);
    assert_int_equal(kn_net_n_params(net), 2 * C);
    assert_int_equal(kn_net_n_buffers(net), 2 * C);
    float *p = kn_net_params(net), *b = kn_net_buffers(net);
    for (size_t c = 0; c < C; c++) { /* non-trivial gamma, beta and running statistics */
        p[c] = (float)(0.5 + kn_rng_uniform(&r));
        p[C + c] = (float)(kn_rng_uniform(&r) - 0.5);
        b[c] = (float)(kn_rng_uniform(&r) - 0.5);
        b[C + c] = (float)(0.5 + kn_rng_uniform(&r));
    }
    float *x = malloc(ROWS * C * sizeof *x), *dy = malloc(ROWS * C * sizeof *dy);
    float *dx = malloc(ROWS * C * sizeof *dx), *y_ref = malloc(ROWS * C * sizeof *y_ref);
    float *dx_ref = malloc(ROWS * C * sizeof *dx_ref);
    float rstat[2 * C], dpar[2 * C];
    assert_non_null(x);
    assert_non_null(dy);
    assert_non_null(dx);
    assert_non_null(y_ref);
    assert_non_null(dx_ref);
    for (size_t i = 0; i < ROWS * C; i++) {
        x[i] = (float)(3 * kn_rng_uniform(&r) - 1);
        dy[i] = (float)(kn_rng_uniform(&r) - 0.5);
    }
    memcpy(rstat, b, sizeof rstat);
    for (size_t i = 0; i < 2 * C; i++)
        dpar[i] = 0.25f; /* the backward adds onto the gradients */
    reference(x, dy, ROWS, training, p, p + C, rstat, rstat + C, y_ref, dx_ref, dpar, dpar + C);

    kn_net_set_training(net, training);
    const float *y;
    assert_int_equal(kn_net_forward(net, x, ROWS, &y, &err), 0);
    float *g = kn_net_grads(net);
    for (size_t i = 0; i < 2 * C; i++)
        g[i] = 0.25f;
    assert_int_equal(kn_net_backward(net, dy, dx, &err), 0);
    assert_memory_equal(y, y_ref, ROWS * C * sizeof(float));
    assert_memory_equal(kn_net_buffers(net), rstat, sizeof rstat);
    assert_memory_equal(dx, dx_ref, ROWS * C * sizeof(float));
    assert_memory_equal(kn_net_grads(net), dpar, sizeof dpar);
    /* not vacuous: the output is normalised, not the input */
    assert_true(memcmp(y, x, ROWS * C * sizeof(float)) != 0);
    free(x);
    free(dy);
    free(dx);
    free(y_ref);
    free(dx_ref);
    kn_net_free(net);
}

static void test_training_mode(void **state)
{
    (void)state;
    check_mode(1);
}

static void test_evaluation_mode(void **state)
{
    (void)state;
    check_mode(0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_training_mode),
        cmocka_unit_test(test_evaluation_mode),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
