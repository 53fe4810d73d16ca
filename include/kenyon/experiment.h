/* The experiment layer: the one way a continual-learning run is started.
 *
 * A run is described by a plain struct (kn_experiment_spec): where the data come from (a named
 * data set, the user's files, or arrays already in memory), which features, how the stream is
 * cut into tasks, the batch, shuffling and balancing, the seeds, the method and its parameters,
 * and where results go. kn_experiment_check tells whether the spec can run, before any data are
 * loaded or any learner is allocated; kn_experiment_run runs it, reporting progress and log text
 * through callbacks and the numbers in a result struct. `kenyon run`, `kenyon bench`, the Python
 * package and the MPI driver all call only this, so every entry point assembles a run the same
 * way (the same class count, the same checks, the same provenance text).
 *
 *     kn_experiment_spec s;
 *     kn_experiment_spec_default(&s);
 *     s.method = "fly";
 *     s.seed = 7;
 *     kn_error err;
 *     if (kn_experiment_check(&s, &err)) { fprintf(stderr, "%s\n", err.msg); return 2; }
 *     kn_experiment_result r;
 *     if (kn_experiment_run(&s, NULL, &r, &err)) { fprintf(stderr, "%s\n", err.msg); return 1; }
 *     printf("final accuracy %.4f\n", r.run.final_accuracy);
 *     kn_experiment_result_free(&r);
 */
#ifndef KENYON_EXPERIMENT_H
#define KENYON_EXPERIMENT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "kenyon/samples.h"
#include "kenyon/error.h"
#include "kenyon/learner.h"
#include "kenyon/params.h"
#include "kenyon/protocol.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    KN_SOURCE_NAMED = 0, /* a named data set (dataset) in data_dir */
    KN_SOURCE_FILES = 1, /* the user's train/test x/y files (.npy, IDX plain or .gz, CSV) */
    KN_SOURCE_ARRAYS = 2 /* a split already in memory (arrays), used as given: features,
                            balancing and the per-class subset do not apply; borrowed */
} kn_experiment_source;

/* Learned features are made by a layer above this one (the LeNet5 extractor trains a network
 * and may render its pretraining set), so a caller that offers --features lenet passes the
 * function that computes them (kn_features_lenet_apply in kenyon/features.h): it replaces
 * split's train and test rows by their features, writes a description into label and progress
 * lines to log (may be NULL). */
typedef int (*kn_experiment_features_fn)(const char *data_dir, FILE *log, kn_split *split,
                                         char *label, size_t label_size, kn_error *err);

/* Messages name a field by its command-line spelling (classes_per_task is --classes-per-task). */
typedef struct kn_experiment_spec {
    /* --- data --- */
    kn_experiment_source source;
    const char *dataset;       /* NAMED: mnist20 (default), mnist, fashion, cifar100 */
    const char *data_dir;      /* NAMED: NULL = $KENYON_DATA or ./data */
    const char *train_x, *train_y, *test_x, *test_y; /* FILES */
    const kn_split *arrays;    /* ARRAYS: borrowed for the run; not modified */
    const char *arrays_label;  /* ARRAYS: provenance for reports (NULL: "arrays in memory") */
    const char *features;      /* NAMED: "pixels" (default), "lenet" (cached LeNet5 features) or
                                  FILE.npy (rows: the set's unbalanced train rows, then test) */
    kn_experiment_features_fn lenet; /* see above; NULL: "lenet" is refused by the check */
    int balance;               /* 1 (default): sub-sample every training class to the smallest */
    uint64_t balance_seed;     /* seed of that sub-sample (default 0) */
    size_t train_per_class;    /* > 0: keep only the first that many rows of every training
                                  class (file order), after balancing; 0 (default): all */
    size_t test_per_class;     /* same for the test set */

    /* --- the protocol --- */
    int classes_per_task;      /* default 2 */
    const int32_t *class_order;/* NULL (default): label order; else every class once */
    size_t n_class_order;
    size_t batch;              /* samples per learner update call (default 64) */
    int shuffle;               /* 1 (default): seeded shuffle within each task; 0: file order */
    uint64_t seed;             /* the run's seed: projection, initialisation, shuffles (1) */

    /* --- the method --- */
    const char *method;        /* a registry name (default "fly"); with load_model: ignored
                                  (the file says which) */
    const kn_kv *params;       /* the method's parameters as text (defaults for the rest) */
    size_t n_params;
    const char *load_model;    /* resume from a model file (params must be empty) */

    /* --- outputs --- */
    const char *out_dir;       /* NULL: none; else summary.json and accuracy_matrix.csv */
    const char *save_model;    /* NULL: none; else the trained model (safetensors) */
} kn_experiment_spec;

/* The defaults above. */
void kn_experiment_spec_default(kn_experiment_spec *s);

/* NULL when the spec can run, else a message naming the field ("classes_per_task: 0 must be at
 * least 1", "method fly: --m: 0 is out of range; accepted: ...") written into err->msg, and the
 * return value is err->msg. Reads no file, loads no data, allocates no learner (a model file to
 * resume from is opened only by kn_experiment_run). err may be NULL: then a static message. */
const char *kn_experiment_check(const kn_experiment_spec *s, kn_error *err);

/* Where the run reports as it goes. Every member may be NULL. */
typedef struct kn_experiment_callbacks {
    /* Human-readable text as it is produced (loading notes, the per-task table, the summary
     * lines): a chunk of one or more lines, or part of a line. */
    void (*log)(void *ctx, const char *text);
    /* After each task's evaluation: task index, number of tasks, the accuracy over the classes
     * seen so far. A non-zero return stops the run (kn_experiment_run then fails with
     * KN_ESTATE and "stopped by the caller"). */
    int (*on_task)(void *ctx, int task, int n_tasks, double accuracy);
    /* Once the data are loaded and the learner is built, just before the first task (e.g. to
     * reset a peak-memory mark, so that the run's peak is the learner's own). */
    void (*before_train)(void *ctx);
    /* Once the learner is built (or loaded), before the log header and the first task: a driver
     * may adapt it, e.g. the MPI driver puts its data-parallel training around it. A non-zero
     * return fails the run with that error. */
    int (*on_learner)(void *ctx, kn_learner *l, kn_error *err);
    void *ctx;
} kn_experiment_callbacks;

typedef struct kn_experiment_result {
    kn_run_result run;        /* accuracy matrix, metrics, timings (kenyon/protocol.h) */
    char method[64];          /* the method that ran (from the model file when resumed) */
    char data_source[1024];   /* provenance: the data and the features */
    char features_label[600]; /* the features alone */
    size_t n_train, n_test, d;
    int n_classes, n_tasks;
    double load_seconds;      /* loading the data (and features) */
    double wall_seconds;      /* the whole call */
} kn_experiment_result;

/* Checks the spec (kn_experiment_check), loads the data, builds (or loads) the learner, runs the
 * class-incremental protocol, writes out_dir and save_model when asked. callbacks may be NULL.
 * On failure nothing is left in *res to free (it is safe to free anyway) and no output file is
 * half-written. */
int kn_experiment_run(const kn_experiment_spec *s, const kn_experiment_callbacks *cb,
                      kn_experiment_result *res, kn_error *err);
void kn_experiment_result_free(kn_experiment_result *res);

/* The data of a NAMED or FILES spec, loaded as kn_experiment_run would load them (features
 * applied, balanced, subset per class), for callers that run many experiments on the same data
 * (the benchmark loads once, then runs each method and seed with source = KN_SOURCE_ARRAYS).
 * label receives the features' description. */
int kn_experiment_load_data(const kn_experiment_spec *s, const kn_experiment_callbacks *cb,
                            kn_split *out, char *label, size_t label_size, kn_error *err);

/* The number of classes a run on sp has: 1 + the largest label of either part. */
int kn_experiment_n_classes(const kn_split *sp);

/* The method's parameters of a spec resolved against its table (no allocation), e.g. for a
 * cache key; fails like kn_experiment_check does for a bad parameter. */
int kn_experiment_params(const kn_experiment_spec *s, kn_params *out, kn_error *err);

#ifdef __cplusplus
}
#endif
#endif
