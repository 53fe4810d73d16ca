/* The GEMM backend layer (kenyon/gemm.h): kn_sgemm / kn_sgemv run on OpenBLAS or, when built
 * with oneDNN (KENYON_HAVE_ONEDNN), on dnnl_sgemm; the choice is made once per process from
 * KENYON_GEMM and the BLAS kernel check, and reported by kn_gemm_describe. kn_sgemm_tuned
 * (the dense layers' products) also picks the backend per shape from a fixed table. */
#include <cblas.h>
#include <omp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef KENYON_HAVE_ONEDNN
#include <oneapi/dnnl/dnnl.h>
#endif

#include "kenyon/gemm.h"

/* OpenBLAS's cblas.h pulls in <complex.h>, whose macro I clashes with ordinary names. */
#ifdef I
#undef I
#endif

static pthread_once_t gemm_once = PTHREAD_ONCE_INIT;
static kn_gemm_backend gemm_backend = KN_GEMM_OPENBLAS;
static int gemm_per_shape;  /* 1: kn_sgemm_tuned may move a call to oneDNN (see onednn_wins) */
static int gemm_bad_choice; /* 1: KENYON_GEMM unknown, 2: onednn asked for, not built */

int kn_gemm_have_onednn(void)
{
#ifdef KENYON_HAVE_ONEDNN
    return 1;
#else
    return 0;
#endif
}

static void gemm_choose(void)
{
    const char *want = getenv("KENYON_GEMM");
    if (!want || !*want || strcmp(want, "auto") == 0) {
        kn_blas_kernel k;
        kn_blas_kernel_get(&k);
        gemm_backend = k.below_cpu && kn_gemm_have_onednn() ? KN_GEMM_ONEDNN : KN_GEMM_OPENBLAS;
        gemm_per_shape = gemm_backend == KN_GEMM_OPENBLAS && kn_gemm_have_onednn();
    } else if (strcmp(want, "openblas") == 0) {
        gemm_backend = KN_GEMM_OPENBLAS;
    } else if (strcmp(want, "onednn") == 0) {
        if (kn_gemm_have_onednn())
            gemm_backend = KN_GEMM_ONEDNN;
        else
            gemm_bad_choice = 2;
    } else {
        gemm_bad_choice = 1;
    }
}

int kn_gemm_init(kn_error *err)
{
    pthread_once(&gemm_once, gemm_choose);
    if (gemm_bad_choice == 1)
        return kn_fail(err, KN_EINVAL,
                       "KENYON_GEMM=%s: unknown GEMM backend (use openblas, onednn or auto)",
                       getenv("KENYON_GEMM"));
    if (gemm_bad_choice == 2)
        return kn_fail(err, KN_EINVAL,
                       "KENYON_GEMM=onednn: this kenyon was built without oneDNN (install "
                       "libdnnl-dev and rebuild)");
    return 0;
}

kn_gemm_backend kn_gemm_backend_used(void)
{
    pthread_once(&gemm_once, gemm_choose);
    return gemm_backend;
}

void kn_sgemm(int order, int trans_a, int trans_b, int m, int n, int k, float alpha,
              const float *a, int lda, const float *b, int ldb, float beta, float *c, int ldc)
{
#ifdef KENYON_HAVE_ONEDNN
    if (order == KN_GEMM_ROW_MAJOR && kn_gemm_backend_used() == KN_GEMM_ONEDNN) {
        /* dnnl_sgemm is row-major; 'N'/'T' as in BLAS. */
        (void)dnnl_sgemm(trans_a == KN_GEMM_TRANS ? 'T' : 'N',
                         trans_b == KN_GEMM_TRANS ? 'T' : 'N', m, n, k, alpha, a, lda, b, ldb,
                         beta, c, ldc);
        return;
    }
#endif
    cblas_sgemm((CBLAS_ORDER)order, (CBLAS_TRANSPOSE)trans_a, (CBLAS_TRANSPOSE)trans_b, m, n, k,
                alpha, a, lda, b, ldb, beta, c, ldc);
}

int kn_gemm_per_shape(void)
{
    pthread_once(&gemm_once, gemm_choose);
    return gemm_per_shape;
}

/* The shapes oneDNN's dnnl_sgemm runs clearly faster than OpenBLAS (with its right kernel), from
 * bench_gemm on the machines measured (BENCHMARKS.md, issue 19): row-major, neither operand
 * transposed, n and k both at least 1024, e.g. the input gradient dy W of a 3200 -> 3200 dense
 * layer (64 x 3200 x 3200: oneDNN 1.4-1.7x OpenBLAS's rate at 1 and 2 threads). OpenBLAS is as
 * fast or faster at the MLP's other products (forward x W^T and weight gradient dy^T x, and the
 * NN input gradient of a 20-output layer, k 20). A fixed table, not a timing at start-up, so
 * that the backend of every call, and so every result, is the same from run to run. */
static int onednn_wins(int order, int trans_a, int trans_b, int n, int k)
{
    return order == KN_GEMM_ROW_MAJOR && trans_a == KN_GEMM_NO_TRANS &&
           trans_b == KN_GEMM_NO_TRANS && n >= 1024 && k >= 1024;
}

void kn_sgemm_tuned(int order, int trans_a, int trans_b, int m, int n, int k, float alpha,
                    const float *a, int lda, const float *b, int ldb, float beta, float *c,
                    int ldc)
{
#ifdef KENYON_HAVE_ONEDNN
    if (kn_gemm_per_shape() && onednn_wins(order, trans_a, trans_b, n, k)) {
        (void)dnnl_sgemm('N', 'N', m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        return;
    }
#endif
    kn_sgemm(order, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void kn_sgemv(int order, int trans_a, int m, int n, float alpha, const float *a, int lda,
              const float *x, int incx, float beta, float *y, int incy)
{
#ifdef KENYON_HAVE_ONEDNN
    if (order == KN_GEMM_ROW_MAJOR && incx > 0 && incy > 0 &&
        kn_gemm_backend_used() == KN_GEMM_ONEDNN) {
        /* y as a one-column matrix: rows of x and y are incx / incy apart. */
        int t = trans_a == KN_GEMM_TRANS;
        (void)dnnl_sgemm(t ? 'T' : 'N', 'N', t ? n : m, 1, t ? m : n, alpha, a, lda, x, incx,
                         beta, y, incy);
        return;
    }
#endif
    cblas_sgemv((CBLAS_ORDER)order, (CBLAS_TRANSPOSE)trans_a, m, n, alpha, a, lda, x, incx, beta,
                y, incy);
}

char *kn_gemm_describe(char *buf, size_t size)
{
    if (!buf || size == 0)
        return buf;
    kn_blas_kernel k;
    kn_blas_kernel_get(&k);
    char fixed[96] = "";
    if (k.fixed_from)
        snprintf(fixed, sizeof fixed, ", re-run from %s", k.fixed_from);
    const char *slow = k.below_cpu ? ", kernel below the CPU: slow" : "";
    /* openblas_get_config() starts with "OpenBLAS <version>"; keep those two words. */
    char version[32];
    const char *cfg = k.config ? k.config : "OpenBLAS";
    const char *sp = strchr(cfg, ' ');
    const char *end = sp ? strchr(sp + 1, ' ') : NULL;
    snprintf(version, sizeof version, "%.*s", end ? (int)(end - cfg) : (int)strlen(cfg), cfg);
    if (kn_gemm_backend_used() == KN_GEMM_ONEDNN) {
#ifdef KENYON_HAVE_ONEDNN
        const dnnl_version_t *v = dnnl_version();
        snprintf(buf, size,
                 "gemm onednn %d.%d.%d (dnnl_sgemm), %d threads; lapack %s kernel %s (%s; CPU %s%s%s)",
                 v->major, v->minor, v->patch, omp_get_max_threads(), version, k.core,
                 kn_isa_name(k.core_isa), kn_isa_name(k.cpu_isa), slow, fixed);
#endif
    } else {
        char mix[96] = "";
#ifdef KENYON_HAVE_ONEDNN
        if (kn_gemm_per_shape()) {
            const dnnl_version_t *v = dnnl_version();
            snprintf(mix, sizeof mix, " (onednn %d.%d.%d for the dense layers' NN n,k >= 1024)",
                     v->major, v->minor, v->patch);
        }
#endif
        snprintf(buf, size, "gemm openblas%s, %s kernel %s (%s; CPU %s%s%s), %d threads", mix,
                 version, k.core, kn_isa_name(k.core_isa), kn_isa_name(k.cpu_isa), slow, fixed,
                 openblas_get_num_threads());
    }
    return buf;
}
