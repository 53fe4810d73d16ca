/* `kenyon bench` under mpirun (mpi_driver.h): the benchmark's (method, seed) items spread over
 * the ranks. Every rank loads the data and builds the same plan; then rank 0 is the dispatcher
 * and every other rank a worker.
 *
 * Rank 0 only dispatches, it does not run items itself: a dispatcher busy with a run could not
 * hand out the next job until that run ended (a GEM seed takes minutes), so workers would stand
 * idle. It waits without holding a core, so start one rank more than there are cores.
 *
 * Rank 0 looks every item up in the result cache first; the cached ones are not handed out
 * (this is how a killed job resumes). The others go out most expensive first, by the
 * benchmark's per-method cost priors (bench_eta.c), one job per worker at a time: a job index
 * out, "done" or a failure with its message back, then the next job. A worker runs its item with
 * bench_run_item, which stores the result in the cache atomically; each item is handed out
 * exactly once, so no two ranks write the same entry. Rank 0 reads every result back from the
 * cache (the output directory must be on a file system all ranks share) and writes the reports
 * exactly as a single process does. Every wait (the dispatcher's for results, a worker's for its
 * next job) sleeps between polls instead of spinning (mpi_wait.h).
 *
 * A run that fails (training diverged, a setting the data refute) is reported back with its
 * error and listed in the reports, as in a single process; the sweep goes on. Any other
 * failure (a worker cannot store its result, rank 0 cannot read it back, an MPI call fails)
 * stops the job: rank 0 says "rank R of N: reason", and when runs are still in progress on
 * other ranks it stops them with MPI_Abort rather than wait minutes for results it would not
 * use (the finished runs stay cached for the next start). No report is written.
 *
 * Loading the data: rank 0 loads first and the other ranks wait for it (before_load and
 * after_load below), so a cold LeNet5 feature cache is trained once, on rank 0, and read by
 * the others, instead of every rank training the same extractor at once. */
#include <inttypes.h>
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/bench_internal.h"
#include "mpi/mpi_internal.h"
#include "mpi/mpi_wait.h"

#define TAG_JOB 1601    /* rank 0 -> worker: int64 item index, or -1: stop */
#define TAG_RESULT 1602 /* worker -> rank 0: a sweep_result */
#define TAG_DATA 1603   /* rank 0 -> the others: it has loaded the data (its caches are warm) */

typedef struct sweep_result {
    int64_t item;
    int32_t failed;     /* the worker cannot go on: the job stops */
    int32_t run_failed; /* the run itself failed (msg says why): listed, the sweep goes on */
    double seconds;
    char msg[KN_ERROR_MSG_MAX];
} sweep_result;

static int send_job(int64_t item, int worker)
{
    return kn_mpi_idle_send(&item, 1, MPI_INT64_T, worker, TAG_JOB, MPI_COMM_WORLD) ==
                   MPI_SUCCESS ? 0 : -1;
}

/* The worker's loop: run what rank 0 hands out until it says stop. A failed item is reported to
 * rank 0, which reports it for the job; the worker itself ends without error. */
static int work(const bench_plan *pl, kn_error *err)
{
    const size_t n_items = pl->eta->n;
    for (;;) {
        int64_t item;
        if (kn_mpi_idle_recv(&item, 1, MPI_INT64_T, 0, TAG_JOB, MPI_COMM_WORLD,
                             MPI_STATUS_IGNORE) != MPI_SUCCESS)
            return kn_fail(err, KN_ESTATE, "MPI_Recv of a job failed");
        if (item < 0)
            return KN_OK;
        sweep_result r;
        memset(&r, 0, sizeof r);
        r.item = item;
        if ((uint64_t)item >= n_items) {
            r.failed = 1;
            snprintf(r.msg, sizeof r.msg, "job %" PRId64 " is not one of the %zu items", item,
                     n_items);
        } else {
            bench_run run;
            kn_error e;
            kn_error_clear(&e);
            double t0 = kn_seconds();
            int rc = bench_run_item(pl, (size_t)item / pl->n_seeds, (size_t)item % pl->n_seeds,
                                    &run, &e);
            r.seconds = kn_seconds() - t0;
            if (rc) {
                r.failed = 1;
                snprintf(r.msg, sizeof r.msg, "%s", e.msg[0] ? e.msg : "failed");
            } else {
                r.run_failed = run.failed;
                snprintf(r.msg, sizeof r.msg, "%s", run.error);
                kn_run_result_free(&run.res);
            }
        }
        if (kn_mpi_idle_send(&r, (int)sizeof r, MPI_BYTE, 0, TAG_RESULT, MPI_COMM_WORLD) !=
            MPI_SUCCESS)
            return kn_fail(err, KN_ESTATE, "MPI_Send of a result failed");
    }
}

/* The per-run line a single process prints, with the rank that ran it. */
static void log_run(const bench_plan *pl, const bench_run *run, int rank)
{
    char where[32] = "  (cached)";
    if (rank > 0)
        snprintf(where, sizeof where, "  (rank %d)", rank);
    bench_log_run(pl, run, where);
}

static void show_progress(const bench_plan *pl, const char *detail)
{
    double done, total;
    bench_eta_progress(pl->eta, SIZE_MAX, 0, &done, &total);
    pl->bar->total = (size_t)(total * 1000.0 + 0.5);
    kn_progress_update(pl->bar, (size_t)(done * 1000.0 + 0.5), detail);
}

/* Rank 0: hands out the items not in the cache, collects the outcomes, reads the results. */
static int dispatch(const bench_plan *pl, int size, bench_run *runs, size_t *n_runs,
                    kn_error *err)
{
    const size_t n_items = pl->eta->n;
    size_t *todo = malloc(sizeof *todo * (n_items ? n_items : 1));
    unsigned char *have = calloc(n_items ? n_items : 1, 1);
    int *holder = calloc(n_items ? n_items : 1, sizeof *holder); /* the worker given item i */
    if (!todo || !have || !holder) {
        free(todo);
        free(have);
        free(holder);
        return kn_fail(err, KN_ENOMEM, "out of memory");
    }
    size_t n_todo = 0;
    int rc = bench_plan_todo(pl, runs, have, todo, &n_todo, err);
    for (size_t i = 0; i < n_items && !rc; i++)
        if (have[i])
            log_run(pl, &runs[i], 0);
    if (!rc)
        show_progress(pl, "dispatching");

    /* The first failure (its rank and message) ends the hand-out. */
    int failed_rank = -1;
    char failure[KN_ERROR_MSG_MAX] = "";
    if (rc) {
        failed_rank = 0;
        snprintf(failure, sizeof failure, "%s", err->msg);
    }
    /* One job per worker; a worker without one waits for the stop at the end. */
    size_t next = 0;
    int busy = 0;
    for (int w = 1; w < size && failed_rank < 0 && next < n_todo; w++) {
        if (send_job((int64_t)todo[next], w)) {
            failed_rank = 0;
            snprintf(failure, sizeof failure, "MPI_Send of a job to rank %d failed", w);
            break;
        }
        holder[todo[next]] = w;
        next++;
        busy++;
    }
    while (busy > 0) {
        sweep_result r;
        MPI_Status st;
        if (kn_mpi_idle_recv(&r, (int)sizeof r, MPI_BYTE, MPI_ANY_SOURCE, TAG_RESULT,
                             MPI_COMM_WORLD, &st) != MPI_SUCCESS) {
            /* Nothing can be collected any more: stop the whole job. */
            fprintf(stderr, "kenyon bench: rank 0 of %d: MPI_Recv of a result failed\n", size);
            MPI_Abort(MPI_COMM_WORLD, 1);
        }
        busy--;
        const int w = st.MPI_SOURCE;
        r.msg[sizeof r.msg - 1] = '\0';
        if (r.failed) {
            if (failed_rank < 0) {
                failed_rank = w;
                snprintf(failure, sizeof failure, "%s", r.msg);
            }
        } else if (r.item < 0 || (uint64_t)r.item >= n_items || holder[r.item] != w ||
                   have[r.item]) {
            /* Each item goes out once; anything else is a fault of this code, not of the data. */
            if (failed_rank < 0) {
                failed_rank = 0;
                snprintf(failure, sizeof failure, "rank %d returned job %" PRId64 ", which was "
                         "not handed out to it", w, r.item);
            }
        } else if (r.run_failed) {
            const size_t i = (size_t)r.item;
            if (bench_find_item(pl, i / pl->n_seeds, i % pl->n_seeds, &runs[i], err) == 1)
                kn_run_result_free(&runs[i].res); /* a failed run stores nothing */
            runs[i].from_cache = 0;
            runs[i].failed = 1;
            snprintf(runs[i].error, sizeof runs[i].error, "%s", r.msg);
            have[i] = 1;
            bench_eta_mark_ran(pl->eta, i, r.seconds);
            log_run(pl, &runs[i], w);
        } else {
            const size_t i = (size_t)r.item;
            int found = bench_find_item(pl, i / pl->n_seeds, i % pl->n_seeds, &runs[i], err);
            if (found == 1) {
                have[i] = 1;
                runs[i].from_cache = 0; /* it ran in this job */
                bench_eta_mark_ran(pl->eta, i, r.seconds);
                log_run(pl, &runs[i], w);
                char detail[128];
                snprintf(detail, sizeof detail, "%s seed %" PRIu64 " done on rank %d",
                         runs[i].method, runs[i].seed, w);
                show_progress(pl, detail);
            } else if (failed_rank < 0) {
                failed_rank = 0;
                if (found < 0)
                    snprintf(failure, sizeof failure, "%s", err->msg);
                else
                    snprintf(failure, sizeof failure,
                             "the result of %s seed %" PRIu64 " that rank %d stored is not in "
                             "%.200s/cache as this rank sees it (the output directory must be "
                             "on a file system every rank shares, and every rank must use the "
                             "same thread counts)",
                             pl->methods[i / pl->n_seeds], pl->seeds[i % pl->n_seeds], w,
                             pl->o->out_dir);
            }
        }
        if (failed_rank >= 0 && busy > 0) {
            /* Runs still in progress elsewhere (a GEM seed takes minutes) would only delay
             * the failure: stop every rank now. */
            if (pl->o->progress && isatty(STDERR_FILENO))
                fprintf(stderr, "\r\033[K");
            fprintf(stderr, "kenyon bench: rank %d of %d: %.450s; stopping the %d run%s in "
                    "progress on the other ranks (finished runs stay cached)\n", failed_rank,
                    size, failure, busy, busy == 1 ? "" : "s");
            fflush(stderr);
            MPI_Abort(MPI_COMM_WORLD, 1);
        }
        if (failed_rank < 0 && next < n_todo) {
            if (send_job((int64_t)todo[next], w) == 0) {
                holder[todo[next]] = w;
                next++;
                busy++;
            } else {
                failed_rank = 0;
                snprintf(failure, sizeof failure, "MPI_Send of a job to rank %d failed", w);
            }
        }
    }
    for (int w = 1; w < size; w++)
        send_job(-1, w);
    /* The runs in item order, as a single process holds them (the reports list them so). */
    size_t n = 0;
    for (size_t i = 0; i < n_items; i++)
        if (have[i])
            runs[n++] = runs[i];
    *n_runs = n;
    free(todo);
    free(have);
    free(holder);
    if (failed_rank >= 0)
        return kn_fail(err, KN_ESTATE, "rank %d of %d: %.450s", failed_rank, size, failure);
    return KN_OK;
}

static int run_items(void *ctx, const bench_plan *pl, size_t n_methods, bench_run *runs,
                     size_t *n_runs, int *write_reports, kn_error *err)
{
    (void)ctx;
    (void)n_methods;
    kn_mpi_run mr = {.rank = kn_mpi_rank(), .size = kn_mpi_size()};
    *n_runs = 0;
    *write_reports = 0;
    /* Every rank has its data and plan: a rank that failed before (its copy of the data is bad)
     * joins this exchange from kn_mpi_settle, and the job stops here with its rank and reason. */
    kn_mpi_mark_settled();
    if (kn_mpi_exchange(&mr, 0, NULL, err))
        /* Rank 0 reports the failure for the job; the failing rank has said why. */
        return mr.rank == 0 ? (err->code ? err->code : KN_ESTATE) : KN_OK;
    if (mr.rank != 0)
        return work(pl, err);
    *write_reports = 1;
    return dispatch(pl, mr.size, runs, n_runs, err);
}

/* Rank 0 loads the data first; the others wait for its word, then load from the warm caches. */
static void before_load(void *ctx)
{
    (void)ctx;
    int go;
    if (kn_mpi_rank() != 0)
        kn_mpi_idle_recv(&go, 1, MPI_INT, 0, TAG_DATA, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
}

/* Rank 0, whether its load worked or not (a failure is settled with everyone later). */
static void after_load(void *ctx)
{
    (void)ctx;
    int go = 1;
    if (kn_mpi_rank() == 0)
        for (int w = 1; w < kn_mpi_size(); w++)
            kn_mpi_idle_send(&go, 1, MPI_INT, w, TAG_DATA, MPI_COMM_WORLD);
}

static const struct kn_bench_driver sweep_driver = {run_items, NULL, before_load, after_load};

const struct kn_bench_driver *kn_mpi_sweep_driver(void) { return &sweep_driver; }
