/* kenyon task streams for class-incremental learning: the classes of a data set split into tasks
 * of `classes_per_task` classes (label order by default, or a given/seeded permutation), each task
 * holding the indices of its training and test samples in file order. Iterating a task in batches
 * = kn_task_train_order (file order or a seeded shuffle) + kn_dataset_gather over slices of it. */
#ifndef KENYON_TASKS_H
#define KENYON_TASKS_H

#include <stddef.h>
#include <stdint.h>

#include "kenyon/samples.h"
#include "kenyon/error.h"
#include "kenyon/rng.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct kn_task {
    int index;          /* 0-based position in the stream */
    int32_t *classes;   /* n_classes labels, owned */
    int n_classes;
    size_t *train_idx;  /* rows of split.train whose label is in classes, file order; owned */
    size_t n_train;
    size_t *test_idx;   /* rows of split.test, file order; owned */
    size_t n_test;
} kn_task;

typedef struct kn_task_stream {
    kn_task *tasks;     /* n_tasks, owned */
    int n_tasks;
} kn_task_stream;

/* Builds the stream over the classes 0..C-1, C = max(train.n_classes, test.n_classes).
 * class_order (length C, a permutation of 0..C-1) gives the order in which classes arrive;
 * NULL = label order. Task t holds class_order[t*k .. t*k+k) (k = classes_per_task); when k does
 * not divide C the last task holds the remainder. A class with no training samples is an error
 * naming it. */
int kn_task_stream_build(const kn_split *sp, int classes_per_task, const int32_t *class_order,
                         kn_task_stream *out, kn_error *err);

/* A seeded uniform permutation of 0..n_classes-1 (kn_rng_stream(seed, 0)). */
int kn_class_order_permuted(int n_classes, uint64_t seed, int32_t *order, kn_error *err);

void kn_task_stream_free(kn_task_stream *ts);

/* Moves the test rows into task order, each task's rows one contiguous run in their file order,
 * and points the tasks' test_idx at the new rows (the protocol then evaluates every task in place
 * instead of copying its rows). Only when every test row belongs to exactly one task and the
 * rows are not in that order already; returns 1 when it moved them, 0 when it left both alone
 * (also when out of memory: the order is an optimisation, not a requirement). */
int kn_task_stream_group_test(kn_dataset *test, kn_task_stream *ts);

/* Order of a task's training samples for one pass: its train_idx in file order (shuffle = 0) or a
 * uniform shuffle of it drawn from rng (shuffle != 0; rng required). order_out has n_train slots. */
int kn_task_train_order(const kn_task *t, int shuffle, kn_rng *rng, size_t *order_out,
                        kn_error *err);

/* Copies rows idx[0..n) of ds into x (n x ds->d, row-major) and their labels into y. Either
 * destination may be NULL. idx values must be < ds->n (the caller's indices come from a stream). */
void kn_dataset_gather(const kn_dataset *ds, const size_t *idx, size_t n, float *x, int32_t *y);

/* A new data set made of rows idx[0..n) of ds (same d, n_classes, image shape, source). */
int kn_dataset_subset(const kn_dataset *ds, const size_t *idx, size_t n, kn_dataset *out,
                      kn_error *err);

/* Replaces ds by its first per_class rows of every class, in file order (all rows of a class with
 * fewer). A label outside [0, n_classes) is an error naming its row; ds is unchanged on error. */
int kn_dataset_keep_first_per_class(kn_dataset *ds, size_t per_class, kn_error *err);

#ifdef __cplusplus
}
#endif
#endif
