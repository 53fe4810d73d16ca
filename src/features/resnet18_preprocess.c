/* The fly paper's ResNet-18 preprocessing (kenyon/resnet18.h): bilinear resize of the shorter
 * edge to 299 with torch's half-pixel convention, centre crop, ImageNet normalisation; and the
 * batched path from [0,1] images to features.
 *
 * Hand-written: the resize must reproduce torch.nn.functional.interpolate(mode="bilinear",
 * align_corners=False) exactly (source coordinate (dst + 0.5) * in / out - 0.5 clamped at 0, the
 * upper neighbour clamped at the edge), which no Debian C image library documents doing. */
#include "kenyon/resnet18.h"

#include <stdlib.h>

static const float imagenet_mean[3] = {0.485f, 0.456f, 0.406f};
static const float imagenet_std[3] = {0.229f, 0.224f, 0.225f};

/* Source index pair and weight of the upper one for each output position, as torch computes
 * them (float arithmetic, scale = in / out). */
static void bilinear_taps(int in, int out, int *i0, int *i1, float *l1)
{
    const float scale = (float)in / (float)out;
    for (int o = 0; o < out; o++) {
        float src = scale * ((float)o + 0.5f) - 0.5f;
        if (src < 0.0f)
            src = 0.0f;
        int lo = (int)src;
        if (lo > in - 1)
            lo = in - 1;
        i0[o] = lo;
        i1[o] = lo + (lo < in - 1 ? 1 : 0);
        l1[o] = src - (float)lo;
    }
}

/* Python's round(excess / 2) for excess >= 0: x.5 goes to the even neighbour. */
static int crop_offset(int excess)
{
    int q = excess / 2;
    if (excess % 2 && q % 2)
        q++;
    return q;
}

int kn_resnet18_preprocess(const float *img, int c, int h, int w, int side, float *out,
                           kn_error *err)
{
    if (c != 1 && c != 3)
        return kn_fail(err, KN_EINVAL, "ResNet-18 preprocessing needs 1 or 3 channels, got %d", c);
    if (h < 1 || w < 1 || h > 65536 || w > 65536 || side < 1 || side > 4096)
        return kn_fail(err, KN_EINVAL, "ResNet-18 preprocessing: bad sizes (image %d x %d, "
                       "side %d)", h, w, side);
    /* torchvision's Resize(int): shorter edge -> side, longer -> int(side * long / short). */
    int rh, rw;
    if (h <= w) {
        rh = side;
        rw = (int)((long long)side * w / h);
    } else {
        rw = side;
        rh = (int)((long long)side * h / w);
    }
    /* CenterCrop: offsets int(round((size - side) / 2)), Python's round (halves to even). */
    const int top = crop_offset(rh - side), left = crop_offset(rw - side);
    int *y0 = malloc((size_t)rh * sizeof *y0), *y1 = malloc((size_t)rh * sizeof *y1);
    int *x0 = malloc((size_t)rw * sizeof *x0), *x1 = malloc((size_t)rw * sizeof *x1);
    float *ly = malloc((size_t)rh * sizeof *ly), *lx = malloc((size_t)rw * sizeof *lx);
    int rc = 0;
    if (!y0 || !y1 || !x0 || !x1 || !ly || !lx)
        rc = kn_fail(err, KN_ENOMEM, "out of memory resizing a %d x %d image", h, w);
    if (!rc) {
        bilinear_taps(h, rh, y0, y1, ly);
        bilinear_taps(w, rw, x0, x1, lx);
        for (int ch = 0; ch < 3; ch++) {
            const float *p = img + (size_t)(c == 3 ? ch : 0) * h * w;
            float *o = out + (size_t)ch * side * side;
            for (int oy = 0; oy < side; oy++) {
                const int ry = oy + top;
                const float b1 = ly[ry], b0 = 1.0f - b1;
                const float *r0 = p + (size_t)y0[ry] * w, *r1 = p + (size_t)y1[ry] * w;
                for (int ox = 0; ox < side; ox++) {
                    const int rx = ox + left;
                    const float a1 = lx[rx], a0 = 1.0f - a1;
                    float v = b0 * (a0 * r0[x0[rx]] + a1 * r0[x1[rx]]) +
                              b1 * (a0 * r1[x0[rx]] + a1 * r1[x1[rx]]);
                    o[(size_t)oy * side + ox] = (v - imagenet_mean[ch]) / imagenet_std[ch];
                }
            }
        }
    }
    free(y0);
    free(y1);
    free(x0);
    free(x1);
    free(ly);
    free(lx);
    return rc;
}

int kn_resnet18_features_images(const kn_resnet18 *m, const float *img, size_t n, int c, int h,
                                int w, int batch, float *feats,
                                void (*progress)(void *ctx, size_t done, size_t total),
                                void *ctx, kn_error *err)
{
    if (batch <= 0)
        batch = 8;
    const int side = KN_RESNET18_SIDE;
    const size_t in_sz = (size_t)c * h * w, pre_sz = (size_t)3 * side * side;
    float *pre = malloc((size_t)batch * pre_sz * sizeof *pre);
    if (!pre)
        return kn_fail(err, KN_ENOMEM, "out of memory for %d preprocessed images", batch);
    int rc = 0;
    for (size_t at = 0; !rc && at < n; at += (size_t)batch) {
        const int b = (n - at < (size_t)batch) ? (int)(n - at) : batch;
        int bad = 0;
        kn_error first;
        kn_error_clear(&first);
#pragma omp parallel for schedule(static) reduction(| : bad)
        for (int i = 0; i < b; i++) {
            kn_error e;
            kn_error_clear(&e);
            if (kn_resnet18_preprocess(img + (at + (size_t)i) * in_sz, c, h, w, side,
                                       pre + (size_t)i * pre_sz, &e)) {
                bad = 1;
#pragma omp critical(kn_resnet18_pre_err)
                if (!first.code)
                    first = e;
            }
        }
        if (bad)
            rc = kn_fail(err, first.code ? first.code : KN_EINVAL, "%s", first.msg);
        if (!rc)
            rc = kn_resnet18_forward(m, pre, (size_t)b, side, side, b,
                                     feats + at * KN_RESNET18_FEATURES, err);
        if (!rc && progress)
            progress(ctx, at + (size_t)b, n);
    }
    free(pre);
    return rc;
}
