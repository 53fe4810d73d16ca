/* The KC code variants (src/fly/kc_recode.c) and the fly-apl learner (src/cl/fly_apl.c).
 * Codes: against a direct computation from the dense KC activity (kn_kc_activity): the mean and
 * the maximum over all m cells, the encoder's winners, u = (h - apl mean) / (max - apl mean),
 * survivors u > 0, and graded / binary / rank values exactly as kenyon/kc_recode.h says; apl 0
 * with graded values leaves the encoder's code unchanged. Learner: after a stream in two task
 * orders and batch sizes, fly-apl's scores equal those of the joint ridge solution on its codes
 * of all data seen, built here from the public encoder and recoder, to 1e-6 relative. */
#include "test_support.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kenyon/fly.h"
#include "kenyon/kc_recode.h"
#include "kenyon/learner.h"
#include "kenyon/ridge.h"
#include "kenyon/rng.h"

enum { D = 30, M = 150, CIN = 6, K = 30, N = 40 };
/* A share that silences some winners of some samples on this data, not all. */
#define APL_SHARE 1.3

static void make_x(float *x, size_t n, size_t d, uint64_t seed)
{
    kn_rng r;
    kn_rng_seed(&r, seed);
    for (size_t q = 0; q < n * d; q++)
        x[q] = (float)(kn_rng_uniform(&r) * (q % 7 == 0 ? 3 : 1));
}


static void check_kind(kn_kc_value value, double apl)
{
    kn_kc_encoder e;
    kn_error err;
    assert_int_equal(kn_kc_encoder_init(&e, D, M, CIN, K, 9, &err), 0);
    static float x[N * D], h[M];
    make_x(x, N, D, 3);
    kn_kc_codes base, codes;
    assert_int_equal(kn_kc_codes_alloc(&base, N, K, &err), 0);
    assert_int_equal(kn_kc_codes_alloc(&codes, N, K, &err), 0);
    assert_int_equal(kn_kc_encode(&e, x, N, &base, &err), 0);
    assert_int_equal(kn_kc_encode(&e, x, N, &codes, &err), 0);
    kn_kc_recoder rec;
    assert_int_equal(kn_kc_recoder_init(&rec, &e, apl, value, &err), 0);
    kn_kc_recode(&rec, x, &codes);
    int silenced = 0, kept = 0;
    for (size_t i = 0; i < N; i++) {
        kn_kc_activity(&e, x + i * D, h);
        double mean = 0, mx = 0;
        for (int j = 0; j < M; j++) {
            mean += h[j] / M;
            mx = h[j] > mx ? h[j] : mx;
        }
        /* Survivors and their u, in cell order. */
        int cells[K], n = 0;
        double u[K];
        for (int j = 0; j < base.nnz[i]; j++) {
            int cell = base.cells[i * K + (size_t)j];
            double v = mx - apl * mean > 0 ? (h[cell] - apl * mean) / (mx - apl * mean) : -1;
            if (v > 1e-6) /* survivors by a margin (rounding could decide ties at 0) */
                cells[n] = cell, u[n++] = v;
            else if (v > -1e-6)
                fail_msg("sample %zu: a winner within rounding of the threshold", i);
        }
        silenced += base.nnz[i] - n;
        kept += n;
        assert_int_equal(codes.nnz[i], n);
        for (int j = 0; j < n; j++) {
            assert_int_equal(codes.cells[i * K + (size_t)j], cells[j]);
            double want = u[j];
            if (value == KN_KC_VALUE_BINARY)
                want = 1;
            if (value == KN_KC_VALUE_RANK) {
                int place = 0; /* survivors with a larger u, or an equal u and a lower cell */
                for (int q = 0; q < n; q++)
                    place += u[q] > u[j] + 1e-9 || (fabs(u[q] - u[j]) <= 1e-9 && q < j);
                want = 1.0 - (double)place / K;
            }
            double got = codes.values[i * K + (size_t)j];
            if (!(fabs(got - want) <= 1e-5))
                fail_msg("sample %zu cell %d: value %g, expected %g (apl %g, kind %d)", i,
                         cells[j], got, want, apl, (int)value);
        }
    }
    /* apl APL_SHARE must silence some winners on this data, else the test would not test it. */
    if (apl > 1)
        assert_true(silenced > 0);
    assert_true(kept > 0);
    kn_kc_recoder_free(&rec);
    kn_kc_codes_free(&base);
    kn_kc_codes_free(&codes);
    kn_kc_encoder_free(&e);
}

static void test_graded_no_apl_is_the_encoder(void **s) { (void)s; check_kind(KN_KC_VALUE_GRADED, 0); }
static void test_graded(void **s) { (void)s; check_kind(KN_KC_VALUE_GRADED, APL_SHARE); }
static void test_binary(void **s) { (void)s; check_kind(KN_KC_VALUE_BINARY, APL_SHARE); }
static void test_rank(void **s) { (void)s; check_kind(KN_KC_VALUE_RANK, APL_SHARE); }

static void test_bad_apl(void **s)
{
    (void)s;
    kn_kc_encoder e;
    kn_error err;
    assert_int_equal(kn_kc_encoder_init(&e, D, M, CIN, K, 9, &err), 0);
    kn_kc_recoder rec;
    assert_int_equal(kn_kc_recoder_init(&rec, &e, -1, KN_KC_VALUE_GRADED, &err), KN_EINVAL);
    assert_non_null(strstr(err.msg, "apl"));
    assert_int_equal(kn_kc_recoder_init(&rec, &e, NAN, KN_KC_VALUE_GRADED, &err), KN_EINVAL);
    kn_kc_encoder_free(&e);
}

/* fly-apl after a stream = the joint ridge on the variant codes of everything seen. */
enum { NC = 4, PER = 50, NTR = NC * PER, NTE = 60 };

static void run_stream(kn_learner *l, const float *x, const int32_t *y, int reverse, size_t batch)
{
    kn_error err;
    for (int tt = 0; tt < 2; tt++) {
        int t = reverse ? 1 - tt : tt;
        int32_t cls[2] = {2 * t, 2 * t + 1};
        assert_int_equal(kn_learner_begin_task(l, tt, cls, 2, &err), 0);
        /* The task's samples (classes 2t, 2t+1), forwards or backwards, in batches. */
        static float xb[NTR * D];
        static int32_t yb[NTR];
        size_t nb = 0;
        for (size_t q = 0; q < NTR; q++) {
            size_t i = reverse ? NTR - 1 - q : q;
            if (y[i] / 2 != t)
                continue;
            memcpy(xb + nb * D, x + i * D, D * sizeof *x);
            yb[nb++] = y[i];
        }
        for (size_t st = 0; st < nb; st += batch) {
            size_t b = nb - st < batch ? nb - st : batch;
            assert_int_equal(kn_learner_observe(l, xb + st * D, yb + st, b, &err), 0);
        }
        assert_int_equal(kn_learner_end_task(l, &err), 0);
    }
}

static void test_learner_is_the_joint_ridge(void **s)
{
    (void)s;
    static float x[NTR * D], xt[NTE * D], sc_a[NTE * NC], sc_b[NTE * NC], sc_d[NTE * NC];
    int32_t y[NTR];
    make_x(x, NTR, D, 4);
    make_x(xt, NTE, D, 5);
    for (size_t i = 0; i < NTR; i++) {
        y[i] = (int32_t)(i % NC);
        for (int j = 0; j < 5; j++)
            x[i * D + (size_t)(y[i] * 5 + j)] += 2; /* some class structure */
    }
    kn_learner_info info = {.d = D, .n_classes = NC, .seed = 7};
    kn_kv kv[] = {{"m", "150"}, {"c", "6"}, {"k", "30"}, {"apl", "0.6"}, {"value", "graded"},
                  {"lambda", "0.5"}};
    kn_learner *a = NULL, *b = NULL;
    kn_error err;
    assert_int_equal(kn_learner_create("fly-apl", &info, kv, 6, &a, &err), 0);
    assert_int_equal(kn_learner_create("fly-apl", &info, kv, 6, &b, &err), 0);
    run_stream(a, x, y, 0, 64);
    run_stream(b, x, y, 1, 7);
    assert_int_equal(kn_learner_predict_scores(a, xt, NTE, sc_a, &err), 0);
    assert_int_equal(kn_learner_predict_scores(b, xt, NTE, sc_b, &err), 0);
    /* Directly: the same encoder (same seed), the recoder, G and B summed, Cholesky. */
    kn_kc_encoder e;
    assert_int_equal(kn_kc_encoder_init(&e, D, M, CIN, K, 7, &err), 0);
    kn_kc_recoder rec;
    assert_int_equal(kn_kc_recoder_init(&rec, &e, 0.6, KN_KC_VALUE_GRADED, &err), 0);
    kn_kc_codes codes;
    assert_int_equal(kn_kc_codes_alloc(&codes, NTR, K, &err), 0);
    assert_int_equal(kn_kc_encode(&e, x, NTR, &codes, &err), 0);
    kn_kc_recode(&rec, x, &codes);
    static double G[M * M], B[M * NC], factor[M * M], rhs[M * NC];
    static float W[M * NC], dense[M];
    memset(G, 0, sizeof G);
    memset(B, 0, sizeof B);
    for (size_t i = 0; i < NTR; i++) {
        memset(dense, 0, sizeof dense);
        for (int j = 0; j < codes.nnz[i]; j++)
            dense[codes.cells[i * K + (size_t)j]] = codes.values[i * K + (size_t)j];
        for (int p = 0; p < M; p++) {
            B[p * NC + y[i]] += dense[p];
            for (int q = p; q < M; q++)
                G[p * M + q] += (double)dense[p] * dense[q];
        }
    }
    assert_int_equal(kn_ridge_solve(G, B, M, NC, 0.5, factor, rhs, W, &err), 0);
    assert_int_equal(kn_kc_encode(&e, xt, NTE, &codes, &err), 0);
    kn_kc_recode(&rec, xt, &codes);
    kn_kc_scores(&codes, W, NC, sc_d);
    double scale = 0;
    for (size_t q = 0; q < NTE * NC; q++)
        scale = fabs(sc_d[q]) > scale ? fabs(sc_d[q]) : scale;
    assert_true(scale > 0.1);
    for (size_t q = 0; q < NTE * NC; q++)
        if (!(fabs(sc_a[q] - sc_d[q]) <= 1e-6 * scale && fabs(sc_b[q] - sc_d[q]) <= 1e-6 * scale))
            fail_msg("score %zu: stream %g, other order %g, joint ridge %g", q, sc_a[q], sc_b[q],
                     sc_d[q]);
    kn_kc_codes_free(&codes);
    kn_kc_recoder_free(&rec);
    kn_kc_encoder_free(&e);
    kn_learner_free(a);
    kn_learner_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_graded_no_apl_is_the_encoder),
        cmocka_unit_test(test_graded),
        cmocka_unit_test(test_binary),
        cmocka_unit_test(test_rank),
        cmocka_unit_test(test_bad_apl),
        cmocka_unit_test(test_learner_is_the_joint_ridge),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
