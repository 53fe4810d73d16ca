/* The per-class sums shared by the ncm and slda learners: for each class the sum of its samples
 * and their count, both in double, with their means, their model-file tensors (class_sums
 * F64 [classes, d], class_counts F64 [classes]) and the checks a loaded file must pass. Also the
 * view of an ncm or slda learner that drivers training it piecewise use (the MPI data-parallel
 * driver adds the merged sums of all ranks to these arrays). */
#ifndef KENYON_CL_CLASS_SUMS_H
#define KENYON_CL_CLASS_SUMS_H

#include <stddef.h>

#include "kenyon/learner.h"
#include "kenyon/safetensors.h"

typedef struct kn_class_sums {
    size_t n_classes, d;
    double *sums;   /* n_classes x d: the sum of the samples of each class */
    double *counts; /* n_classes: the number of samples of each class */
} kn_class_sums;

/* Zeroed arrays for C classes of d features. Returns 0, or -1 when out of memory (the caller
 * names what it was allocating; kn_class_sums_free is safe either way). */
int kn_class_sums_alloc(kn_class_sums *cs, size_t C, size_t d);
void kn_class_sums_free(kn_class_sums *cs);

/* Feature j of the mean of class c (0 for a class without samples). */
static inline double kn_class_sums_mean(const kn_class_sums *cs, size_t c, size_t j)
{
    return cs->counts[c] > 0 ? cs->sums[c * cs->d + j] / cs->counts[c] : 0;
}

/* Adds the tensors class_sums and class_counts to a model file being written (cs must live
 * until the writer has written). */
int kn_class_sums_write(const kn_class_sums *cs, kn_st_writer *w, kn_error *err);
/* Finds class_sums and class_counts in f with the shapes of C classes of d features. */
int kn_class_sums_expect(const kn_st_file *f, size_t C, size_t d, const kn_st_tensor **sums,
                         const kn_st_tensor **counts, kn_error *err);
/* Reads the tensors found by kn_class_sums_expect into cs (allocated for their shapes) and
 * checks them: finite sums, counts that are whole numbers in [0, 1e15]. */
int kn_class_sums_read(const kn_st_file *f, const kn_st_tensor *sums, const kn_st_tensor *counts,
                       kn_class_sums *cs, kn_error *err);

/* The state an ncm or slda learner keeps, as drivers see it. */
typedef struct kn_class_model {
    kn_class_sums cs;
    double *scatter; /* slda: d x d pooled within-class scatter (upper triangle); ncm: NULL */
    int dirty;       /* set after the sums changed: the next prediction rebuilds its tables */
} kn_class_model;

/* The state of l when l is an ncm or slda learner; else fails with KN_EINVAL. */
int kn_class_learner_parts(kn_learner *l, kn_class_model **model, kn_error *err);

#endif
