/* Access to the parts of a fly-family learner (fly, v1-v3, fly-ridge) for drivers that train it
 * piecewise, e.g. the MPI data-parallel driver, which encodes a shard of each task and merges
 * the sums of all ranks into these arrays; and the model-file parts the fly learners share
 * (src/cl/fly_ridge_file.c). */
#ifndef KENYON_CL_FLY_PARTS_H
#define KENYON_CL_FLY_PARTS_H

#include "kenyon/fly.h"
#include "kenyon/learner.h"
#include "kenyon/safetensors.h"

/* What kn_ridge_check_memory calls the fly readout's extra bytes (kn_fly_ridge_buffer_bytes). */
#define FLY_BUFFER_WHAT "the Gram update's pending codes"

/* Fills the encoder and the readout of l (ridge is NULL unless l is fly-ridge). Returns 0, or
 * KN_EINVAL when l is not a fly-family learner. */
int kn_fly_learner_parts(kn_learner *l, kn_fly_model **fly, kn_fly_ridge **ridge, kn_error *err);

/* Reads n values of an F32 or F64 tensor from element `first` on straight into dst (of the
 * tensor's type) and checks each is finite: the loaders of fly-ridge and fly-apl read their
 * Gram matrix and readout this way. KN_EFORMAT names the file, tensor and element. */
int kn_fly_read_finite(const kn_st_file *f, const kn_st_tensor *t, size_t first, size_t n,
                       void *dst, kn_error *err);

/* The ridge readout's part of a model file (gram_upper, target_sums, fly.n_seen, fly.dirty,
 * fly.lambda), written from r (flushed: kn_fly_ridge_flush) into w. *packed receives the packed
 * triangle the writer borrows: free it after kn_st_writer_write (also on failure). */
int kn_fly_ridge_add_tensors(kn_st_writer *w, const kn_fly_ridge *r, double **packed,
                             const char *path, kn_error *err);

/* Reads that part into r, initialised for the file's m and classes (kn_fly_ridge_init): checks
 * shapes, finite values, a non-negative diagonal and fly.dirty in {0, 1}. Without
 * lambda_required, a file without fly.lambda keeps r->lambda. KN_EFORMAT names the file. */
int kn_fly_ridge_read_tensors(const kn_st_file *f, kn_fly_ridge *r, int lambda_required,
                              kn_error *err);

#endif
