/* Access to the parts of a fly-family learner (fly, v1-v3, fly-ridge) for drivers that train it
 * piecewise, e.g. the MPI data-parallel driver, which encodes a shard of each task and merges
 * the sums of all ranks into these arrays; and the model-file reading the fly learners share. */
#ifndef KENYON_CL_FLY_PARTS_H
#define KENYON_CL_FLY_PARTS_H

#include "kenyon/fly.h"
#include "kenyon/learner.h"
#include "kenyon/safetensors.h"

/* Fills the encoder and the readout of l (ridge is NULL unless l is fly-ridge). Returns 0, or
 * KN_EINVAL when l is not a fly-family learner. */
int kn_fly_learner_parts(kn_learner *l, kn_fly_model **fly, kn_fly_ridge **ridge, kn_error *err);

/* Reads n values of an F32 or F64 tensor from element `first` on straight into dst (of the
 * tensor's type) and checks each is finite: the loaders of fly-ridge and fly-apl read their
 * Gram matrix and readout this way. KN_EFORMAT names the file, tensor and element. */
int kn_fly_read_finite(const kn_st_file *f, const kn_st_tensor *t, size_t first, size_t n,
                       void *dst, kn_error *err);

#endif
