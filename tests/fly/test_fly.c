/* Known-answer tests for the FlyModel core (src/fly): projection, scaling, k-WTA with ties,
 * normalisation, the fly rule's clip and partial freezing, order independence, the perceptron
 * variants, thread-count independence, and fly-ridge against a direct solve. */
#include "test_support.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "kenyon/fly.h"
#include "kenyon/rng.h"

static void test_projection_sampling(void **state)
{
    (void)state;
    kn_kc_encoder a, b, c;
    kn_error err;
    assert_int_equal(kn_kc_encoder_init(&a, 84, 3200, 10, 160, 1, &err), 0);
    assert_int_equal(kn_kc_encoder_init(&b, 84, 3200, 10, 160, 1, &err), 0);
    assert_int_equal(kn_kc_encoder_init(&c, 84, 3200, 10, 160, 12, &err), 0);
    assert_memory_equal(a.inputs, b.inputs, 3200 * 10 * sizeof(uint32_t));
    size_t differ = 0;
    long hits[84] = {0};
    for (int i = 0; i < 3200; i++) {
        const uint32_t *row = a.inputs + i * 10;
        for (int j = 0; j < 10; j++) {
            assert_true(row[j] < 84);
            if (j)
                assert_true(row[j - 1] < row[j]); /* distinct and increasing */
            hits[row[j]]++;
            differ += row[j] != c.inputs[i * 10 + j];
        }
    }
    assert_true(differ > 3200);
    /* Each input is used about 3200*10/84 = 381 times. */
    for (int j = 0; j < 84; j++)
        assert_true(hits[j] > 381 - 100 && hits[j] < 381 + 100);
    /* c == d: every cell takes every input. */
    kn_kc_encoder full;
    assert_int_equal(kn_kc_encoder_init(&full, 5, 3, 5, 1, 9, &err), 0);
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 5; j++)
            assert_int_equal(full.inputs[i * 5 + j], j);
    kn_kc_encoder_free(&a);
    kn_kc_encoder_free(&b);
    kn_kc_encoder_free(&c);
    kn_kc_encoder_free(&full);
}

/* Hand-checkable: x = (10, 11, 12, 13) scales to (0, 1/3, 2/3, 1). Cells {0,1} {2,3} {1,2} {0,3}
 * give h = (1/3, 5/3, 1, 1). With k = 2 the winners are cell 1 (5/3) and, of the tie at 1, the
 * lower cell 2; normalised by 5/3: values 1 and 0.6. */
static void test_encode_known_answer(void **state)
{
    (void)state;
    const uint32_t proj[8] = {0, 1, 2, 3, 1, 2, 0, 3};
    kn_kc_encoder e;
    kn_error err;
    assert_int_equal(kn_kc_encoder_init_inputs(&e, 4, 4, 2, 2, proj, &err), 0);
    const float x[4] = {10, 11, 12, 13};
    float h[4];
    kn_kc_activity(&e, x, h);
    assert_float_equal(h[0], 1.0 / 3, 1e-6);
    assert_float_equal(h[1], 5.0 / 3, 1e-6);
    assert_float_equal(h[2], 1.0, 1e-6);
    assert_float_equal(h[3], 1.0, 1e-6);
    kn_kc_codes codes;
    assert_int_equal(kn_kc_codes_alloc(&codes, 1, 2, &err), 0);
    assert_int_equal(kn_kc_encode(&e, x, 1, &codes, &err), 0);
    assert_int_equal(codes.nnz[0], 2);
    assert_int_equal(codes.cells[0], 1);
    assert_int_equal(codes.cells[1], 2);
    assert_true(codes.values[0] == 1.0f); /* the strongest KC is exactly 1 */
    assert_float_equal(codes.values[1], 0.6, 1e-6);
    kn_kc_codes_free(&codes);
    kn_kc_encoder_free(&e);
}

/* All cells equal: the k lowest-numbered cells win. A constant sample has no active KC. Fewer
 * than k active cells: all active cells win, zeros never do. */
static void test_kwta_ties_and_zeros(void **state)
{
    (void)state;
    uint32_t proj[6] = {1, 1, 1, 1, 1, 1};
    kn_kc_encoder e;
    kn_error err;
    assert_int_equal(kn_kc_encoder_init_inputs(&e, 2, 6, 1, 3, proj, &err), 0);
    kn_kc_codes codes;
    assert_int_equal(kn_kc_codes_alloc(&codes, 3, 3, &err), 0);
    const float x[6] = {0, 5, /* constant: */ 2, 2, /* reversed: input 1 is the min */ 4, 1};
    assert_int_equal(kn_kc_encode(&e, x, 3, &codes, &err), 0);
    assert_int_equal(codes.nnz[0], 3);
    for (int j = 0; j < 3; j++) {
        assert_int_equal(codes.cells[j], j);
        assert_true(codes.values[j] == 1.0f);
    }
    assert_int_equal(codes.nnz[1], 0);
    assert_int_equal(codes.nnz[2], 0); /* input 1 scales to 0, so every KC is 0 */
    kn_kc_encoder_free(&e);

    /* Cells 0..3 read inputs 0..3; x = (0, 0, 1, 2): only cells 2 and 3 are active (k = 3). */
    uint32_t proj2[4] = {0, 1, 2, 3};
    assert_int_equal(kn_kc_encoder_init_inputs(&e, 4, 4, 1, 3, proj2, &err), 0);
    const float x2[4] = {0, 0, 1, 2};
    assert_int_equal(kn_kc_encode(&e, x2, 1, &codes, &err), 0);
    assert_int_equal(codes.nnz[0], 2);
    assert_int_equal(codes.cells[0], 2);
    assert_int_equal(codes.cells[1], 3);
    assert_float_equal(codes.values[0], 0.5, 1e-7);
    assert_true(codes.values[1] == 1.0f);
    /* A non-finite feature is an error naming the sample and the feature. */
    float bad[8] = {0, 1, 2, 3, 0, 1, NAN, 3};
    assert_int_equal(kn_kc_encode(&e, bad, 2, &codes, &err), KN_EINVAL);
    assert_non_null(strstr(err.msg, "sample 1, feature 2 is not finite"));
    kn_kc_codes_free(&codes);
    kn_kc_encoder_free(&e);
}

/* Reference k-WTA by full sort (value descending, then cell ascending). */
typedef struct {
    float v;
    int cell;
} vc;
static int cmp_vc(const void *a, const void *b)
{
    const vc *x = a, *y = b;
    if (x->v != y->v)
        return x->v > y->v ? -1 : 1;
    return x->cell - y->cell;
}
static int cmp_int(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }

static void random_data(float *x, size_t n, size_t d, uint64_t seed, int quantise)
{
    kn_rng r;
    kn_rng_seed(&r, seed);
    for (size_t i = 0; i < n * d; i++) {
        double u = kn_rng_uniform(&r);
        x[i] = quantise ? (float)(floor(u * 4) / 4) : (float)(u * 3 - 1);
    }
}

/* The batched, threaded encoder equals a sort-based reference on random data, including data with
 * many ties (quantised inputs), and does not depend on the thread count. */
static void test_encode_matches_reference_and_threads(void **state)
{
    (void)state;
    const size_t d = 30, n = 300;
    const int m = 203, c = 4, k = 17; /* m not a multiple of 4: the tail path too */
    kn_kc_encoder e;
    kn_error err;
    assert_int_equal(kn_kc_encoder_init(&e, d, m, c, k, 5, &err), 0);
    float *x = malloc(n * d * sizeof *x);
    float h[203];
    vc s[203];
    for (int quant = 0; quant < 2; quant++) {
        random_data(x, n, d, 100 + (uint64_t)quant, quant);
        kn_kc_codes one, two;
        assert_int_equal(kn_kc_codes_alloc(&one, n, k, &err), 0);
        assert_int_equal(kn_kc_codes_alloc(&two, n, k, &err), 0);
        omp_set_num_threads(1);
        assert_int_equal(kn_kc_encode(&e, x, n, &one, &err), 0);
        omp_set_num_threads(2);
        assert_int_equal(kn_kc_encode(&e, x, n, &two, &err), 0);
        assert_memory_equal(one.nnz, two.nnz, n * sizeof(int32_t));
        assert_memory_equal(one.cells, two.cells, n * k * sizeof(int32_t));
        assert_memory_equal(one.values, two.values, n * k * sizeof(float));
        for (size_t i = 0; i < n; i++) {
            kn_kc_activity(&e, x + i * d, h);
            for (int q = 0; q < m; q++)
                s[q] = (vc){h[q], q};
            qsort(s, m, sizeof *s, cmp_vc);
            int want[203], nw = 0;
            for (int q = 0; q < k; q++)
                if (s[q].v > 0)
                    want[nw++] = s[q].cell;
            qsort(want, nw, sizeof *want, cmp_int);
            assert_int_equal(one.nnz[i], nw);
            for (int q = 0; q < nw; q++) {
                assert_int_equal(one.cells[i * k + q], want[q]);
                assert_true(one.values[i * k + q] == h[want[q]] / s[0].v);
            }
        }
        kn_kc_codes_free(&one);
        kn_kc_codes_free(&two);
    }
    free(x);
    kn_kc_encoder_free(&e);
}

static kn_fly_params tiny_params(kn_fly_rule rule, float lr)
{
    kn_fly_params p;
    kn_fly_params_default(&p, 4);
    p.m = 4;
    p.c = 2;
    p.k = 2;
    p.rule = rule;
    p.lr = lr;
    return p;
}

static const uint32_t tiny_proj[8] = {0, 1, 2, 3, 1, 2, 0, 3};

static void use_tiny_projection(kn_fly_model *f)
{
    kn_error err;
    kn_kc_encoder_free(&f->enc);
    assert_int_equal(kn_kc_encoder_init_inputs(&f->enc, 4, 4, 2, 2, tiny_proj, &err), 0);
}

/* The sample of test_encode_known_answer (code: cell 1 -> 1, cell 2 -> 0.6), learned with
 * lr 0.75: after one sample W[class][1] = 0.75, W[class][2] = 0.45; after two the first clips at
 * 1 and the second is 0.9. Other classes' weights stay exactly 0. */
static void test_fly_rule_clip_and_partial_freezing(void **state)
{
    (void)state;
    kn_fly_params p = tiny_params(KN_FLY_RULE_FLY, 0.75f);
    kn_fly_model f;
    kn_error err;
    assert_int_equal(kn_fly_model_init(&f, &p, 3, &err), 0);
    use_tiny_projection(&f);
    const float x[4] = {10, 11, 12, 13};
    const int32_t y = 1;
    assert_int_equal(kn_fly_learn(&f, x, &y, 1, NULL, &err), 0);
    assert_float_equal(f.w[1 * 3 + 1], 0.75, 1e-7);
    assert_float_equal(f.w[2 * 3 + 1], 0.45, 1e-7);
    assert_int_equal(kn_fly_learn(&f, x, &y, 1, NULL, &err), 0);
    assert_true(f.w[1 * 3 + 1] == 1.0f);
    assert_float_equal(f.w[2 * 3 + 1], 0.9, 1e-6);
    for (int cell = 0; cell < 4; cell++)
        for (int q = 0; q < 3; q++)
            if (q != 1 || cell == 0 || cell == 3)
                assert_true(f.w[cell * 3 + q] == 0.0f);
    /* Scores = W h: class 1 gets 1*1 + 0.6*0.9 = 1.54. */
    float sc[3];
    assert_int_equal(kn_fly_scores(&f, x, 1, sc, &err), 0);
    assert_float_equal(sc[1], 1.54, 1e-6);
    assert_true(sc[0] == 0.0f && sc[2] == 0.0f);
    kn_fly_model_free(&f);
}

/* Decay beta: W[y] <- (1 - beta) W[y] + lr h. */
static void test_fly_rule_decay(void **state)
{
    (void)state;
    kn_fly_params p = tiny_params(KN_FLY_RULE_FLY, 0.5f);
    p.beta = 0.5f;
    kn_fly_model f;
    kn_error err;
    assert_int_equal(kn_fly_model_init(&f, &p, 2, &err), 0);
    use_tiny_projection(&f);
    const float x[4] = {10, 11, 12, 13};
    const int32_t y = 0;
    assert_int_equal(kn_fly_learn(&f, x, &y, 1, NULL, &err), 0);
    assert_int_equal(kn_fly_learn(&f, x, &y, 1, NULL, &err), 0);
    /* cell 1: 0.5 -> 0.25 + 0.5 = 0.75; cell 2: 0.3 -> 0.15 + 0.3 = 0.45 */
    assert_float_equal(f.w[1 * 2 + 0], 0.75, 1e-7);
    assert_float_equal(f.w[2 * 2 + 0], 0.45, 1e-7);
    kn_fly_model_free(&f);
}

/* Learning a sample of class c changes no weight outside row c, on a realistic model. */
static void test_learning_touches_only_target_row(void **state)
{
    (void)state;
    kn_fly_params p;
    kn_fly_params_default(&p, 50);
    p.m = 400;
    p.k = 20;
    p.seed = 3;
    kn_fly_model f;
    kn_error err;
    assert_int_equal(kn_fly_model_init(&f, &p, 5, &err), 0);
    const size_t n = 200;
    float *x = malloc(n * 50 * sizeof *x);
    int32_t *y = malloc(n * sizeof *y);
    random_data(x, n, 50, 8, 0);
    for (size_t i = 0; i < n; i++)
        y[i] = (int32_t)(i % 4);
    assert_int_equal(kn_fly_learn(&f, x, y, n, NULL, &err), 0);
    float *before = malloc(400 * 5 * sizeof *before);
    memcpy(before, f.w, 400 * 5 * sizeof *before);
    int32_t three = 3;
    assert_int_equal(kn_fly_learn(&f, x + 7 * 50, &three, 1, NULL, &err), 0);
    int changed = 0;
    for (int cell = 0; cell < 400; cell++)
        for (int q = 0; q < 5; q++) {
            if (q != 3)
                assert_true(f.w[cell * 5 + q] == before[cell * 5 + q]);
            else
                changed += f.w[cell * 5 + q] != before[cell * 5 + q];
        }
    assert_true(changed > 0 && changed <= 20);
    free(before);
    free(x);
    free(y);
    kn_fly_model_free(&f);
}

/* The fly rule does not depend on the order of samples (up to float rounding of the sums). */
static void test_fly_rule_order_independent(void **state)
{
    (void)state;
    kn_fly_params p;
    kn_fly_params_default(&p, 40);
    p.m = 300;
    p.k = 15;
    p.lr = 0.3f; /* large enough that many weights reach the clip */
    kn_fly_model a, b;
    kn_error err;
    assert_int_equal(kn_fly_model_init(&a, &p, 3, &err), 0);
    assert_int_equal(kn_fly_model_init(&b, &p, 3, &err), 0);
    const size_t n = 300;
    float *x = malloc(n * 40 * sizeof *x), *xr = malloc(n * 40 * sizeof *xr);
    int32_t *y = malloc(n * sizeof *y), *yr = malloc(n * sizeof *yr);
    random_data(x, n, 40, 21, 0);
    for (size_t i = 0; i < n; i++)
        y[i] = (int32_t)(i * 7 % 3);
    uint32_t perm[300];
    kn_rng r;
    kn_rng_seed(&r, 4);
    kn_rng_permutation(&r, perm, n);
    for (size_t i = 0; i < n; i++) {
        memcpy(xr + i * 40, x + perm[i] * 40, 40 * sizeof *x);
        yr[i] = y[perm[i]];
    }
    assert_int_equal(kn_fly_learn(&a, x, y, n, NULL, &err), 0);
    assert_int_equal(kn_fly_learn(&b, xr, yr, n, NULL, &err), 0);
    int clipped = 0;
    for (int i = 0; i < 300 * 3; i++) {
        assert_float_equal(a.w[i], b.w[i], 1e-5);
        clipped += a.w[i] == 1.0f;
    }
    assert_true(clipped > 10);
    free(x);
    free(xr);
    free(y);
    free(yr);
    kn_fly_model_free(&a);
    kn_fly_model_free(&b);
}

/* Perceptron variants on two samples with the tiny projection. Sample A (code cell1 = 1,
 * cell2 = 0.6) of class 0, then sample A again labelled class 1. Allowed classes {0, 1}.
 * First sample: all scores 0, argmax = class 0 = target, no mistake.
 * Second sample: class 0 scores higher (V3) or ties at 0 (V1, V2) -> predicted 0, a mistake. */
static void test_perceptron_variants(void **state)
{
    (void)state;
    const float x[8] = {10, 11, 12, 13, 10, 11, 12, 13};
    const int32_t y[2] = {0, 1};
    const uint8_t allowed[2] = {1, 1};
    kn_error err;
    kn_fly_model f;
    /* V1: no update on sample 1; on sample 2 W[1] += h, W[0] -= h (clipped at 0). */
    kn_fly_params p = tiny_params(KN_FLY_RULE_V1, 0.5f);
    assert_int_equal(kn_fly_model_init(&f, &p, 2, &err), 0);
    use_tiny_projection(&f);
    assert_int_equal(kn_fly_learn(&f, x, y, 2, allowed, &err), 0);
    assert_float_equal(f.w[1 * 2 + 1], 0.5, 1e-7);
    assert_float_equal(f.w[2 * 2 + 1], 0.3, 1e-7);
    assert_true(f.w[1 * 2 + 0] == 0.0f && f.w[2 * 2 + 0] == 0.0f);
    kn_fly_model_free(&f);
    /* V2: same raise, no lowering. */
    p = tiny_params(KN_FLY_RULE_V2, 0.5f);
    assert_int_equal(kn_fly_model_init(&f, &p, 2, &err), 0);
    use_tiny_projection(&f);
    assert_int_equal(kn_fly_learn(&f, x, y, 2, allowed, &err), 0);
    assert_float_equal(f.w[1 * 2 + 1], 0.5, 1e-7);
    assert_true(f.w[1 * 2 + 0] == 0.0f);
    kn_fly_model_free(&f);
    /* V3: sample 1 raises W[0] (0.5, 0.3); sample 2 predicted 0: W[1] += h, W[0] -= h -> 0. */
    p = tiny_params(KN_FLY_RULE_V3, 0.5f);
    assert_int_equal(kn_fly_model_init(&f, &p, 2, &err), 0);
    use_tiny_projection(&f);
    assert_int_equal(kn_fly_learn(&f, x, y, 1, allowed, &err), 0);
    assert_float_equal(f.w[1 * 2 + 0], 0.5, 1e-7);
    assert_float_equal(f.w[2 * 2 + 0], 0.3, 1e-7);
    assert_int_equal(kn_fly_learn(&f, x + 4, y + 1, 1, allowed, &err), 0);
    assert_true(f.w[1 * 2 + 0] == 0.0f && f.w[2 * 2 + 0] == 0.0f);
    assert_float_equal(f.w[1 * 2 + 1], 0.5, 1e-7);
    /* V3 clips at the ceiling too. */
    for (int i = 0; i < 3; i++)
        assert_int_equal(kn_fly_learn(&f, x + 4, y + 1, 1, allowed, &err), 0);
    assert_true(f.w[1 * 2 + 1] == 1.0f);
    kn_fly_model_free(&f);
}

static void test_bad_parameters(void **state)
{
    (void)state;
    kn_fly_params p;
    kn_fly_model f;
    kn_error err;
    kn_fly_params_default(&p, 84);
    p.k = 4000;
    assert_int_equal(kn_fly_model_init(&f, &p, 20, &err), KN_EINVAL);
    assert_non_null(strstr(err.msg, "k (winners) cannot exceed m"));
    kn_fly_params_default(&p, 8);
    assert_int_equal(kn_fly_model_init(&f, &p, 20, &err), KN_EINVAL);
    assert_non_null(strstr(err.msg, "c (inputs per Kenyon cell) cannot exceed"));
    kn_fly_params_default(&p, 84);
    p.lr = 0;
    assert_int_equal(kn_fly_model_init(&f, &p, 20, &err), KN_EINVAL);
    assert_non_null(strstr(err.msg, "lr"));
    kn_fly_params_default(&p, 84);
    p.beta = 1;
    assert_int_equal(kn_fly_model_init(&f, &p, 20, &err), KN_EINVAL);
    assert_non_null(strstr(err.msg, "beta"));
    kn_kc_encoder e;
    const uint32_t dup[2] = {3, 3};
    assert_int_equal(kn_kc_encoder_init_inputs(&e, 4, 1, 2, 1, dup, &err), KN_EFORMAT);
    assert_non_null(strstr(err.msg, "twice"));
    const uint32_t big[2] = {1, 4};
    assert_int_equal(kn_kc_encoder_init_inputs(&e, 4, 1, 2, 1, big, &err), KN_EFORMAT);
    assert_non_null(strstr(err.msg, "not < d=4"));
    kn_fly_ridge r;
    assert_int_equal(kn_fly_ridge_init(&r, 10, 2, 0.0, &err), KN_EINVAL);
    assert_non_null(strstr(err.msg, "lambda"));
}

/* Solves A X = B (n x n, n x r, row-major, doubles) by Gaussian elimination with pivoting. */
static void direct_solve(double *A, double *B, int n, int r)
{
    for (int col = 0; col < n; col++) {
        int piv = col;
        for (int i = col + 1; i < n; i++)
            if (fabs(A[i * n + col]) > fabs(A[piv * n + col]))
                piv = i;
        for (int j = 0; j < n; j++) {
            double t = A[col * n + j];
            A[col * n + j] = A[piv * n + j];
            A[piv * n + j] = t;
        }
        for (int j = 0; j < r; j++) {
            double t = B[col * r + j];
            B[col * r + j] = B[piv * r + j];
            B[piv * r + j] = t;
        }
        for (int i = 0; i < n; i++) {
            if (i == col)
                continue;
            double f = A[i * n + col] / A[col * n + col];
            for (int j = 0; j < n; j++)
                A[i * n + j] -= f * A[col * n + j];
            for (int j = 0; j < r; j++)
                B[i * r + j] -= f * B[col * r + j];
        }
    }
    for (int i = 0; i < n; i++)
        for (int j = 0; j < r; j++)
            B[i * r + j] /= A[i * n + i];
}

/* fly-ridge equals (H^T H + lambda I)^-1 H^T Y computed densely, and the order in which samples
 * arrive (and how they are batched) does not matter. */
static void test_ridge_equals_direct_solve(void **state)
{
    (void)state;
    const size_t d = 12, n = 60;
    const int m = 24, c = 3, k = 6, C = 3;
    const double lambda = 0.7;
    kn_kc_encoder e;
    kn_error err;
    assert_int_equal(kn_kc_encoder_init(&e, d, m, c, k, 2, &err), 0);
    float *x = malloc(n * d * sizeof *x);
    int32_t y[60];
    random_data(x, n, d, 31, 0);
    for (size_t i = 0; i < n; i++)
        y[i] = (int32_t)((i * 5) % C);
    kn_kc_codes codes;
    assert_int_equal(kn_kc_codes_alloc(&codes, n, k, &err), 0);
    assert_int_equal(kn_kc_encode(&e, x, n, &codes, &err), 0);
    kn_fly_ridge r;
    assert_int_equal(kn_fly_ridge_init(&r, m, C, lambda, &err), 0);
    assert_int_equal(kn_fly_ridge_accumulate(&r, &codes, y, &err), 0);
    assert_int_equal(kn_fly_ridge_solve(&r, &err), 0);
    /* Dense reference. */
    double A[24 * 24] = {0}, B[24 * 3] = {0};
    for (size_t i = 0; i < n; i++) {
        double h[24] = {0};
        for (int j = 0; j < codes.nnz[i]; j++)
            h[codes.cells[i * k + j]] = codes.values[i * k + j];
        for (int a = 0; a < m; a++) {
            for (int b = 0; b < m; b++)
                A[a * m + b] += h[a] * h[b];
            B[a * C + y[i]] += h[a];
        }
    }
    for (int a = 0; a < m; a++)
        A[a * m + a] += lambda;
    direct_solve(A, B, m, C);
    double maxw = 0;
    for (int i = 0; i < m * C; i++) {
        assert_float_equal(r.w[i], B[i], 1e-5 * (1 + fabs(B[i])));
        maxw = fmax(maxw, fabs(B[i]));
    }
    assert_true(maxw > 0.05); /* the check is not vacuous */
    /* Reverse order, in two batches: same G and B up to rounding, same W. */
    kn_fly_ridge r2;
    assert_int_equal(kn_fly_ridge_init(&r2, m, C, lambda, &err), 0);
    float *xr = malloc(n * d * sizeof *xr);
    int32_t yr[60];
    for (size_t i = 0; i < n; i++) {
        memcpy(xr + i * d, x + (n - 1 - i) * d, d * sizeof *x);
        yr[i] = y[n - 1 - i];
    }
    assert_int_equal(kn_kc_encode(&e, xr, 25, &codes, &err), 0);
    assert_int_equal(kn_fly_ridge_accumulate(&r2, &codes, yr, &err), 0);
    assert_int_equal(kn_kc_encode(&e, xr + 25 * d, n - 25, &codes, &err), 0);
    assert_int_equal(kn_fly_ridge_accumulate(&r2, &codes, yr + 25, &err), 0);
    assert_int_equal(kn_fly_ridge_solve(&r2, &err), 0);
    for (int i = 0; i < m * C; i++)
        assert_float_equal(r.w[i], r2.w[i], 1e-6);
    assert_int_equal(r2.n_seen, n);
    free(x);
    free(xr);
    kn_kc_codes_free(&codes);
    kn_fly_ridge_free(&r);
    kn_fly_ridge_free(&r2);
    kn_kc_encoder_free(&e);
}

/* The code cache returns exactly the codes of a fresh encoding, hits only on identical blocks,
 * and falls back to the scratch buffer when its budget is spent. */
static void test_code_cache(void **state)
{
    (void)state;
    const size_t d = 20, n = 50;
    kn_kc_encoder e;
    kn_error err;
    assert_int_equal(kn_kc_encoder_init(&e, d, 100, 3, 10, 4, &err), 0);
    float *x = malloc(n * d * sizeof *x);
    random_data(x, n, d, 77, 0);
    kn_kc_codes ref, scratch = {0};
    assert_int_equal(kn_kc_codes_alloc(&ref, n, 10, &err), 0);
    assert_int_equal(kn_kc_encode(&e, x, n, &ref, &err), 0);
    kn_kc_cache c;
    kn_kc_cache_init(&c, 1 << 20);
    const kn_kc_codes *a, *b;
    assert_int_equal(kn_kc_cache_encode(&c, &e, x, n, &scratch, &a, &err), 0);
    assert_int_equal(kn_kc_cache_encode(&c, &e, x, n, &scratch, &b, &err), 0);
    assert_ptr_equal(a, b);
    assert_int_equal(c.n, 1);
    assert_memory_equal(a->nnz, ref.nnz, n * sizeof(int32_t));
    assert_memory_equal(a->cells, ref.cells, n * 10 * sizeof(int32_t));
    assert_memory_equal(a->values, ref.values, n * 10 * sizeof(float));
    x[n * d - 1] += 1.0f; /* a different block misses */
    assert_int_equal(kn_kc_cache_encode(&c, &e, x, n, &scratch, &b, &err), 0);
    assert_ptr_not_equal(a, b);
    assert_int_equal(c.n, 2);
    kn_kc_cache_free(&c);
    kn_kc_cache_init(&c, 0); /* no budget: scratch */
    assert_int_equal(kn_kc_cache_encode(&c, &e, x, n, &scratch, &b, &err), 0);
    assert_ptr_equal(b, &scratch);
    assert_int_equal(c.n, 0);
    kn_kc_cache_free(&c);
    kn_kc_codes_free(&scratch);
    kn_kc_codes_free(&ref);
    kn_kc_encoder_free(&e);
    free(x);
}

/* A block that differs from a cached one only in words the lookup hash does not sample (the hash
 * reads at most 1024 evenly spaced words) still misses: memcmp decides, and its codes are those
 * of a fresh encoding of the changed block. */
static void test_code_cache_unsampled_word(void **state)
{
    (void)state;
    const size_t d = 50, n = 100; /* 5000 words: every fourth is hashed */
    kn_kc_encoder e;
    kn_error err;
    assert_int_equal(kn_kc_encoder_init(&e, d, 100, 3, 10, 4, &err), 0);
    float *x = malloc(n * d * sizeof *x);
    random_data(x, n, d, 78, 0);
    kn_kc_codes ref, scratch = {0};
    assert_int_equal(kn_kc_codes_alloc(&ref, n, 10, &err), 0);
    kn_kc_cache c;
    kn_kc_cache_init(&c, 1 << 22);
    const kn_kc_codes *a, *b;
    assert_int_equal(kn_kc_cache_encode(&c, &e, x, n, &scratch, &a, &err), 0);
    x[1] = x[1] + 0.5f; /* sample 0, feature 1: between two hashed words */
    assert_int_equal(kn_kc_encode(&e, x, n, &ref, &err), 0);
    assert_int_equal(kn_kc_cache_encode(&c, &e, x, n, &scratch, &b, &err), 0);
    assert_ptr_not_equal(a, b);
    assert_int_equal(c.n, 2);
    assert_memory_equal(b->nnz, ref.nnz, n * sizeof(int32_t));
    assert_memory_equal(b->cells, ref.cells, n * 10 * sizeof(int32_t));
    assert_memory_equal(b->values, ref.values, n * 10 * sizeof(float));
    kn_kc_cache_free(&c);
    kn_kc_codes_free(&scratch);
    kn_kc_codes_free(&ref);
    kn_kc_encoder_free(&e);
    free(x);
}

/* A block of pixels b / 255 is kept as bytes: a repeat hits; a block that differs in one value by
 * one pixel step, or only in the sign of a zero (-0.0 is not a byte value), misses and gets the
 * codes of a fresh encoding; the cache counts a byte block at a quarter of a float block. */
static void test_code_cache_pixel_blocks(void **state)
{
    (void)state;
    const size_t d = 64, n = 40;
    kn_kc_encoder e;
    kn_error err;
    assert_int_equal(kn_kc_encoder_init(&e, d, 100, 3, 10, 4, &err), 0);
    float *x = malloc(n * d * sizeof *x);
    for (size_t i = 0; i < n * d; i++)
        x[i] = (float)((i * 53 + i / 7) % 256) / 255.0f;
    x[5] = 0.0f;
    kn_kc_codes ref, scratch = {0};
    assert_int_equal(kn_kc_codes_alloc(&ref, n, 10, &err), 0);
    kn_kc_cache c;
    kn_kc_cache_init(&c, 1 << 22);
    const kn_kc_codes *a, *b;
    assert_int_equal(kn_kc_cache_encode(&c, &e, x, n, &scratch, &a, &err), 0);
    const size_t codes_bytes = n * 10 * 8 + n * 4;
    assert_int_equal(c.bytes, n * d + codes_bytes); /* one byte per value */
    assert_int_equal(kn_kc_cache_encode(&c, &e, x, n, &scratch, &b, &err), 0);
    assert_ptr_equal(a, b);
    const float steps[2] = {1.0f / 255.0f, 0.0f};
    for (int t = 0; t < 2; t++) {
        float *y = malloc(n * d * sizeof *y);
        memcpy(y, x, n * d * sizeof *y);
        if (t == 0)
            y[n * d / 2 + 1] += steps[0]; /* one pixel one step brighter */
        else
            y[5] = -0.0f; /* equal as a number, not as bits */
        assert_int_equal(kn_kc_encode(&e, y, n, &ref, &err), 0);
        assert_int_equal(kn_kc_cache_encode(&c, &e, y, n, &scratch, &b, &err), 0);
        assert_ptr_not_equal(a, b);
        assert_memory_equal(b->nnz, ref.nnz, n * sizeof(int32_t));
        assert_memory_equal(b->cells, ref.cells, n * 10 * sizeof(int32_t));
        assert_memory_equal(b->values, ref.values, n * 10 * sizeof(float));
        free(y);
    }
    assert_int_equal(c.n, 3);
    /* The second miss (-0.0) is no byte block: it is kept as floats. */
    assert_int_equal(c.bytes, 2 * (n * d + codes_bytes) + n * d * 4 + codes_bytes);
    kn_kc_cache_free(&c);
    kn_kc_codes_free(&scratch);
    kn_kc_codes_free(&ref);
    kn_kc_encoder_free(&e);
    free(x);
}

/* Every byte value b / 255 (0 and 1 included, in every position of a vector of 16) is recognised
 * as a pixel: the block is kept as one byte per value and a repeat hits; a block with one value a
 * float step above a byte value is kept as floats. */
static void test_code_cache_every_byte_value(void **state)
{
    (void)state;
    const size_t d = 37, n = 31; /* n d = 1147: every byte value in varied lanes, and a tail */
    kn_kc_encoder e;
    kn_error err;
    assert_int_equal(kn_kc_encoder_init(&e, d, 64, 3, 8, 5, &err), 0);
    float *x = malloc(n * d * sizeof *x);
    for (size_t i = 0; i < n * d; i++)
        x[i] = (float)((i * 7) % 256) / 255.0f;
    kn_kc_codes scratch = {0};
    kn_kc_cache c;
    kn_kc_cache_init(&c, 1 << 22);
    const kn_kc_codes *a, *b;
    const size_t codes_bytes = n * 8 * 8 + n * 4;
    assert_int_equal(kn_kc_cache_encode(&c, &e, x, n, &scratch, &a, &err), 0);
    assert_int_equal(c.bytes, n * d + codes_bytes);
    assert_int_equal(kn_kc_cache_encode(&c, &e, x, n, &scratch, &b, &err), 0);
    assert_ptr_equal(a, b);
    x[n * d - 1] = nextafterf(x[n * d - 1], 2.0f); /* in the tail */
    assert_int_equal(kn_kc_cache_encode(&c, &e, x, n, &scratch, &b, &err), 0);
    assert_ptr_not_equal(a, b);
    assert_int_equal(c.bytes, n * d + codes_bytes + n * d * 4 + codes_bytes);
    kn_kc_cache_free(&c);
    kn_kc_codes_free(&scratch);
    kn_kc_encoder_free(&e);
    free(x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_projection_sampling),
        cmocka_unit_test(test_encode_known_answer),
        cmocka_unit_test(test_kwta_ties_and_zeros),
        cmocka_unit_test(test_encode_matches_reference_and_threads),
        cmocka_unit_test(test_fly_rule_clip_and_partial_freezing),
        cmocka_unit_test(test_fly_rule_decay),
        cmocka_unit_test(test_learning_touches_only_target_row),
        cmocka_unit_test(test_fly_rule_order_independent),
        cmocka_unit_test(test_perceptron_variants),
        cmocka_unit_test(test_bad_parameters),
        cmocka_unit_test(test_ridge_equals_direct_solve),
        cmocka_unit_test(test_code_cache),
        cmocka_unit_test(test_code_cache_unsampled_word),
        cmocka_unit_test(test_code_cache_pixel_blocks),
        cmocka_unit_test(test_code_cache_every_byte_value),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
