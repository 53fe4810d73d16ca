/* Every KC-encoder kernel this CPU runs (generic, AVX2, AVX-512) against a direct reference
 * (kn_kc_activity, sort by value then cell, keep the top k positives) and against each other,
 * bit for bit, at 1 and 2 threads, over shapes that reach every path: m not a multiple of 4, 8 or
 * 16, tiny m, k close to m, inputs so sparse that fewer than k cells are positive, quantised
 * inputs full of ties at the threshold, heavy-tailed inputs that defeat the candidate bound (the
 * rescan), constant samples, and sample counts that leave partial blocks. */
#include "test_support.h"

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kenyon/fly.h"
#include "kenyon/rng.h"

typedef struct {
    float v;
    int cell;
} vc;

static int cmp_vc(const void *a, const void *b)
{
    const vc *x = a, *y = b;
    if (x->v != y->v)
        return x->v < y->v ? 1 : -1; /* descending value */
    return (x->cell > y->cell) - (x->cell < y->cell); /* then ascending cell */
}

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

enum { DENSE, QUANTISED, SPARSE, HEAVY_TAIL, SIGNED_ZEROS, N_KINDS };

static void make_data(float *x, size_t n, size_t d, int kind, uint64_t seed)
{
    kn_rng r;
    kn_rng_seed(&r, seed);
    for (size_t i = 0; i < n; i++) {
        float *row = x + i * d;
        for (size_t j = 0; j < d; j++) {
            double u = kn_rng_uniform(&r);
            switch (kind) {
            case DENSE: row[j] = u < 0.33 ? 0.0f : (float)(3 * kn_rng_uniform(&r)); break;
            case QUANTISED: row[j] = (float)(int)(4 * u); break;           /* many equal sums */
            case SPARSE: row[j] = u < 0.97 ? 0.0f : (float)(1 + u); break; /* few positive KCs */
            case SIGNED_ZEROS: /* minimum 0 held as both +0 and -0, -0 first in some rows */
                row[j] = u < 0.3 ? -0.0f : u < 0.6 ? 0.0f : (float)u;
                break;
            default: row[j] = (float)exp(12 * u * u * u); break;           /* a few huge inputs */
            }
        }
        if (i % 17 == 3) /* a constant sample: all KCs zero */
            for (size_t j = 0; j < d; j++)
                row[j] = 2.5f;
    }
}

static void check_reference(const kn_kc_encoder *e, const float *x, size_t n,
                            const kn_kc_codes *codes, const char *what)
{
    const int m = e->m, k = e->k;
    float *h = malloc((size_t)m * sizeof *h);
    vc *s = malloc((size_t)m * sizeof *s);
    int *want = malloc((size_t)k * sizeof *want);
    assert_non_null(h);
    assert_non_null(s);
    assert_non_null(want);
    for (size_t i = 0; i < n; i++) {
        kn_kc_activity(e, x + i * e->d, h);
        for (int q = 0; q < m; q++)
            s[q] = (vc){h[q], q};
        qsort(s, (size_t)m, sizeof *s, cmp_vc);
        int nw = 0;
        for (int q = 0; q < k; q++)
            if (s[q].v > 0)
                want[nw++] = s[q].cell;
        qsort(want, (size_t)nw, sizeof *want, cmp_int);
        if (codes->nnz[i] != nw)
            fail_msg("%s: sample %zu has %d winners, reference %d", what, i, codes->nnz[i], nw);
        for (int q = 0; q < nw; q++) {
            if (codes->cells[i * (size_t)k + (size_t)q] != want[q] ||
                codes->values[i * (size_t)k + (size_t)q] != h[want[q]] / s[0].v)
                fail_msg("%s: sample %zu winner %d is cell %d value %.9g, reference cell %d "
                         "value %.9g",
                         what, i, q, codes->cells[i * (size_t)k + (size_t)q],
                         codes->values[i * (size_t)k + (size_t)q], want[q], h[want[q]] / s[0].v);
        }
    }
    free(h);
    free(s);
    free(want);
}

static void assert_same_codes(const kn_kc_codes *a, const kn_kc_codes *b, size_t n, int k,
                              const char *what)
{
    for (size_t i = 0; i < n; i++) {
        if (a->nnz[i] != b->nnz[i] ||
            memcmp(a->cells + i * (size_t)k, b->cells + i * (size_t)k,
                   (size_t)a->nnz[i] * sizeof(int32_t)) != 0 ||
            memcmp(a->values + i * (size_t)k, b->values + i * (size_t)k,
                   (size_t)a->nnz[i] * sizeof(float)) != 0)
            fail_msg("%s: sample %zu differs from the generic kernel", what, i);
    }
}

static void test_every_kernel_matches_reference(void **state)
{
    (void)state;
    static const struct {
        size_t d;
        int m, c, k;
        size_t n;
    } shapes[] = {
        {84, 3200, 10, 160, 70},  /* MNIST-20 */
        {30, 203, 4, 17, 50},     /* m odd */
        {12, 37, 3, 30, 33},      /* k close to m */
        {8, 5, 2, 1, 20},         /* tiny m */
        {64, 1000, 16, 10, 40},   /* 1% winners */
        {20, 600, 20, 300, 25},   /* c == d, half the cells win */
        {784, 500, 10, 25, 40},   /* MNIST pixels: 49 full vectors of 16 features */
        {17, 64, 5, 6, 18},       /* one feature past a vector */
    };
    const kn_kc_kernel kernels[3] = {KN_KC_KERNEL_GENERIC, KN_KC_KERNEL_AVX2,
                                     KN_KC_KERNEL_AVX512};
    int tested_wide = 0;
    for (size_t sh = 0; sh < sizeof shapes / sizeof shapes[0]; sh++) {
        const size_t d = shapes[sh].d, n = shapes[sh].n;
        const int m = shapes[sh].m, c = shapes[sh].c, k = shapes[sh].k;
        kn_kc_encoder e;
        kn_error err;
        assert_int_equal(kn_kc_encoder_init(&e, d, m, c, k, 3 + sh, &err), 0);
        float *x = malloc(n * d * sizeof *x);
        assert_non_null(x);
        for (int kind = 0; kind < N_KINDS; kind++) {
            make_data(x, n, d, kind, 40 + (uint64_t)kind);
            kn_kc_codes ref;
            assert_int_equal(kn_kc_codes_alloc(&ref, n, k, &err), 0);
            omp_set_num_threads(1);
            assert_int_equal(kn_kc_encode_with(&e, KN_KC_KERNEL_GENERIC, x, n, &ref, &err), 0);
            char what[128];
            snprintf(what, sizeof what, "generic, shape %zu, data kind %d", sh, kind);
            check_reference(&e, x, n, &ref, what);
            for (int kk = 0; kk < 3; kk++) {
                if (!kn_kc_kernel_supported(kernels[kk]))
                    continue;
                tested_wide += kk > 0;
                for (int threads = 1; threads <= 2; threads++) {
                    kn_kc_codes got;
                    assert_int_equal(kn_kc_codes_alloc(&got, n, k, &err), 0);
                    omp_set_num_threads(threads);
                    assert_int_equal(kn_kc_encode_with(&e, kernels[kk], x, n, &got, &err), 0);
                    snprintf(what, sizeof what, "%s at %d threads, shape %zu, data kind %d",
                             kn_kc_kernel_name(kernels[kk]), threads, sh, kind);
                    assert_same_codes(&ref, &got, n, k, what);
                    kn_kc_codes_free(&got);
                }
            }
            kn_kc_codes_free(&ref);
        }
        free(x);
        kn_kc_encoder_free(&e);
    }
    print_message("wide kernels tested: avx2 %s, avx512 %s\n",
                  kn_kc_kernel_supported(KN_KC_KERNEL_AVX2) ? "yes" : "no (CPU)",
                  kn_kc_kernel_supported(KN_KC_KERNEL_AVX512) ? "yes" : "no (CPU)");
    (void)tested_wide;
}

/* Many samples: enough blocks for the threaded path (256 blocks or more). */
static void test_threads_many_blocks(void **state)
{
    (void)state;
    const size_t d = 84, n = 16 * 260 + 5;
    kn_kc_encoder e;
    kn_error err;
    assert_int_equal(kn_kc_encoder_init(&e, d, 500, 10, 25, 9, &err), 0);
    float *x = malloc(n * d * sizeof *x);
    assert_non_null(x);
    make_data(x, n, d, DENSE, 5);
    kn_kc_codes a, b;
    assert_int_equal(kn_kc_codes_alloc(&a, n, 25, &err), 0);
    assert_int_equal(kn_kc_codes_alloc(&b, n, 25, &err), 0);
    omp_set_num_threads(1);
    assert_int_equal(kn_kc_encode_with(&e, KN_KC_KERNEL_GENERIC, x, n, &a, &err), 0);
    omp_set_num_threads(2);
    assert_int_equal(kn_kc_encode(&e, x, n, &b, &err), 0); /* the best kernel, 2 threads */
    assert_same_codes(&a, &b, n, 25, "best kernel at 2 threads, many blocks");
    check_reference(&e, x, n, &b, "best kernel at 2 threads, many blocks");
    kn_kc_codes_free(&a);
    kn_kc_codes_free(&b);
    free(x);
    kn_kc_encoder_free(&e);
}

/* Readout scores: every kernel bit for bit equal to a direct float loop (multiply, then add, in
 * the codes' order), for class counts that fill 1-4 AVX-512 registers partly or fully and beyond
 * them, and for a set large enough for the threaded path. */
static void test_scores_every_kernel(void **state)
{
    (void)state;
    const size_t d = 84;
    const int m = 300, k = 15;
    const int class_counts[] = {1, 3, 16, 17, 20, 32, 33, 50, 64, 65, 100};
    const size_t sizes[] = {37, 8192 + 300};
    kn_kc_encoder e;
    kn_error err;
    assert_int_equal(kn_kc_encoder_init(&e, d, m, 10, k, 21, &err), 0);
    for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
        const size_t n = sizes[si];
        float *x = malloc(n * d * sizeof *x);
        assert_non_null(x);
        make_data(x, n, d, DENSE, 40 + si);
        kn_kc_codes codes;
        assert_int_equal(kn_kc_codes_alloc(&codes, n, k, &err), 0);
        assert_int_equal(kn_kc_encode(&e, x, n, &codes, &err), 0);
        for (size_t ci = 0; ci < sizeof class_counts / sizeof class_counts[0]; ci++) {
            const int C = class_counts[ci];
            float *w = malloc((size_t)m * (size_t)C * sizeof *w);
            float *ref = malloc(n * (size_t)C * sizeof *ref);
            float *got = malloc(n * (size_t)C * sizeof *got);
            assert_true(w && ref && got);
            kn_rng r;
            kn_rng_seed(&r, 90 + (uint64_t)C);
            for (size_t i = 0; i < (size_t)m * (size_t)C; i++)
                w[i] = (float)kn_rng_uniform(&r);
            for (size_t i = 0; i < n; i++)
                for (int q = 0; q < C; q++) {
                    float acc = 0.0f;
                    for (int j = 0; j < codes.nnz[i]; j++) {
                        volatile float prod = codes.values[i * (size_t)k + (size_t)j] *
                                              w[(size_t)codes.cells[i * (size_t)k + (size_t)j] *
                                                    (size_t)C + (size_t)q];
                        acc += prod;
                    }
                    ref[i * (size_t)C + (size_t)q] = acc;
                }
            for (int kern = KN_KC_KERNEL_GENERIC; kern <= KN_KC_KERNEL_AVX512; kern++) {
                if (!kn_kc_kernel_supported((kn_kc_kernel)kern))
                    continue;
                for (int threads = 1; threads <= 2; threads++) {
                    omp_set_num_threads(threads);
                    memset(got, 0xff, n * (size_t)C * sizeof *got);
                    assert_int_equal(kn_kc_scores_with(&codes, w, C, (kn_kc_kernel)kern, got), 0);
                    if (memcmp(got, ref, n * (size_t)C * sizeof *got) != 0)
                        fail_msg("scores differ: kernel %s, %d classes, n %zu, %d threads",
                                 kn_kc_kernel_name((kn_kc_kernel)kern), C, n, threads);
                }
            }
            free(w);
            free(ref);
            free(got);
        }
        kn_kc_codes_free(&codes);
        free(x);
    }
    float w1 = 1, s1;
    kn_kc_codes none = {0};
    assert_int_equal(kn_kc_scores_with(&none, &w1, 0, KN_KC_KERNEL_GENERIC, &s1), -1);
    assert_int_equal(kn_kc_scores_with(&none, &w1, 1, (kn_kc_kernel)99, &s1), -1);
    kn_kc_encoder_free(&e);
}

/* A non-finite feature is reported the same way by every kernel: the first bad sample and its
 * first bad feature, whichever block and thread finds it. */
static void test_non_finite_every_kernel(void **state)
{
    (void)state;
    const size_t d = 100, n = 40;
    kn_kc_encoder e;
    kn_error err;
    assert_int_equal(kn_kc_encoder_init(&e, d, 200, 10, 10, 5, &err), 0);
    float *x = malloc(n * d * sizeof *x);
    assert_non_null(x);
    kn_kc_codes codes;
    assert_int_equal(kn_kc_codes_alloc(&codes, n, 10, &err), 0);
    for (int kern = KN_KC_KERNEL_GENERIC; kern <= KN_KC_KERNEL_AVX512; kern++) {
        if (!kn_kc_kernel_supported((kn_kc_kernel)kern))
            continue;
        for (int bad_kind = 0; bad_kind < 3; bad_kind++) {
            make_data(x, n, d, DENSE, 7);
            float bad = bad_kind == 0 ? NAN : bad_kind == 1 ? INFINITY : -INFINITY;
            x[21 * d + 99] = bad;  /* in the tail past 96 features */
            x[21 * d + 37] = bad;  /* the first bad feature of sample 21 */
            x[33 * d + 5] = bad;   /* a later sample, another block */
            omp_set_num_threads(2);
            assert_int_not_equal(kn_kc_encode_with(&e, (kn_kc_kernel)kern, x, n, &codes, &err),
                                 0);
            if (!strstr(err.msg, "sample 21, feature 37 is not finite"))
                fail_msg("kernel %s, bad kind %d: %s", kn_kc_kernel_name((kn_kc_kernel)kern),
                         bad_kind, err.msg);
        }
    }
    kn_kc_codes_free(&codes);
    free(x);
    kn_kc_encoder_free(&e);
}

static void test_kernel_names_and_support(void **state)
{
    (void)state;
    assert_true(kn_kc_kernel_supported(KN_KC_KERNEL_GENERIC));
    assert_true(kn_kc_kernel_supported(kn_kc_kernel_best()));
    assert_string_equal(kn_kc_kernel_name(KN_KC_KERNEL_AVX512), "avx512");
    if (kn_kc_kernel_supported(KN_KC_KERNEL_AVX512))
        assert_int_equal(kn_kc_kernel_best(), KN_KC_KERNEL_AVX512);
    /* An unsupported kernel is an error naming it, not a crash. */
    kn_kc_encoder e;
    kn_error err;
    assert_int_equal(kn_kc_encoder_init(&e, 4, 4, 2, 2, 1, &err), 0);
    kn_kc_codes codes;
    assert_int_equal(kn_kc_codes_alloc(&codes, 1, 2, &err), 0);
    float x[4] = {1, 2, 3, 4};
    assert_int_not_equal(kn_kc_encode_with(&e, (kn_kc_kernel)99, x, 1, &codes, &err), 0);
    assert_non_null(strstr(err.msg, "kernel"));
    kn_kc_codes_free(&codes);
    kn_kc_encoder_free(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_kernel_matches_reference),
        cmocka_unit_test(test_threads_many_blocks),
        cmocka_unit_test(test_kernel_names_and_support),
        cmocka_unit_test(test_scores_every_kernel),
        cmocka_unit_test(test_non_finite_every_kernel),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
