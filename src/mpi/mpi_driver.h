/* The MPI driver of the kenyon CLI (built only with the KENYON_MPI option; the libraries never
 * see MPI). Under mpirun, `kenyon run --method fly|fly-ridge|ncm|slda` trains data-parallel: the
 * samples of each task are dealt to the ranks by their position in the task's training order
 * (position p goes to rank p mod N), every rank encodes (fly) and sums its shard, and one
 * reduction per task merges the sums into every rank's copy of the model, so all ranks hold the
 * same model and evaluate it. Methods whose updates depend on the order of samples (fly with
 * beta > 0, v1-v3, the back-prop learners) cannot be split exactly: they run on rank 0 alone and
 * say so; the other ranks wait for its outcome sleeping between polls, not spinning on a core.
 *
 * Failures: every rank takes part in one status exchange before training (which settles the
 * memory check of all ranks), one per task and one after the last task's evaluation; a rank
 * that fails anywhere (bad data in its shard, a file it cannot read) joins the next exchange
 * with its message, and every rank then stops with "rank R of N: reason" and a non-zero exit.
 * Rank 0 writes the outputs only after the last exchange succeeded. */
#ifndef KENYON_MPI_DRIVER_H
#define KENYON_MPI_DRIVER_H

#include <stddef.h>

#include "kenyon/error.h"
#include "kenyon/experiment.h"

/* Initialises MPI when the process was started by mpirun (Open MPI or a PMI launcher sets the
 * environment), otherwise does nothing, so a plain `kenyon ...` behaves as a build without MPI.
 * Returns 0, or non-zero with a message on stderr. */
int kn_mpi_init(int *argc, char ***argv);
void kn_mpi_finalize(void);
/* 1 when MPI was initialised (started by mpirun, any number of ranks, 1 included: a 1-rank MPI
 * run trains like an N-rank one, bit for bit). */
int kn_mpi_active(void);
int kn_mpi_rank(void);
int kn_mpi_size(void);
/* "MPI: Open MPI v4.1.4, ..." for kenyon --version. */
const char *kn_mpi_describe(char *buf, size_t cap);

/* After a command returned code under mpirun: if its run did not settle the outcome with the
 * other ranks (it stopped early, e.g. a usage error on this rank alone), joins the exchange they
 * wait in, so no rank waits forever. Returns the exit code to use. */
int kn_mpi_settle(const char *command, int code);
void kn_mpi_mark_settled(void);

/* The state of one data-parallel `kenyon run`. */
typedef struct kn_mpi_run {
    int rank, size;
    int idle;           /* this rank has no part (the method runs on rank 0 alone) */
    int job_failed;     /* an exchange reported a failure: no further exchanges */
    int final_done;     /* the exchange after the last task succeeded: no further exchanges */
    char failure[KN_ERROR_MSG_MAX];
} kn_mpi_run;

/* Prepares spec and callbacks for this rank: only rank 0 logs and writes outputs; the learner is
 * wrapped for data-parallel training once it is built. cb's own members are kept. */
void kn_mpi_run_begin(kn_mpi_run *mr, kn_experiment_spec *s, kn_experiment_callbacks *cb);
/* After kn_experiment_run returned rc (err its message): settles the job's outcome with the
 * other ranks. Returns 0 when every rank succeeded, else 1 after rank 0 printed
 * "kenyon run: rank R of N: reason" (err then holds it). */
int kn_mpi_run_end(kn_mpi_run *mr, int rc, kn_error *err);

/* `mpirun -n N kenyon bench ...` (mpi_sweep.c): the driver to put into kn_bench_options.driver
 * when N > 1. Every rank loads the data, rank 0 first (the others wait, then read its warm
 * caches); rank 0 hands out the (method, seed) items not yet in the result cache, most
 * expensive first, one at a time to the other ranks as they finish, and writes the reports from
 * the cache; the other ranks run what they are given and write nothing but cache entries
 * (quiet them: no log, no progress display). A run that fails is listed in the reports and the
 * sweep goes on; any other failure makes rank 0 fail with "rank R of N: reason" and no report,
 * stopping the runs in progress on the other ranks. */
struct kn_bench_driver;
const struct kn_bench_driver *kn_mpi_sweep_driver(void);

#endif
