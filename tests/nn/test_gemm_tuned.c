/* Tests of the per-shape backend choice of kn_sgemm_tuned (kenyon/gemm.h): under the default
 * KENYON_GEMM=auto with oneDNN built in, a product with neither operand transposed and n, k >=
 * 1024 gives exactly oneDNN's bits and every other product exactly OpenBLAS's; kn_sgemm itself
 * stays on one backend; KENYON_GEMM=openblas / onednn put every tuned product on that backend.
 * Each configuration runs in a child process (the backend is chosen once per process). */
#include <stdlib.h>
#include <string.h>

#include "kenyon/gemm.h"
#include "kenyon/rng.h"
#include "test_support.h"

enum { M = 16, N = 1024, K = 1024, K_SMALL = 20 };

/* The products, one after the other: tuned NN (n, k >= 1024), tuned NT, tuned NN with k 20,
 * and kn_sgemm NN on the first shape. */
#define LEN (4 * M * N)

static void fill(float *v, size_t n, uint64_t seed)
{
    kn_rng r;
    kn_rng_seed(&r, seed);
    for (size_t i = 0; i < n; i++)
        v[i] = (float)(2 * kn_rng_uniform(&r) - 1);
}

static int compute(float *out)
{
    float *a = malloc(sizeof(float) * M * K), *b = malloc(sizeof(float) * K * N);
    if (!a || !b)
        return -1;
    fill(a, (size_t)M * K, 1);
    fill(b, (size_t)K * N, 2);
    kn_sgemm_tuned(KN_GEMM_ROW_MAJOR, KN_GEMM_NO_TRANS, KN_GEMM_NO_TRANS, M, N, K, 1, a, K, b, N,
                   0, out, N);
    /* op(B) = B^T with B stored N x K. */
    kn_sgemm_tuned(KN_GEMM_ROW_MAJOR, KN_GEMM_NO_TRANS, KN_GEMM_TRANS, M, N, K, 1, a, K, b, K, 0,
                   out + M * N, N);
    kn_sgemm_tuned(KN_GEMM_ROW_MAJOR, KN_GEMM_NO_TRANS, KN_GEMM_NO_TRANS, M, N, K_SMALL, 1, a,
                   K_SMALL, b, N, 0, out + 2 * M * N, N);
    kn_sgemm(KN_GEMM_ROW_MAJOR, KN_GEMM_NO_TRANS, KN_GEMM_NO_TRANS, M, N, K, 1, a, K, b, N, 0,
             out + 3 * M * N, N);
    free(a);
    free(b);
    return 0;
}

/* What a child sends back: its kn_gemm_per_shape() and the products. */
typedef struct child_result {
    int per_shape;
    float c[LEN];
} child_result;

/* In a child: KENYON_GEMM=backend (NULL: unset, i.e. auto), then the products. */
static int compute_with(void *ctx, void *out)
{
    const char *backend = ctx;
    child_result *r = out;
    if (backend)
        setenv("KENYON_GEMM", backend, 1);
    else
        unsetenv("KENYON_GEMM");
    if (compute(r->c))
        return 5;
    r->per_shape = kn_gemm_per_shape();
    return 0;
}

/* Runs compute in a child with KENYON_GEMM=backend; *per_shape gets the child's
 * kn_gemm_per_shape(). Returns 0 or -1. */
static int in_child(const char *backend, float *out, int *per_shape)
{
    child_result *r = malloc(sizeof *r);
    assert_non_null(r);
    int rc = kt_run_in_child(compute_with, (void *)backend, r, sizeof *r);
    if (!rc) {
        memcpy(out, r->c, sizeof r->c);
        *per_shape = r->per_shape;
    }
    free(r);
    return rc;
}

static void test_auto_picks_per_shape(void **state)
{
    (void)state;
    const char *forced = getenv("KENYON_GEMM");
    if (forced && *forced && strcmp(forced, "auto") != 0)
        skip(); /* the environment forces one backend */
    kn_blas_kernel k;
    kn_blas_kernel_get(&k);
    if (k.below_cpu)
        skip(); /* auto then runs every product on oneDNN: not the case tested here */
    const size_t block = (size_t)M * N * sizeof(float);
    float *ob = malloc(sizeof(float) * LEN), *auto_ = malloc(sizeof(float) * LEN);
    assert_non_null(ob);
    assert_non_null(auto_);
    int ps_ob, ps_auto;
    assert_int_equal(in_child("openblas", ob, &ps_ob), 0);
    assert_int_equal(in_child(NULL, auto_, &ps_auto), 0);
    assert_int_equal(ps_ob, 0);
    assert_int_equal(ps_auto, kn_gemm_have_onednn());
    /* The products outside the table, and kn_sgemm, are OpenBLAS's bits. */
    assert_memory_equal(auto_ + M * N, ob + M * N, block);
    assert_memory_equal(auto_ + 2 * M * N, ob + 2 * M * N, block);
    assert_memory_equal(auto_ + 3 * M * N, ob + 3 * M * N, block);
    if (kn_gemm_have_onednn()) {
        float *dn = malloc(sizeof(float) * LEN);
        assert_non_null(dn);
        int ps_dn;
        assert_int_equal(in_child("onednn", dn, &ps_dn), 0);
        assert_int_equal(ps_dn, 0);
        /* Not vacuous: the two backends round this product differently. */
        assert_true(memcmp(dn, ob, block) != 0);
        assert_memory_equal(auto_, dn, block);
        /* Forced onednn: every tuned product on oneDNN, which differs from openblas here too. */
        assert_true(memcmp(dn + M * N, ob + M * N, block) != 0 ||
                    memcmp(dn + 2 * M * N, ob + 2 * M * N, block) != 0);
        free(dn);
    } else {
        assert_memory_equal(auto_, ob, block);
    }
    free(ob);
    free(auto_);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_auto_picks_per_shape),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
