/* ResNet-18 inference (kenyon/resnet18.h): loading torchvision-named weights from safetensors
 * with BatchNorm folded into each convolution, and the forward pass to the 512-d pooled
 * features, a batch of images at a time. */
#include "kenyon/resnet18.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conv_infer.h"

#define BN_EPS 1e-5
#define N_BLOCKS 8

typedef struct basic_block {
    kn_conv_infer c1, c2, down; /* down.w == NULL: identity shortcut */
} basic_block;

struct kn_resnet18 {
    kn_conv_infer conv1;
    basic_block blocks[N_BLOCKS]; /* layer1.0, layer1.1, layer2.0, ..., layer4.1 */
};

static void conv_free(kn_conv_infer *cv)
{
    free(cv->w);
    free(cv->b);
    cv->w = cv->b = NULL;
}

void kn_resnet18_free(kn_resnet18 *m)
{
    if (!m)
        return;
    conv_free(&m->conv1);
    for (int i = 0; i < N_BLOCKS; i++) {
        conv_free(&m->blocks[i].c1);
        conv_free(&m->blocks[i].c2);
        conv_free(&m->blocks[i].down);
    }
    free(m);
}

/* Copies tensor `name` (F32, the given shape, finite) into a new buffer. */
static int read_f32(const kn_st_file *f, const char *name, int ndim, const size_t *shape,
                    float **out, kn_error *err)
{
    *out = NULL;
    const kn_st_tensor *t;
    int rc = kn_st_expect(f, name, KN_ST_F32, ndim, shape, &t, err);
    if (rc)
        return rc;
    float *buf = malloc(t->nbytes ? t->nbytes : 1);
    if (!buf)
        return kn_fail(err, KN_ENOMEM, "%s: out of memory for tensor '%s'", f->source, name);
    rc = kn_st_tensor_read(f, t, buf, err);
    for (size_t i = 0; !rc && i < t->count; i++)
        if (!isfinite(buf[i]))
            rc = kn_fail(err, KN_EFORMAT, "%s: tensor '%s' element %zu is not finite", f->source,
                         name, i);
    if (rc) {
        free(buf);
        return rc;
    }
    *out = buf;
    return 0;
}

/* Reads conv `conv` (weight [cout, cin, k, k], no bias) and BatchNorm `bn` ([cout] weight, bias,
 * running_mean, running_var) and folds the BatchNorm into the convolution. */
static int load_conv_bn(const kn_st_file *f, const char *conv, const char *bn, int cin, int cout,
                        int k, int stride, int pad, kn_conv_infer *cv, kn_error *err)
{
    char name[128];
    float *w = NULL, *gamma = NULL, *beta = NULL, *mean = NULL, *var = NULL;
    const size_t wshape[4] = {(size_t)cout, (size_t)cin, (size_t)k, (size_t)k};
    const size_t cshape[1] = {(size_t)cout};
    int rc;
    snprintf(name, sizeof name, "%s.weight", conv);
    rc = read_f32(f, name, 4, wshape, &w, err);
    snprintf(name, sizeof name, "%s.weight", bn);
    if (!rc)
        rc = read_f32(f, name, 1, cshape, &gamma, err);
    snprintf(name, sizeof name, "%s.bias", bn);
    if (!rc)
        rc = read_f32(f, name, 1, cshape, &beta, err);
    snprintf(name, sizeof name, "%s.running_mean", bn);
    if (!rc)
        rc = read_f32(f, name, 1, cshape, &mean, err);
    snprintf(name, sizeof name, "%s.running_var", bn);
    if (!rc)
        rc = read_f32(f, name, 1, cshape, &var, err);
    for (int c = 0; !rc && c < cout; c++)
        if (var[c] < 0.0f)
            rc = kn_fail(err, KN_EFORMAT, "%s: tensor '%s' element %d is negative (%g): a "
                         "variance cannot be", f->source, name, c, (double)var[c]);
    float *b = NULL;
    if (!rc && !(b = malloc((size_t)cout * sizeof *b)))
        rc = kn_fail(err, KN_ENOMEM, "%s: out of memory for '%s'", f->source, conv);
    if (!rc) {
        const size_t per = (size_t)cin * k * k;
        for (int c = 0; c < cout; c++) {
            double scale = (double)gamma[c] / sqrt((double)var[c] + BN_EPS);
            for (size_t i = 0; i < per; i++)
                w[c * per + i] = (float)((double)w[c * per + i] * scale);
            b[c] = (float)((double)beta[c] - (double)mean[c] * scale);
        }
        cv->cin = cin;
        cv->cout = cout;
        cv->k = k;
        cv->stride = stride;
        cv->pad = pad;
        cv->w = w;
        cv->b = b;
        w = NULL;
    }
    free(w);
    free(gamma);
    free(beta);
    free(mean);
    free(var);
    return rc;
}

int kn_resnet18_from_st(const kn_st_file *f, kn_resnet18 **out, kn_error *err)
{
    *out = NULL;
    kn_resnet18 *m = calloc(1, sizeof *m);
    if (!m)
        return kn_fail(err, KN_ENOMEM, "%s: out of memory for ResNet-18", f->source);
    int rc = load_conv_bn(f, "conv1", "bn1", 3, 64, 7, 2, 3, &m->conv1, err);
    int cin = 64;
    for (int i = 0; !rc && i < N_BLOCKS; i++) {
        const int stage = i / 2, cout = 64 << stage;
        const int stride = (i % 2 == 0 && stage > 0) ? 2 : 1;
        char p[64], conv[96], bn[96];
        snprintf(p, sizeof p, "layer%d.%d", stage + 1, i % 2);
        basic_block *blk = &m->blocks[i];
        snprintf(conv, sizeof conv, "%s.conv1", p);
        snprintf(bn, sizeof bn, "%s.bn1", p);
        rc = load_conv_bn(f, conv, bn, cin, cout, 3, stride, 1, &blk->c1, err);
        snprintf(conv, sizeof conv, "%s.conv2", p);
        snprintf(bn, sizeof bn, "%s.bn2", p);
        if (!rc)
            rc = load_conv_bn(f, conv, bn, cout, cout, 3, 1, 1, &blk->c2, err);
        if (!rc && (stride != 1 || cin != cout)) {
            snprintf(conv, sizeof conv, "%s.downsample.0", p);
            snprintf(bn, sizeof bn, "%s.downsample.1", p);
            rc = load_conv_bn(f, conv, bn, cin, cout, 1, stride, 0, &blk->down, err);
        }
        cin = cout;
    }
    if (rc) {
        kn_resnet18_free(m);
        return rc;
    }
    *out = m;
    return 0;
}

int kn_resnet18_load(const char *path, kn_resnet18 **out, kn_error *err)
{
    *out = NULL;
    kn_st_file f;
    int rc = kn_st_open(path, &f, err);
    if (rc)
        return rc;
    rc = kn_resnet18_from_st(&f, out, err);
    kn_st_free(&f);
    return rc;
}

int kn_resnet18_forward(const kn_resnet18 *m, const float *x, size_t n, int h, int w, int batch,
                        float *feats, kn_error *err)
{
    if (h < 32 || w < 32 || h > 4096 || w > 4096)
        return kn_fail(err, KN_EINVAL, "ResNet-18 input must be between 32 and 4096 pixels on "
                       "each side, got %d x %d", h, w);
    if (batch <= 0)
        batch = 8;
    if ((size_t)batch > n)
        batch = n ? (int)n : 1;
    /* Largest activation: conv1's 64 x oh x ow; largest im2col: conv1's 147 or layer1's 576
     * rows over the same or a quarter of the pixels. Sized from the actual shapes below. */
    const int h1 = kn_conv_infer_side(h, 7, 2, 3), w1 = kn_conv_infer_side(w, 7, 2, 3);
    const int h2 = kn_conv_infer_side(h1, 3, 2, 1), w2 = kn_conv_infer_side(w1, 3, 2, 1);
    const size_t act = (size_t)64 * batch * h1 * w1;
    size_t cols = (size_t)147 * batch * h1 * w1;
    if ((size_t)576 * batch * h2 * w2 > cols)
        cols = (size_t)576 * batch * h2 * w2;
    if ((size_t)batch * h1 * w1 > (size_t)2147483647 / 147)
        return kn_fail(err, KN_EINVAL, "ResNet-18 batch of %d images of %d x %d is too large "
                       "for one product; use a smaller batch", batch, h, w);
    float *buf[4] = {NULL, NULL, NULL, NULL};
    float *col = malloc(cols * sizeof *col);
    for (int i = 0; i < 4; i++)
        buf[i] = malloc(act * sizeof *buf[i]);
    int rc = 0;
    if (!col || !buf[0] || !buf[1] || !buf[2] || !buf[3])
        rc = kn_fail(err, KN_ENOMEM, "out of memory for ResNet-18 work space (%zu MB; use a "
                     "smaller batch)", (cols + 4 * act) * sizeof(float) >> 20);
    for (size_t at = 0; !rc && at < n; at += (size_t)batch) {
        const int b = (n - at < (size_t)batch) ? (int)(n - at) : batch;
        /* NCHW images -> CNHW. */
        const size_t plane = (size_t)h * w;
        for (int c = 0; c < 3; c++)
            for (int i = 0; i < b; i++)
                memcpy(buf[0] + ((size_t)c * b + i) * plane,
                       x + ((at + (size_t)i) * 3 + (size_t)c) * plane, plane * sizeof(float));
        kn_conv_infer_run(&m->conv1, buf[0], b, h, w, col, buf[1], NULL, 1);
        kn_maxpool3s2p1(buf[1], 64, b, h1, w1, buf[0]);
        float *cur = buf[0], *mid = buf[1], *sc = buf[2], *nxt = buf[3];
        int ch = h2, cw = w2;
        for (int i = 0; i < N_BLOCKS; i++) {
            const basic_block *blk = &m->blocks[i];
            const int oh = kn_conv_infer_side(ch, 3, blk->c1.stride, 1);
            const int ow = kn_conv_infer_side(cw, 3, blk->c1.stride, 1);
            kn_conv_infer_run(&blk->c1, cur, b, ch, cw, col, mid, NULL, 1);
            const float *shortcut = cur;
            if (blk->down.w) {
                kn_conv_infer_run(&blk->down, cur, b, ch, cw, col, sc, NULL, 0);
                shortcut = sc;
            }
            kn_conv_infer_run(&blk->c2, mid, b, oh, ow, col, nxt, shortcut, 1);
            float *t = cur;
            cur = nxt;
            nxt = t;
            ch = oh;
            cw = ow;
        }
        /* Global average pool: cur is 512 x b x ch x cw. */
        const size_t pix = (size_t)ch * cw;
#pragma omp parallel for schedule(static)
        for (int c = 0; c < KN_RESNET18_FEATURES; c++)
            for (int i = 0; i < b; i++) {
                const float *p = cur + ((size_t)c * b + i) * pix;
                double s = 0.0;
                for (size_t j = 0; j < pix; j++)
                    s += p[j];
                feats[(at + (size_t)i) * KN_RESNET18_FEATURES + c] = (float)(s / (double)pix);
            }
    }
    free(col);
    for (int i = 0; i < 4; i++)
        free(buf[i]);
    return rc;
}
