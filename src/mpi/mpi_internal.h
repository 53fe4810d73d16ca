/* Internals shared by the MPI driver's files (mpi_driver.h is the CLI's view). */
#ifndef KENYON_MPI_INTERNAL_H
#define KENYON_MPI_INTERNAL_H

#include "kenyon/learner.h"
#include "mpi/mpi_driver.h"

/* The status exchange every rank joins once per task and once after the last evaluation:
 * failed = 1 reports this rank's failure (msg). Returns 0 when no rank failed, else fails err
 * with "rank R of N: reason" of the lowest failing rank (also kept in mr->failure). */
int kn_mpi_exchange(kn_mpi_run *mr, int failed, const char *msg, kn_error *err);

/* Wraps a fly or fly-ridge learner for data-parallel training (mpi_shard.c): l keeps its
 * method, parameters and model file format; observe sums this rank's shard, end_task merges all
 * ranks' sums. */
int kn_mpi_shard_learner(kn_mpi_run *mr, kn_learner *l, kn_error *err);
/* 1 when l's method can be trained data-parallel with the single-process result: fly with
 * beta = 0 and fly-ridge (kn_mpi_shard_learner), ncm and slda (kn_mpi_class_shard_learner). */
int kn_mpi_can_split(const kn_learner *l);

/* Wraps an ncm or slda learner for data-parallel training (mpi_class_shard.c): each rank sums
 * its shard's class sums (and slda's moment sums) in double, end_task merges all ranks' sums. */
int kn_mpi_class_shard_learner(kn_mpi_run *mr, kn_learner *l, kn_error *err);
/* Doubles in one rank's reduction buffer for C classes of d features (with_scatter: slda). */
size_t kn_mpi_class_reduction_doubles(size_t C, size_t d, int with_scatter);

/* Bytes a rank allocates beyond its learner for data-parallel training of l, counted from the
 * buffers each wrapper allocates (plus the MPI library's scratch for one reduction piece):
 * kn_mpi_shard_bytes for fly and fly-ridge, kn_mpi_class_shard_bytes for ncm and slda; 0 for
 * another method. */
double kn_mpi_shard_bytes(kn_learner *l);
double kn_mpi_class_shard_bytes(kn_learner *l);

/* Ranks of this job on this rank's machine (1 without MPI). */
int kn_mpi_local_size(void);

#endif
