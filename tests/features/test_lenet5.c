/* Tests of the LeNet5 extractor: parameter count and layout (known answer), the extractor is the
 * full net minus its last layer (logits = features W3^T + b3), safetensors round trip with
 * PyTorch names and errors naming the tensor, training on a small synthetic set, input checks,
 * and the pretraining loader. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_support.h"
#include "kenyon/features.h"
#include "kenyon/formats.h"
#include "kenyon/safetensors.h"

static kn_net *make_net(uint64_t seed)
{
    kn_rng rng;
    kn_rng_seed(&rng, seed);
    kn_net *net = NULL;
    kn_error err;
    assert_int_equal(kn_lenet5_create(10, &rng, &net, &err), 0);
    return net;
}

static void test_parameter_count(void **state)
{
    (void)state;
    kn_net *net = make_net(1);
    /* conv1 6*1*9+6, bn1 12, conv2 16*6*9+16, bn2 32, fc1 400*120+120, bn3 240,
     * fc2 120*84+84, bn4 168, fc3 84*10+10 */
    size_t expected = 60 + 12 + 880 + 32 + 48120 + 240 + 10164 + 168 + 850;
    assert_int_equal(kn_net_n_params(net), expected);
    assert_int_equal(kn_net_n_buffers(net), 2 * (6 + 16 + 120 + 84));
    assert_int_equal(kn_net_in_dim(net), 784);
    assert_int_equal(kn_net_out_dim(net), 10);
    assert_int_equal(kn_net_n_layers(net), 16);
    int c, h, w;
    kn_net_layer_shape(net, 7, &c, &h, &w); /* after the second pool */
    assert_int_equal(c * h * w, 400);
    kn_net_free(net);
}

static void random_images(float *x, size_t n, uint64_t seed)
{
    kn_rng rng;
    kn_rng_seed(&rng, seed);
    for (size_t i = 0; i < n * 784; i++)
        x[i] = (float)kn_rng_uniform(&rng);
}

/* The extractor's features through fc3 reproduce the full net's logits in evaluation mode. */
static void test_extractor_is_trunk(void **state)
{
    (void)state;
    kn_net *net = make_net(2);
    /* Non-trivial BatchNorm statistics: a few training-mode forwards. */
    size_t n = 16;
    float *x = malloc(n * 784 * sizeof *x), feats[16 * 84], logits[16 * 10];
    assert_non_null(x);
    random_images(x, n, 3);
    kn_error err;
    const float *out;
    kn_net_set_training(net, 1);
    for (int k = 0; k < 3; k++)
        assert_int_equal(kn_net_forward(net, x, n, &out, &err), 0);
    kn_net_set_training(net, 0);
    assert_int_equal(kn_net_predict(net, x, n, logits, &err), 0);
    assert_int_equal(kn_lenet5_features(net, x, n, feats, &err), 0);
    size_t off, count, wcount;
    kn_net_layer_params(net, 15, &off, &count, &wcount);
    assert_int_equal(wcount, 840);
    const float *W = kn_net_params(net) + off, *b = W + wcount;
    int positive = 0;
    for (size_t i = 0; i < n; i++)
        for (int j = 0; j < 10; j++) {
            double s = b[j];
            for (int k = 0; k < 84; k++) {
                assert_true(feats[i * 84 + k] >= 0.0f); /* post-ReLU */
                positive += feats[i * 84 + k] > 0.0f;
                s += (double)W[j * 84 + k] * feats[i * 84 + k];
            }
            assert_true(fabs(s - logits[i * 10 + j]) < 1e-4);
        }
    assert_true(positive > 0);
    /* Features do not depend on the batch in evaluation mode. */
    float one[84];
    assert_int_equal(kn_lenet5_features(net, x + 5 * 784, 1, one, &err), 0);
    for (int k = 0; k < 84; k++)
        assert_true(fabsf(one[k] - feats[5 * 84 + k]) < 1e-5f);
    free(x);
    kn_net_free(net);
}

static void test_save_load_roundtrip(void **state)
{
    (void)state;
    kn_net *net = make_net(4);
    float *buf = kn_net_buffers(net);
    for (size_t i = 0; i < kn_net_n_buffers(net); i++)
        buf[i] = 0.5f + 0.001f * (float)i;
    const char *dir = kt_scratch_dir("lenet-io");
    const char *path = kt_path(dir, "m.safetensors");
    const char *meta[] = {"seed", "4", NULL, NULL};
    kn_error err;
    assert_int_equal(kn_lenet5_save(net, path, meta, &err), 0);
    kn_net *back = NULL;
    assert_int_equal(kn_lenet5_load(path, &back, &err), 0);
    assert_int_equal(kn_net_n_params(back), kn_net_n_params(net));
    assert_memory_equal(kn_net_params(back), kn_net_params(net),
                        kn_net_n_params(net) * sizeof(float));
    assert_memory_equal(kn_net_buffers(back), kn_net_buffers(net),
                        kn_net_n_buffers(net) * sizeof(float));
    assert_false(kn_net_is_training(back));
    /* PyTorch names and shapes. */
    kn_st_file f;
    assert_int_equal(kn_st_read(path, &f, &err), 0);
    const kn_st_tensor *t = kn_st_find(&f, "conv2.weight");
    assert_non_null(t);
    assert_int_equal(t->ndim, 4);
    assert_int_equal(t->shape[0], 16);
    assert_int_equal(t->shape[1], 6);
    assert_int_equal(t->shape[2], 3);
    t = kn_st_find(&f, "fc1.weight");
    assert_non_null(t);
    assert_int_equal(t->shape[0], 120);
    assert_int_equal(t->shape[1], 400);
    t = kn_st_find(&f, "bn4.running_var");
    assert_non_null(t);
    assert_int_equal(t->shape[0], 84);
    assert_float_equal(((const float *)t->data)[0], buf[kn_net_n_buffers(net) - 84], 0.0);
    assert_string_equal(kn_st_meta(&f, "seed"), "4");
    assert_string_equal(kn_st_meta(&f, "format"), "kenyon-lenet5");
    kn_st_free(&f);

    /* A file without bn3.running_mean: the error names the tensor. */
    kn_st_writer w;
    kn_st_writer_init(&w);
    assert_int_equal(kn_st_read(path, &f, &err), 0);
    for (size_t i = 0; i < f.n_tensors; i++)
        if (strcmp(f.tensors[i].name, "bn3.running_mean"))
            assert_int_equal(kn_st_writer_add(&w, f.tensors[i].name, f.tensors[i].dtype,
                                              f.tensors[i].ndim, f.tensors[i].shape,
                                              f.tensors[i].data, &err),
                             0);
    const char *bad = kt_path(dir, "missing.safetensors");
    assert_int_equal(kn_st_writer_write(&w, bad, &err), 0);
    kn_st_writer_free(&w);
    kn_st_free(&f);
    kn_net *none = NULL;
    assert_true(kn_lenet5_load(bad, &none, &err) < 0);
    assert_null(none);
    assert_non_null(strstr(err.msg, "bn3.running_mean"));
    /* A truncated file fails naming it. */
    unsigned char junk[20] = {200, 0, 0, 0, 0, 0, 0, 0, '{'};
    const char *trunc = kt_path(dir, "trunc.safetensors");
    kt_write_bytes(trunc, junk, sizeof junk);
    assert_true(kn_lenet5_load(trunc, &none, &err) < 0);
    assert_non_null(strstr(err.msg, "trunc.safetensors"));
    kn_net_free(back);
    kn_net_free(net);
}

/* Ten easy classes: a bright 6x6 square at one of ten places, plus noise. */
static void make_squares(kn_dataset *ds, size_t n, uint64_t seed)
{
    kn_error err;
    assert_int_equal(kn_dataset_alloc(ds, n, 784, 10, &err), 0);
    kn_rng rng;
    kn_rng_seed(&rng, seed);
    for (size_t i = 0; i < n; i++) {
        int c = (int)(i % 10);
        ds->y[i] = c;
        int r0 = 3 + (c / 5) * 12 + (int)kn_rng_below(&rng, 3);
        int c0 = 1 + (c % 5) * 5 + (int)kn_rng_below(&rng, 2);
        for (int k = 0; k < 784; k++)
            ds->x[i * 784 + k] = (float)(0.2 * kn_rng_uniform(&rng));
        for (int y = r0; y < r0 + 6 && y < 28; y++)
            for (int x = c0; x < c0 + 4 && x < 28; x++)
                ds->x[i * 784 + y * 28 + x] = 1.0f;
    }
    snprintf(ds->source, sizeof ds->source, "squares");
}

typedef struct epochs_seen {
    int n;
    double acc[8];
} epochs_seen;

static int count_epoch(void *ctx, int epoch, int epochs, double loss, double tr, double te,
                       double s)
{
    (void)epochs;
    (void)tr;
    (void)s;
    epochs_seen *e = ctx;
    assert_int_equal(epoch, e->n + 1);
    assert_true(isfinite(loss));
    e->acc[e->n++] = te;
    return 0;
}

static void test_train_small(void **state)
{
    (void)state;
    kn_dataset train, test;
    make_squares(&train, 600, 1);
    make_squares(&test, 200, 2);
    kn_lenet5_train_options o;
    kn_lenet5_train_options_default(&o);
    assert_int_equal(o.epochs, 25);
    assert_int_equal(o.batch, 64);
    assert_float_equal(o.lr, 1e-3, 1e-15);
    assert_int_equal(o.lr_step, 7);
    o.epochs = 6;
    o.seed = 9;
    epochs_seen seen = {0};
    o.on_epoch = count_epoch;
    o.ctx = &seen;
    kn_net *net = NULL;
    kn_lenet5_result res;
    kn_error err;
    assert_int_equal(kn_lenet5_train(&train, &test, &o, &net, &res, &err), 0);
    assert_int_equal(seen.n, 6);
    assert_int_equal(res.epochs_run, 6);
    double best = 0;
    for (int i = 0; i < 6; i++)
        best = seen.acc[i] > best ? seen.acc[i] : best;
    assert_float_equal(res.best_test_acc, best, 1e-12);
    print_message("squares: test accuracy after epoch 3 %.3f, 6 %.3f\n", seen.acc[2], seen.acc[5]);
    assert_true(res.best_test_acc > 0.9);
    double acc;
    assert_int_equal(kn_lenet5_accuracy(net, &test, &acc, &err), 0);
    assert_float_equal(acc, res.best_test_acc, 1e-12); /* the best epoch's weights were kept */

    /* Same seed, same weights (one epoch is enough to tell). */
    o.on_epoch = NULL;
    o.epochs = 1;
    kn_net *once = NULL, *again = NULL;
    assert_int_equal(kn_lenet5_train(&train, &test, &o, &once, &res, &err), 0);
    assert_int_equal(kn_lenet5_train(&train, &test, &o, &again, &res, &err), 0);
    assert_memory_equal(kn_net_params(once), kn_net_params(again),
                        kn_net_n_params(once) * sizeof(float));
    assert_memory_equal(kn_net_buffers(once), kn_net_buffers(again),
                        kn_net_n_buffers(once) * sizeof(float));
    kn_net_free(once);
    kn_net_free(again);
    kn_net_free(net);
    kn_dataset_free(&train);
    kn_dataset_free(&test);
}

static void test_train_rejects_bad_input(void **state)
{
    (void)state;
    kn_dataset train, test, wide;
    make_squares(&train, 20, 1);
    make_squares(&test, 20, 2);
    kn_error err;
    assert_int_equal(kn_dataset_alloc(&wide, 4, 100, 10, &err), 0);
    snprintf(wide.source, sizeof wide.source, "wide-set");
    kn_lenet5_train_options o;
    kn_lenet5_train_options_default(&o);
    kn_net *net = NULL;
    assert_int_equal(kn_lenet5_train(&wide, &test, &o, &net, NULL, &err), KN_EINVAL);
    assert_non_null(strstr(err.msg, "wide-set"));
    assert_non_null(strstr(err.msg, "784"));
    train.y[7] = 12;
    assert_int_equal(kn_lenet5_train(&train, &test, &o, &net, NULL, &err), KN_EINVAL);
    assert_non_null(strstr(err.msg, "sample 7"));
    train.y[7] = 7;
    o.batch = 1;
    assert_int_equal(kn_lenet5_train(&train, &test, &o, &net, NULL, &err), KN_EINVAL);
    assert_non_null(strstr(err.msg, "batch"));
    assert_null(net);
    kn_rng rng;
    kn_rng_seed(&rng, 0);
    assert_int_equal(kn_lenet5_create(1, &rng, &net, &err), KN_EINVAL);
    kn_dataset_free(&train);
    kn_dataset_free(&test);
    kn_dataset_free(&wide);
}

static void write_idx_u8(const char *path, const uint8_t *data, int ndim, size_t n)
{
    kn_idx a;
    memset(&a, 0, sizeof a);
    a.dtype = KN_DT_U8;
    a.ndim = ndim;
    a.shape[0] = n;
    a.count = n;
    if (ndim == 3) {
        a.shape[1] = a.shape[2] = 28;
        a.count = n * 784;
    }
    a.data = (void *)data;
    kn_error err;
    assert_int_equal(kn_idx_write(path, &a, 1, &err), 0);
}

static void test_pretrain_load(void **state)
{
    (void)state;
    const char *dir = kt_scratch_dir("pretrain");
    kn_split sp;
    kn_error err;
    assert_int_equal(kn_pretrain_load(dir, &sp, &err), KN_EIO);
    assert_non_null(strstr(err.msg, "train-images-idx3-ubyte"));
    assert_non_null(strstr(err.msg, "kenyon data kana"));
    uint8_t img[3 * 784], lab[3] = {0, 9, 4};
    for (int i = 0; i < 3 * 784; i++)
        img[i] = (uint8_t)(i % 256);
    write_idx_u8(kt_path(dir, "train-images-idx3-ubyte.gz"), img, 3, 3);
    write_idx_u8(kt_path(dir, "train-labels-idx1-ubyte.gz"), lab, 1, 3);
    write_idx_u8(kt_path(dir, "t10k-images-idx3-ubyte.gz"), img, 3, 2);
    write_idx_u8(kt_path(dir, "t10k-labels-idx1-ubyte.gz"), lab, 1, 2);
    assert_int_equal(kn_pretrain_load(dir, &sp, &err), 0);
    assert_int_equal(sp.train.n, 3);
    assert_int_equal(sp.test.n, 2);
    assert_int_equal(sp.train.d, 784);
    assert_int_equal(sp.train.n_classes, 10);
    assert_int_equal(sp.train.y[1], 9);
    assert_float_equal(sp.train.x[255], 1.0, 1e-7);
    kn_split_free(&sp);
    /* A label of 10 is not a KMNIST class. */
    lab[2] = 10;
    write_idx_u8(kt_path(dir, "train-labels-idx1-ubyte.gz"), lab, 1, 3);
    assert_true(kn_pretrain_load(dir, &sp, &err) < 0);
    assert_non_null(strstr(err.msg, "train-labels-idx1-ubyte"));
}

static void write_squares_idx(const char *dir, const char *prefix, size_t n, uint64_t seed)
{
    kn_dataset ds;
    make_squares(&ds, n, seed);
    uint8_t *img = malloc(n * 784), *lab = malloc(n);
    assert_non_null(img);
    assert_non_null(lab);
    for (size_t i = 0; i < n * 784; i++)
        img[i] = (uint8_t)(ds.x[i] * 255.0f + 0.5f);
    for (size_t i = 0; i < n; i++)
        lab[i] = (uint8_t)ds.y[i];
    char name[128];
    snprintf(name, sizeof name, "%s-images-idx3-ubyte.gz", prefix);
    write_idx_u8(kt_path(dir, name), img, 3, n);
    snprintf(name, sizeof name, "%s-labels-idx1-ubyte.gz", prefix);
    write_idx_u8(kt_path(dir, name), lab, 1, n);
    free(img);
    free(lab);
    kn_dataset_free(&ds);
}

/* Runs the cache once; returns the log text (malloc'd). */
static char *cached_run(const char *pre, const char *cache, kn_split *sp)
{
    char *text = NULL;
    size_t len = 0;
    FILE *log = open_memstream(&text, &len);
    assert_non_null(log);
    kn_feature_cache_options o;
    kn_feature_cache_options_default(&o);
    assert_int_equal(o.epochs, 25);
    o.pretrain_dir = pre;
    o.cache_dir = cache;
    o.epochs = 1;
    o.seed = 5;
    o.log = log;
    kn_error err;
    int rc = kn_features_lenet_cached(&o, sp, &err);
    if (rc)
        print_error("%s\n", err.msg);
    assert_int_equal(rc, 0);
    fclose(log);
    return text;
}

static void test_feature_cache(void **state)
{
    (void)state;
    const char *pre = kt_scratch_dir("cache-pre");
    const char *cache = kt_scratch_dir("cache-dir");
    write_squares_idx(pre, "train", 200, 1);
    write_squares_idx(pre, "t10k", 50, 2);
    kn_split a, b;
    make_squares(&a.train, 30, 3);
    make_squares(&a.test, 20, 4);
    make_squares(&b.train, 30, 3);
    make_squares(&b.test, 20, 4);
    char *log1 = cached_run(pre, cache, &a);
    assert_non_null(strstr(log1, "training the extractor"));
    assert_int_equal(a.train.d, 84);
    assert_int_equal(a.test.d, 84);
    assert_int_equal(a.test.n, 20);
    char *log2 = cached_run(pre, cache, &b);
    assert_non_null(strstr(log2, "reusing cached extractor"));
    assert_non_null(strstr(log2, "reusing cached features"));
    assert_null(strstr(log2, "training"));
    assert_memory_equal(a.train.x, b.train.x, 30 * 84 * sizeof(float));
    assert_memory_equal(a.test.x, b.test.x, 20 * 84 * sizeof(float));
    free(log1);
    free(log2);
    kn_split_free(&a);
    kn_split_free(&b);
    /* Non-image data are refused with the reason. */
    kn_split c;
    kn_error err;
    assert_int_equal(kn_dataset_alloc(&c.train, 2, 10, 2, &err), 0);
    assert_int_equal(kn_dataset_alloc(&c.test, 2, 10, 2, &err), 0);
    kn_feature_cache_options o;
    kn_feature_cache_options_default(&o);
    o.cache_dir = cache;
    o.pretrain_dir = pre;
    assert_int_equal(kn_features_lenet_cached(&o, &c, &err), KN_EINVAL);
    assert_non_null(strstr(err.msg, "784"));
    kn_split_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parameter_count),
        cmocka_unit_test(test_extractor_is_trunk),
        cmocka_unit_test(test_save_load_roundtrip),
        cmocka_unit_test(test_train_small),
        cmocka_unit_test(test_train_rejects_bad_input),
        cmocka_unit_test(test_pretrain_load),
        cmocka_unit_test(test_feature_cache),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
