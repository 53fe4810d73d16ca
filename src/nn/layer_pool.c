/* Max-pooling (PyTorch MaxPool2d without padding, floor mode): the forward remembers the
 * winning input position of every output so the backward routes the gradient there. Ties go to
 * the first position in scan order, as in PyTorch. */
#include <stdlib.h>
#include <string.h>

#include "nn/nn_internal.h"

int kn_pool_forward(kn_layer *L, const kn_real *x, size_t n)
{
    size_t m = n * L->out_dim;
    if (m > L->argmax_cap) {
        int32_t *p = realloc(L->argmax, m * sizeof *p);
        if (!p)
            return -1;
        L->argmax = p;
        L->argmax_cap = m;
    }
    const int k = L->kernel, s = L->stride, H = L->in_h, W = L->in_w;
    for (size_t r = 0; r < n; r++)
        for (int c = 0; c < L->in_c; c++) {
            const kn_real *img = x + r * L->in_dim + (size_t)c * (size_t)H * (size_t)W;
            size_t obase = r * L->out_dim + (size_t)c * (size_t)L->out_h * (size_t)L->out_w;
            for (int oh = 0; oh < L->out_h; oh++)
                for (int ow = 0; ow < L->out_w; ow++) {
                    int best = (oh * s) * W + ow * s;
                    kn_real bv = img[best];
                    for (int ki = 0; ki < k; ki++)
                        for (int kj = 0; kj < k; kj++) {
                            int idx = (oh * s + ki) * W + ow * s + kj;
                            if (img[idx] > bv) {
                                bv = img[idx];
                                best = idx;
                            }
                        }
                    size_t o = obase + (size_t)oh * (size_t)L->out_w + (size_t)ow;
                    L->out[o] = bv;
                    L->argmax[o] = c * H * W + best;
                }
        }
    return 0;
}

void kn_pool_backward(const kn_layer *L, const kn_real *dy, size_t n, kn_real *dx)
{
    memset(dx, 0, n * L->in_dim * sizeof(kn_real));
    for (size_t r = 0; r < n; r++) {
        const kn_real *g = dy + r * L->out_dim;
        const int32_t *am = L->argmax + r * L->out_dim;
        kn_real *d = dx + r * L->in_dim;
        for (size_t o = 0; o < L->out_dim; o++)
            d[am[o]] += g[o];
    }
}
