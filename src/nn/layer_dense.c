/* The dense (fully connected) layer: y = x W^T + b over a batch, and its backward pass, as GEMMs,
 * plus the backward pass fused with the optimiser step that kn_net_train_step uses.
 * Public (kenyon/nn.h) because the VAE, the LSTM and the RL networks call it directly. */
#include <string.h>

#include "nn/nn_internal.h"

void kn_dense_forward(const kn_real *x, size_t n, size_t in, size_t out, const kn_real *W,
                      const kn_real *b, kn_real *y)
{
    if (b) {
        for (size_t r = 0; r < n; r++)
            memcpy(y + r * out, b, out * sizeof(kn_real));
    }
    KN_GEMM_DENSE(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)out, (int)in, 1, x,
                  (int)in, W, (int)in, b ? 1 : 0, y, (int)out);
}

void kn_dense_backward(const kn_real *x, const kn_real *dy, size_t n, size_t in, size_t out,
                       const kn_real *W, kn_real *dW, kn_real *db, kn_real *dx)
{
    if (dW)
        KN_GEMM_DENSE(CblasRowMajor, CblasTrans, CblasNoTrans, (int)out, (int)in, (int)n, 1, dy,
                      (int)out, x, (int)in, 1, dW, (int)in);
    if (db) {
        for (size_t r = 0; r < n; r++) {
            const kn_real *row = dy + r * out;
            for (size_t o = 0; o < out; o++)
                db[o] += row[o];
        }
    }
    if (dx)
        KN_GEMM_DENSE(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)in, (int)out, 1, dy,
                      (int)out, W, (int)in, 0, dx, (int)in);
}

/* Rows of dW per block of the fused step: about 1 MB (262144 numbers) of each of dW, W and the
 * optimiser's moment, so the block's gradient is still in cache when the step reads it (a whole
 * 3200 x 784 gradient is 10 MB, written by the GEMM and read back by the step). Smaller blocks
 * repack x once per block; bench_mlp (1 thread, 784 -> 3200 -> 20, load 15) could not tell
 * 128 KB, 256 KB, 1 MB and a single block apart (all within +-5%), so this is a middle choice. */
static size_t dense_step_rows(size_t in, size_t out)
{
    /* With more than one BLAS thread, one block: every GEMM call wakes and waits for the
     * BLAS's threads, and on a loaded machine each wait is a trip through the scheduler.
     * bench_mlp --threads 2 --n 4800 at load 20-22, three interleaved rounds: 15-17 s wall
     * against 25-36 s with the 1 MB blocks (BENCHMARKS.md). The bits are the same: each block
     * is its own rows of the same product. */
    if (openblas_get_num_threads() > 1)
        return out;
    size_t rows = (size_t)262144 / (in ? in : 1);
    rows = rows < 16 ? 16 : rows - rows % 16;
    return rows;
}

void kn_dense_backward_step(const kn_real *x, const kn_real *dy, size_t n, size_t in, size_t out,
                            kn_real *params, kn_real *grads, size_t p_off, kn_optim *opt,
                            kn_real *dx)
{
    const kn_real *W = params + p_off;
    kn_real *dW = grads + p_off, *db = dW + out * in;
    /* dx first: it needs the weights before the step. */
    if (dx)
        KN_GEMM_DENSE(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)in, (int)out, 1,
                      dy, (int)out, W, (int)in, 0, dx, (int)in);
    /* dW[o][j] = sum_r dy[r][o] x[r][j] for a block of rows o; beta 0 gives the bits of an
     * accumulation onto zeroed gradients (0 + s = s). */
    const size_t rows = dense_step_rows(in, out);
    kn_real *mom = NULL;
#ifndef KN_NN_DOUBLE
    /* SGD with momentum: the GEMM adds the gradient onto the momentum buffer, pre-multiplied
     * by the momentum (see kn_optim_momentum_fold); the weight gradient itself is not stored.
     * OpenBLAS only: it skips C for beta 1 and adds the product's accumulator to it, one
     * rounding, as the step adds g (oneDNN's rounding of C + AB is not documented).
     * kn_sgemm_tuned keeps this TN product on OpenBLAS. */
    if (kn_gemm_backend_used() == KN_GEMM_OPENBLAS)
        mom = kn_optim_momentum_fold(opt, p_off, out * in);
#endif
    for (size_t o0 = 0; o0 < out; o0 += rows) {
        size_t r = out - o0 < rows ? out - o0 : rows;
        /* Only products above OpenBLAS's small-matrix kernels (m n k <= 1e6 in 0.3.21, with a
         * margin), whose rounding of C + AB is not the kernel's; smaller ones (a partial batch,
         * a narrow layer) store the gradient and take the ordinary step, which knows the
         * buffer is pre-multiplied. */
        if (mom && (double)r * (double)in * (double)n > 2e6) {
            KN_GEMM_DENSE(CblasRowMajor, CblasTrans, CblasNoTrans, (int)r, (int)in, (int)n, 1,
                          dy + o0, (int)out, x, (int)in, 1, mom + p_off + o0 * in, (int)in);
            kn_optim_folded_step_range(opt, params, p_off + o0 * in, r * in);
        } else {
            KN_GEMM_DENSE(CblasRowMajor, CblasTrans, CblasNoTrans, (int)r, (int)in, (int)n, 1,
                          dy + o0, (int)out, x, (int)in, 0, dW + o0 * in, (int)in);
            kn_optim_step_range(opt, params, grads, p_off + o0 * in, r * in);
        }
    }
    memset(db, 0, out * sizeof(kn_real));
    for (size_t r = 0; r < n; r++) {
        const kn_real *row = dy + r * out;
        for (size_t o = 0; o < out; o++)
            db[o] += row[o];
    }
    kn_optim_step_range(opt, params, grads, p_off + out * in, out);
}
