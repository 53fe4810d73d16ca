/* Continual-learning metrics from an accuracy matrix, and the results files (summary.json via
 * cJSON, accuracy_matrix.csv). The definitions are in kenyon/protocol.h and are also written
 * into summary.json next to each number. */
#include <cjson/cJSON.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kenyon/fileio.h"
#include "kenyon/protocol.h"

int kn_run_result_alloc(kn_run_result *r, int n_tasks, kn_error *err)
{
    memset(r, 0, sizeof *r);
    if (n_tasks < 1 || n_tasks > 100000)
        return kn_fail(err, KN_EINVAL, "results: bad number of tasks %d", n_tasks);
    size_t T = (size_t)n_tasks;
    r->acc = malloc(T * T * sizeof *r->acc);
    r->acc_ti = malloc(T * T * sizeof *r->acc_ti);
    r->curve = calloc(T, sizeof *r->curve);
    r->curve_ti = calloc(T, sizeof *r->curve_ti);
    r->task_train_seconds = calloc(T, sizeof *r->task_train_seconds);
    if (!r->acc || !r->acc_ti || !r->curve || !r->curve_ti || !r->task_train_seconds) {
        kn_run_result_free(r);
        return kn_fail(err, KN_ENOMEM, "results: out of memory for %d tasks", n_tasks);
    }
    for (size_t i = 0; i < T * T; i++)
        r->acc[i] = r->acc_ti[i] = NAN;
    r->n_tasks = n_tasks;
    return 0;
}

void kn_run_result_free(kn_run_result *r)
{
    if (!r)
        return;
    free(r->acc);
    free(r->acc_ti);
    free(r->curve);
    free(r->curve_ti);
    free(r->task_train_seconds);
    memset(r, 0, sizeof *r);
}

static void curve_of(const double *R, int T, double *curve)
{
    for (int i = 0; i < T; i++) {
        double s = 0;
        for (int j = 0; j <= i; j++)
            s += R[(size_t)i * T + j];
        curve[i] = s / (i + 1);
    }
}

void kn_metrics_compute(kn_run_result *r)
{
    const int T = r->n_tasks;
    const double *R = r->acc;
    curve_of(r->acc, T, r->curve);
    curve_of(r->acc_ti, T, r->curve_ti);
    r->final_accuracy = r->curve[T - 1];
    r->final_accuracy_ti = r->curve_ti[T - 1];
    const size_t last = (size_t)(T - 1) * T;
    double ml = 0, fg = 0, bwt = 0;
    for (int j = 0; j < T; j++)
        ml += R[(size_t)j * T + j] - R[last + j];
    r->memory_loss = ml / T;
    for (int j = 0; j < T - 1; j++) {
        double best = R[(size_t)j * T + j];
        for (int i = j + 1; i < T - 1; i++)
            best = R[(size_t)i * T + j] > best ? R[(size_t)i * T + j] : best;
        fg += best - R[last + j];
        bwt += R[last + j] - R[(size_t)j * T + j];
    }
    r->forgetting = T > 1 ? fg / (T - 1) : 0.0;
    r->bwt = T > 1 ? bwt / (T - 1) : 0.0;
}

/* A matrix as rows of numbers, null for the entries not evaluated. */
static cJSON *matrix_json(const double *R, int T)
{
    cJSON *rows = cJSON_CreateArray();
    for (int i = 0; rows && i < T; i++) {
        cJSON *row = cJSON_CreateArray();
        if (!row || !cJSON_AddItemToArray(rows, row)) {
            cJSON_Delete(row);
            cJSON_Delete(rows);
            return NULL;
        }
        for (int j = 0; j < T; j++) {
            double v = R[(size_t)i * T + j];
            if (!cJSON_AddItemToArray(row, isnan(v) ? cJSON_CreateNull() : cJSON_CreateNumber(v))) {
                cJSON_Delete(rows);
                return NULL;
            }
        }
    }
    return rows;
}

static cJSON *metric(cJSON *parent, const char *name, double value, const char *definition)
{
    cJSON *m = cJSON_AddObjectToObject(parent, name);
    if (m) {
        cJSON_AddNumberToObject(m, "value", value);
        cJSON_AddStringToObject(m, "definition", definition);
    }
    return m;
}

char *kn_results_summary_json(const kn_run_info *info, const kn_run_result *r)
{
    cJSON *root = cJSON_CreateObject();
    if (!root)
        return NULL;
    const int T = r->n_tasks;
    cJSON_AddStringToObject(root, "method", info->method ? info->method : "");
    cJSON_AddStringToObject(root, "dataset", info->dataset ? info->dataset : "");
    if (info->data_source)
        cJSON_AddStringToObject(root, "data_source", info->data_source);
    char seed[32];
    snprintf(seed, sizeof seed, "%" PRIu64, info->seed);
    cJSON_AddRawToObject(root, "seed", seed);
    cJSON *params = cJSON_AddObjectToObject(root, "parameters");
    if (params && info->learner)
        for (size_t i = 0; i < info->learner->n_params; i++)
            cJSON_AddStringToObject(params, info->learner->params[i].key,
                                    info->learner->params[i].value);
    cJSON *proto = cJSON_AddObjectToObject(root, "protocol");
    if (proto) {
        cJSON_AddStringToObject(proto, "scenario",
                                "class-incremental: after each task, test on every task seen so "
                                "far, argmax over all classes seen so far (no task id); one pass "
                                "over each task's training data");
        cJSON_AddNumberToObject(proto, "tasks", T);
        cJSON_AddNumberToObject(proto, "batch", (double)info->batch);
        cJSON_AddBoolToObject(proto, "shuffle_within_task", info->shuffle != 0);
        cJSON_AddNumberToObject(proto, "train_samples", (double)r->n_train);
        cJSON_AddNumberToObject(proto, "test_samples", (double)r->n_test);
        if (info->stream) {
            cJSON *tc = cJSON_AddArrayToObject(proto, "task_classes");
            for (int t = 0; tc && t < info->stream->n_tasks; t++) {
                const kn_task *tk = &info->stream->tasks[t];
                cJSON *a = cJSON_CreateArray();
                for (int q = 0; a && q < tk->n_classes; q++)
                    cJSON_AddItemToArray(a, cJSON_CreateNumber(tk->classes[q]));
                cJSON_AddItemToArray(tc, a);
            }
        }
    }
    cJSON_AddNumberToObject(root, "final_accuracy", r->final_accuracy);
    cJSON_AddNumberToObject(root, "memory_loss", r->memory_loss);
    cJSON_AddNumberToObject(root, "forgetting", r->forgetting);
    cJSON_AddNumberToObject(root, "bwt", r->bwt);
    cJSON_AddNumberToObject(root, "final_accuracy_task_incremental", r->final_accuracy_ti);
    cJSON *defs = cJSON_AddObjectToObject(root, "metrics");
    if (defs) {
        metric(defs, "final_accuracy", r->final_accuracy,
               "unweighted mean over all tasks of the accuracy on each task's test data after "
               "the last task (class-incremental)");
        metric(defs, "memory_loss", r->memory_loss,
               "mean over all T tasks of R[j][j] - R[T-1][j]: accuracy right after training "
               "task j minus final accuracy on j (Shen et al.; the last task contributes 0)");
        metric(defs, "forgetting", r->forgetting,
               "mean over j < T-1 of max_{j<=i<T-1} R[i][j] - R[T-1][j] (best minus final; "
               "Mammoth)");
        metric(defs, "bwt", r->bwt,
               "backward transfer: mean over j < T-1 of R[T-1][j] - R[j][j] (Lopez-Paz & "
               "Ranzato)");
        metric(defs, "final_accuracy_task_incremental", r->final_accuracy_ti,
               "as final_accuracy, with the argmax restricted to each task's own classes");
    }
    cJSON_AddStringToObject(root, "accuracy_matrix_definition",
                            "R[i][j] = accuracy on task j after training task i (rows: after "
                            "task i, 0-based; null: not yet trained)");
    cJSON *mat = matrix_json(r->acc, T);
    if (mat)
        cJSON_AddItemToObject(root, "accuracy_matrix", mat);
    mat = matrix_json(r->acc_ti, T);
    if (mat)
        cJSON_AddItemToObject(root, "accuracy_matrix_task_incremental", mat);
    cJSON *curve = cJSON_CreateDoubleArray(r->curve, T);
    if (curve)
        cJSON_AddItemToObject(root, "curve", curve);
    cJSON_AddStringToObject(root, "curve_definition",
                            "curve[i] = mean over j <= i of R[i][j] (accuracy over the classes "
                            "trained so far, after task i)");
    curve = cJSON_CreateDoubleArray(r->curve_ti, T);
    if (curve)
        cJSON_AddItemToObject(root, "curve_task_incremental", curve);
    cJSON *tm = cJSON_AddObjectToObject(root, "timings");
    if (tm) {
        cJSON_AddNumberToObject(tm, "load_seconds", info->load_seconds);
        cJSON_AddNumberToObject(tm, "train_seconds", r->train_seconds);
        cJSON_AddNumberToObject(tm, "eval_seconds", r->eval_seconds);
        cJSON_AddNumberToObject(tm, "protocol_seconds", r->total_seconds);
        cJSON *tt = cJSON_CreateDoubleArray(r->task_train_seconds, T);
        if (tt)
            cJSON_AddItemToObject(tm, "task_train_seconds", tt);
    }
    cJSON *mem = cJSON_AddObjectToObject(root, "memory");
    if (mem) {
        cJSON_AddNumberToObject(mem, "peak_rss_kb", (double)r->peak_rss_kb);
        cJSON_AddStringToObject(mem, "definition",
                                "peak resident set size of the process during this run "
                                "(Linux VmHWM, reset at the run's start; elsewhere getrusage "
                                "ru_maxrss over the process's life)");
    }
    char *s = cJSON_Print(root);
    cJSON_Delete(root);
    return s;
}

int kn_results_write(const char *dir, const kn_run_info *info, const kn_run_result *r,
                     kn_error *err)
{
    int rc = kn_mkdirs(dir, err);
    if (rc)
        return rc;
    char path[4096];
    char *json = kn_results_summary_json(info, r);
    if (!json)
        return kn_fail(err, KN_ENOMEM, "results: out of memory building summary.json");
    snprintf(path, sizeof path, "%s/summary.json", dir);
    size_t len = strlen(json);
    json[len] = '\n'; /* replace the terminator: write len + 1 bytes ending in a newline */
    rc = kn_write_file_atomic(path, json, len + 1, err);
    free(json);
    if (rc)
        return rc;
    snprintf(path, sizeof path, "%s/accuracy_matrix.csv", dir);
    kn_atomic_file af;
    rc = kn_atomic_open(&af, path, err);
    if (rc)
        return rc;
    const int T = r->n_tasks;
    fprintf(af.fp, "after_task");
    for (int j = 0; j < T; j++)
        fprintf(af.fp, ",task_%d", j);
    fprintf(af.fp, "\n");
    for (int i = 0; i < T; i++) {
        fprintf(af.fp, "%d", i);
        for (int j = 0; j < T; j++) {
            double v = r->acc[(size_t)i * T + j];
            if (isnan(v))
                fprintf(af.fp, ",");
            else
                fprintf(af.fp, ",%.6f", v);
        }
        fprintf(af.fp, "\n");
    }
    return kn_atomic_commit(&af, err);
}
