/* Named data sets seen through a feature choice: "pixels" (the images as they are), "lenet" (the
 * paper's 84-d LeNet5 features, trained and cached by kn_features_lenet_cached) or a .npy file of
 * features whose rows are the data set's unbalanced training rows then its test rows (what
 * `kenyon features extract --split all` writes). Features are applied before class balancing, so
 * every choice trains on the same samples. Shared by `kenyon run` and `kenyon bench`. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kenyon/data_load.h"
#include "kenyon/features.h"
#include "kenyon/formats.h"

static int apply_feature_file(const char *path, kn_split *sp, kn_error *err)
{
    kn_array f;
    memset(&f, 0, sizeof f);
    int rc = kn_array_read_any(path, &f, err);
    if (rc)
        return rc;
    size_t rows = f.ndim >= 1 ? f.shape[0] : 0;
    size_t d = rows ? f.count / rows : 0;
    if (f.ndim != 2 || rows != sp->train.n + sp->test.n || d == 0) {
        rc = kn_fail(err, KN_EINVAL,
                     "%s: expected a 2-d array of %zu rows (the data set's %zu train + %zu test "
                     "rows, as `kenyon features extract --split all` writes), got %d dimensions "
                     "and %zu rows",
                     path, sp->train.n + sp->test.n, sp->train.n, sp->test.n, f.ndim, rows);
        kn_array_free(&f);
        return rc;
    }
    kn_dataset *parts[2] = {&sp->train, &sp->test};
    size_t offset = 0;
    for (int k = 0; k < 2; k++) {
        kn_dataset *ds = parts[k];
        float *x = malloc(ds->n * d * sizeof *x + 1);
        if (!x) {
            kn_array_free(&f);
            return kn_fail(err, KN_ENOMEM, "%s: out of memory", path);
        }
        for (size_t i = 0; i < ds->n * d; i++) {
            double v = kn_array_get(&f, offset * d + i);
            if (!isfinite(v)) {
                free(x);
                kn_array_free(&f);
                return kn_fail(err, KN_EFORMAT, "%s: row %zu, column %zu is not finite", path,
                               offset + i / d, i % d);
            }
            x[i] = (float)v;
        }
        free(ds->x);
        ds->x = x;
        ds->d = d;
        ds->channels = ds->height = ds->width = 0;
        offset += ds->n;
    }
    kn_array_free(&f);
    return KN_OK;
}

int kn_load_dataset_features(const char *name, const kn_data_options *o, const char *features,
                             FILE *log, kn_split *out, char *label, size_t label_size,
                             kn_error *err)
{
    memset(out, 0, sizeof *out);
    const char *spec = features ? features : "pixels";
    const int pixels = strcmp(spec, "pixels") == 0;
    const int lenet = strcmp(spec, "lenet") == 0;
    const char *dot = strrchr(spec, '.');
    if (!pixels && !lenet && !(dot && strcmp(dot, ".npy") == 0))
        return kn_fail(err, KN_EINVAL, "--features: '%s' is not pixels, lenet or a .npy file",
                       spec);
    if (pixels) {
        /* No features to apply: the loader balances before converting pixels (faster). */
        snprintf(label, label_size, "pixels (raw inputs, images scaled to [0,1])");
        return kn_load_dataset(name, o, out, err);
    }
    kn_data_options unbalanced;
    if (o)
        unbalanced = *o;
    else
        kn_data_options_default(&unbalanced);
    const int balance = unbalanced.balance;
    unbalanced.balance = 0;
    int rc = kn_load_dataset(name, &unbalanced, out, err);
    if (rc)
        return rc;
    if (lenet) {
        kn_feature_cache_options fo;
        kn_feature_cache_options_default(&fo);
        fo.data_dir = unbalanced.data_dir;
        fo.log = log;
        rc = kn_features_lenet_cached(&fo, out, err);
        snprintf(label, label_size,
                 "lenet (84-d LeNet5 features; extractor trained on the pretraining set with seed "
                 "%" PRIu64 ", %d epochs)", fo.seed, fo.epochs);
    } else {
        rc = apply_feature_file(spec, out, err);
        snprintf(label, label_size, "features from %s", spec);
    }
    if (!rc && balance) {
        char source[sizeof out->train.source];
        memcpy(source, out->train.source, sizeof source);
        rc = kn_dataset_balance(&out->train, unbalanced.seed, err);
        snprintf(out->train.source, sizeof out->train.source,
                 "%.200s; training set class-balanced (seed %" PRIu64 ")", source, unbalanced.seed);
    }
    if (rc)
        kn_split_free(out);
    return rc;
}
