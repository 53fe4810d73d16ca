/* kenyon bench: the paper's MNIST-20 comparison in one call. Every requested method runs over
 * every seed under the class-incremental protocol (kenyon/protocol.h); the results are cached per
 * (method, seed, settings) in the output directory so an interrupted or extended benchmark resumes,
 * and the directory receives results.csv, summary.json, report.md (with the paper's numbers in
 * labelled columns) and PNG + SVG plots. */
#ifndef KENYON_BENCH_H
#define KENYON_BENCH_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "kenyon/dataset.h"
#include "kenyon/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The methods of the paper's comparison, in the order reports list them. */
#define KN_BENCH_DEFAULT_METHODS "fly,fly-ridge,v1,v2,v3,vanilla,offline,ewc,gem,bir"
#define KN_BENCH_DEFAULT_SEEDS "1,12,21,35,78"
#define KN_BENCH_QUICK_SEEDS "1,12"

typedef struct kn_bench_options {
    const char *features;  /* "pixels" (default), "lenet", or a .npy of features (rows: the
                              unbalanced MNIST-20 train rows, then its test rows) */
    const char *methods;   /* comma-separated; default KN_BENCH_DEFAULT_METHODS */
    const char *seeds;     /* comma-separated; default KN_BENCH_DEFAULT_SEEDS (quick: 1,12) */
    const char *out_dir;   /* default "runs/mnist20" */
    const char *data_dir;  /* NULL: $KENYON_DATA or ./data */
    int quick;             /* a small subset per class and two seeds, for a look */
    size_t quick_train_per_class; /* 96 */
    size_t quick_test_per_class;  /* 50 */
    int classes_per_task;  /* 2 */
    size_t batch;          /* 64 */
    FILE *log;             /* per-run lines and notes; NULL: silent */
    int progress;          /* show a progress display on stderr */
} kn_bench_options;

void kn_bench_options_default(kn_bench_options *o);

/* Runs the benchmark on an already loaded split (features applied). `data_source` and
 * `features_label` are written into the reports. Used by kn_bench_mnist20 and by tests. With sp
 * NULL only checks the options (methods, their settings, seeds) and runs nothing. */
int kn_bench_run_split(const kn_bench_options *o, const kn_split *sp, const char *data_source,
                       const char *features_label, kn_error *err);

/* Loads MNIST-20 (class-balanced), applies the features, and runs kn_bench_run_split. */
int kn_bench_mnist20(const kn_bench_options *o, kn_error *err);

#ifdef __cplusplus
}
#endif
#endif
