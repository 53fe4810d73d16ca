/* The class-incremental protocol: runs a continual learner over a task stream (one pass over each
 * task's training data, in batches), evaluates after every task on the test data of every task
 * seen so far, and computes the metrics people compare (each with its definition, since the
 * libraries disagree):
 *   R[i][j]       accuracy on task j's test data after training task i (class-incremental: argmax
 *                 over every class seen so far, no task id); j > i is not evaluated (NaN)
 *   R_ti[i][j]    task-incremental view: argmax restricted to task j's own classes
 *   curve[i]      mean over j <= i of R[i][j] (unweighted mean of per-task accuracies)
 *   final         curve[T-1]
 *   memory loss   mean over all T tasks of R[j][j] - R[T-1][j] (the fly paper's; last task adds 0)
 *   forgetting    mean over j < T-1 of max_{j <= i < T-1} R[i][j] - R[T-1][j] (Mammoth)
 *   BWT           mean over j < T-1 of R[T-1][j] - R[j][j] (Lopez-Paz & Ranzato)
 * plus train and evaluation seconds and peak resident memory. Results are written as
 * DIR/summary.json and DIR/accuracy_matrix.csv. */
#ifndef KENYON_PROTOCOL_H
#define KENYON_PROTOCOL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "kenyon/samples.h"
#include "kenyon/error.h"
#include "kenyon/learner.h"
#include "kenyon/tasks.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct kn_protocol_options {
    size_t batch;        /* samples per observe call (default 64) */
    int shuffle;         /* 1 (default): shuffle each task's training samples; 0: file order */
    uint64_t seed;       /* for the shuffles (kn_rng_stream(seed, 1000 + task)) */
    FILE *log;           /* per-task table as the run goes; NULL = silent */
    /* Called after each task's evaluation (e.g. to save the model); non-zero stops the run. */
    int (*after_task)(void *ctx, kn_learner *l, int task, kn_error *err);
    void *after_task_ctx;
} kn_protocol_options;

void kn_protocol_options_default(kn_protocol_options *o);

typedef struct kn_run_result {
    int n_tasks;
    double *acc;          /* n_tasks x n_tasks, R[i][j]; NaN for j > i */
    double *acc_ti;       /* n_tasks x n_tasks, task-incremental view */
    double *curve;        /* n_tasks */
    double *curve_ti;     /* n_tasks */
    double *task_train_seconds; /* n_tasks */
    double final_accuracy, final_accuracy_ti;
    double memory_loss, forgetting, bwt;
    double train_seconds, eval_seconds, total_seconds;
    long peak_rss_kb;     /* peak resident KB at the end of the run (VmHWM, else getrusage): the
                           * process's peak, or the run's own when the caller reset the mark just
                           * before (kn_peak_memory_reset, kenyon/peak_memory.h) */
    size_t n_train, n_test; /* samples trained on / evaluated per full evaluation */
} kn_run_result;

int kn_run_result_alloc(kn_run_result *r, int n_tasks, kn_error *err);
void kn_run_result_free(kn_run_result *r);
/* Fills curve, curve_ti, final_accuracy(_ti), memory_loss, forgetting, bwt from acc/acc_ti. */
void kn_metrics_compute(kn_run_result *r);

/* Runs the protocol. The learner must be fresh (no task begun) or have ended task t-1 for a
 * stream that continues at task t = l->task + 1 (resuming a saved model). */
int kn_protocol_run(kn_learner *l, const kn_split *sp, const kn_task_stream *ts,
                    const kn_protocol_options *o, kn_run_result *res, kn_error *err);

/* Accuracy of the learner on rows idx[0..n) of ds: class-incremental over `allowed` classes and
 * task-incremental over `task_classes` (may be NULL: *acc_ti not computed). */
int kn_evaluate(kn_learner *l, const kn_dataset *ds, const size_t *idx, size_t n,
                const uint8_t *allowed, const int32_t *task_classes, int n_task_classes,
                double *acc, double *acc_ti, kn_error *err);

/* What the results files record about the run besides the numbers. */
typedef struct kn_run_info {
    const char *method;
    const char *dataset;      /* "mnist20", or "user" */
    const char *data_source;  /* provenance text, may be NULL */
    uint64_t seed;
    const kn_learner *learner; /* for the resolved parameters; may be NULL */
    const kn_task_stream *stream; /* for the classes of each task; may be NULL */
    size_t batch;
    int shuffle;
    double load_seconds;      /* time to load the data (reported with the timings) */
} kn_run_info;

/* Writes dir/summary.json and dir/accuracy_matrix.csv atomically (creating dir). */
int kn_results_write(const char *dir, const kn_run_info *info, const kn_run_result *r,
                     kn_error *err);
/* The summary as a JSON string (malloc'd), for printing or tests. */
char *kn_results_summary_json(const kn_run_info *info, const kn_run_result *r);

#ifdef __cplusplus
}
#endif
#endif
