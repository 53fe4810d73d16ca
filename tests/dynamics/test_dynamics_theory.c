/* Tests for the exact theory of SGD on the quadratic: the block Lyapunov solvers against the dense
 * Kronecker solvers, closed forms against Lyapunov solutions and hand-derived values, the
 * closed-form mean against numerical integration, analysis helpers, and bad inputs. */
#include "test_support.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kenyon/dynamics.h"

static void make_noncommuting(int d, kn_linreg *p)
{
    kn_linreg_spec s;
    kn_linreg_spec_default(&s);
    s.dim = d;
    s.commute = 0;
    s.seed = 7;
    kn_error err = {0};
    assert_int_equal(kn_linreg_create(&s, p, &err), 0);
    assert_false(p->diagonal);
}

/* Full (2d)x(2d) update matrix in (a, v) coordinates and its noise covariance. */
static void full_discrete(const kn_linreg *p, const kn_sgd_hparams *hp, double *M, double *W)
{
    int d = p->d, n = 2 * d;
    memset(M, 0, sizeof(double) * n * n);
    memset(W, 0, sizeof(double) * n * n);
    for (int i = 0; i < d; i++) {
        double Mi[4];
        kn_update_matrix(hp->lr, hp->momentum, p->h[i] + hp->wd, Mi);
        /* (a, b) -> (a, v = -b): T M T with T = diag(1, -1) */
        M[i * n + i] = Mi[0];
        M[i * n + d + i] = -Mi[1];
        M[(d + i) * n + i] = -Mi[2];
        M[(d + i) * n + d + i] = Mi[3];
    }
    /* noise u xi with u = (-eta, 1) in (a, b), i.e. (-eta, -1) in (a, v) */
    for (int i = 0; i < d; i++)
        for (int j = 0; j < d; j++) {
            double s = p->sigma[i * d + j] / hp->batch;
            W[i * n + j] = hp->lr * hp->lr * s;
            W[i * n + d + j] = hp->lr * s;
            W[(d + i) * n + j] = hp->lr * s;
            W[(d + i) * n + d + j] = s;
        }
}

static void test_block_discrete_matches_dense_kronecker(void **state)
{
    (void)state;
    kn_linreg p;
    make_noncommuting(3, &p);
    kn_sgd_hparams hp = {0.05, 0.8, 0.01, 4};
    int n = 6;
    double M[36], W[36], Xd[36], Cb[36];
    full_discrete(&p, &hp, M, W);
    kn_error err = {0};
    assert_int_equal(kn_lyap_discrete_dense(n, M, W, Xd, &err), 0);
    assert_int_equal(kn_lyap_discrete(&p, &hp, Cb, &err), 0);
    for (int i = 0; i < n * n; i++)
        assert_true(fabs(Xd[i] - Cb[i]) <= 1e-10 * (1 + fabs(Xd[i])));
    kn_linreg_free(&p);
}

static void test_block_continuous_matches_dense_kronecker(void **state)
{
    (void)state;
    kn_linreg p;
    make_noncommuting(3, &p);
    kn_sgd_hparams hp = {0.05, 0.8, 0.01, 4};
    int d = 3, n = 6;
    double m = hp.lr * (1 + hp.momentum) / 2;
    double A[36] = {0}, Q[36] = {0}, Xd[36], Cb[36];
    for (int i = 0; i < d; i++) {
        A[i * n + d + i] = -1;
        A[(d + i) * n + i] = (p.h[i] + hp.wd) / m;
        A[(d + i) * n + d + i] = (1 - hp.momentum) / m;
        for (int j = 0; j < d; j++)
            Q[(d + i) * n + d + j] = hp.lr * p.sigma[i * d + j] / (hp.batch * m * m);
    }
    kn_error err = {0};
    assert_int_equal(kn_lyap_continuous_dense(n, A, Q, Xd, &err), 0);
    assert_int_equal(kn_lyap_continuous(&p, &hp, Cb, &err), 0);
    for (int i = 0; i < n * n; i++)
        assert_true(fabs(Xd[i] - Cb[i]) <= 1e-9 * (1 + fabs(Xd[i])));
    /* tr C_vv = tr Sigma / (S (1 - beta^2)) holds even when Sigma does not commute with H */
    double trv = 0;
    for (int i = 0; i < d; i++)
        trv += Cb[(d + i) * n + d + i];
    double want = kn_linreg_trace_sigma(&p) / (hp.batch * (1 - hp.momentum * hp.momentum));
    assert_true(fabs(trv - want) <= 1e-10 * want);
    /* and C_theta_v is antisymmetric and non-zero */
    double asym = 0;
    for (int i = 0; i < d; i++)
        for (int j = 0; j < d; j++) {
            assert_true(fabs(Cb[i * n + d + j] + Cb[j * n + d + i]) < 1e-12);
            asym = fmax(asym, fabs(Cb[i * n + d + j]));
        }
    assert_true(asym > 1e-6);
    kn_linreg_free(&p);
}

static void test_closed_form_equals_continuous_lyapunov_when_commuting(void **state)
{
    (void)state;
    kn_linreg_spec s;
    kn_linreg_spec_default(&s);
    s.dim = 5;
    kn_linreg p;
    kn_error err = {0};
    assert_int_equal(kn_linreg_create(&s, &p, &err), 0);
    kn_sgd_hparams hp = {0.01, 0.9, 0.01, 8};
    double C[100];
    assert_int_equal(kn_lyap_continuous(&p, &hp, C, &err), 0);
    for (int i = 0; i < 5; i++) {
        double va, vv, cav;
        kn_closed_form_stationary(&hp, p.h[i] + hp.wd, p.sigma[i * 5 + i], &va, &vv, &cav);
        assert_true(fabs(C[i * 10 + i] - va) < 1e-12 * va);
        assert_true(fabs(C[(5 + i) * 10 + 5 + i] - vv) < 1e-12 * vv);
        assert_true(fabs(C[i * 10 + 5 + i]) < 1e-15);
    }
    kn_linreg_free(&p);
}

/* beta = 0 by hand: a' = (1 - eta k) a - eta xi  =>  Var a = eta s / (k (2 - eta k));
 * v = -b = -(k a + xi)  =>  Var v = k^2 Var a + s = 2 s / (2 - eta k). */
static void test_discrete_sgd_without_momentum_by_hand(void **state)
{
    (void)state;
    double h[2] = {0.5, 3.0}, sig[4] = {2.0, 0, 0, 0.7};
    kn_linreg p;
    kn_error err = {0};
    assert_int_equal(kn_linreg_from_matrices(2, h, sig, NULL, &p, &err), 0);
    kn_sgd_hparams hp = {0.1, 0, 0.0, 2};
    double C[16];
    assert_int_equal(kn_lyap_discrete(&p, &hp, C, &err), 0);
    for (int i = 0; i < 2; i++) {
        double k = h[i], s = sig[i * 2 + i] / hp.batch;
        double va = hp.lr * s / (k * (2 - hp.lr * k)), vv = 2 * s / (2 - hp.lr * k);
        assert_true(fabs(C[i * 4 + i] - va) < 1e-12);
        assert_true(fabs(C[(2 + i) * 4 + 2 + i] - vv) < 1e-12);
        /* b = k a_prev + xi, a = a_prev - eta b  =>  Cov(a, b) = k (1 - eta k) Var a - eta s,
         * and Cov(a, v) = -Cov(a, b). */
        double cab = k * va * (1 - hp.lr * k) - hp.lr * s;
        assert_true(fabs(C[i * 4 + 2 + i] + cab) < 1e-12);
    }
    kn_linreg_free(&p);
}

/* The closed-form mean against RK4 integration of m a'' + (1-beta) a' + k a = 0. */
static void rk4_check(double lr, double beta, double k)
{
    double m = lr * (1 + beta) / 2, a = 1.3, v = -0.4, T = 3.0;
    int n = 30000;
    double dt = T / n;
    for (int i = 0; i < n; i++) {
        double k1a = v, k1v = -((1 - beta) * v + k * a) / m;
        double k2a = v + dt / 2 * k1v, k2v = -((1 - beta) * (v + dt / 2 * k1v) + k * (a + dt / 2 * k1a)) / m;
        double k3a = v + dt / 2 * k2v, k3v = -((1 - beta) * (v + dt / 2 * k2v) + k * (a + dt / 2 * k2a)) / m;
        double k4a = v + dt * k3v, k4v = -((1 - beta) * (v + dt * k3v) + k * (a + dt * k3a)) / m;
        a += dt / 6 * (k1a + 2 * k2a + 2 * k3a + k4a);
        v += dt / 6 * (k1v + 2 * k2v + 2 * k3v + k4v);
    }
    double at, vt;
    kn_closed_form_mean(lr, beta, k, T, 1.3, -0.4, &at, &vt);
    assert_true(fabs(at - a) < 1e-7 * (1 + fabs(a)));
    assert_true(fabs(vt - v) < 1e-6 * (1 + fabs(v)));
}

static void test_closed_form_mean_matches_integration(void **state)
{
    (void)state;
    double lr = 0.1, beta = 0.5;
    double kth = kn_oscillation_threshold(lr, beta);
    kn_mode_params mp;
    kn_mode_params_compute(lr, beta, 10 * kth, &mp);
    assert_true(mp.underdamped);
    kn_mode_params_compute(lr, beta, 0.1 * kth, &mp);
    assert_false(mp.underdamped);
    rk4_check(lr, beta, 10 * kth);  /* underdamped */
    rk4_check(lr, beta, 0.1 * kth); /* overdamped */
    rk4_check(lr, beta, kth);       /* critical */
}

static void test_speed_law_and_threshold_values(void **state)
{
    (void)state;
    kn_sgd_hparams hp = {0.01, 0.9, 0, 8};
    /* eta^2 tr Sigma / (S (1 - beta^2)) = 1e-4 * 10 / (8 * 0.19) */
    assert_true(fabs(kn_speed_law(&hp, 10) - 1e-3 / 1.52) < 1e-15);
    /* (1-beta)^2 / (2 eta (1+beta)) = 0.01 / 0.038 */
    assert_true(fabs(kn_oscillation_threshold(0.01, 0.9) - 0.01 / 0.038) < 1e-12);
}

static void test_msd_theory_limits(void **state)
{
    (void)state;
    /* Start at the minimum: MSD(0) = 0 and MSD -> 2 tr C_aa as k -> infinity. */
    double h[2] = {1.0, 2.0}, sig[4] = {1, 0, 0, 1}, a0[2] = {0, 0};
    kn_linreg p;
    kn_error err = {0};
    assert_int_equal(kn_linreg_from_matrices(2, h, sig, NULL, &p, &err), 0);
    kn_sgd_hparams hp = {0.05, 0.5, 0, 1};
    double msd[4000], C[16];
    assert_int_equal(kn_msd_theory(&p, &hp, a0, 4000, msd, &err), 0);
    assert_true(fabs(msd[0]) < 1e-15);
    assert_int_equal(kn_lyap_discrete(&p, &hp, C, &err), 0);
    /* from a deterministic start the variance approaches tr C_aa (not 2x: theta_0 is fixed) */
    assert_true(fabs(msd[3999] - (C[0] + C[5])) < 1e-9);
    /* one step by hand: a_1 = -eta xi  =>  MSD(1) = eta^2 tr Sigma / S */
    assert_true(fabs(msd[1] - hp.lr * hp.lr * 2) < 1e-15);
    kn_linreg_free(&p);
}

static void test_welch_peak_of_sinusoid(void **state)
{
    (void)state;
    size_t n = 1 << 15, seg = 1024;
    double *x = malloc(n * sizeof(double)), psd[513];
    double f = 37.3 / seg;
    for (size_t i = 0; i < n; i++)
        x[i] = sin(2 * 3.14159265358979 * f * (double)i) + 0.3;
    kn_error err = {0};
    assert_int_equal(kn_welch_psd(x, n, seg, psd, &err), 0);
    double pos;
    size_t peak = kn_spectrum_peak(psd, 513, &pos);
    assert_int_equal(peak, 37);
    assert_true(fabs(pos - 37.3) < 0.1);
    assert_int_equal(kn_welch_psd(x, n, 1000, psd, &err), KN_EINVAL);
    assert_non_null(strstr(err.msg, "segment length 1000"));
    assert_int_equal(kn_welch_psd(x, 100, 1024, psd, &err), KN_EINVAL);
    free(x);
}

/* The line-shape fit recovers Omega = sqrt(omega^2 - gamma^2) exactly from an ideal spectrum,
 * although the raw peak sits at sqrt(omega^2 - 2 gamma^2). */
static void test_oscillator_fit_recovers_damped_frequency(void **state)
{
    (void)state;
    size_t seg = 4096, nb = seg / 2 + 1;
    double *psd = malloc(nb * sizeof(double));
    double w = 0.01, g = 0.002; /* cycles per step */
    for (size_t j = 0; j < nb; j++) {
        double f = (double)j / (double)seg;
        psd[j] = 1.0 / ((w * w - f * f) * (w * w - f * f) + 4 * g * g * f * f);
    }
    double fd, fg;
    kn_error err = {0};
    assert_int_equal(kn_spectrum_oscillator_fit(psd, nb, seg, &fd, &fg, &err), 0);
    assert_true(fabs(fd - sqrt(w * w - g * g)) < 1e-9);
    assert_true(fabs(fg - g) < 1e-9);
    /* a monotone (overdamped) spectrum is refused with a message */
    for (size_t j = 0; j < nb; j++)
        psd[j] = 1.0 / (1 + (double)j);
    assert_int_equal(kn_spectrum_oscillator_fit(psd, nb, seg, &fd, NULL, &err), KN_EINVAL);
    assert_non_null(strstr(err.msg, "oscillator fit"));
    free(psd);
}

static void test_powerlaw_fit_exact_and_window(void **state)
{
    (void)state;
    double x[50], y[50];
    for (int i = 0; i < 50; i++) {
        x[i] = i + 1;
        y[i] = i < 10 ? 3 * pow(x[i], 1.5) : 100 * pow(x[i], 0.5);
    }
    kn_powerfit f;
    kn_error err = {0};
    assert_int_equal(kn_powerlaw_fit(x, y, 50, 11, 50, &f, &err), 0);
    assert_true(fabs(f.c - 0.5) < 1e-12);
    assert_true(f.ci95 < 1e-9);
    assert_int_equal(f.n_points, 40);
    assert_int_equal(kn_powerlaw_fit(x, y, 50, 1, 10, &f, &err), 0);
    assert_true(fabs(f.c - 1.5) < 1e-12);
    assert_int_equal(kn_powerlaw_fit(x, y, 50, 100, 200, &f, &err), KN_EINVAL);
    assert_non_null(strstr(err.msg, "window [100, 200]"));
}

static void test_bad_inputs_name_the_culprit(void **state)
{
    (void)state;
    kn_linreg_spec s;
    kn_linreg_spec_default(&s);
    kn_linreg p;
    kn_error err = {0};
    s.dim = 0;
    assert_int_equal(kn_linreg_create(&s, &p, &err), KN_EINVAL);
    assert_non_null(strstr(err.msg, "dim"));
    kn_linreg_spec_default(&s);
    s.h_min = 3;
    s.h_max = 1;
    assert_int_equal(kn_linreg_create(&s, &p, &err), KN_EINVAL);
    assert_non_null(strstr(err.msg, "h-min"));
    kn_spectrum sp;
    assert_int_equal(kn_spectrum_parse("zipf", &sp, &err), KN_EINVAL);
    assert_non_null(strstr(err.msg, "zipf"));
    kn_sgd_hparams hp = {0.01, 1.0, 0, 8};
    assert_non_null(strstr(kn_sgd_hparams_check(&hp), "momentum"));
    hp.momentum = 0.9;
    hp.batch = 0.5;
    assert_non_null(strstr(kn_sgd_hparams_check(&hp), "batch"));
    /* unstable step size is refused, naming lr */
    kn_linreg_spec_default(&s);
    s.dim = 4;
    assert_int_equal(kn_linreg_create(&s, &p, &err), 0);
    kn_sgd_hparams big = {5.0, 0.0, 0, 1};
    double C[64];
    assert_int_equal(kn_lyap_discrete(&p, &big, C, &err), KN_EINVAL);
    assert_non_null(strstr(err.msg, "unstable"));
    assert_non_null(strstr(err.msg, "lr 5"));
    kn_linreg_free(&p);
    double h[2] = {1, -1}, sig[4] = {1, 0, 0, 1};
    assert_int_equal(kn_linreg_from_matrices(2, h, sig, NULL, &p, &err), KN_EINVAL);
    assert_non_null(strstr(err.msg, "h[1]"));
    double h2[2] = {1, 1}, sig2[4] = {1, 0.5, 0.2, 1};
    assert_int_equal(kn_linreg_from_matrices(2, h2, sig2, NULL, &p, &err), KN_EINVAL);
    assert_non_null(strstr(err.msg, "symmetric"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_block_discrete_matches_dense_kronecker),
        cmocka_unit_test(test_block_continuous_matches_dense_kronecker),
        cmocka_unit_test(test_closed_form_equals_continuous_lyapunov_when_commuting),
        cmocka_unit_test(test_discrete_sgd_without_momentum_by_hand),
        cmocka_unit_test(test_closed_form_mean_matches_integration),
        cmocka_unit_test(test_speed_law_and_threshold_values),
        cmocka_unit_test(test_msd_theory_limits),
        cmocka_unit_test(test_welch_peak_of_sinusoid),
        cmocka_unit_test(test_oscillator_fit_recovers_damped_frequency),
        cmocka_unit_test(test_powerlaw_fit_exact_and_window),
        cmocka_unit_test(test_bad_inputs_name_the_culprit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
