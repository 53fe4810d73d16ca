/* GEM's dual QP solver against the KKT conditions and a brute-force reference (every possible
 * active set), in the cases with no violated constraint, one, and several, plus bad inputs and
 * the property GEM relies on: the projected gradient has non-negative dot products with every
 * past task's gradient (up to the 1e-3 ridge). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cl/gem_qp.h"
#include "kenyon/rng.h"
#include "test_support.h"

static double objective(const double *P, const double *q, int t, const double *v)
{
    double s = 0;
    for (int i = 0; i < t; i++) {
        s += q[i] * v[i];
        for (int j = 0; j < t; j++)
            s += 0.5 * v[i] * P[i * t + j] * v[j];
    }
    return s;
}

/* Brute force: for each subset S of free variables solve P_SS u_S = -c_S (Gauss), keep feasible
 * points with non-negative gradient on the rest, return the best objective. */
static double brute_force(const double *P, const double *q, const double *lower, int t,
                          double *best_v)
{
    double best = INFINITY;
    double c[16], A[256], b[16], u[16], v[16];
    for (int i = 0; i < t; i++) {
        c[i] = q[i];
        for (int j = 0; j < t; j++)
            c[i] += P[i * t + j] * lower[j];
    }
    for (unsigned mask = 0; mask < (1u << t); mask++) {
        int idx[16], m = 0;
        for (int i = 0; i < t; i++)
            if (mask & (1u << i))
                idx[m++] = i;
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < m; j++)
                A[i * m + j] = P[idx[i] * t + idx[j]];
            b[i] = -c[idx[i]];
        }
        for (int k = 0; k < m; k++) /* Gauss-Jordan without pivoting (SPD) */
            for (int i = 0; i < m; i++) {
                if (i == k)
                    continue;
                double f = A[i * m + k] / A[k * m + k];
                for (int j = 0; j < m; j++)
                    A[i * m + j] -= f * A[k * m + j];
                b[i] -= f * b[k];
            }
        memset(u, 0, sizeof u);
        int ok = 1;
        for (int i = 0; i < m; i++) {
            u[idx[i]] = b[i] / A[i * m + i];
            if (u[idx[i]] < -1e-12)
                ok = 0;
        }
        if (!ok)
            continue;
        for (int i = 0; i < t; i++)
            v[i] = u[i] + lower[i];
        double f = objective(P, q, t, v);
        if (f < best) {
            best = f;
            memcpy(best_v, v, (size_t)t * sizeof *v);
        }
    }
    return best;
}

/* P = G G^T + 1e-3 I and q = G g for random G (t x n), g, as GEM builds them. */
static void random_gem_problem(int t, int n, uint64_t seed, double *G, double *g, double *P,
                               double *q, double bias)
{
    kn_rng r;
    kn_rng_seed(&r, seed);
    for (int i = 0; i < t * n; i++)
        G[i] = kn_rng_normal(&r);
    for (int j = 0; j < n; j++)
        g[j] = kn_rng_normal(&r);
    /* make g point partly along (or against) the past gradients */
    for (int i = 0; i < t; i++)
        for (int j = 0; j < n; j++)
            g[j] += bias * G[i * n + j] / t;
    for (int i = 0; i < t; i++) {
        q[i] = 0;
        for (int j = 0; j < n; j++)
            q[i] += G[i * n + j] * g[j];
        for (int k = 0; k < t; k++) {
            double s = 0;
            for (int j = 0; j < n; j++)
                s += G[i * n + j] * G[k * n + j];
            P[i * t + k] = s + (i == k ? 1e-3 : 0);
        }
    }
}

static void test_no_violation(void **state)
{
    (void)state;
    /* q + P lower >= 0 everywhere: the bound is optimal */
    const double P[4] = {2, 0.5, 0.5, 1}, q[2] = {1, 3}, lower[2] = {0.5, 0.5};
    double v[2];
    kn_error err;
    assert_int_equal(kn_qp_lower_bounded(P, q, lower, 2, v, &err), 0);
    assert_float_equal(v[0], 0.5, 1e-15);
    assert_float_equal(v[1], 0.5, 1e-15);
    assert_true(kn_qp_kkt_violation(P, q, lower, 2, v) < 1e-12);
}

static void test_one_violation(void **state)
{
    (void)state;
    /* diagonal P: v_i = max(lower_i, -q_i / P_ii); only the second is free */
    const double P[9] = {1, 0, 0, 0, 4, 0, 0, 0, 2}, q[3] = {1, -8, 0}, lower[3] = {0, 0, 0};
    double v[3];
    kn_error err;
    assert_int_equal(kn_qp_lower_bounded(P, q, lower, 3, v, &err), 0);
    assert_float_equal(v[0], 0, 1e-15);
    assert_float_equal(v[1], 2, 1e-12);
    assert_float_equal(v[2], 0, 1e-15);
    assert_true(kn_qp_kkt_violation(P, q, lower, 3, v) < 1e-12);
    /* coupled 2x2 with a margin: closed form v1 = (-q1 - P10 m) / P11 */
    const double P2[4] = {2, 1, 1, 2}, q2[2] = {5, -6}, lower2[2] = {0.5, 0.5};
    double v2[2];
    assert_int_equal(kn_qp_lower_bounded(P2, q2, lower2, 2, v2, &err), 0);
    assert_float_equal(v2[0], 0.5, 1e-15);
    assert_float_equal(v2[1], (6 - 0.5) / 2, 1e-12);
}

static void test_several_violations_against_brute_force(void **state)
{
    (void)state;
    kn_error err;
    int several = 0;
    for (int trial = 0; trial < 40; trial++) {
        int t = 2 + trial % 9, n = 5 + trial % 7; /* n < t makes G G^T rank-deficient */
        double G[10 * 12], g[12], P[100], q[10], lower[10], v[10], vb[10];
        double margin = trial % 2 ? 0.5 : 0;
        random_gem_problem(t, n, 100 + (uint64_t)trial, G, g, P, q, trial % 3 ? -1.5 : 0.5);
        for (int i = 0; i < t; i++)
            lower[i] = margin;
        assert_int_equal(kn_qp_lower_bounded(P, q, lower, t, v, &err), 0);
        double kkt = kn_qp_kkt_violation(P, q, lower, t, v);
        if (kkt > 1e-8)
            fail_msg("trial %d: KKT violation %g", trial, kkt);
        double fb = brute_force(P, q, lower, t, vb);
        double f = objective(P, q, t, v);
        assert_true(f <= fb + 1e-9 * (1 + fabs(fb)));
        int free_vars = 0;
        for (int i = 0; i < t; i++)
            free_vars += v[i] > lower[i] + 1e-12;
        several += free_vars >= 2;
        /* GEM's projected gradient g~ = G^T v + g: G g~ + 1e-3 v >= 0 (the dual's gradient) */
        for (int i = 0; i < t; i++) {
            double s = 1e-3 * v[i];
            for (int j = 0; j < n; j++) {
                double gt = g[j];
                for (int k = 0; k < t; k++)
                    gt += G[k * n + j] * v[k];
                s += G[i * n + j] * gt;
            }
            assert_true(s >= -1e-8);
        }
    }
    assert_true(several >= 10); /* the random problems did exercise several active constraints */
}

static void test_bad_inputs(void **state)
{
    (void)state;
    kn_error err;
    double v[2];
    const double P[4] = {1, -2, -2, 1}, q[2] = {-1, -1}, lower[2] = {0, 0}; /* indefinite */
    assert_int_equal(kn_qp_lower_bounded(P, q, lower, 0, v, &err), KN_EINVAL);
    assert_non_null(strstr(err.msg, "0 variables"));
    assert_int_equal(kn_qp_lower_bounded(P, q, lower, 2, v, &err), KN_EINVAL);
    assert_non_null(strstr(err.msg, "positive definite"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_violation),
        cmocka_unit_test(test_one_violation),
        cmocka_unit_test(test_several_violations_against_brute_force),
        cmocka_unit_test(test_bad_inputs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
