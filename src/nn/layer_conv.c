/* 2-D convolution (cross-correlation, as PyTorch's Conv2d) through im2col + one gemm for the
 * whole batch: the columns are (in_c*k*k) x (n*P) with P = out_h*out_w, so the forward is
 * W (out_c x in_c*k*k) times the columns, and the backward is two gemms plus col2im. */
#include <string.h>

#include "nn/nn_internal.h"

/* cols[row = (c*k + ki)*k + kj][r*P + oh*OW + ow] = x[r][c][oh*s - pad + ki][ow*s - pad + kj] */
static void im2col(const kn_layer *L, const kn_real *x, size_t n, kn_real *cols)
{
    const int k = L->kernel, s = L->stride, pad = L->pad;
    const int H = L->in_h, W = L->in_w, OH = L->out_h, OW = L->out_w;
    const size_t P = (size_t)OH * (size_t)OW, np = n * P;
    for (int c = 0; c < L->in_c; c++)
        for (int ki = 0; ki < k; ki++)
            for (int kj = 0; kj < k; kj++) {
                kn_real *row = cols + ((size_t)(c * k + ki) * (size_t)k + (size_t)kj) * np;
                for (size_t r = 0; r < n; r++) {
                    const kn_real *img = x + r * L->in_dim + (size_t)c * (size_t)H * (size_t)W;
                    kn_real *dst = row + r * P;
                    for (int oh = 0; oh < OH; oh++) {
                        int ih = oh * s - pad + ki;
                        for (int ow = 0; ow < OW; ow++) {
                            int iw = ow * s - pad + kj;
                            dst[oh * OW + ow] = (ih >= 0 && ih < H && iw >= 0 && iw < W)
                                                    ? img[ih * W + iw] : 0;
                        }
                    }
                }
            }
}

/* The adjoint of im2col: dx += scatter of dcols. */
static void col2im(const kn_layer *L, const kn_real *dcols, size_t n, kn_real *dx)
{
    const int k = L->kernel, s = L->stride, pad = L->pad;
    const int H = L->in_h, W = L->in_w, OH = L->out_h, OW = L->out_w;
    const size_t P = (size_t)OH * (size_t)OW, np = n * P;
    memset(dx, 0, n * L->in_dim * sizeof(kn_real));
    for (int c = 0; c < L->in_c; c++)
        for (int ki = 0; ki < k; ki++)
            for (int kj = 0; kj < k; kj++) {
                const kn_real *row = dcols + ((size_t)(c * k + ki) * (size_t)k + (size_t)kj) * np;
                for (size_t r = 0; r < n; r++) {
                    kn_real *img = dx + r * L->in_dim + (size_t)c * (size_t)H * (size_t)W;
                    const kn_real *src = row + r * P;
                    for (int oh = 0; oh < OH; oh++) {
                        int ih = oh * s - pad + ki;
                        if (ih < 0 || ih >= H)
                            continue;
                        for (int ow = 0; ow < OW; ow++) {
                            int iw = ow * s - pad + kj;
                            if (iw >= 0 && iw < W)
                                img[ih * W + iw] += src[oh * OW + ow];
                        }
                    }
                }
            }
}

int kn_conv_forward(kn_layer *L, const kn_real *params, const kn_real *x, size_t n)
{
    const size_t ckk = (size_t)L->in_c * (size_t)L->kernel * (size_t)L->kernel;
    const size_t P = (size_t)L->out_h * (size_t)L->out_w, np = n * P;
    const size_t oc = (size_t)L->out_c;
    if (kn_nn_reserve(&L->aux, &L->aux_cap, ckk * np) ||
        kn_nn_reserve(&L->aux2, &L->aux2_cap, oc * np))
        return -1;
    im2col(L, x, n, L->aux);
    const kn_real *W = params, *b = params + L->w_count;
    KN_GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)oc, (int)np, (int)ckk, 1, W, (int)ckk,
            L->aux, (int)np, 0, L->aux2, (int)np);
    for (size_t r = 0; r < n; r++)
        for (size_t o = 0; o < oc; o++) {
            const kn_real *src = L->aux2 + o * np + r * P;
            kn_real *dst = L->out + r * L->out_dim + o * P;
            for (size_t p = 0; p < P; p++)
                dst[p] = src[p] + b[o];
        }
    return 0;
}

int kn_conv_backward(kn_layer *L, const kn_real *params, kn_real *grads, const kn_real *dy,
                     size_t n, kn_real *dx)
{
    const size_t ckk = (size_t)L->in_c * (size_t)L->kernel * (size_t)L->kernel;
    const size_t P = (size_t)L->out_h * (size_t)L->out_w, np = n * P;
    const size_t oc = (size_t)L->out_c;
    kn_real *dyr = L->aux2; /* dy rearranged to out_c x (n*P) */
    kn_real *db = grads + L->w_count;
    for (size_t o = 0; o < oc; o++) {
        double sum = 0;
        for (size_t r = 0; r < n; r++) {
            const kn_real *src = dy + r * L->out_dim + o * P;
            kn_real *dst = dyr + o * np + r * P;
            for (size_t p = 0; p < P; p++) {
                dst[p] = src[p];
                sum += src[p];
            }
        }
        db[o] += (kn_real)sum;
    }
    KN_GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, (int)oc, (int)ckk, (int)np, 1, dyr, (int)np,
            L->aux, (int)np, 1, grads, (int)ckk);
    if (dx) {
        if (kn_nn_reserve(&L->aux3, &L->aux3_cap, ckk * np))
            return -1;
        KN_GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, (int)ckk, (int)np, (int)oc, 1, params,
                (int)ckk, dyr, (int)np, 0, L->aux3, (int)np);
        col2im(L, L->aux3, n, dx);
    }
    return 0;
}
