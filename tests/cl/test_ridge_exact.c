/* Exactness of the streaming ridge learners (src/cl/ranpac.c, fly-ridge in src/cl/fly_methods.c)
 * and of the lambda choice (src/fly/ridge_select.c): after a stream in any task order, sample
 * order and batch size, the scores equal those of the joint ridge solution on all data seen,
 * computed here directly (features rebuilt from the saved projection, G and B summed afresh,
 * (G + lambda I) W = B solved by Gauss-Jordan elimination), to 1e-6 relative, with lambda fixed
 * and with lambda chosen by the hold-out (auto) or GCV; the hold-out choice picks the grid
 * value a direct evaluation of every lambda picks, and GCV's values equal the textbook formula
 * with the explicit hat matrix. Too large an M for this machine fails with the memory it would
 * need (checked on machines with less than 32 GB). */
#include "test_support.h"
#include "cl_tasks.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kenyon/fly.h"
#include "kenyon/learner.h"
#include "kenyon/ridge.h"
#include "kenyon/rng.h"
#include "kenyon/safetensors.h"

#define D 9
#define C 6
#define PER 60
#define N (C * PER)
#define NT 30
#define MAXM 64

static void make_data(float *x, int32_t *y, size_t n, uint64_t seed)
{
    kn_rng r;
    kn_rng_seed(&r, 77);
    double centre[C][D];
    for (int c = 0; c < C; c++)
        for (int j = 0; j < D; j++)
            centre[c][j] = 2 * kn_rng_uniform(&r);
    kn_rng_seed(&r, seed);
    for (size_t s = 0; s < n; s++) {
        int c = (int)(s % C);
        y[s] = c;
        for (int j = 0; j < D; j++)
            x[s * D + j] = (float)(centre[c][j] + 0.6 * kn_rng_normal(&r));
    }
}

/* Solves (G + lambda I) W = B (m x m, m x C) by Gauss-Jordan with partial pivoting. */
static void direct_ridge(const double *G, const double *B, int m, double lambda, double *W)
{
    static double A[MAXM][MAXM + C];
    for (int i = 0; i < m; i++) {
        for (int j = 0; j < m; j++)
            A[i][j] = G[i * m + j] + (i == j ? lambda : 0);
        for (int q = 0; q < C; q++)
            A[i][m + q] = B[i * C + q];
    }
    for (int col = 0; col < m; col++) {
        int piv = col;
        for (int i = col + 1; i < m; i++)
            if (fabs(A[i][col]) > fabs(A[piv][col]))
                piv = i;
        for (int j = 0; j < m + C; j++) {
            double t = A[col][j];
            A[col][j] = A[piv][j];
            A[piv][j] = t;
        }
        double p = A[col][col];
        for (int j = 0; j < m + C; j++)
            A[col][j] /= p;
        for (int i = 0; i < m; i++)
            if (i != col) {
                double f = A[i][col];
                for (int j = 0; j < m + C; j++)
                    A[i][j] -= f * A[col][j];
            }
    }
    for (int i = 0; i < m; i++)
        for (int q = 0; q < C; q++)
            W[i * C + q] = A[i][m + q];
}

/* The features of the learner in the saved file: ranpac ReLU(x P), fly-ridge the KC code. */
typedef struct feats {
    int m;
    float proj[D * MAXM];
    kn_kc_encoder enc;
    int fly;
} feats;

static void load_feats(const char *path, int fly, feats *f)
{
    kn_st_file sf;
    kn_error err;
    if (kn_st_read(path, &sf, &err))
        fail_msg("read %s: %s", path, err.msg);
    f->fly = fly;
    if (fly) {
        const kn_st_tensor *t = kn_st_find(&sf, "kc_inputs");
        assert_non_null(t);
        f->m = (int)t->shape[0];
        int64_t k;
        assert_int_equal(kn_st_meta_int64(&sf, "fly.k", &k, &err), 0);
        assert_int_equal(kn_kc_encoder_init_inputs(&f->enc, D, f->m, (int)t->shape[1], (int)k,
                                                   t->data, &err),
                         0);
    } else {
        const kn_st_tensor *t = kn_st_find(&sf, "projection");
        assert_non_null(t);
        f->m = (int)t->shape[1];
        assert_true(f->m <= MAXM);
        memcpy(f->proj, t->data, t->nbytes);
    }
    kn_st_free(&sf);
}

static void features(const feats *f, const float *x, size_t n, double *h)
{
    const int m = f->m;
    if (f->fly) {
        kn_kc_codes codes;
        kn_error err;
        assert_int_equal(kn_kc_codes_alloc(&codes, n, f->enc.k, &err), 0);
        assert_int_equal(kn_kc_encode(&f->enc, x, n, &codes, &err), 0);
        memset(h, 0, n * (size_t)m * sizeof *h);
        for (size_t i = 0; i < n; i++)
            for (int j = 0; j < codes.nnz[i]; j++)
                h[i * (size_t)m + (size_t)codes.cells[i * (size_t)codes.k + (size_t)j]] =
                    codes.values[i * (size_t)codes.k + (size_t)j];
        kn_kc_codes_free(&codes);
        return;
    }
    for (size_t i = 0; i < n; i++)
        for (int j = 0; j < m; j++) {
            double v = 0;
            for (int q = 0; q < D; q++)
                v += (double)x[i * D + q] * f->proj[q * m + j];
            h[i * (size_t)m + (size_t)j] = v > 0 ? v : 0;
        }
}

/* Scores of the joint ridge on (x, y) at lambda, for the test rows xt. */
static void joint_scores(const feats *f, const float *x, const int32_t *y, size_t n,
                         double lambda, const float *xt, size_t nt, double *scores)
{
    const int m = f->m;
    double *h = malloc(n * (size_t)m * sizeof *h), *G = calloc((size_t)m * m, sizeof *G);
    double *B = calloc((size_t)m * C, sizeof *B), *W = malloc((size_t)m * C * sizeof *W);
    double *ht = malloc(nt * (size_t)m * sizeof *ht);
    assert_true(h && G && B && W && ht);
    features(f, x, n, h);
    for (size_t s = 0; s < n; s++)
        for (int i = 0; i < m; i++) {
            B[i * C + y[s]] += h[s * m + i];
            for (int j = 0; j < m; j++)
                G[i * m + j] += h[s * m + i] * h[s * m + j];
        }
    direct_ridge(G, B, m, lambda, W);
    features(f, xt, nt, ht);
    for (size_t s = 0; s < nt; s++)
        for (int q = 0; q < C; q++) {
            double v = 0;
            for (int i = 0; i < m; i++)
                v += ht[s * m + i] * W[i * C + q];
            scores[s * C + q] = v;
        }
    free(h);
    free(G);
    free(B);
    free(W);
    free(ht);
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

static double saved_lambda(const char *path, const char *key)
{
    kn_st_file sf;
    kn_error err;
    double v = NAN;
    if (kn_st_read(path, &sf, &err))
        fail_msg("read %s: %s", path, err.msg);
    assert_int_equal(kn_st_meta_double(&sf, key, &v, &err), 0);
    kn_st_free(&sf);
    return v;
}

static void check_joint(const char *method, const char *lambda)
{
    static float x[N * D], xt[NT * D];
    static int32_t y[N], yt[NT];
    make_data(x, y, N, 3);
    make_data(xt, yt, NT, 4);
    const int fly = strcmp(method, "fly-ridge") == 0;
    kn_kv ov_ranpac[] = {{"M", "40"}, {"lambda", lambda}};
    kn_kv ov_fly[] = {{"m", "48"}, {"c", "3"}, {"k", "8"}, {"lambda", lambda}};
    const int orders[3][3] = {{0, 1, 2}, {2, 0, 1}, {1, 2, 0}};
    const size_t batches[3] = {1, 13, 500};
    const char *dir = kt_scratch_dir(method);
    for (int o = 0; o < 3; o++) {
        kn_learner *l = fly ? cl_make(method, D, C, 21, ov_fly, 4)
                            : cl_make(method, D, C, 21, ov_ranpac, 2);
        cl_stream_tasks(l, x, y, N, D, orders[o], 3, 31 + (uint64_t)o, batches[o]);
        const char *path = kt_path(dir, "m.safetensors");
        kn_error err;
        assert_int_equal(kn_learner_save(l, path, &err), 0);
        feats f;
        load_feats(path, fly, &f);
        double lam = saved_lambda(path, fly ? "fly.lambda" : "ranpac.lambda");
        if (strcmp(lambda, "auto") && strcmp(lambda, "gcv"))
            assert_true(lam == atof(lambda));
        double want[NT * C];
        float got[NT * C];
        joint_scores(&f, x, y, N, lam, xt, NT, want);
        assert_int_equal(kn_learner_predict_scores(l, xt, NT, got, &err), 0);
        double rel = max_rel_diff(got, want, NT * C);
        if (!(rel < 1e-6))
            fail_msg("%s lambda=%s (%g) order %d batch %zu: differs from the joint ridge by %g",
                     method, lambda, lam, o, batches[o], rel);
        /* The test can fail: another lambda gives visibly different scores. */
        joint_scores(&f, x, y, N, lam >= 1 ? lam * 1e-3 : 30.0, xt, NT, want);
        assert_true(max_rel_diff(got, want, NT * C) > 1e-4);
        /* A loaded copy predicts the same. */
        kn_learner *b = NULL;
        if (kn_learner_load(path, &b, &err))
            fail_msg("load: %s", err.msg);
        float got2[NT * C];
        assert_int_equal(kn_learner_predict_scores(b, xt, NT, got2, &err), 0);
        assert_memory_equal(got, got2, sizeof got);
        kn_learner_free(b);
        if (fly)
            kn_kc_encoder_free(&f.enc);
        kn_learner_free(l);
    }
}

static void test_ranpac_fixed(void **s) { (void)s; check_joint("ranpac", "0.5"); }
static void test_ranpac_auto(void **s) { (void)s; check_joint("ranpac", "auto"); }
static void test_fly_ridge_fixed(void **s) { (void)s; check_joint("fly-ridge", "0.5"); }
static void test_fly_ridge_auto(void **s) { (void)s; check_joint("fly-ridge", "auto"); }
static void test_fly_ridge_gcv(void **s) { (void)s; check_joint("fly-ridge", "gcv"); }

/* Random G = H^T H, B = H^T Y and a hold-out; the choice against a direct evaluation. */
static void test_choices_match_direct(void **state)
{
    (void)state;
    enum { M = 12, NS = 80, NH = 25 };
    kn_rng r;
    kn_rng_seed(&r, 5);
    static double h[NS][M], G[M * M], B[M * C], W[M * C];
    static float hh[NH * M];
    int32_t ys[NS], yh[NH];
    for (int s = 0; s < NS; s++) {
        ys[s] = (int32_t)kn_rng_below(&r, C);
        for (int j = 0; j < M; j++)
            h[s][j] = kn_rng_normal(&r) + (j % C == ys[s] ? 1.5 : 0);
    }
    for (int s = 0; s < NH; s++) {
        yh[s] = (int32_t)kn_rng_below(&r, C);
        for (int j = 0; j < M; j++)
            hh[s * M + j] = (float)(kn_rng_normal(&r) + (j % C == yh[s] ? 1.5 : 0));
    }
    memset(G, 0, sizeof G);
    memset(B, 0, sizeof B);
    for (int s = 0; s < NS; s++)
        for (int i = 0; i < M; i++) {
            B[i * C + ys[s]] += h[s][i];
            for (int j = 0; j < M; j++)
                G[i * M + j] += h[s][i] * h[s][j];
        }
    uint8_t allowed[C] = {1, 1, 1, 1, 1, 1};
    double factor[M * M];
    kn_ridge_choice ch;
    kn_error err;
    double best_acc = -1, best_sse = INFINITY, best_lam = 0, best_gcv = INFINITY, gcv_lam = 0;
    for (int gi = 0; gi < KN_RIDGE_GRID_N; gi++) {
        double lam = kn_ridge_grid(gi);
        direct_ridge(G, B, M, lam, W);
        int right = 0;
        double sse = 0;
        for (int s = 0; s < NH; s++) {
            int arg = 0;
            double sc[C];
            for (int q = 0; q < C; q++) {
                sc[q] = 0;
                for (int i = 0; i < M; i++)
                    sc[q] += hh[s * M + i] * W[i * C + q];
                sse += (sc[q] - (q == yh[s])) * (sc[q] - (q == yh[s]));
                if (sc[q] > sc[arg])
                    arg = q;
            }
            right += arg == yh[s];
        }
        double acc = right / (double)NH;
        if (acc > best_acc || (acc == best_acc && sse < best_sse))
            best_acc = acc, best_sse = sse, best_lam = lam;
        /* GCV with the explicit hat matrix on the NS fitted rows. */
        double rss = 0, df = 0;
        for (int s = 0; s < NS; s++)
            for (int q = 0; q < C; q++) {
                double v = 0;
                for (int i = 0; i < M; i++)
                    v += h[s][i] * W[i * C + q];
                rss += (v - (q == ys[s])) * (v - (q == ys[s]));
            }
        /* df = tr(H (G + lam I)^-1 H^T) = tr(G (G + lam I)^-1), column by column. */
        static double Ginv[M * C];
        for (int j = 0; j < M; j += C) {
            double E[M * C];
            memset(E, 0, sizeof E);
            for (int q = 0; q < C && j + q < M; q++)
                for (int i = 0; i < M; i++)
                    E[i * C + q] = G[i * M + j + q];
            direct_ridge(G, E, M, lam, Ginv);
            for (int q = 0; q < C && j + q < M; q++)
                df += Ginv[(j + q) * C + q];
        }
        double gcv = NS * rss / ((NS - df) * (NS - df));
        if (gcv < best_gcv)
            best_gcv = gcv, gcv_lam = lam;
    }
    /* Every grid evaluation (tridiagonal, a Cholesky per value, band) and the default. */
    const kn_ridge_search how[4] = {KN_RIDGE_SEARCH_AUTO, KN_RIDGE_SEARCH_TRIDIAGONAL,
                                    KN_RIDGE_SEARCH_CHOLESKY, KN_RIDGE_SEARCH_BAND};
    for (int hw = 0; hw < 4; hw++) {
        assert_int_equal(kn_ridge_choose_holdout_with(how[hw], G, B, M, C, hh, yh, NH, allowed,
                                                      factor, &ch, &err),
                         0);
        assert_int_equal(ch.n_tried, KN_RIDGE_GRID_N);
        if (ch.lambda != best_lam || !(fabs(ch.score - best_acc) < 1e-12))
            fail_msg("search %d: hold-out lambda %g (acc %g), direct %g (acc %g)", hw,
                     ch.lambda, ch.score, best_lam, best_acc);
        assert_int_equal(
            kn_ridge_choose_gcv_with(how[hw], G, B, M, C, NS, factor, &ch, &err), 0);
        if (ch.lambda != gcv_lam || !(fabs(ch.score - best_gcv) <= 1e-6 * best_gcv))
            fail_msg("search %d: GCV lambda %g (%g), direct %g (%g)", hw, ch.lambda, ch.score,
                     gcv_lam, best_gcv);
    }
}

static void test_too_large_fails_with_the_need(void **state)
{
    (void)state;
    kn_learner_info info = {.d = D, .n_classes = C, .seed = 1};
    kn_learner *l = NULL;
    kn_error err;
    /* 45000^2 doubles twice = 32.4 GB: more than a machine with less memory has. */
    if ((double)sysconf(_SC_PHYS_PAGES) * (double)sysconf(_SC_PAGESIZE) >= 32.4e9)
        skip();
    kn_kv big[] = {{"M", "45000"}};
    assert_int_equal(kn_learner_create("ranpac", &info, big, 1, &l, &err), KN_ENOMEM);
    if (!strstr(err.msg, "method ranpac: M=45000 needs 32.4 GB"))
        fail_msg("message: %s", err.msg);
    assert_non_null(strstr(err.msg, "more than this machine's"));
    kn_kv bigf[] = {{"m", "45000"}, {"k", "10"}, {"c", "3"}};
    assert_int_equal(kn_learner_create("fly-ridge", &info, bigf, 3, &l, &err), KN_ENOMEM);
    /* fly-ridge also holds its pending codes, 45000^2 * 13 / 8 bytes (3.3 GB). */
    assert_non_null(strstr(err.msg, "method fly-ridge: m=45000 needs 35.7 GB"));
    kn_kv badl[] = {{"lambda", "-1"}};
    assert_int_equal(kn_learner_create("ranpac", &info, badl, 1, &l, &err), KN_EINVAL);
    assert_non_null(strstr(err.msg, "--lambda: -1 is out of range; accepted: a number in (0, 1e+12] or auto"));
    assert_null(l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ranpac_fixed),        cmocka_unit_test(test_ranpac_auto),
        cmocka_unit_test(test_fly_ridge_fixed),     cmocka_unit_test(test_fly_ridge_auto),
        cmocka_unit_test(test_fly_ridge_gcv),       cmocka_unit_test(test_choices_match_direct),
        cmocka_unit_test(test_too_large_fails_with_the_need),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
