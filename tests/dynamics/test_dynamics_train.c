/* Tests for `kenyon dynamics train` on a small synthetic classification problem: the recorded
 * series are consistent with each other (first step: |theta_1 - theta_0|^2 = |delta_0|^2;
 * |theta - theta_0|^2 = |theta|^2 - 2 theta . theta_0 + |theta_0|^2), the law ratio is computed
 * from eta^2/(S(1-beta^2)), runs are deterministic, and bad settings name the culprit. */
#include "test_support.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lapacke.h>

#include "kenyon/samples.h"
#include "kenyon/dynamics.h"
#include "kenyon/nn.h"

/* Four Gaussian clusters in 10 dimensions. */
static void make_split(kn_split *sp)
{
    kn_error err = {0};
    kn_rng rng;
    kn_rng_seed(&rng, 42);
    kn_dataset *parts[2] = {&sp->train, &sp->test};
    size_t sizes[2] = {400, 200};
    for (int p = 0; p < 2; p++) {
        assert_int_equal(kn_dataset_alloc(parts[p], sizes[p], 10, 4, &err), 0);
        for (size_t i = 0; i < sizes[p]; i++) {
            int c = (int)(i % 4);
            parts[p]->y[i] = c;
            for (size_t j = 0; j < 10; j++)
                parts[p]->x[i * 10 + j] =
                    (float)((j == (size_t)c ? 1.5 : 0.0) + kn_rng_normal(&rng));
        }
    }
}

static kn_dyn_train_config small(void)
{
    kn_dyn_train_config c;
    kn_dyn_train_config_default(&c);
    c.hidden = 16;
    c.n_train = 0;
    c.pre_epochs = 10;
    c.pre.batch = 16;
    c.hp.batch = 16;
    c.hp.lr = 0.02;
    c.pre.lr = 0.02;
    c.steps = 400;
    c.quiet = 1;
    return c;
}

static void test_series_are_consistent(void **state)
{
    (void)state;
    kn_split sp;
    memset(&sp, 0, sizeof sp);
    make_split(&sp);
    kn_dyn_train_config c = small();
    kn_dyn_train_result r;
    kn_error err = {0};
    assert_int_equal(kn_dyn_train(&c, &sp, &r, &err), 0);
    assert_int_equal(r.n_runs, 2);
    assert_true(r.pre_test_accuracy > 0.6); /* the clusters are learnable */
    assert_true(fabs(r.runs[1].hp.lr - 0.01) < 1e-15);
    assert_true(fabs(r.runs[1].law / r.runs[0].law - 0.25) < 1e-12);
    for (int i = 0; i < 2; i++) {
        const kn_dyn_train_run *run = &r.runs[i];
        /* first step from theta_0 with b_0 = 0 */
        assert_true(fabs(run->disp_sq[0] - run->delta_sq[0]) <= 1e-3 * run->delta_sq[0]);
        for (size_t k = 0; k < run->steps; k += 37) {
            double n0 = r.theta0_norm * r.theta0_norm;
            double via = run->norm[k] * run->norm[k] - 2 * run->dot[k] + n0;
            assert_true(fabs(via - run->disp_sq[k]) <= 1e-3 * n0);
            assert_true(run->delta_sq[k] > 0 && isfinite(run->delta_sq[k]));
        }
        assert_true(run->cv >= 0 && isfinite(run->fit.c));
        assert_true(run->fit.x_lo == 40 && run->fit.x_hi == 400);
    }
    assert_non_null(strstr(r.verdict, "flatness"));
    /* outputs */
    const char *dir = kt_scratch_dir("dynamics_train");
    assert_int_equal(kn_dyn_train_write_outputs(dir, &c, &r, 1, &err), 0);
    FILE *f = fopen(kt_path(dir, "train_run2.csv"), "r");
    assert_non_null(f);
    char line[128];
    assert_non_null(fgets(line, sizeof line, f));
    assert_string_equal(line, "step,delta_sq,disp_sq,norm,dot_theta0,batch_loss\n");
    fclose(f);
    f = fopen(kt_path(dir, "msd_train.png"), "r");
    assert_non_null(f);
    fclose(f);
    /* determinism */
    kn_dyn_train_result r2;
    assert_int_equal(kn_dyn_train(&c, &sp, &r2, &err), 0);
    assert_memory_equal(r.runs[1].disp_sq, r2.runs[1].disp_sq, 400 * sizeof(double));
    kn_dyn_train_result_free(&r);
    kn_dyn_train_result_free(&r2);
    kn_split_free(&sp);
}

/* The top Ritz values of kn_dyn_hessian_top against the eigenvalues of the dense Hessian of a
 * tiny smooth net (two dense layers without activation, 3 -> 4 -> 3: 31 parameters; no ReLU so
 * finite differences never cross a kink), built column by column from central differences of
 * gradients and diagonalised with LAPACKE_dsyev. */
static void test_hessian_top_matches_dense(void **state)
{
    (void)state;
    kn_rng rng;
    kn_rng_seed(&rng, 5);
    kn_net *net = NULL;
    kn_error err = {0};
    assert_int_equal(kn_net_create(&net, 3, 1, 1, &err), 0);
    assert_int_equal(kn_net_add_dense(net, 4, &err), 0);
    assert_int_equal(kn_net_add_dense(net, 3, &err), 0);
    assert_int_equal(kn_net_build(net, &rng, &err), 0);
    size_t np = kn_net_n_params(net), n = 64;
    assert_int_equal(np, 31);
    float x[64 * 3];
    int32_t y[64];
    for (size_t i = 0; i < n; i++) {
        y[i] = (int32_t)(i % 3);
        for (int j = 0; j < 3; j++)
            x[i * 3 + j] = (float)(kn_rng_normal(&rng) + (j == y[i] ? 1.0 : 0.0));
    }
    double H[31 * 31], gp[31], w[31];
    float *th = kn_net_params(net), saved[31];
    memcpy(saved, th, sizeof saved);
    double eps = 1e-3;
    for (size_t p = 0; p < np; p++) {
        for (int s = 1; s >= -1; s -= 2) {
            memcpy(th, saved, sizeof saved);
            th[p] = (float)(saved[p] + s * eps);
            kn_net_zero_grad(net);
            assert_int_equal(kn_net_loss_grad(net, x, y, n, NULL, NULL, &err), 0);
            const float *g = kn_net_grads(net);
            for (size_t q = 0; q < np; q++) {
                if (s == 1)
                    gp[q] = g[q];
                else
                    H[q * np + p] = (gp[q] - g[q]) / (2 * eps);
            }
        }
    }
    memcpy(th, saved, sizeof saved);
    for (size_t i = 0; i < np; i++)
        for (size_t j = 0; j < i; j++)
            H[i * np + j] = H[j * np + i] = 0.5 * (H[i * np + j] + H[j * np + i]);
    assert_int_equal(LAPACKE_dsyev(LAPACK_ROW_MAJOR, 'N', 'U', (int)np, H, (int)np, w), 0);
    double Q[2 * 31], eig[2];
    assert_int_equal(kn_dyn_hessian_top(net, x, y, n, 2, 200, Q, eig, &rng, &err), 0);
    /* subspace iteration finds the eigenvalues largest in magnitude (this untrained net's Hessian
     * is indefinite): compare with the two dense eigenvalues of largest |w|, as a set */
    double top[2] = {0, 0};
    for (size_t i = 0; i < np; i++) {
        if (fabs(w[i]) > fabs(top[0])) {
            top[1] = top[0];
            top[0] = w[i];
        } else if (fabs(w[i]) > fabs(top[1])) {
            top[1] = w[i];
        }
    }
    double tol = 2e-3 * fabs(top[0]) + 1e-4;
    int direct = fabs(eig[0] - top[0]) < tol && fabs(eig[1] - top[1]) < tol;
    int swapped = fabs(eig[0] - top[1]) < tol && fabs(eig[1] - top[0]) < tol;
    if (!direct && !swapped)
        fail_msg("Ritz values %g %g, dense %g %g", eig[0], eig[1], top[0], top[1]);
    /* parameters restored */
    assert_memory_equal(th, saved, sizeof saved);
    kn_net_free(net);
}

/* Hessian projection inside a training run: bounded by the displacement, written to CSV. */
static void test_hessian_projection(void **state)
{
    (void)state;
    kn_split sp;
    memset(&sp, 0, sizeof sp);
    make_split(&sp);
    kn_dyn_train_config c = small();
    c.hidden = 4;
    c.steps = 60;
    c.hessian_k = 2;
    c.hessian_batch = 400;
    c.hessian_iters = 60;
    kn_dyn_train_result r;
    kn_error err = {0};
    assert_int_equal(kn_dyn_train(&c, &sp, &r, &err), 0);
    assert_int_equal(r.hessian_k, 2);
    assert_true(r.hessian_eigenvalues[0] >= r.hessian_eigenvalues[1]);
    assert_true(r.hessian_eigenvalues[0] > 0);
    assert_non_null(r.runs[0].proj);
    /* the projections are bounded by the displacement: |v . d| <= |d| */
    for (size_t k = 0; k < r.runs[0].steps; k++)
        for (int j = 0; j < 2; j++) {
            double pj = r.runs[0].proj[k * 2 + j];
            assert_true(pj * pj <= r.runs[0].disp_sq[k] * (1 + 1e-4) + 1e-12);
        }
    const char *dir = kt_scratch_dir("dynamics_hessian");
    assert_int_equal(kn_dyn_train_write_outputs(dir, &c, &r, 1, &err), 0);
    FILE *f = fopen(kt_path(dir, "train_run1_hessian_projection.csv"), "r");
    assert_non_null(f);
    char line[128];
    assert_non_null(fgets(line, sizeof line, f));
    assert_string_equal(line, "step,position_1,velocity_1,position_2,velocity_2\n");
    fclose(f);
    kn_dyn_train_result_free(&r);
    c.hessian_k = 9;
    assert_int_equal(kn_dyn_train(&c, &sp, &r, &err), KN_EINVAL);
    assert_non_null(strstr(err.msg, "--hessian 9"));
    kn_dyn_train_result_free(&r);
    kn_split_free(&sp);
}

static void test_sweep_and_bad_settings(void **state)
{
    (void)state;
    kn_split sp;
    memset(&sp, 0, sizeof sp);
    make_split(&sp);
    kn_dyn_train_config c = small();
    c.pre_epochs = 1;
    c.steps = 100;
    kn_dyn_train_result r;
    kn_error err = {0};
    c.sweep_name = "batch";
    c.sweep[0] = 8;
    c.sweep[1] = 32;
    c.sweep[2] = 16;
    c.n_sweep = 3;
    assert_int_equal(kn_dyn_train(&c, &sp, &r, &err), 0);
    assert_int_equal(r.n_runs, 3);
    assert_true(r.runs[1].hp.batch == 32);
    kn_dyn_train_result_free(&r);
    c.sweep_name = "gamma";
    assert_int_equal(kn_dyn_train(&c, &sp, &r, &err), KN_EINVAL);
    assert_non_null(strstr(err.msg, "--sweep gamma"));
    kn_dyn_train_result_free(&r);
    c.n_sweep = 0;
    c.hp.batch = 1000;
    assert_int_equal(kn_dyn_train(&c, &sp, &r, &err), KN_EINVAL);
    assert_non_null(strstr(err.msg, "batch 1000"));
    kn_dyn_train_result_free(&r);
    c.hp.batch = 16;
    c.hp.momentum = 1.2;
    assert_int_equal(kn_dyn_train(&c, &sp, &r, &err), KN_EINVAL);
    assert_non_null(strstr(err.msg, "momentum"));
    kn_dyn_train_result_free(&r);
    kn_split_free(&sp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_series_are_consistent),
        cmocka_unit_test(test_hessian_top_matches_dense),
        cmocka_unit_test(test_hessian_projection),
        cmocka_unit_test(test_sweep_and_bad_settings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
