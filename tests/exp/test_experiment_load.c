/* Tests for the experiment layer's data loading (kn_experiment_load_data): a feature file
 * replaces the rows of a named data set in the documented order (unbalanced train rows, then test
 * rows), balancing happens after, and bad choices fail with messages naming the culprit. Uses a
 * tiny Fashion-MNIST-shaped data dir. */
#include "test_support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kenyon/experiment.h"
#include "kenyon/formats.h"

enum { N_TRAIN = 30, N_TEST = 10, F = 3 };

/* Train labels: class c has c + 1 samples for c < 4, class 9 the rest (unbalanced). */
static int train_label(size_t i) { return i < 1 ? 0 : i < 3 ? 1 : i < 6 ? 2 : i < 10 ? 3 : 9; }

static void write_pair(const char *dir, const char *images, const char *labels, size_t n,
                       int (*label)(size_t))
{
    kn_error err;
    unsigned char *px = calloc(n * 784, 1), *y = malloc(n);
    for (size_t i = 0; i < n; i++) {
        px[i * 784] = (unsigned char)i;
        y[i] = (unsigned char)label(i);
    }
    kn_array a = {.dtype = KN_DT_U8, .ndim = 3, .shape = {n, 28, 28}, .count = n * 784, .data = px};
    assert_int_equal(kn_idx_write(kt_path(dir, images), &a, 0, &err), KN_OK);
    kn_array b = {.dtype = KN_DT_U8, .ndim = 1, .shape = {n}, .count = n, .data = y};
    assert_int_equal(kn_idx_write(kt_path(dir, labels), &b, 0, &err), KN_OK);
    free(px);
    free(y);
}

static int test_label(size_t i) { return (int)(i % 10); }

/* The spec with `features` set, loaded. */
static int load(kn_experiment_spec *o, const char *features, kn_split *sp, char *label,
                size_t label_size, kn_error *err)
{
    o->features = features;
    return kn_experiment_load_data(o, NULL, sp, label, label_size, err);
}

static const char *make_data_dir(void)
{
    const char *root = kt_scratch_dir("features-apply");
    char sub[600];
    snprintf(sub, sizeof sub, "mkdir -p '%s/fashion-mnist'", root);
    assert_int_equal(system(sub), 0);
    static char fm[600];
    snprintf(fm, sizeof fm, "%s/fashion-mnist", root);
    write_pair(fm, "train-images-idx3-ubyte", "train-labels-idx1-ubyte", N_TRAIN, train_label);
    write_pair(fm, "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte", N_TEST, test_label);
    return root;
}

static void test_feature_file_rows_and_balancing(void **state)
{
    (void)state;
    const char *root = make_data_dir();
    /* Feature row r = (r, 2r, 3r): its value tells which original row it belongs to. */
    float feats[(N_TRAIN + N_TEST) * F];
    for (int r = 0; r < N_TRAIN + N_TEST; r++)
        for (int j = 0; j < F; j++)
            feats[r * F + j] = (float)(r * (j + 1));
    size_t shape[2] = {N_TRAIN + N_TEST, F};
    kn_error err;
    char path[700];
    snprintf(path, sizeof path, "%s/feats.npy", root);
    assert_int_equal(kn_npy_write_f32(path, feats, shape, 2, &err), KN_OK);

    kn_experiment_spec o;
    kn_experiment_spec_default(&o);
    o.dataset = "fashion";
    o.data_dir = root;
    o.balance = 1;
    kn_split sp;
    char label[600];
    assert_int_equal(load(&o, path, &sp, label, sizeof label, &err),
                     KN_OK);
    assert_int_equal(sp.train.d, F);
    assert_int_equal(sp.test.d, F);
    /* Balanced to the smallest class (1 sample) over the 5 classes present. */
    assert_int_equal(sp.train.n, 5);
    for (size_t i = 0; i < sp.train.n; i++) {
        int r = (int)sp.train.x[i * F];
        assert_true(r >= 0 && r < N_TRAIN);
        assert_int_equal(sp.train.y[i], train_label((size_t)r));
        assert_true(sp.train.x[i * F + 2] == 3.0f * (float)r);
    }
    assert_int_equal(sp.test.n, N_TEST);
    for (size_t i = 0; i < sp.test.n; i++) {
        assert_true(sp.test.x[i * F] == (float)(N_TRAIN + i));
        assert_int_equal(sp.test.y[i], test_label(i));
    }
    assert_non_null(strstr(label, "feats.npy"));
    assert_non_null(strstr(sp.train.source, "class-balanced"));
    kn_split_free(&sp);

    /* Pixels: the images themselves, first pixel = row index / 255. */
    assert_int_equal(load(&o, "pixels", &sp, label, sizeof label, &err),
                     KN_OK);
    assert_int_equal(sp.train.d, 784);
    assert_int_equal(sp.train.n, 5);
    kn_split_free(&sp);
}

static void test_bad_feature_choices(void **state)
{
    (void)state;
    const char *root = make_data_dir();
    kn_experiment_spec o;
    kn_experiment_spec_default(&o);
    o.dataset = "fashion";
    o.data_dir = root;
    kn_split sp;
    char label[600], path[700];
    kn_error err;
    assert_int_equal(load(&o, "feats.csv", &sp, label, sizeof label, &err),
                     KN_EINVAL);
    assert_non_null(strstr(err.msg, "feats.csv"));
    /* Wrong number of rows: the message names the file and the expected count. */
    float f[4 * F] = {0};
    size_t shape[2] = {4, F};
    snprintf(path, sizeof path, "%s/short.npy", root);
    assert_int_equal(kn_npy_write_f32(path, f, shape, 2, &err), KN_OK);
    assert_int_equal(load(&o, path, &sp, label, sizeof label, &err),
                     KN_EINVAL);
    assert_non_null(strstr(err.msg, "short.npy"));
    assert_non_null(strstr(err.msg, "40 rows"));
    snprintf(path, sizeof path, "%s/missing.npy", root);
    assert_int_not_equal(load(&o, path, &sp, label, sizeof label, &err),
                         KN_OK);
    assert_non_null(strstr(err.msg, "missing.npy"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_feature_file_rows_and_balancing),
        cmocka_unit_test(test_bad_feature_choices),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
