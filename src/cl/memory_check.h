/* The memory check for drivers that run several copies of a learner on one machine, such as the
 * MPI data-parallel run (one copy per rank, each with its reduction buffers). The single-copy
 * check and the estimate it uses are in kenyon/learner.h; both honour KENYON_MEMORY_LIMIT
 * (memory_estimate.c). */
#ifndef KENYON_CL_MEMORY_CHECK_H
#define KENYON_CL_MEMORY_CHECK_H

#include "kenyon/learner.h"

/* Refuses (KN_ENOMEM, with the estimate in the message) when copies x (the estimate of l +
 * extra_bytes, described as extra_what) exceeds the memory available; KN_EINVAL when
 * KENYON_MEMORY_LIMIT is malformed; 0 otherwise (also when the memory is unknown). */
int kn_learner_check_memory_copies(const kn_learner *l, int copies, double extra_bytes,
                                   const char *extra_what, kn_error *err);

#endif
