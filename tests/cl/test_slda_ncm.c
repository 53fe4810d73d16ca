/* Tests of the `slda` and `ncm` learners (src/cl/slda.c, src/cl/ncm.c): after a stream, slda's
 * scores equal offline LDA computed here directly (two-pass means and pooled covariance, the
 * shrunk covariance inverted by Gauss-Jordan elimination) to 1e-5 relative, for several sample and
 * task orders and batch sizes; ncm's scores equal -||x - mu_c||^2 from directly computed means;
 * both round-trip through their model files and reject altered files. */
#include "test_support.h"
#include "cl_tasks.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kenyon/learner.h"
#include "kenyon/rng.h"

#define D 9
#define C 6
#define PER 50
#define N (C * PER)
#define NT 40 /* test samples */

/* Correlated Gaussian clusters (a shared random mixing so the covariance is not diagonal). */
static void make_data(float *x, int32_t *y, size_t n, uint64_t seed)
{
    kn_rng r;
    kn_rng_seed(&r, 99);
    double centre[C][D], mix[D][D];
    for (int c = 0; c < C; c++)
        for (int j = 0; j < D; j++)
            centre[c][j] = 4 * kn_rng_uniform(&r);
    for (int i = 0; i < D; i++)
        for (int j = 0; j < D; j++)
            mix[i][j] = kn_rng_normal(&r) * (i == j ? 1.0 : 0.4);
    kn_rng_seed(&r, seed);
    for (size_t s = 0; s < n; s++) {
        int c = (int)(s % C);
        y[s] = c;
        double z[D];
        for (int j = 0; j < D; j++)
            z[j] = kn_rng_normal(&r);
        for (int i = 0; i < D; i++) {
            double v = centre[c][i];
            for (int j = 0; j < D; j++)
                v += mix[i][j] * z[j];
            x[s * D + i] = (float)v;
        }
    }
}

/* Offline LDA scores computed directly. */
static void offline_lda(const float *x, const int32_t *y, size_t n, double eps, const float *xt,
                        size_t nt, double *scores)
{
    double mu[C][D] = {{0}}, cnt[C] = {0}, S[D][D] = {{0}};
    for (size_t s = 0; s < n; s++) {
        cnt[y[s]] += 1;
        for (int j = 0; j < D; j++)
            mu[y[s]][j] += x[s * D + j];
    }
    for (int c = 0; c < C; c++)
        for (int j = 0; j < D; j++)
            mu[c][j] /= cnt[c];
    for (size_t s = 0; s < n; s++)
        for (int i = 0; i < D; i++)
            for (int j = 0; j < D; j++)
                S[i][j] += (x[s * D + i] - mu[y[s]][i]) * (x[s * D + j] - mu[y[s]][j]);
    /* A = (1 - eps) S / n + eps I; invert by Gauss-Jordan with partial pivoting. */
    double A[D][2 * D];
    for (int i = 0; i < D; i++)
        for (int j = 0; j < 2 * D; j++)
            A[i][j] = j < D ? (1 - eps) * S[i][j] / (double)n + (i == j ? eps : 0)
                            : (j - D == i ? 1 : 0);
    for (int col = 0; col < D; col++) {
        int piv = col;
        for (int i = col + 1; i < D; i++)
            if (fabs(A[i][col]) > fabs(A[piv][col]))
                piv = i;
        for (int j = 0; j < 2 * D; j++) {
            double t = A[col][j];
            A[col][j] = A[piv][j];
            A[piv][j] = t;
        }
        double p = A[col][col];
        for (int j = 0; j < 2 * D; j++)
            A[col][j] /= p;
        for (int i = 0; i < D; i++)
            if (i != col) {
                double f = A[i][col];
                for (int j = 0; j < 2 * D; j++)
                    A[i][j] -= f * A[col][j];
            }
    }
    for (size_t s = 0; s < nt; s++)
        for (int c = 0; c < C; c++) {
            double lm[D], q = 0, v = 0;
            for (int i = 0; i < D; i++) {
                lm[i] = 0;
                for (int j = 0; j < D; j++)
                    lm[i] += A[i][D + j] * mu[c][j];
                q += mu[c][i] * lm[i];
                v += xt[s * D + i] * lm[i];
            }
            scores[s * C + c] = v - 0.5 * q;
        }
}

static double max_rel_diff(const float *a, const double *b, size_t n)
{
    double scale = 0, worst = 0;
    for (size_t i = 0; i < n; i++)
        scale = fmax(scale, fabs(b[i]));
    for (size_t i = 0; i < n; i++)
        worst = fmax(worst, fabs(a[i] - b[i]) / scale);
    return worst;
}

static void test_slda_equals_offline_lda(void **state)
{
    (void)state;
    static float x[N * D], xt[NT * D];
    static int32_t y[N], yt[NT];
    make_data(x, y, N, 5);
    make_data(xt, yt, NT, 6);
    const double eps_list[2] = {1e-4, 0.3};
    const int orders[3][3] = {{0, 1, 2}, {2, 0, 1}, {1, 2, 0}};
    const size_t batches[3] = {1, 7, 64};
    double want[NT * C];
    float got[NT * C];
    kn_error err;
    for (int e = 0; e < 2; e++) {
        char ev[32];
        snprintf(ev, sizeof ev, "%g", eps_list[e]);
        kn_kv ov[] = {{"shrinkage", ev}};
        offline_lda(x, y, N, eps_list[e], xt, NT, want);
        for (int o = 0; o < 3; o++) {
            kn_learner *l = cl_make("slda", D, C, 3, ov, 1);
            cl_stream_tasks(l, x, y, N, D, orders[o], 3, 11 + (uint64_t)o, batches[o]);
            assert_int_equal(kn_learner_predict_scores(l, xt, NT, got, &err), 0);
            double rel = max_rel_diff(got, want, NT * C);
            if (!(rel < 1e-5))
                fail_msg("eps %g order %d batch %zu: slda differs from offline LDA by %g",
                         eps_list[e], o, batches[o], rel);
            kn_learner_free(l);
        }
    }
    /* The test can fail: a wrong shrinkage is visibly different. */
    offline_lda(x, y, N, 0.3, xt, NT, want);
    kn_learner *l = cl_make("slda", D, C, 3, NULL, 0);
    cl_stream_tasks(l, x, y, N, D, orders[0], 3, 0, 64);
    assert_int_equal(kn_learner_predict_scores(l, xt, NT, got, &err), 0);
    assert_true(max_rel_diff(got, want, NT * C) > 1e-3);
    kn_learner_free(l);
}

static void test_ncm_equals_direct_means(void **state)
{
    (void)state;
    static float x[N * D], xt[NT * D];
    static int32_t y[N], yt[NT];
    make_data(x, y, N, 8);
    make_data(xt, yt, NT, 9);
    double mu[C][D] = {{0}}, cnt[C] = {0};
    for (size_t s = 0; s < N; s++) {
        cnt[y[s]] += 1;
        for (int j = 0; j < D; j++)
            mu[y[s]][j] += x[s * D + j];
    }
    double want[NT * C];
    for (size_t s = 0; s < NT; s++)
        for (int c = 0; c < C; c++) {
            double d2 = 0;
            for (int j = 0; j < D; j++) {
                double v = xt[s * D + j] - mu[c][j] / cnt[c];
                d2 += v * v;
            }
            want[s * C + c] = -d2;
        }
    const int orders[2][3] = {{0, 1, 2}, {2, 1, 0}};
    float got[NT * C];
    kn_error err;
    for (int o = 0; o < 2; o++) {
        kn_learner *l = cl_make("ncm", D, C, 3, NULL, 0);
        cl_stream_tasks(l, x, y, N, D, orders[o], 3, (uint64_t)o * 5, o ? 3 : 64);
        assert_int_equal(kn_learner_predict_scores(l, xt, NT, got, &err), 0);
        double rel = max_rel_diff(got, want, NT * C);
        if (!(rel < 1e-5))
            fail_msg("order %d: ncm differs from the direct means by %g", o, rel);
        kn_learner_free(l);
    }
    /* Before any data of a class, its score is the lowest possible. */
    kn_learner *l = cl_make("ncm", D, C, 3, NULL, 0);
    int32_t cls[2] = {0, 1};
    assert_int_equal(kn_learner_begin_task(l, 0, cls, 2, &err), 0);
    assert_int_equal(kn_learner_observe(l, x, y, 2, &err), 0);
    assert_int_equal(kn_learner_predict_scores(l, xt, 1, got, &err), 0);
    assert_true(got[0] > -FLT_MAX && got[2] == -FLT_MAX);
    kn_learner_free(l);
}

/* Save after the stream, load: bit-identical scores; truncated or altered files fail. */
static void round_trip(const char *method)
{
    static float x[N * D], xt[NT * D];
    static int32_t y[N], yt[NT];
    make_data(x, y, N, 12);
    make_data(xt, yt, NT, 13);
    const int order[3] = {0, 1, 2};
    kn_learner *a = cl_make(method, D, C, 3, NULL, 0);
    cl_stream_tasks(a, x, y, N, D, order, 3, 4, 16);
    const char *dir = kt_scratch_dir(method);
    const char *path = kt_path(dir, "model.safetensors");
    kn_error err;
    assert_int_equal(kn_learner_save(a, path, &err), 0);
    kn_learner *b = NULL;
    if (kn_learner_load(path, &b, &err))
        fail_msg("load %s: %s", method, err.msg);
    float sa[NT * C], sb[NT * C];
    assert_int_equal(kn_learner_predict_scores(a, xt, NT, sa, &err), 0);
    assert_int_equal(kn_learner_predict_scores(b, xt, NT, sb, &err), 0);
    assert_memory_equal(sa, sb, sizeof sa);
    kn_learner_free(b);
    /* Truncated copies never load. */
    size_t len;
    unsigned char *bytes = (unsigned char *)kt_read_file(path, &len);
    const char *bad = kt_path(dir, "bad.safetensors");
    for (size_t cut = 0; cut < len; cut += len / 7 + 1) {
        kt_write_bytes(bad, bytes, cut);
        kn_learner *c = NULL;
        assert_true(kn_learner_load(bad, &c, &err) < 0);
        assert_null(c);
    }
    /* A negative count is refused with the tensor's name. */
    double neg = -1;
    const char *key = "\"class_counts\"";
    unsigned char *hit = NULL;
    for (size_t i = 0; i + strlen(key) < len && !hit; i++)
        if (!memcmp(bytes + i, key, strlen(key)))
            hit = bytes + i;
    assert_non_null(hit);
    unsigned long long off0 = 0;
    assert_int_equal(sscanf(strstr((char *)hit, "data_offsets") + 15, "%llu", &off0), 1);
    unsigned long long hlen = 0;
    for (int i = 0; i < 8; i++)
        hlen |= (unsigned long long)bytes[i] << (8 * i);
    memcpy(bytes + 8 + hlen + off0, &neg, sizeof neg);
    kt_write_bytes(bad, bytes, (size_t)len);
    kn_learner *c = NULL;
    assert_true(kn_learner_load(bad, &c, &err) < 0);
    assert_non_null(strstr(err.msg, "class_counts[0]"));
    free(bytes);
    kn_learner_free(a);
}

static void test_slda_round_trip(void **state)
{
    (void)state;
    round_trip("slda");
}

static void test_ncm_round_trip(void **state)
{
    (void)state;
    round_trip("ncm");
}

static void test_slda_options(void **state)
{
    (void)state;
    kn_learner_info info = {.d = D, .n_classes = C, .seed = 1};
    kn_learner *l = NULL;
    kn_error err;
    kn_kv bad[] = {{"shrinkage", "0"}};
    assert_int_equal(kn_learner_create("slda", &info, bad, 1, &l, &err), KN_EINVAL);
    assert_non_null(strstr(err.msg, "--shrinkage: 0 is out of range; accepted: a number in (0, 1]"));
    assert_null(l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_slda_equals_offline_lda),
        cmocka_unit_test(test_ncm_equals_direct_means),
        cmocka_unit_test(test_slda_round_trip),
        cmocka_unit_test(test_ncm_round_trip),
        cmocka_unit_test(test_slda_options),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
