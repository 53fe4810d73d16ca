/* kenyon bench: a class-incremental comparison of continual learners in one call, on a named data
 * set (the fly paper's MNIST-20, or MNIST, Fashion-MNIST, CIFAR-100 when fetched) or on the user's
 * own train/test files. Every requested method runs over every seed under the class-incremental
 * protocol (kenyon/protocol.h); the results are cached per (method, seed, settings) in the output
 * directory so an interrupted or extended benchmark resumes, and the directory receives
 * results.csv, summary.json, report.md, report.html (one self-contained page) and PNG + SVG plots.
 * The paper's numbers appear, in labelled columns, only for the settings the paper measured
 * (MNIST-20, 2 classes per task in label order, pixels or LeNet5 features; CIFAR-100, 4 classes
 * per task in label order, ResNet-18 features). */
#ifndef KENYON_BENCH_H
#define KENYON_BENCH_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "kenyon/samples.h"
#include "kenyon/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The methods of the paper's comparison, in the order reports list them. */
#define KN_BENCH_DEFAULT_METHODS "fly,fly-ridge,v1,v2,v3,vanilla,offline,ewc,gem,bir"
#define KN_BENCH_DEFAULT_SEEDS "1,12,21,35,78"
#define KN_BENCH_QUICK_SEEDS "1,12"

typedef struct kn_bench_options {
    const char *dataset;   /* a named data set: "mnist20" (default), "mnist", "fashion",
                              "cifar100"; NULL: the user's files below */
    const char *train_x, *train_y, *test_x, *test_y; /* dataset NULL: .npy, IDX or CSV files */
    const char *class_order; /* "label" (default: tasks take the classes in label order) or
                                "random" (each seed draws its own permutation of the classes) */
    int balance;           /* 1 (default): sub-sample every training class to the smallest */
    const char *features;  /* "pixels" (default), "lenet", or a .npy of features (rows: the
                              unbalanced MNIST-20 train rows, then its test rows) */
    const char *methods;   /* comma-separated; default KN_BENCH_DEFAULT_METHODS */
    const char *seeds;     /* comma-separated; default KN_BENCH_DEFAULT_SEEDS (quick: 1,12) */
    const char *out_dir;   /* default "runs/mnist20" (the CLI: runs/<data set>) */
    const char *data_dir;  /* NULL: $KENYON_DATA or ./data */
    int quick;             /* a small subset per class and two seeds, for a look */
    size_t quick_train_per_class; /* 96 */
    size_t quick_test_per_class;  /* 50 */
    int classes_per_task;  /* 2 */
    size_t batch;          /* 64 */
    FILE *log;             /* per-run lines and notes; NULL: silent */
    int progress;          /* show a progress display on stderr */
    /* cifar100 only (the paper's CIFAR-100 table, on 512-d ResNet-18 features): */
    const char *cifar_dir; /* the folder of train.bin and test.bin (CIFAR-100 binary version);
                              NULL: <data dir>/cifar-100-binary */
    const char *model;     /* ResNet-18 weights (safetensors, torchvision names) to extract the
                              features with, cached in <data dir>/cache; NULL: <data
                              dir>/resnet18.safetensors unless feature files are given */
    const char *features_train, *features_test; /* or: the features as .npy files, one row per
                              image of train.bin / test.bin, in file order */
    const struct kn_bench_driver *driver; /* NULL (default): the (method, seed) items run here,
                              one after another. The kenyon CLI sets it under mpirun to spread
                              them over the ranks; the type is internal to kenyon. */
    int threads_per_run;   /* BLAS/OpenMP threads of every (method, seed) run: 1 (default). The
                              back-prop methods' numbers depend on it at float-rounding level,
                              so a fixed count gives the same numbers on any machine and for
                              any `jobs`; it is part of every cache key and of the reports. */
    int jobs;              /* runs at once, each in a worker process of its own: 0 (default)
                              the CPUs this process may use; 1 one run after another in this
                              process. Workers need worker_argv. Results do not depend on it. */
    const char *const *worker_argv; /* the command that starts a worker of this benchmark: the
                              same options plus the CLI's hidden --pool-worker (NULL-terminated;
                              argv[0] the program). NULL: every run in this process. */
    int pool_worker;       /* this process is such a worker: it runs the items its parent
                              sends on stdin and answers on file descriptor 3 (kenyon only). */
    int *n_failed;         /* when not NULL, receives the number of failed runs: a run that
                              fails (e.g. training diverged) is listed in the reports, the
                              others go on, and kn_bench_run then returns KN_ESTATE after
                              writing every output. */
} kn_bench_options;

void kn_bench_options_default(kn_bench_options *o);

/* The named set's own defaults over kn_bench_options_default (call it after setting
 * o->dataset, before the user's options). cifar100 takes the fly paper's CIFAR-100 setting:
 * 25 tasks of 4 classes in label order on ResNet-18 features, each method with the paper's
 * settings (FlyModel m 20000, c 64, top 1%, lr 0.2; ...; bench_cifar.c lists them) under the
 * user's own M:key=value, and --quick at 16 training / 10 test images per class on the methods
 * that are cheap at that width (fly, v1-v3, vanilla, ewc). Other sets keep the defaults. */
void kn_bench_options_preset(kn_bench_options *o);

/* Runs the benchmark on an already loaded split (features applied). `data_source` and
 * `features_label` are written into the reports. Used by kn_bench_mnist20 and by tests. With sp
 * NULL only checks the options (methods, their settings, seeds) and runs nothing. */
int kn_bench_run_split(const kn_bench_options *o, const kn_split *sp, const char *data_source,
                       const char *features_label, kn_error *err);

/* Loads the data the options name (o->dataset, or the four files when it is NULL; features
 * applied, balanced unless o->balance is 0, a subset per class with o->quick) and runs
 * kn_bench_run_split. Every option is checked before any data are loaded. */
int kn_bench_run(const kn_bench_options *o, kn_error *err);

/* kn_bench_run on MNIST-20 whatever o->dataset says. */
int kn_bench_mnist20(const kn_bench_options *o, kn_error *err);

#ifdef __cplusplus
}
#endif
#endif
