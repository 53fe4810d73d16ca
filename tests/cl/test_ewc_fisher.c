/* EWC's batch Fisher (the default) against a reference computed here from per-sample gradients:
 * after a task, the curvature A of the penalty must equal (mean over the n-memories most recent
 * examples of the per-sample loss gradient on the task's outputs)^2, and a second task must add
 * its own Fisher to A. This pins the normalisation by the number of memories (a sum instead of
 * the mean would be N^2 too large and make lambda 1000 diverge), the chunked accumulation (600
 * memories: chunks of 256, 256 and 88) and which examples are kept. A is read back through the
 * penalty's gradient lambda A (theta - mu), with the weights displaced by +-delta. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cl/baselines.h"
#include "kenyon/learner.h"
#include "kenyon/rng.h"
#include "test_support.h"
#include "cl_tasks.h"

#define D 10
#define C 4
#define NTR 1000 /* training samples per task */
#define NMEM 600 /* memories kept: the last 600 of each task */
#define LAMBDA 100.0

static float xtr[2][NTR * D];
static int32_t ytr[2][NTR];

static void make_data(void)
{
    kn_rng r;
    kn_rng_seed(&r, 5);
    for (int t = 0; t < 2; t++)
        for (int i = 0; i < NTR; i++) {
            int c = 2 * t + i % 2;
            for (int j = 0; j < D; j++)
                xtr[t][i * D + j] =
                    (float)(kn_rng_normal(&r) + (j == c ? 2.0 : 0.0) + (j == 9 ? 1.5 : 0.0));
            ytr[t][i] = c;
        }
}

static void train_task(kn_learner *l, int t)
{
    const int32_t cls[2] = {2 * t, 2 * t + 1};
    cl_train_task(l, t, cls, xtr[t], ytr[t], NTR, D, 64);
}

/* (1/NMEM sum over task t's last NMEM samples of the per-sample loss gradient)^2, at the net's
 * current weights, one sample at a time (independent of the batch-mean convention). */
static void reference_fisher(kn_net *net, int t, double *F)
{
    size_t np = kn_net_n_params(net);
    uint8_t mask[C] = {0};
    mask[2 * t] = mask[2 * t + 1] = 1;
    double *g = calloc(np, sizeof *g);
    assert_non_null(g);
    kn_error err;
    for (int r = NTR - NMEM; r < NTR; r++) {
        kn_net_zero_grad(net);
        assert_int_equal(kn_net_loss_grad(net, xtr[t] + r * D, ytr[t] + r, 1, mask, NULL, &err),
                         0);
        const float *gr = kn_net_grads(net);
        for (size_t i = 0; i < np; i++)
            g[i] += gr[i];
    }
    kn_net_zero_grad(net);
    for (size_t i = 0; i < np; i++)
        F[i] = (g[i] / NMEM) * (g[i] / NMEM);
    free(g);
}

/* A from the penalty's gradient at theta + delta and theta - delta (theta restored after). */
static void read_curvature(kn_learner *l, double *A)
{
    kn_net *net = kn_bp_learner_net(l);
    size_t np = kn_net_n_params(net);
    float *p = kn_net_params(net), *theta = malloc(np * sizeof *theta);
    float *gp = malloc(np * sizeof *gp), *gm = malloc(np * sizeof *gm);
    assert_non_null(theta);
    assert_non_null(gp);
    assert_non_null(gm);
    memcpy(theta, p, np * sizeof *theta);
    const float delta = 1.0f / 64;
    kn_error err;
    for (size_t i = 0; i < np; i++)
        p[i] = theta[i] + delta;
    assert_int_equal(kn_ewc_penalty(l, NULL, NULL, gp, NULL, &err), 0);
    for (size_t i = 0; i < np; i++)
        p[i] = theta[i] - delta;
    assert_int_equal(kn_ewc_penalty(l, NULL, NULL, gm, NULL, &err), 0);
    for (size_t i = 0; i < np; i++)
        A[i] = ((double)gp[i] - gm[i]) / (LAMBDA * ((double)(theta[i] + delta) -
                                                    (double)(theta[i] - delta)));
    memcpy(p, theta, np * sizeof *theta);
    free(theta);
    free(gp);
    free(gm);
}

/* max |a - b| over the vector, as a fraction of max |b| (b must not be all zero) */
static double max_rel_diff(const double *a, const double *b, size_t n)
{
    double dmax = 0, bmax = 0;
    for (size_t i = 0; i < n; i++) {
        dmax = fmax(dmax, fabs(a[i] - b[i]));
        bmax = fmax(bmax, fabs(b[i]));
    }
    assert_true(bmax > 0);
    return dmax / bmax;
}

static void test_batch_fisher_is_the_squared_mean_gradient(void **state)
{
    (void)state;
    make_data();
    kn_learner_info info = {.d = D, .n_classes = C, .seed = 3};
    const kn_kv ov[] = {{"hidden", "24"}, {"lr", "0.02"}, {"minibatch", "16"},
                        {"lambda", "100"}, {"n-memories", "600"}, {"fisher", "batch"}};
    kn_learner *l = NULL;
    kn_error err;
    if (kn_learner_create("ewc", &info, ov, 6, &l, &err))
        fail_msg("ewc: %s", err.msg);
    kn_net *net = kn_bp_learner_net(l);
    size_t np = kn_net_n_params(net);
    double *F0 = malloc(np * sizeof *F0), *F1 = malloc(np * sizeof *F1);
    double *A = malloc(np * sizeof *A), *sum = malloc(np * sizeof *sum);
    assert_non_null(F0);
    assert_non_null(F1);
    assert_non_null(A);
    assert_non_null(sum);

    train_task(l, 0);
    reference_fisher(net, 0, F0);
    read_curvature(l, A);
    double e0 = max_rel_diff(A, F0, np);
    /* float gradients summed in another order: 4e-7 of the largest entry measured, 1e-5 allowed */
    printf("ewc batch Fisher, task 0: max |A - F| / max F = %.3g\n", e0);
    assert_true(e0 < 1e-5);

    train_task(l, 1);
    reference_fisher(net, 1, F1);
    read_curvature(l, A);
    for (size_t i = 0; i < np; i++)
        sum[i] = F0[i] + F1[i];
    double e1 = max_rel_diff(A, sum, np);
    /* the second task's Fisher is a different vector: adding it must be visible */
    double added = max_rel_diff(F0, sum, np);
    printf("ewc batch Fisher, after task 1: max |A - (F0 + F1)| / max = %.3g (F1 alone moves "
           "it by %.3g)\n", e1, added);
    assert_true(added > 1e-2);
    assert_true(e1 < 1e-5);

    kn_learner_free(l);
    free(F0);
    free(F1);
    free(A);
    free(sum);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_batch_fisher_is_the_squared_mean_gradient),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
