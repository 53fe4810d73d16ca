/* Tests of the VAE pieces (src/nn/vae.c) in double precision: this file compiles vae.c with
 * KN_NN_DOUBLE, so central differences check the very kernels the library runs in float.
 * Finite-difference checks of the reparameterisation, the KL to a prior mode (mean and
 * log-variance of both sides) and the reconstruction loss; known answers for each; the gating
 * masks (exact proportion, fixed by the seed, different per class); the tempered softmax. */
#define KN_NN_DOUBLE 1
#include "../../src/nn/vae.c"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "test_support.h"

#define H_FD 1e-6
#define TOL 1e-7

static void fill(double *v, size_t n, kn_rng *rng, double scale, double shift)
{
    for (size_t i = 0; i < n; i++)
        v[i] = shift + scale * kn_rng_normal(rng);
}

static double rel_err(double a, double b)
{
    double d = fabs(a - b), s = fabs(a) + fabs(b);
    return d / (s > 1e-2 ? s : 1e-2);
}

/* ---- reparameterisation: L = sum z * R */
static double reparam_probe(const double *mu, const double *lv, const double *eps, size_t n,
                            size_t k, const double *R)
{
    double z[64];
    kn_vae_reparam(mu, lv, eps, n, k, z);
    double s = 0;
    for (size_t i = 0; i < n * k; i++)
        s += z[i] * R[i];
    return s;
}

static void test_reparam_gradient(void **state)
{
    (void)state;
    enum { N = 3, K = 4 };
    kn_rng rng;
    kn_rng_seed(&rng, 7);
    double mu[N * K], lv[N * K], eps[N * K], R[N * K], dmu[N * K] = {0}, dlv[N * K] = {0};
    fill(mu, N * K, &rng, 1, 0);
    fill(lv, N * K, &rng, 0.5, 0);
    fill(eps, N * K, &rng, 1, 0);
    fill(R, N * K, &rng, 1, 0);
    /* known answer: mu + exp(lv / 2) eps */
    double z[N * K];
    kn_vae_reparam(mu, lv, eps, N, K, z);
    for (int i = 0; i < N * K; i++)
        assert_true(fabs(z[i] - (mu[i] + exp(lv[i] / 2) * eps[i])) < 1e-15);
    kn_vae_reparam_backward(R, lv, eps, N, K, dmu, dlv);
    for (int i = 0; i < N * K; i++) {
        double keep = mu[i];
        mu[i] = keep + H_FD;
        double lp = reparam_probe(mu, lv, eps, N, K, R);
        mu[i] = keep - H_FD;
        double lm = reparam_probe(mu, lv, eps, N, K, R);
        mu[i] = keep;
        assert_true(rel_err((lp - lm) / (2 * H_FD), dmu[i]) < TOL);
        keep = lv[i];
        lv[i] = keep + H_FD;
        lp = reparam_probe(mu, lv, eps, N, K, R);
        lv[i] = keep - H_FD;
        lm = reparam_probe(mu, lv, eps, N, K, R);
        lv[i] = keep;
        if (rel_err((lp - lm) / (2 * H_FD), dlv[i]) > TOL)
            fail_msg("dlogvar[%d]: numeric %.10g analytic %.10g", i, (lp - lm) / (2 * H_FD),
                     dlv[i]);
    }
}

/* ---- KL to a mixture mode */
static double kl_value(const double *mu, const double *lv, size_t n, size_t k, const double *pm,
                       const double *pl, const int32_t *mode)
{
    return kn_vae_kl_gaussian(mu, lv, n, k, pm, pl, mode, 0.7, NULL, NULL, NULL, NULL);
}

static void check_fd(double *v, size_t cnt, const double *g, const char *what, const double *mu,
                     const double *lv, size_t n, size_t k, const double *pm, const double *pl,
                     const int32_t *mode)
{
    for (size_t i = 0; i < cnt; i++) {
        double keep = v[i];
        v[i] = keep + H_FD;
        double lp = kl_value(mu, lv, n, k, pm, pl, mode);
        v[i] = keep - H_FD;
        double lm = kl_value(mu, lv, n, k, pm, pl, mode);
        v[i] = keep;
        double num = (lp - lm) / (2 * H_FD);
        if (rel_err(num, g[i]) > TOL)
            fail_msg("%s[%zu]: numeric %.10g analytic %.10g", what, i, num, g[i]);
    }
}

static void test_kl_gradient(void **state)
{
    (void)state;
    enum { N = 5, K = 3, M = 4 };
    kn_rng rng;
    kn_rng_seed(&rng, 11);
    double mu[N * K], lv[N * K], pm[M * K], pl[M * K];
    double dmu[N * K] = {0}, dlv[N * K] = {0}, dpm[M * K] = {0}, dpl[M * K] = {0};
    int32_t mode[N] = {2, 0, 2, 3, 1};
    fill(mu, N * K, &rng, 1, 0);
    fill(lv, N * K, &rng, 0.5, -0.3);
    fill(pm, M * K, &rng, 1, 0);
    fill(pl, M * K, &rng, 0.5, 0.2);
    kn_vae_kl_gaussian(mu, lv, N, K, pm, pl, mode, 0.7, dmu, dlv, dpm, dpl);
    check_fd(mu, N * K, dmu, "dmu", mu, lv, N, K, pm, pl, mode);
    check_fd(lv, N * K, dlv, "dlogvar", mu, lv, N, K, pm, pl, mode);
    check_fd(pm, M * K, dpm, "dprior_mu", mu, lv, N, K, pm, pl, mode);
    check_fd(pl, M * K, dpl, "dprior_logvar", mu, lv, N, K, pm, pl, mode);
    /* standard-normal prior */
    double smu[N * K] = {0}, slv[N * K] = {0};
    kn_vae_kl_gaussian(mu, lv, N, K, NULL, NULL, NULL, 0.7, smu, slv, NULL, NULL);
    check_fd(mu, N * K, smu, "dmu (standard prior)", mu, lv, N, K, NULL, NULL, NULL);
    check_fd(lv, N * K, slv, "dlogvar (standard prior)", mu, lv, N, K, NULL, NULL, NULL);
}

static void test_kl_known_answers(void **state)
{
    (void)state;
    /* Identical distributions: 0. */
    double mu[2] = {0.3, -1}, lv[2] = {0.2, -0.5};
    int32_t mode[1] = {0};
    assert_true(fabs(kn_vae_kl_gaussian(mu, lv, 1, 2, mu, lv, mode, 1, NULL, NULL, NULL, NULL)) <
                1e-15);
    /* N(1, 2) vs N(0, 1), one unit: 0.5 (0 - ln 2 + (2 + 1) - 1) = 1 - ln(2)/2. */
    double m1[1] = {1}, l1[1] = {log(2.0)};
    double v = kn_vae_kl_gaussian(m1, l1, 1, 1, NULL, NULL, NULL, 1, NULL, NULL, NULL, NULL);
    assert_true(fabs(v - (1 - log(2.0) / 2)) < 1e-14);
    /* N(0, 1) vs N(2, e^2): 0.5 (2 - 0 + (1 + 4) e^-2 - 1); two identical rows average to it,
     * and the scale multiplies. */
    double m2[2] = {0, 0}, l2[2] = {0, 0}, pm[1] = {2}, pl[1] = {2};
    int32_t md[2] = {0, 0};
    double want = 0.5 * (2 + 5 * exp(-2.0) - 1);
    v = kn_vae_kl_gaussian(m2, l2, 2, 1, pm, pl, md, 3, NULL, NULL, NULL, NULL);
    assert_true(fabs(v - 3 * want) < 1e-14);
}

/* ---- reconstruction */
static void test_recon_gradient_and_value(void **state)
{
    (void)state;
    enum { N = 3, D = 5 };
    kn_rng rng;
    kn_rng_seed(&rng, 3);
    double p[N * D], t[N * D], g[N * D];
    fill(p, N * D, &rng, 1, 0);
    fill(t, N * D, &rng, 1, 0);
    double v = kn_vae_recon_loss(p, t, N, D, 2.0, g);
    double want = 0;
    for (int i = 0; i < N * D; i++)
        want += 0.5 * (p[i] - t[i]) * (p[i] - t[i]);
    want *= 2.0 / (N * D);
    assert_true(fabs(v - want) < 1e-14);
    for (int i = 0; i < N * D; i++) {
        double keep = p[i];
        p[i] = keep + H_FD;
        double lp = kn_vae_recon_loss(p, t, N, D, 2.0, NULL);
        p[i] = keep - H_FD;
        double lm = kn_vae_recon_loss(p, t, N, D, 2.0, NULL);
        p[i] = keep;
        assert_true(rel_err((lp - lm) / (2 * H_FD), g[i]) < TOL);
    }
    /* perfect reconstruction costs nothing */
    assert_true(kn_vae_recon_loss(t, t, N, D, 1.0, NULL) == 0);
}

/* ---- sampling from modes */
static void test_sample_modes(void **state)
{
    (void)state;
    double pm[2 * 2] = {5, 6, -5, -6}, pl[2 * 2] = {0, log(4.0), 0, 0};
    int32_t mode[2] = {1, 0};
    double eps[4] = {1, 1, 0, 1}, z[4];
    kn_vae_sample_modes(pm, pl, mode, eps, 2, 2, z);
    assert_true(fabs(z[0] - (-4)) < 1e-15 && fabs(z[1] - (-5)) < 1e-15);
    assert_true(fabs(z[2] - 5) < 1e-15 && fabs(z[3] - (6 + 2)) < 1e-15);
    kn_vae_sample_modes(NULL, NULL, mode, eps, 2, 2, z);
    for (int i = 0; i < 4; i++)
        assert_true(z[i] == eps[i]);
}

/* ---- gates */
static void test_gate_masks(void **state)
{
    (void)state;
    enum { C = 6, U = 40 };
    uint8_t a[C * U], b[C * U];
    kn_rng r1, r2;
    kn_error err;
    kn_rng_seed(&r1, 5);
    kn_rng_seed(&r2, 5);
    assert_int_equal(kn_gate_masks_make(C, U, 0.7, &r1, a, &err), 0);
    assert_int_equal(kn_gate_masks_make(C, U, 0.7, &r2, b, &err), 0);
    assert_memory_equal(a, b, sizeof a); /* fixed by the seed */
    for (int c = 0; c < C; c++) {
        int on = 0;
        for (int j = 0; j < U; j++)
            on += a[c * U + j];
        assert_int_equal(on, U - 28); /* exactly round(0.7 * 40) silenced */
    }
    int differ = 0;
    for (int j = 0; j < U; j++)
        differ += a[j] != a[U + j];
    assert_true(differ > 0); /* classes get their own masks */
    /* apply: masked units become 0, others unchanged; it is its own backward */
    double h[2 * U];
    int32_t cls[2] = {3, 0};
    for (int i = 0; i < 2 * U; i++)
        h[i] = i + 1;
    kn_gate_apply(h, 2, U, a, cls);
    for (int j = 0; j < U; j++) {
        assert_true(h[j] == (a[3 * U + j] ? j + 1 : 0));
        assert_true(h[U + j] == (a[j] ? U + j + 1 : 0));
    }
    /* bad parameters are named */
    assert_int_equal(kn_gate_masks_make(C, U, 1.0, &r1, a, &err), KN_EINVAL);
    assert_non_null(strstr(err.msg, "gate proportion"));
    assert_int_equal(kn_gate_masks_make(0, U, 0.5, &r1, a, &err), KN_EINVAL);
    assert_non_null(strstr(err.msg, "classes"));
    /* proportion 0 gates nothing */
    assert_int_equal(kn_gate_masks_make(C, U, 0.0, &r1, a, &err), 0);
    for (int i = 0; i < C * U; i++)
        assert_int_equal(a[i], 1);
}

static void test_softmax_temperature(void **state)
{
    (void)state;
    double z[2 * 3] = {1, 2, 3, 0, 0, 50}, out[6];
    uint8_t active[3] = {1, 1, 0};
    kn_softmax_temperature(z, 2, 3, 2.0, active, out);
    double e0 = exp(0.5), e1 = exp(1.0);
    assert_true(fabs(out[0] - e0 / (e0 + e1)) < 1e-15);
    assert_true(fabs(out[1] - e1 / (e0 + e1)) < 1e-15);
    assert_true(out[2] == 0);
    assert_true(fabs(out[3] - 0.5) < 1e-15 && fabs(out[4] - 0.5) < 1e-15 && out[5] == 0);
    kn_softmax_temperature(z, 1, 3, 1.0, NULL, out);
    assert_true(fabs(out[0] + out[1] + out[2] - 1) < 1e-15);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reparam_gradient),
        cmocka_unit_test(test_kl_gradient),
        cmocka_unit_test(test_kl_known_answers),
        cmocka_unit_test(test_recon_gradient_and_value),
        cmocka_unit_test(test_sample_modes),
        cmocka_unit_test(test_gate_masks),
        cmocka_unit_test(test_softmax_temperature),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
