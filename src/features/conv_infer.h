/* Inference-only convolution and max-pool for the ResNet-18 feature extractor (resnet18.c).
 * Private to src/features.
 *
 * Why not the nn core's conv layer (src/nn/layer_conv.c): that layer trains LeNet5 (stride 1,
 * no padding, gradients and caches per sample), and every existing accuracy depends on it staying
 * bit-identical. Inference needs stride, padding, a folded bias, a fused residual add + ReLU and a
 * batch laid out for one large GEMM, so it lives here and leaves the trained layer untouched.
 *
 * Layout: activations are "CNHW", channel-major with the batch inside each channel
 * (x[c][b][y][x]), so im2col of a whole batch gives one K x (B * oh * ow) matrix and a
 * convolution is a single kn_sgemm: out[cout][B*oh*ow] = W[cout][K] * cols[K][B*oh*ow]. */
#ifndef KN_FEATURES_CONV_INFER_H
#define KN_FEATURES_CONV_INFER_H

#include <stddef.h>

typedef struct kn_conv_infer {
    int cin, cout, k, stride, pad;
    float *w; /* cout x (cin * k * k), BatchNorm folded in; owned */
    float *b; /* cout; owned */
} kn_conv_infer;

/* Output side of a convolution or pool: (in + 2 pad - k) / stride + 1. */
int kn_conv_infer_side(int in, int k, int stride, int pad);

/* out = [relu](conv(x) + b [+ residual]); x is cin x B x h x w, out and residual are
 * cout x B x oh x ow; cols is a workspace of (cin k k) x (B oh ow) floats. */
void kn_conv_infer_run(const kn_conv_infer *cv, const float *x, int batch, int h, int w,
                       float *cols, float *out, const float *residual, int relu);

/* 3 x 3 max-pool, stride 2, padding 1 (padded cells never win), over C x B planes of h x w. */
void kn_maxpool3s2p1(const float *x, int channels, int batch, int h, int w, float *out);

#endif
