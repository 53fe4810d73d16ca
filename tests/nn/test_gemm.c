/* Tests of the GEMM backend layer (kenyon/gemm.h): every transpose case of kn_sgemm and kn_sgemv
 * against a double-precision reference within a float-rounding bound, bit-identical repeats (in
 * one process and across processes) for each backend, the openblas and onednn backends (each in
 * a child process, since the backend is chosen once per process) agreeing to float rounding, the kernel-name table, and the
 * CPU level being consistent with what the compiler's own CPU test says. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kenyon/gemm.h"
#include "kenyon/rng.h"
#include "test_support.h"

enum { M = 37, N = 29, K = 53 }; /* odd sizes: kernel edges in every dimension */

static void fill(float *v, size_t n, uint64_t seed)
{
    kn_rng r;
    kn_rng_seed(&r, seed);
    for (size_t i = 0; i < n; i++)
        v[i] = (float)(2 * kn_rng_uniform(&r) - 1);
}

/* The four sgemm cases and two sgemv cases, all outputs one after the other. */
#define OUT_LEN (4 * M * N + M + K)

static void compute_all(float *out)
{
    float *a = malloc(sizeof(float) * M * K), *b = malloc(sizeof(float) * K * N);
    float *x = malloc(sizeof(float) * (M + K));
    assert_non_null(a);
    assert_non_null(b);
    assert_non_null(x);
    fill(a, (size_t)M * K, 1);
    fill(b, (size_t)K * N, 2);
    fill(x, (size_t)M + K, 3);
    fill(out, OUT_LEN, 4); /* beta = 0.5 mixes in these */
    for (int t = 0; t < 4; t++) {
        int ta = t & 1, tb = t >> 1;
        /* op(A) M x K stored K x M when transposed; op(B) K x N stored N x K when transposed. */
        kn_sgemm(KN_GEMM_ROW_MAJOR, ta ? KN_GEMM_TRANS : KN_GEMM_NO_TRANS,
                 tb ? KN_GEMM_TRANS : KN_GEMM_NO_TRANS, M, N, K, 1.5f, a, ta ? M : K, b,
                 tb ? K : N, 0.5f, out + (size_t)t * M * N, N);
    }
    float *y = out + 4 * M * N;
    kn_sgemv(KN_GEMM_ROW_MAJOR, KN_GEMM_NO_TRANS, M, K, 1.5f, a, K, x, 1, 0.5f, y, 1);
    kn_sgemv(KN_GEMM_ROW_MAJOR, KN_GEMM_TRANS, M, K, 1.5f, a, K, x + K, 1, 0.5f, y + M, 1);
    free(a);
    free(b);
    free(x);
}

/* Reference in double; bound = 4 K eps sum |terms| (+ the beta term), the usual GEMM bound. */
static void reference(double *out, double *bound)
{
    float *a = malloc(sizeof(float) * M * K), *b = malloc(sizeof(float) * K * N);
    float *x = malloc(sizeof(float) * (M + K)), *c0 = malloc(sizeof(float) * OUT_LEN);
    assert_non_null(a);
    assert_non_null(b);
    assert_non_null(x);
    assert_non_null(c0);
    fill(a, (size_t)M * K, 1);
    fill(b, (size_t)K * N, 2);
    fill(x, (size_t)M + K, 3);
    fill(c0, OUT_LEN, 4);
    const double eps = 4.0 * K * 1.2e-7;
    for (int t = 0; t < 4; t++) {
        int ta = t & 1, tb = t >> 1;
        for (int i = 0; i < M; i++)
            for (int j = 0; j < N; j++) {
                double s = 0, sa = 0;
                for (int q = 0; q < K; q++) {
                    double av = ta ? a[q * M + i] : a[i * K + q];
                    double bv = tb ? b[j * K + q] : b[q * N + j];
                    s += av * bv;
                    sa += fabs(av * bv);
                }
                size_t o = (size_t)t * M * N + (size_t)i * N + (size_t)j;
                out[o] = 1.5 * s + 0.5 * c0[o];
                bound[o] = eps * (1.5 * sa + 0.5 * fabs(c0[o])) + 1e-30;
            }
    }
    size_t o = 4 * M * N;
    for (int i = 0; i < M; i++, o++) {
        double s = 0, sa = 0;
        for (int q = 0; q < K; q++) {
            s += (double)a[i * K + q] * x[q];
            sa += fabs((double)a[i * K + q] * x[q]);
        }
        out[o] = 1.5 * s + 0.5 * c0[o];
        bound[o] = eps * (1.5 * sa + 0.5 * fabs(c0[o])) + 1e-30;
    }
    for (int j = 0; j < K; j++, o++) {
        double s = 0, sa = 0;
        for (int i = 0; i < M; i++) {
            s += (double)a[i * K + j] * x[K + i];
            sa += fabs((double)a[i * K + j] * x[K + i]);
        }
        out[o] = 1.5 * s + 0.5 * c0[o];
        bound[o] = eps * (1.5 * sa + 0.5 * fabs(c0[o])) + 1e-30;
    }
    free(a);
    free(b);
    free(x);
    free(c0);
}

static void assert_near_reference(const float *got, const char *what)
{
    double *ref = malloc(sizeof(double) * OUT_LEN), *bound = malloc(sizeof(double) * OUT_LEN);
    assert_non_null(ref);
    assert_non_null(bound);
    reference(ref, bound);
    for (size_t i = 0; i < OUT_LEN; i++)
        if (!(fabs(got[i] - ref[i]) <= bound[i]))
            fail_msg("%s: output %zu is %.9g, reference %.9g (bound %.3g)", what, i, got[i],
                     ref[i], bound[i]);
    free(ref);
    free(bound);
}

/* In a child (the backend is chosen once per process, at the first product: the parent never
 * runs one itself): KENYON_GEMM=backend (NULL: as the environment says), then compute_all twice,
 * failing unless the two are bit-identical. */
static int compute_twice(void *ctx, void *out)
{
    const char *backend = ctx;
    if (backend)
        setenv("KENYON_GEMM", backend, 1);
    kn_error err;
    if (kn_gemm_init(&err))
        return 3;
    if (backend && (int)kn_gemm_backend_used() !=
                       (strcmp(backend, "onednn") == 0 ? KN_GEMM_ONEDNN : KN_GEMM_OPENBLAS))
        return 4;
    float *c2 = malloc(sizeof(float) * OUT_LEN);
    if (!c2)
        return 5;
    compute_all(out);
    compute_all(c2);
    if (memcmp(out, c2, sizeof(float) * OUT_LEN) != 0)
        return 7; /* same backend, same threads: must repeat bit for bit */
    return 0;
}

/* Fills out from compute_twice in a child; 0 or -1. */
static int compute_in_child(const char *backend, float *out)
{
    return kt_run_in_child(compute_twice, (void *)backend, out, sizeof(float) * OUT_LEN);
}

static void test_default_backend(void **state)
{
    (void)state;
    float *c = malloc(sizeof(float) * OUT_LEN);
    assert_non_null(c);
    assert_int_equal(compute_in_child(NULL, c), 0);
    assert_near_reference(c, "default backend");
    free(c);
}

static void test_backends_agree(void **state)
{
    (void)state;
    float *ob = malloc(sizeof(float) * OUT_LEN), *ob2 = malloc(sizeof(float) * OUT_LEN);
    assert_non_null(ob);
    assert_non_null(ob2);
    assert_int_equal(compute_in_child("openblas", ob), 0);
    assert_int_equal(compute_in_child("openblas", ob2), 0);
    assert_near_reference(ob, "openblas");
    assert_memory_equal(ob, ob2, sizeof(float) * OUT_LEN); /* bit-identical across processes */
    if (kn_gemm_have_onednn()) {
        float *dn = malloc(sizeof(float) * OUT_LEN), *dn2 = malloc(sizeof(float) * OUT_LEN);
        assert_non_null(dn);
        assert_non_null(dn2);
        assert_int_equal(compute_in_child("onednn", dn), 0);
        assert_int_equal(compute_in_child("onednn", dn2), 0);
        assert_near_reference(dn, "onednn");
        assert_memory_equal(dn, dn2, sizeof(float) * OUT_LEN);
        free(dn);
        free(dn2);
    } else {
        /* Without oneDNN, asking for it is an error, not a silent fallback. */
        assert_int_not_equal(compute_in_child("onednn", ob2), 0);
    }
    assert_int_not_equal(compute_in_child("no-such-backend", ob2), 0);
    free(ob);
    free(ob2);
}

static void test_kernel_table(void **state)
{
    (void)state;
    assert_int_equal(kn_blas_core_isa("Prescott"), KN_ISA_SSE3);
    assert_int_equal(kn_blas_core_isa("prescott"), KN_ISA_SSE3); /* case-insensitive */
    assert_int_equal(kn_blas_core_isa("Sandybridge"), KN_ISA_AVX);
    assert_int_equal(kn_blas_core_isa("HASWELL"), KN_ISA_AVX2);
    assert_int_equal(kn_blas_core_isa("Zen"), KN_ISA_AVX2);
    assert_int_equal(kn_blas_core_isa("SkylakeX"), KN_ISA_AVX512);
    assert_int_equal(kn_blas_core_isa("Cooperlake"), KN_ISA_AVX512_BF16);
    assert_int_equal(kn_blas_core_isa("Skylake"), KN_ISA_UNKNOWN);
    assert_int_equal(kn_blas_core_isa(NULL), KN_ISA_UNKNOWN);
    /* The kernel suggested for a level runs exactly that level. */
    for (int l = KN_ISA_AVX; l <= KN_ISA_AVX512_BF16; l++)
        assert_int_equal(kn_blas_core_isa(kn_blas_core_for_isa((kn_isa)l)), l);
    assert_null(kn_blas_core_for_isa(KN_ISA_SSE3));
    assert_string_equal(kn_isa_name(KN_ISA_AVX512_BF16), "avx512-bf16");
}

static void test_cpu_level_consistent(void **state)
{
    (void)state;
    kn_isa l = kn_cpu_isa();
#if defined(__x86_64__)
    assert_true(l >= KN_ISA_SSE2); /* every x86-64 CPU has SSE2 */
    /* GCC's own test (which also checks the OS state) must agree at the AVX2 and AVX-512 steps. */
    assert_int_equal(l >= KN_ISA_AVX2,
                     __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"));
    assert_int_equal(l >= KN_ISA_AVX512,
                     __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                         __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
                         __builtin_cpu_supports("avx512cd"));
#endif
    kn_blas_kernel k;
    kn_blas_kernel_get(&k);
    assert_non_null(k.core);
    assert_int_equal(k.cpu_isa, l);
    assert_int_equal(k.below_cpu, k.core_isa != KN_ISA_UNKNOWN && l >= KN_ISA_AVX &&
                                      k.core_isa < l);
    char line[256];
    kn_gemm_describe(line, sizeof line);
    assert_non_null(strstr(line, k.core));
    assert_non_null(strstr(line, kn_gemm_backend_used() == KN_GEMM_ONEDNN ? "onednn" : "openblas"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_backend),
        cmocka_unit_test(test_backends_agree),
        cmocka_unit_test(test_kernel_table),
        cmocka_unit_test(test_cpu_level_consistent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
