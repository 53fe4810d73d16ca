/* Human-readable summaries of data files and assembled data sets (`kenyon data info`). */
#include "kenyon/data_load.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kenyon/formats.h"

static void print_histogram(FILE *out, const size_t *counts, int n_classes, size_t total)
{
    int present = 0;
    for (int c = 0; c < n_classes; c++)
        present += counts[c] > 0;
    fprintf(out, "labels:  %d classes present (0..%d), %zu labels\n", present, n_classes - 1,
            total);
    fprintf(out, "  class     count\n");
    for (int c = 0; c < n_classes; c++)
        if (counts[c] || n_classes <= 100)
            fprintf(out, "  %5d  %8zu\n", c, counts[c]);
}

static void print_shape(FILE *out, const kn_array *a)
{
    fprintf(out, "shape:   ");
    if (a->ndim == 0)
        fprintf(out, "() scalar");
    for (int i = 0; i < a->ndim; i++)
        fprintf(out, "%s%zu", i ? " x " : "", a->shape[i]);
    fprintf(out, "  (%zu values)\n", a->count);
}

static int describe_array(const char *path, kn_file_kind kind, FILE *out, kn_error *err)
{
    kn_array a;
    int rc = kn_array_read_any(path, &a, err);
    if (rc)
        return rc;
    fprintf(out, "file:    %s\nformat:  %s\ntype:    %s\n", path, kn_file_kind_name(kind),
            kind == KN_FILE_CSV ? "numeric text (read as float64)" : kn_dtype_name(a.dtype));
    print_shape(out, &a);
    double lo = INFINITY, hi = -INFINITY, sum = 0;
    int integral = 1;
    for (size_t i = 0; i < a.count; i++) {
        double v = kn_array_get(&a, i);
        if (v < lo)
            lo = v;
        if (v > hi)
            hi = v;
        sum += v;
        integral &= v == floor(v);
    }
    if (a.count)
        fprintf(out, "values:  min %g, max %g, mean %.6g\n", lo, hi, sum / (double)a.count);
    int label_like = a.count > 0 && integral && lo >= 0 && hi <= KN_LABEL_MAX &&
                     (a.ndim == 1 || (a.ndim == 2 && a.shape[1] == 1));
    if (label_like) {
        int C = (int)hi + 1;
        size_t *counts = calloc((size_t)C, sizeof *counts);
        if (!counts) {
            kn_array_free(&a);
            return kn_fail(err, KN_ENOMEM, "out of memory");
        }
        for (size_t i = 0; i < a.count; i++)
            counts[(size_t)kn_array_get(&a, i)]++;
        print_histogram(out, counts, C, a.count);
        free(counts);
    }
    kn_array_free(&a);
    return KN_OK;
}

int kn_data_info_file(const char *path, int label_column, FILE *out, kn_error *err)
{
    kn_file_kind kind;
    int rc = kn_file_kind_detect(path, &kind, err);
    if (rc)
        return rc;
    if (kind == KN_FILE_CIFAR10 || kind == KN_FILE_CIFAR100 ||
        (kind == KN_FILE_CSV && label_column >= 0)) {
        kn_dataset ds;
        rc = kind == KN_FILE_CSV ? kn_csv_read(path, label_column, &ds, err)
                                 : kn_cifar_read(path, kind == KN_FILE_CIFAR100, &ds, err);
        if (rc)
            return rc;
        fprintf(out, "file:    %s\nformat:  %s\n", path, kn_file_kind_name(kind));
        if (ds.channels)
            fprintf(out, "type:    uint8 images %zu x %zu x %zu (scaled to [0,1])\n", ds.channels,
                    ds.height, ds.width);
        else
            fprintf(out, "type:    numeric, label in column %d\n", label_column);
        fprintf(out, "shape:   %zu samples x %zu features\n", ds.n, ds.d);
        size_t *counts = calloc((size_t)(ds.n_classes > 0 ? ds.n_classes : 1), sizeof *counts);
        if (!counts) {
            kn_dataset_free(&ds);
            return kn_fail(err, KN_ENOMEM, "out of memory");
        }
        kn_dataset_class_counts(&ds, counts);
        print_histogram(out, counts, ds.n_classes, ds.n);
        free(counts);
        kn_dataset_free(&ds);
        return KN_OK;
    }
    return describe_array(path, kind, out, err);
}

void kn_split_print_summary(const char *name, const kn_split *sp, const size_t *train_before,
                            FILE *out)
{
    int C = sp->train.n_classes > sp->test.n_classes ? sp->train.n_classes : sp->test.n_classes;
    size_t *tr = calloc((size_t)(C > 0 ? C : 1), sizeof *tr);
    size_t *te = calloc((size_t)(C > 0 ? C : 1), sizeof *te);
    if (!tr || !te) {
        free(tr);
        free(te);
        fprintf(out, "%s: out of memory\n", name);
        return;
    }
    kn_dataset train = sp->train, test = sp->test;
    train.n_classes = test.n_classes = C;
    kn_dataset_class_counts(&train, tr);
    kn_dataset_class_counts(&test, te);
    fprintf(out, "data set: %s\n", name);
    fprintf(out, "source:   %s\n", sp->train.source);
    if (sp->train.channels)
        fprintf(out, "samples:  %zu x %zu x %zu images (%zu features, scaled to [0,1])\n",
                sp->train.channels, sp->train.height, sp->train.width, sp->train.d);
    else
        fprintf(out, "samples:  %zu features\n", sp->train.d);
    fprintf(out, "classes:  %d\n", C);
    if (train_before) {
        size_t before = 0;
        fprintf(out, "  class  train(all)  train(balanced)      test\n");
        for (int c = 0; c < C; c++) {
            fprintf(out, "  %5d  %10zu  %15zu  %8zu\n", c, train_before[c], tr[c], te[c]);
            before += train_before[c];
        }
        fprintf(out, "  total  %10zu  %15zu  %8zu\n", before, sp->train.n, sp->test.n);
    } else {
        fprintf(out, "  class     train      test\n");
        for (int c = 0; c < C; c++)
            fprintf(out, "  %5d  %8zu  %8zu\n", c, tr[c], te[c]);
        fprintf(out, "  total  %8zu  %8zu\n", sp->train.n, sp->test.n);
    }
    free(tr);
    free(te);
}
