/* kenyon/gemm.h: the dense products (GEMM/GEMV) every network, GEM and the readouts go through,
 * and the check that the BLAS runs kernels as wide as the CPU allows.
 *
 * Why this exists: a distribution's OpenBLAS picks its kernels from a table of CPU models it
 * knew when it was built. On a newer CPU it falls back to its oldest x86-64 kernels (Debian 12's
 * OpenBLAS 0.3.21 runs "Prescott", SSE3 only, on recent AVX-512 Intel parts): every product
 * runs 3-7 times slower than the hardware allows. kenyon compares the kernel OpenBLAS loaded
 * (openblas_get_corename) with the instruction sets the CPU and the OS support (cpuid, xgetbv)
 * and, when the kernel is narrower, does one of two things:
 *   - the CLI re-executes itself once with OPENBLAS_CORETYPE naming the right kernel
 *     (kn_blas_fix_kernel; OpenBLAS reads that variable only when it is loaded). This also fixes
 *     the LAPACK calls (Cholesky, eigenproblems), which run on the same OpenBLAS kernels;
 *   - a program that cannot re-execute (an embedding, the Python extension) gets the oneDNN
 *     backend for its products, when kenyon was built with oneDNN.
 *
 * Backends: "openblas" (cblas_sgemm/sgemv) and, if built with oneDNN (libdnnl), "onednn"
 * (dnnl_sgemm). The environment variable KENYON_GEMM chooses: "openblas", "onednn" or "auto"
 * (the default: openblas, unless its kernel is below the CPU and oneDNN is built in; and with
 * oneDNN built in, the dense layers' products go per shape to the faster of the two, from a
 * fixed table: see kn_sgemm_tuned).
 * KENYON_BLAS_FIX=0 turns the re-execution off (to measure the slow kernel on purpose).
 *
 * Results: for a fixed backend, kernel and thread count every product is bit-identical from
 * run to run. Different backends or kernels agree to float rounding only (they sum in different
 * orders), so a run records which backend and kernel it used (kn_gemm_describe). */
#ifndef KENYON_GEMM_H
#define KENYON_GEMM_H

#include <stddef.h>

#include "kenyon/error.h"

/* Row-major storage throughout. The transpose codes have CBLAS's values, so code written for
 * cblas_sgemm can pass CblasNoTrans / CblasTrans unchanged. */
enum { KN_GEMM_ROW_MAJOR = 101, KN_GEMM_NO_TRANS = 111, KN_GEMM_TRANS = 112 };

typedef enum kn_gemm_backend {
    KN_GEMM_OPENBLAS = 0,
    KN_GEMM_ONEDNN = 1,
} kn_gemm_backend;

/* C = alpha op(A) op(B) + beta C with op(A) m x k, op(B) k x n, C m x n; the arguments are
 * cblas_sgemm's (order must be KN_GEMM_ROW_MAJOR / CblasRowMajor). */
void kn_sgemm(int order, int trans_a, int trans_b, int m, int n, int k, float alpha,
              const float *a, int lda, const float *b, int ldb, float beta, float *c, int ldc);

/* kn_sgemm for the products of the dense layers (the MLPs' forward, weight and input
 * gradients). Under KENYON_GEMM=auto with oneDNN built in and a right OpenBLAS kernel, a call
 * whose shape oneDNN measured clearly faster at runs on oneDNN, every other call on OpenBLAS:
 * today the products with neither operand transposed and n, k >= 1024 (the input gradient of a
 * 3200 -> 3200 layer). The table is fixed, so results repeat bit for bit from run to run; they
 * differ from KENYON_GEMM=openblas in those products' rounding only. With KENYON_GEMM=openblas
 * or onednn it is kn_sgemm. */
void kn_sgemm_tuned(int order, int trans_a, int trans_b, int m, int n, int k, float alpha,
                    const float *a, int lda, const float *b, int ldb, float beta, float *c,
                    int ldc);

/* 1 if kn_sgemm_tuned may move a product to oneDNN in this process (see above). */
int kn_gemm_per_shape(void);

/* y = alpha op(A) x + beta y with A m x n (row-major); cblas_sgemv's arguments. */
void kn_sgemv(int order, int trans_a, int m, int n, float alpha, const float *a, int lda,
              const float *x, int incx, float beta, float *y, int incy);

/* Chooses the backend from KENYON_GEMM (once per process; later calls return the same result).
 * Fails on a value that is not "openblas", "onednn" or "auto", or on "onednn" when kenyon was
 * built without it. The products call it themselves (falling back to openblas on a bad value),
 * so a program needs it only to report the error. */
int kn_gemm_init(kn_error *err);

/* The backend in use, and whether this build has oneDNN. */
kn_gemm_backend kn_gemm_backend_used(void);
int kn_gemm_have_onednn(void);

/* Instruction-set levels, in increasing width, as far as the BLAS kernels care. */
typedef enum kn_isa {
    KN_ISA_UNKNOWN = 0, /* not an x86-64 CPU, or a kernel name this table does not know */
    KN_ISA_SSE2,
    KN_ISA_SSE3,
    KN_ISA_AVX,
    KN_ISA_AVX2,        /* AVX2 + FMA */
    KN_ISA_AVX512,      /* AVX-512 F, CD, BW, DQ, VL */
    KN_ISA_AVX512_BF16, /* the above + AVX512_BF16 */
} kn_isa;

/* The widest level the CPU and the OS (saved register state) support. */
kn_isa kn_cpu_isa(void);

/* The level an OpenBLAS kernel name uses ("Prescott" -> SSE3, "Haswell" -> AVX2, "SkylakeX" ->
 * AVX-512, ...; case-insensitive), KN_ISA_UNKNOWN for a name not in the table. */
kn_isa kn_blas_core_isa(const char *core);

/* The OpenBLAS kernel name (OPENBLAS_CORETYPE value) to use on a CPU of this level, or NULL
 * below AVX (nothing to gain). */
const char *kn_blas_core_for_isa(kn_isa isa);

/* A short name of a level: "sse3", "avx2", "avx512", "avx512-bf16", "unknown". */
const char *kn_isa_name(kn_isa isa);

/* What the BLAS is running. */
typedef struct kn_blas_kernel {
    const char *core;         /* openblas_get_corename() */
    const char *config;       /* openblas_get_config(): version and build */
    kn_isa core_isa, cpu_isa;
    int below_cpu;            /* 1 if the kernel is narrower than the CPU allows */
    const char *fixed_from;   /* the kernel before kn_blas_fix_kernel re-executed, or NULL */
} kn_blas_kernel;

void kn_blas_kernel_get(kn_blas_kernel *out);

/* For a program's main(): if the loaded OpenBLAS kernel is below the CPU, sets
 * OPENBLAS_CORETYPE to the right kernel and re-executes the program (same argv, via
 * /proc/self/exe) once. Returns (doing nothing) when the kernel is right, when KENYON_BLAS_FIX=0,
 * when KENYON_GEMM asks for onednn, when this process is already the re-executed one, or when
 * the exec fails (then -1, and the program goes on with the slow kernel). */
int kn_blas_fix_kernel(char **argv);

/* One line naming the backend and the kernel that run the products, e.g.
 * "gemm openblas, OpenBLAS 0.3.21 kernel Cooperlake (avx512-bf16; CPU avx512-bf16), 2 threads"
 * (with "(onednn 2.6.3 for the dense layers' NN n,k >= 1024)" after "openblas" when
 * kn_gemm_per_shape).
 * Writes at most size bytes (always terminated); returns buf. */
char *kn_gemm_describe(char *buf, size_t size);

#endif
