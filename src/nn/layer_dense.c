/* The dense (fully connected) layer: y = x W^T + b over a batch, and its backward pass, as GEMMs.
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
    KN_GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)out, (int)in, 1, x, (int)in, W,
            (int)in, b ? 1 : 0, y, (int)out);
}

void kn_dense_backward(const kn_real *x, const kn_real *dy, size_t n, size_t in, size_t out,
                       const kn_real *W, kn_real *dW, kn_real *db, kn_real *dx)
{
    if (dW)
        KN_GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, (int)out, (int)in, (int)n, 1, dy,
                (int)out, x, (int)in, 1, dW, (int)in);
    if (db) {
        for (size_t r = 0; r < n; r++) {
            const kn_real *row = dy + r * out;
            for (size_t o = 0; o < out; o++)
                db[o] += row[o];
        }
    }
    if (dx)
        KN_GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)in, (int)out, 1, dy,
                (int)out, W, (int)in, 0, dx, (int)in);
}
