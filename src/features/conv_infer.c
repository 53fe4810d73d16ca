/* Inference-only convolution (im2col + kn_sgemm) and 3x3/2 max-pool for the ResNet-18 feature
 * extractor; see conv_infer.h for why this is separate from the nn core's trained conv layer. */
#include "conv_infer.h"

#include <float.h>

#include "kenyon/gemm.h"

int kn_conv_infer_side(int in, int k, int stride, int pad)
{
    return (in + 2 * pad - k) / stride + 1;
}

/* cols[r][b][oy][ox] with r = (ci, ky, kx): the input pixel the kernel tap r sees for output
 * (b, oy, ox), zero where it falls in the padding. */
static void im2col(const kn_conv_infer *cv, const float *x, int batch, int h, int w, int oh,
                   int ow, float *cols)
{
    const int k = cv->k, s = cv->stride, p = cv->pad;
    const int rows = cv->cin * k * k;
    const size_t plane = (size_t)h * w, oplane = (size_t)oh * ow;
    const size_t n = (size_t)batch * oplane;
#pragma omp parallel for schedule(static)
    for (int r = 0; r < rows; r++) {
        const int ci = r / (k * k), ky = (r / k) % k, kx = r % k;
        float *dst = cols + (size_t)r * n;
        for (int b = 0; b < batch; b++) {
            const float *src = x + ((size_t)ci * batch + b) * plane;
            float *d = dst + (size_t)b * oplane;
            for (int oy = 0; oy < oh; oy++) {
                const int iy = oy * s - p + ky;
                float *row = d + (size_t)oy * ow;
                if (iy < 0 || iy >= h) {
                    for (int ox = 0; ox < ow; ox++)
                        row[ox] = 0.0f;
                    continue;
                }
                const float *srow = src + (size_t)iy * w;
                for (int ox = 0; ox < ow; ox++) {
                    const int ix = ox * s - p + kx;
                    row[ox] = (ix >= 0 && ix < w) ? srow[ix] : 0.0f;
                }
            }
        }
    }
}

void kn_conv_infer_run(const kn_conv_infer *cv, const float *x, int batch, int h, int w,
                       float *cols, float *out, const float *residual, int relu)
{
    const int oh = kn_conv_infer_side(h, cv->k, cv->stride, cv->pad);
    const int ow = kn_conv_infer_side(w, cv->k, cv->stride, cv->pad);
    const int kk = cv->cin * cv->k * cv->k;
    const int n = batch * oh * ow;
    im2col(cv, x, batch, h, w, oh, ow, cols);
    kn_sgemm(KN_GEMM_ROW_MAJOR, KN_GEMM_NO_TRANS, KN_GEMM_NO_TRANS, cv->cout, n, kk, 1.0f, cv->w,
             kk, cols, n, 0.0f, out, n);
#pragma omp parallel for schedule(static)
    for (int co = 0; co < cv->cout; co++) {
        float *o = out + (size_t)co * n;
        const float *res = residual ? residual + (size_t)co * n : NULL;
        const float b = cv->b[co];
        for (int i = 0; i < n; i++) {
            float v = o[i] + b;
            if (res)
                v += res[i];
            o[i] = (relu && v < 0.0f) ? 0.0f : v;
        }
    }
}

void kn_maxpool3s2p1(const float *x, int channels, int batch, int h, int w, float *out)
{
    const int oh = kn_conv_infer_side(h, 3, 2, 1), ow = kn_conv_infer_side(w, 3, 2, 1);
    const int planes = channels * batch;
#pragma omp parallel for schedule(static)
    for (int pl = 0; pl < planes; pl++) {
        const float *src = x + (size_t)pl * h * w;
        float *dst = out + (size_t)pl * oh * ow;
        for (int oy = 0; oy < oh; oy++)
            for (int ox = 0; ox < ow; ox++) {
                float m = -FLT_MAX;
                for (int dy = 0; dy < 3; dy++) {
                    const int iy = oy * 2 - 1 + dy;
                    if (iy < 0 || iy >= h)
                        continue;
                    for (int dx = 0; dx < 3; dx++) {
                        const int ix = ox * 2 - 1 + dx;
                        if (ix >= 0 && ix < w && src[(size_t)iy * w + ix] > m)
                            m = src[(size_t)iy * w + ix];
                    }
                }
                dst[(size_t)oy * ow + ox] = m;
            }
    }
}
