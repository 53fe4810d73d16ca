/* Internals shared by the MPI driver's files (mpi_driver.h is the CLI's view). */
#ifndef KENYON_MPI_INTERNAL_H
#define KENYON_MPI_INTERNAL_H

#include "kenyon/learner.h"
#include "mpi/mpi_driver.h"

/* The status exchange every rank joins once per task and once after the last evaluation:
 * failed = 1 reports this rank's failure (msg). Returns 0 when no rank failed, else fails err
 * with "rank R of N: reason" of the lowest failing rank (also kept in mr->failure). */
int kn_mpi_exchange(kn_mpi_run *mr, int failed, const char *msg, kn_error *err);

/* The data-parallel wrapper both sharded families share (mpi_shard.c): it replaces l's ops,
 * counts the task's samples over all ranks, exchanges the status at the end of a task before
 * the method's merge, and passes begin_task, end_task, predict and save to l's own method. */
typedef struct kn_mpi_shard_ops {
    /* Adds this rank's rows of a batch (sample positions pos.. of the task, all ranks counted)
     * to the rank's sums. */
    int (*observe)(void *state, const kn_learner *l, const float *x, const int32_t *y,
                   size_t n, size_t pos, kn_error *err);
    /* Merges all ranks' sums of the task (n_task samples in all) into the model every rank
     * holds; -1 when a reduction failed. */
    int (*merge)(void *state, size_t n_task);
    void (*free)(void *state);
} kn_mpi_shard_ops;
/* Wraps l over state (taken over: freed with l, or here when the wrapper cannot be made). */
int kn_mpi_wrap_learner(kn_mpi_run *mr, kn_learner *l, const kn_mpi_shard_ops *ops, void *state,
                        kn_error *err);

/* Pieces of one MPI reduction: small enough for an int count. */
#define KN_MPI_SUM_PIECE ((size_t)1 << 27)
/* Sums n doubles over all ranks on rank 0 and broadcasts the total, so every rank adds the same
 * numbers; -1 when MPI failed. */
int kn_mpi_sum_doubles(const kn_mpi_run *mr, double *v, size_t n);

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
