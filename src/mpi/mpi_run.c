/* One data-parallel `kenyon run` under mpirun (mpi_driver.h): what each rank logs and writes,
 * the memory check of all ranks, the wrapping of the learner, the exchange after the last task
 * and the job's outcome. */
#include <stdio.h>
#include <string.h>

#include "cl/memory_check.h"
#include "mpi/mpi_internal.h"

/* Returned by on_learner on the ranks that sit out a method that runs on rank 0 alone. */
#define IDLE_CODE KN_ESTATE

/* ncm and slda are wrapped by mpi_class_shard.c, fly and fly-ridge by mpi_shard.c. */
static int keeps_class_sums(const kn_learner *l)
{
    return strcmp(l->method->name, "ncm") == 0 || strcmp(l->method->name, "slda") == 0;
}

/* Every rank of a data-parallel method holds a copy of the learner and its reduction buffers:
 * refuse when this machine's ranks together would not fit. (A method that runs on rank 0 alone
 * was checked as a single process: the other ranks free their copy.) */
static int check_memory(kn_learner *l, kn_error *err)
{
    if (!kn_mpi_can_split(l))
        return 0;
    const double extra = keeps_class_sums(l) ? kn_mpi_class_shard_bytes(l)
                                             : kn_mpi_shard_bytes(l);
    return kn_learner_check_memory_copies(l, kn_mpi_local_size(), extra,
                                          "MPI reduction buffers", err);
}

static int on_learner(void *ctx, kn_learner *l, kn_error *err)
{
    kn_mpi_run *mr = ctx;
    /* The memory check is settled with all ranks before any of them trains. */
    int refused = check_memory(l, err);
    int rc = kn_mpi_exchange(mr, refused != 0, refused ? err->msg : NULL, err);
    if (rc)
        return rc;
    if (kn_mpi_can_split(l))
        return keeps_class_sums(l) ? kn_mpi_class_shard_learner(mr, l, err)
                                   : kn_mpi_shard_learner(mr, l, err);
    if (mr->rank == 0) {
        fprintf(stderr, "kenyon run: method %s cannot be split over ranks with the "
                "single-process result (%s); it runs on rank 0 alone\n", l->method->name,
                strcmp(l->method->name, "fly") == 0 ? "the decay beta > 0 depends on the order "
                "of the samples" : "its updates depend on the order of the samples");
        return 0;
    }
    mr->idle = 1;
    return kn_fail(err, IDLE_CODE, "idle");
}

static int on_task(void *ctx, int task, int n_tasks, double accuracy)
{
    (void)accuracy;
    kn_mpi_run *mr = ctx;
    if (task != n_tasks - 1)
        return 0;
    /* After the last evaluation: the outputs are written only if every rank got here. */
    if (kn_mpi_exchange(mr, 0, NULL, NULL))
        return 1;
    mr->final_done = 1;
    return 0;
}

void kn_mpi_run_begin(kn_mpi_run *mr, kn_experiment_spec *s, kn_experiment_callbacks *cb)
{
    memset(mr, 0, sizeof *mr);
    mr->rank = kn_mpi_rank();
    mr->size = kn_mpi_size();
    if (mr->rank != 0) {
        s->out_dir = NULL;
        s->save_model = NULL;
        cb->log = NULL;
    }
    cb->on_learner = on_learner;
    cb->on_task = on_task;
    cb->ctx = mr;
}

int kn_mpi_run_end(kn_mpi_run *mr, int rc, kn_error *err)
{
    kn_mpi_mark_settled();
    if (mr->idle) /* sat out: wait for rank 0's outcome */
        rc = kn_mpi_exchange(mr, 0, NULL, err);
    else if (rc && !mr->job_failed && !mr->final_done)
        rc = kn_mpi_exchange(mr, 1, err->msg, err);
    if (!rc)
        return 0;
    if (!mr->job_failed) { /* failed after the others finished (writing the outputs) */
        char own[KN_ERROR_MSG_MAX];
        snprintf(own, sizeof own, "%s", err->msg);
        snprintf(err->msg, sizeof err->msg, "rank %d of %d: %.450s", mr->rank, mr->size, own);
        fprintf(stderr, "kenyon run: %s\n", err->msg);
        return 1;
    }
    if (mr->job_failed)
        snprintf(err->msg, sizeof err->msg, "%s", mr->failure);
    if (mr->rank == 0)
        fprintf(stderr, "kenyon run: %s\n", err->msg);
    return 1;
}
