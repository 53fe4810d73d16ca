/* Tests of the ResNet-18 feature extractor that need no PyTorch (the comparison with torchvision
 * is test_resnet18_torch.sh): BatchNorm folding on a network whose convolutions are all zero
 * (every feature is then the last BatchNorm's folded bias, known in closed form); batch size
 * does not change the features; the weight loader names the missing tensor, the wrong shape, the
 * NaN and the negative variance; and the preprocessing reproduces a linear ramp exactly (bilinear
 * interpolation is exact on linear images, clamped at the borders), a constant image, and the
 * centre crop of a non-square image. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_support.h"
#include "kenyon/resnet18.h"
#include "kenyon/safetensors.h"

#define MAX_T 128

/* All of resnet18's tensors (weights and BatchNorm statistics), with owned data. */
typedef struct model_spec {
    char name[MAX_T][128];
    size_t shape[MAX_T][4];
    int ndim[MAX_T];
    float *data[MAX_T];
    int n;
} model_spec;

static void add(model_spec *m, const char *name, int ndim, size_t a, size_t b, size_t c, size_t d)
{
    assert_true(m->n < MAX_T);
    int i = m->n++;
    snprintf(m->name[i], sizeof m->name[i], "%s", name);
    m->ndim[i] = ndim;
    m->shape[i][0] = a, m->shape[i][1] = b, m->shape[i][2] = c, m->shape[i][3] = d;
    size_t count = a * (ndim > 1 ? b * c * d : 1);
    m->data[i] = calloc(count, sizeof(float));
    assert_non_null(m->data[i]);
}

static void add_conv_bn(model_spec *m, const char *conv, const char *bn, size_t cin, size_t cout,
                        size_t k)
{
    char n[96];
    snprintf(n, sizeof n, "%s.weight", conv);
    add(m, n, 4, cout, cin, k, k);
    const char *parts[4] = {"weight", "bias", "running_mean", "running_var"};
    for (int p = 0; p < 4; p++) {
        snprintf(n, sizeof n, "%s.%s", bn, parts[p]);
        add(m, n, 1, cout, 0, 0, 0);
        if (p == 0 || p == 3) /* gamma 1, var 1 */
            for (size_t j = 0; j < cout; j++)
                m->data[m->n - 1][j] = 1.0f;
    }
}

/* Zero convolutions, identity BatchNorm; if seed != 0, convolution weights drawn uniformly in
 * +-scale (a small LCG: the values only need to be varied). */
static void make_spec(model_spec *m, unsigned seed)
{
    memset(m, 0, sizeof *m);
    add_conv_bn(m, "conv1", "bn1", 3, 64, 7);
    size_t cin = 64;
    for (int i = 0; i < 8; i++) {
        int stage = i / 2;
        size_t cout = (size_t)64 << stage;
        char p[32], a[64], b[64];
        snprintf(p, sizeof p, "layer%d.%d", stage + 1, i % 2);
        snprintf(a, sizeof a, "%s.conv1", p);
        snprintf(b, sizeof b, "%s.bn1", p);
        add_conv_bn(m, a, b, cin, cout, 3);
        snprintf(a, sizeof a, "%s.conv2", p);
        snprintf(b, sizeof b, "%s.bn2", p);
        add_conv_bn(m, a, b, cout, cout, 3);
        if (i % 2 == 0 && stage > 0) {
            snprintf(a, sizeof a, "%s.downsample.0", p);
            snprintf(b, sizeof b, "%s.downsample.1", p);
            add_conv_bn(m, a, b, cin, cout, 1);
        }
        cin = cout;
    }
    if (!seed)
        return;
    unsigned s = seed;
    for (int i = 0; i < m->n; i++) {
        if (m->ndim[i] != 4)
            continue;
        size_t count = m->shape[i][0] * m->shape[i][1] * m->shape[i][2] * m->shape[i][3];
        float scale = 2.0f / sqrtf((float)(m->shape[i][1] * m->shape[i][2] * m->shape[i][3]));
        for (size_t j = 0; j < count; j++) {
            s = s * 1664525u + 1013904223u;
            m->data[i][j] = scale * ((float)(s >> 8) / 16777216.0f - 0.5f) * 2.0f;
        }
    }
}

static float *tensor(model_spec *m, const char *name)
{
    for (int i = 0; i < m->n; i++)
        if (!strcmp(m->name[i], name))
            return m->data[i];
    fail_msg("no tensor %s in the spec", name);
    return NULL;
}

static void free_spec(model_spec *m)
{
    for (int i = 0; i < m->n; i++)
        free(m->data[i]);
}

/* Serialises the spec (leaving out `skip`, and giving `reshape` a wrong first dimension) and
 * loads it; returns the loader's status, with the model in *out on success. */
static int load_spec(const model_spec *m, const char *skip, const char *reshape,
                     kn_resnet18 **out, kn_error *err)
{
    kn_st_writer w;
    kn_st_writer_init(&w);
    for (int i = 0; i < m->n; i++) {
        if (skip && !strcmp(m->name[i], skip))
            continue;
        size_t shape[4];
        memcpy(shape, m->shape[i], sizeof shape);
        if (reshape && !strcmp(m->name[i], reshape))
            shape[0] /= 2;
        assert_int_equal(kn_st_writer_add(&w, m->name[i], KN_ST_F32, m->ndim[i], shape,
                                          m->data[i], err), 0);
    }
    unsigned char *bytes = NULL;
    size_t len = 0;
    assert_int_equal(kn_st_writer_serialize(&w, &bytes, &len, err), 0);
    kn_st_writer_free(&w);
    kn_st_file f;
    assert_int_equal(kn_st_parse(bytes, len, "spec.safetensors", &f, err), 0);
    int rc = kn_resnet18_from_st(&f, out, err);
    kn_st_free(&f);
    free(bytes);
    return rc;
}

static void test_bn_folding_closed_form(void **state)
{
    (void)state;
    model_spec m;
    make_spec(&m, 0);
    /* With every convolution zero, each conv + BN outputs its folded bias
     * beta - mean * gamma / sqrt(var + eps); all are 0 except layer4.1.bn2's, so every feature
     * is relu(beta - mean * gamma / sqrt(var + 1e-5)) of that BatchNorm. */
    float *g = tensor(&m, "layer4.1.bn2.weight"), *b = tensor(&m, "layer4.1.bn2.bias");
    float *mu = tensor(&m, "layer4.1.bn2.running_mean");
    float *v = tensor(&m, "layer4.1.bn2.running_var");
    for (int c = 0; c < 512; c++) {
        g[c] = 0.5f + (float)c / 256.0f;
        b[c] = (float)(c % 7) * 0.1f - 0.3f;
        mu[c] = -0.2f * (float)(c % 3);
        v[c] = (c % 5 == 0) ? 0.0f : 0.25f * (float)(c % 5);
    }
    kn_resnet18 *net = NULL;
    kn_error err;
    assert_int_equal(load_spec(&m, NULL, NULL, &net, &err), 0);
    float *x = malloc(2 * 3 * 40 * 33 * sizeof *x), feats[2 * 512];
    assert_non_null(x);
    for (int i = 0; i < 2 * 3 * 40 * 33; i++)
        x[i] = (float)(i % 13) - 6.0f;
    assert_int_equal(kn_resnet18_forward(net, x, 2, 40, 33, 0, feats, &err), 0);
    for (int i = 0; i < 2; i++)
        for (int c = 0; c < 512; c++) {
            double want = b[c] - mu[c] * g[c] / sqrt(v[c] + 1e-5);
            want = want > 0 ? want : 0;
            assert_float_equal(feats[i * 512 + c], want, 1e-5 * (1 + fabs(want)));
        }
    free(x);
    kn_resnet18_free(net);
    free_spec(&m);
}

static void test_batch_does_not_change_features(void **state)
{
    (void)state;
    model_spec m;
    make_spec(&m, 12345);
    kn_resnet18 *net = NULL;
    kn_error err;
    assert_int_equal(load_spec(&m, NULL, NULL, &net, &err), 0);
    enum { N = 3, H = 48, W = 40 };
    float *x = malloc((size_t)N * 3 * H * W * sizeof *x), all[N * 512], one[512];
    assert_non_null(x);
    unsigned s = 7;
    for (size_t i = 0; i < (size_t)N * 3 * H * W; i++) {
        s = s * 1664525u + 1013904223u;
        x[i] = (float)(s >> 8) / 16777216.0f * 4.0f - 2.0f;
    }
    assert_int_equal(kn_resnet18_forward(net, x, N, H, W, N, all, &err), 0);
    double top = 0;
    for (int j = 0; j < N * 512; j++)
        top = fmax(top, fabs(all[j]));
    assert_true(top > 0); /* random weights: the features are not all zero */
    for (int i = 0; i < N; i++) {
        assert_int_equal(kn_resnet18_forward(net, x + (size_t)i * 3 * H * W, 1, H, W, 1, one,
                                             &err), 0);
        for (int c = 0; c < 512; c++)
            assert_float_equal(one[c], all[i * 512 + c], 1e-5 * top);
    }
    assert_int_not_equal(kn_resnet18_forward(net, x, 1, 16, 16, 1, one, &err), 0);
    assert_non_null(strstr(err.msg, "16 x 16"));
    free(x);
    kn_resnet18_free(net);
    free_spec(&m);
}

static void expect_load_error(model_spec *m, const char *skip, const char *reshape,
                              const char *needle1, const char *needle2)
{
    kn_resnet18 *net = (kn_resnet18 *)1;
    kn_error err;
    kn_error_clear(&err);
    assert_int_not_equal(load_spec(m, skip, reshape, &net, &err), 0);
    assert_null(net);
    if (!strstr(err.msg, needle1) || !strstr(err.msg, needle2))
        fail_msg("message '%s' lacks '%s' or '%s'", err.msg, needle1, needle2);
}

static void test_bad_weights_are_named(void **state)
{
    (void)state;
    model_spec m;
    make_spec(&m, 3);
    expect_load_error(&m, "layer3.0.downsample.1.running_mean", NULL,
                      "layer3.0.downsample.1.running_mean", "missing");
    expect_load_error(&m, NULL, "layer2.1.conv2.weight", "layer2.1.conv2.weight", "shape");
    tensor(&m, "layer4.0.bn1.bias")[100] = NAN;
    expect_load_error(&m, NULL, NULL, "layer4.0.bn1.bias", "finite");
    tensor(&m, "layer4.0.bn1.bias")[100] = 0.0f;
    tensor(&m, "layer1.1.bn2.running_var")[9] = -0.5f;
    expect_load_error(&m, NULL, NULL, "layer1.1.bn2.running_var", "negative");
    tensor(&m, "layer1.1.bn2.running_var")[9] = 1.0f;
    kn_resnet18 *net = NULL;
    kn_error err;
    assert_int_equal(load_spec(&m, "fc.weight", NULL, &net, &err), 0); /* restored: loads */
    kn_resnet18_free(net);
    free_spec(&m);
}

static const float mean[3] = {0.485f, 0.456f, 0.406f}, sd[3] = {0.229f, 0.224f, 0.225f};

static void test_resize_is_exact_on_a_ramp(void **state)
{
    (void)state;
    enum { S = 32, SIDE = 299 };
    float img[3 * S * S];
    /* Channel 0 varies along x, channel 1 along y, channel 2 is constant 0.7. */
    for (int y = 0; y < S; y++)
        for (int x = 0; x < S; x++) {
            img[0 * S * S + y * S + x] = (float)x / (S - 1);
            img[1 * S * S + y * S + x] = (float)y / (S - 1);
            img[2 * S * S + y * S + x] = 0.7f;
        }
    float *out = malloc(3 * SIDE * SIDE * sizeof *out);
    assert_non_null(out);
    kn_error err;
    assert_int_equal(kn_resnet18_preprocess(img, 3, S, S, SIDE, out, &err), 0);
    for (int o = 0; o < SIDE; o += 7) {
        /* Half-pixel source coordinate, clamped to the image: bilinear reproduces a linear
         * image exactly there. */
        double src = fmin(fmax((o + 0.5) * S / SIDE - 0.5, 0.0), S - 1);
        double want = src / (S - 1);
        for (int q = 0; q < SIDE; q += 37) {
            assert_float_equal(out[0 * SIDE * SIDE + q * SIDE + o] * sd[0] + mean[0], want, 2e-6);
            assert_float_equal(out[1 * SIDE * SIDE + o * SIDE + q] * sd[1] + mean[1], want, 2e-6);
            assert_float_equal(out[2 * SIDE * SIDE + o * SIDE + q], (0.7 - mean[2]) / sd[2], 2e-6);
        }
    }
    free(out);
}

static void test_crop_of_a_wide_grey_image(void **state)
{
    (void)state;
    /* 10 x 27 grey: resized to 299 x int(299 * 27 / 10) = 299 x 807; the crop starts at
     * round(508 / 2) = 254. A ramp along x tells where the crop began. */
    enum { H = 10, W = 27, SIDE = 299 };
    float img[H * W];
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
            img[y * W + x] = (float)x / (W - 1);
    float *out = malloc(3 * SIDE * SIDE * sizeof *out);
    assert_non_null(out);
    kn_error err;
    assert_int_equal(kn_resnet18_preprocess(img, 1, H, W, SIDE, out, &err), 0);
    for (int ox = 0; ox < SIDE; ox += 11) {
        double src = fmin(fmax((ox + 254 + 0.5) * W / 807.0 - 0.5, 0.0), W - 1);
        for (int c = 0; c < 3; c++) /* grey replicated, normalised per channel */
            assert_float_equal(out[c * SIDE * SIDE + 5 * SIDE + ox] * sd[c] + mean[c],
                               src / (W - 1), 2e-5);
    }
    assert_int_not_equal(kn_resnet18_preprocess(img, 2, H, W, SIDE, out, &err), 0);
    assert_non_null(strstr(err.msg, "channels"));
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bn_folding_closed_form),
        cmocka_unit_test(test_batch_does_not_change_features),
        cmocka_unit_test(test_bad_weights_are_named),
        cmocka_unit_test(test_resize_is_exact_on_a_ramp),
        cmocka_unit_test(test_crop_of_a_wide_grey_image),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
