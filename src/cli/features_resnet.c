/* `kenyon features extract --model resnet18.safetensors`: the ResNet-18 side of the extract
 * command (the fly paper's CIFAR-100 features: 512-d output after resize 299, centre crop 299,
 * ImageNet normalisation): loading, reading images of any size, the features with a progress
 * display. cmd_features.c drives it. */
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
    if (b->bar)
        kn_progress_update(b->bar, b->offset + done, NULL);
}

static int load(const char *model, void **net, kn_error *err)
{
    kn_resnet18 *m = NULL;
    int rc = kn_resnet18_load(model, &m, err);
    *net = m;
    return rc;
}

static void free_net(void *net) { kn_resnet18_free(net); }

static int features(void *net, const kn_dataset *part, int c, int h, int w, int batch,
                    kn_progress *bar, size_t offset, float *out, kn_error *err)
{
    if (!c && geometry_of(part->d, &c, &h, &w))
        return kn_fail(err, KN_EINVAL, "%s has %zu values per sample; ResNet-18 features need "
                       "CIFAR's 3 x 32 x 32 images (or 28 x 28 grey ones)", part->source,
                       part->d);
    /* The bar counts over all rows; the callback sees this part's count. */
    bar_ctx bc = {bar, offset};
    return kn_resnet18_features_images(net, part->x, part->n, c, h, w, batch, out, on_batch,
                                       &bc, err);
}

const kn_cli_extractor kn_cli_resnet18_extractor = {
    "ResNet-18 features", KN_RESNET18_FEATURES, "resnet18", load, free_net, read_images,
    features};
