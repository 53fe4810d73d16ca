/* `kenyon features extract --model resnet18.safetensors`: the fly paper's CIFAR-100 features
 * (512-d ResNet-18 output after resize 299, centre crop 299, ImageNet normalisation) of a named
 * data set or an image file, written as .npy. */
#include "features_resnet.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kenyon/data_load.h"
#include "kenyon/formats.h"
#include "kenyon/progress.h"
#include "kenyon/resnet18.h"
#include "kenyon/safetensors.h"

int kn_cli_is_resnet18_file(const char *path)
{
    kn_st_file f;
    kn_error err;
    if (kn_st_open(path, &f, &err))
        return 0;
    /* Any "layerN." tensor, or a 7 x 7 stem: LeNet5's conv1 is 3 x 3 and it has no layers. */
    const kn_st_tensor *stem = kn_st_find(&f, "conv1.weight");
    int yes = stem && stem->ndim == 4 && stem->shape[2] == 7;
    for (size_t i = 0; !yes && i < f.n_tensors; i++)
        yes = strncmp(f.tensors[i].name, "layer", 5) == 0;
    kn_st_free(&f);
    return yes;
}

/* Image geometry of a data set's rows: CIFAR's 3 x 32 x 32 planes or a 28 x 28 grey image. */
static int geometry_of(size_t d, int *c, int *h, int *w)
{
    if (d == 3 * 32 * 32) {
        *c = 3, *h = 32, *w = 32;
        return 0;
    }
    if (d == 28 * 28) {
        *c = 1, *h = 28, *w = 28;
        return 0;
    }
    return -1;
}

/* An image file: n x 3 x h x w (channel planes) or n x h x w (grey); uint8 / 255, floats as
 * given (expected in [0,1]). */
static int read_images(const char *path, kn_dataset *ds, int *c, int *h, int *w, kn_error *err)
{
    kn_array a;
    int rc = kn_array_read_any(path, &a, err);
    if (rc)
        return rc;
    if (a.ndim == 4 && (a.shape[1] == 3 || a.shape[1] == 1)) {
        *c = (int)a.shape[1];
        *h = a.shape[2] <= 65536 ? (int)a.shape[2] : 0;
        *w = a.shape[3] <= 65536 ? (int)a.shape[3] : 0;
    } else if (a.ndim == 3) {
        *c = 1;
        *h = a.shape[1] <= 65536 ? (int)a.shape[1] : 0;
        *w = a.shape[2] <= 65536 ? (int)a.shape[2] : 0;
    } else {
        *h = 0;
    }
    if (a.count == 0 || *h < 1 || *w < 1) {
        kn_array_free(&a);
        return kn_fail(err, KN_EFORMAT, "%s: expected images as n x 3 x h x w (channel planes) "
                       "or n x h x w (grey)", path);
    }
    size_t n = a.shape[0];
    rc = kn_dataset_alloc(ds, n, a.count / n, 0, err);
    if (!rc) {
        double scale = a.dtype == KN_DT_U8 ? 1.0 / 255.0 : 1.0;
        for (size_t i = 0; i < a.count; i++)
            ds->x[i] = (float)(kn_array_get(&a, i) * scale);
        snprintf(ds->source, sizeof ds->source, "%.250s", path);
    }
    kn_array_free(&a);
    return rc;
}

typedef struct bar_ctx {
    kn_progress *bar;
    size_t offset; /* rows of the parts before this one */
} bar_ctx;

static void on_batch(void *ctx, size_t done, size_t total)
{
    (void)total;
    bar_ctx *b = ctx;
    kn_progress_update(b->bar, b->offset + done, NULL);
}

int kn_cli_extract_resnet18(const char *model, const char *dataset, const char *images,
                            const char *split, const char *data_dir, const char *out,
                            const char *labels_out, int batch, int quiet)
{
    int want_train = !strcmp(split, "train") || !strcmp(split, "all");
    int want_test = !strcmp(split, "test") || !strcmp(split, "all");
    if (batch < 1 || batch > 256) {
        fprintf(stderr, "kenyon features extract: --batch must be 1..256, got %d\n", batch);
        return 2;
    }
    kn_error err;
    kn_error_clear(&err);
    kn_resnet18 *net = NULL;
    kn_split sp;
    memset(&sp, 0, sizeof sp);
    kn_dataset single;
    memset(&single, 0, sizeof single);
    float *feats = NULL;
    int32_t *labels = NULL;
    int c = 0, h = 0, w = 0;
    int rc = kn_resnet18_load(model, &net, &err);
    if (!rc && dataset) {
        kn_data_options o;
        kn_data_options_default(&o);
        o.data_dir = data_dir;
        o.balance = 0;
        rc = kn_load_dataset(dataset, &o, &sp, &err);
    } else if (!rc) {
        rc = read_images(images, &single, &c, &h, &w, &err);
    }
    const kn_dataset *parts[2] = {NULL, NULL};
    size_t rows = 0;
    if (!rc) {
        if (images)
            parts[0] = &single;
        else {
            if (want_train)
                parts[0] = &sp.train;
            if (want_test)
                parts[1] = &sp.test;
        }
        for (int k = 0; k < 2; k++)
            rows += parts[k] ? parts[k]->n : 0;
        feats = malloc((rows ? rows : 1) * KN_RESNET18_FEATURES * sizeof *feats);
        labels = malloc((rows ? rows : 1) * sizeof *labels);
        if (!feats || !labels)
            rc = kn_fail(&err, KN_ENOMEM, "out of memory for %zu feature rows", rows);
    }
    kn_progress bar;
    int bar_open = 0;
    if (!rc) {
        kn_progress_start(&bar, stderr, quiet, "resnet18", rows);
        bar_open = 1;
    }
    size_t at = 0;
    for (int k = 0; k < 2 && !rc; k++) {
        if (!parts[k])
            continue;
        if (dataset && geometry_of(parts[k]->d, &c, &h, &w))
            rc = kn_fail(&err, KN_EINVAL, "%s has %zu values per sample; ResNet-18 features need "
                         "CIFAR's 3 x 32 x 32 images (or 28 x 28 grey ones)", parts[k]->source,
                         parts[k]->d);
        /* The bar counts over all rows; the callback sees this part's count. */
        bar_ctx bc = {&bar, at};
        if (!rc)
            rc = kn_resnet18_features_images(net, parts[k]->x, parts[k]->n, c, h, w, batch,
                                             feats + at * KN_RESNET18_FEATURES, on_batch, &bc,
                                             &err);
        if (!rc && dataset)
            memcpy(labels + at, parts[k]->y, parts[k]->n * sizeof *labels);
        at += parts[k]->n;
    }
    if (bar_open)
        kn_progress_finish(&bar, NULL);
    if (!rc) {
        size_t shape[2] = {rows, KN_RESNET18_FEATURES};
        rc = kn_npy_write_f32(out, feats, shape, 2, &err);
        if (!rc && labels_out)
            rc = kn_npy_write_i32(labels_out, labels, shape, 1, &err);
    }
    free(feats);
    free(labels);
    kn_resnet18_free(net);
    kn_split_free(&sp);
    kn_dataset_free(&single);
    if (rc) {
        fprintf(stderr, "kenyon features extract: %s\n", err.msg);
        return 1;
    }
    printf("wrote %zu x %d ResNet-18 features to %s\n", rows, KN_RESNET18_FEATURES, out);
    return 0;
}
