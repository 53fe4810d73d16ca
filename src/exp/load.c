/* The data of an experiment: a named data set seen through a feature choice ("pixels", "lenet"
 * through the caller's feature function, or a .npy of features whose rows are the data set's
 * unbalanced training rows then its test rows, as `kenyon features extract --split all` writes),
 * the user's files, or arrays in memory; then the class balancing and the per-class subset.
 * Features are applied before balancing, so every feature choice trains on the same samples. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exp/exp_internal.h"
#include "kenyon/data_load.h"
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

/* A named data set through its features, balanced as asked. */
static int load_named(const kn_experiment_spec *s, FILE *log, kn_split *out, char *label,
                      size_t label_size, kn_error *err)
{
    kn_data_options o;
    kn_data_options_default(&o);
    o.data_dir = s->data_dir;
    o.balance = s->balance;
    o.seed = s->balance_seed;
    const char *spec = s->features ? s->features : "pixels";
    if (strcmp(spec, "pixels") == 0) {
        /* No features to apply: the loader balances before converting pixels (faster). */
        snprintf(label, label_size, "pixels (raw inputs, images scaled to [0,1])");
        return kn_load_dataset(s->dataset, &o, out, err);
    }
    const int balance = o.balance;
    o.balance = 0;
    int rc = kn_load_dataset(s->dataset, &o, out, err);
    if (rc)
        return rc;
    if (strcmp(spec, "lenet") == 0)
        rc = s->lenet(o.data_dir, log, out, label, label_size, err);
    else {
        rc = apply_feature_file(spec, out, err);
        snprintf(label, label_size, "features from %s", spec);
    }
    if (!rc && balance) {
        char source[sizeof out->train.source];
        memcpy(source, out->train.source, sizeof source);
        rc = kn_dataset_balance(&out->train, o.seed, err);
        snprintf(out->train.source, sizeof out->train.source,
                 "%.200s; training set class-balanced (seed %" PRIu64 ")", source, o.seed);
    }
    return rc;
}

int kn_exp_load(const kn_experiment_spec *s, FILE *log, kn_split *out, char *label,
                size_t label_size, kn_error *err)
{
    memset(out, 0, sizeof *out);
    int rc;
    switch (s->source) {
    case KN_SOURCE_NAMED: rc = load_named(s, log, out, label, label_size, err); break;
    case KN_SOURCE_FILES: {
        kn_data_options o;
        kn_data_options_default(&o);
        o.balance = s->balance;
        o.seed = s->balance_seed;
        snprintf(label, label_size, "user files as given");
        rc = kn_load_user_split(s->train_x, s->train_y, s->test_x, s->test_y, &o, out, err);
        break;
    }
    case KN_SOURCE_ARRAYS:
        /* Arrays are used in place by kn_experiment_run; there is nothing to load. */
        rc = kn_fail(err, KN_EINVAL, "source: arrays in memory are used as given, not loaded");
        break;
    default: rc = kn_fail(err, KN_EINVAL, "--source: unknown data source %d", (int)s->source);
    }
    if (!rc && s->train_per_class)
        rc = kn_dataset_keep_first_per_class(&out->train, s->train_per_class, err);
    if (!rc && s->test_per_class)
        rc = kn_dataset_keep_first_per_class(&out->test, s->test_per_class, err);
    if (rc)
        kn_split_free(out);
    return rc;
}
