/* The benchmark's outputs: results.csv (method x seed x task), summary.json (per method: mean and
 * standard deviation over seeds of every metric), report.md (the paper's table layout, with the
 * paper's own numbers in labelled columns) and plots (accuracy vs classes with error bands,
 * memory-loss bars, one mean accuracy-matrix heat map per method), each as PNG and SVG, and
 * report.html (bench_html.c) made from report.md's text with the SVGs inline. Every number except
 * the paper's columns comes from the runs; those columns appear only in the paper's setting. */
#define _XOPEN_SOURCE 700 /* realpath */
#include <cjson/cJSON.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench/bench_internal.h"
#include "kenyon/fileio.h"
#include "kenyon/gemm.h"
#include "kenyon/plot.h"

/* The paper's MNIST-20 numbers (Shen, Dasgupta & Navlakha 2021; mean of 5 seeds, LeNet5
 * features): accuracy over the classes trained so far at 2/4/10/16/20 classes, memory loss. */
typedef bench_paper_row paper_row;

static const int report_classes[5] = {2, 4, 10, 16, 20};

static const paper_row paper[] = {
    {"offline", "Offline", {.999, .979, .943, .901, .857}, NAN},
    {"fly", "FlyModel", {.998, .936, .864, .805, .751}, 0.070},
    {"bir", "BI-R", {.999, .962, .768, .703, .563}, 0.417},
    {"gem", "GEM", {.996, .866, .686, .503, .430}, 0.239},
    {"ewc", "EWC", {.998, .803, .577, .464, .443}, 0.267},
    {"vanilla", "Vanilla", {.998, .479, .192, .124, .113}, 0.86},
    {NULL, NULL, {0}, NAN},
};

static const bench_paper_table mnist20_table = {
    "Shen, Dasgupta & Navlakha 2021, Fig. 2; LeNet5 features trained on KMNIST",
    "Shen, Dasgupta & Navlakha 2021, LeNet5 features, mean of 5 seeds", 5, report_classes, 1,
    paper};

/* 1 if the row label ("bir" or "bir:iters=188") is a run of `method`, whatever its settings. */
static int label_is_method(const char *label, const char *method)
{
    size_t len = strcspn(label, ":");
    return strlen(method) == len && strncmp(method, label, len) == 0;
}

/* A row "bir:iters=188" is the paper's method run with other settings: it gets BI-R's row. */
static const paper_row *paper_for(const bench_paper_table *t, const char *method)
{
    for (const paper_row *p = t ? t->rows : NULL; p && p->method; p++)
        if (label_is_method(method, p->method))
            return p;
    return NULL;
}

static int is_mnist20_paper_setting(const kn_bench_options *o, int classes_per_task)
{
    const char *order = o->class_order ? o->class_order : "label";
    const char *feat = o->features ? o->features : "pixels";
    return o->dataset && strcmp(o->dataset, "mnist20") == 0 && classes_per_task == 2 &&
           strcmp(order, "label") == 0 &&
           (strcmp(feat, "pixels") == 0 || strcmp(feat, "lenet") == 0);
}

const bench_paper_table *bench_paper_table_for(const kn_bench_options *o, int classes_per_task)
{
    if (is_mnist20_paper_setting(o, classes_per_task))
        return &mnist20_table;
    if (bench_cifar_is_paper_setting(o, classes_per_task))
        return bench_cifar_paper_table();
    return NULL;
}

int bench_is_paper_setting(const kn_bench_options *o, int classes_per_task)
{
    return bench_paper_table_for(o, classes_per_task) != NULL;
}

/* Does any row of the table report a memory loss? */
static int table_has_memory_loss(const bench_paper_table *t)
{
    for (const paper_row *p = t->rows; p->method; p++)
        if (isfinite(p->memory_loss))
            return 1;
    return 0;
}

/* The data set's name as a reader knows it. */
static const char *set_title(const kn_bench_options *o)
{
    static const char *const names[][2] = {{"mnist20", "MNIST-20"}, {"mnist", "Split MNIST"},
                                           {"fashion", "Split Fashion-MNIST"},
                                           {"cifar100", "Split CIFAR-100"}};
    if (!o->dataset)
        return "Your data";
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(names[i][0], o->dataset) == 0)
            return names[i][1];
    return o->dataset;
}

/* Mean and sample standard deviation of the finite values. */
static void mean_std(const double *v, size_t n, size_t stride, double *mean, double *sd)
{
    double s = 0, s2 = 0;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        double x = v[i * stride];
        if (!isfinite(x))
            continue;
        s += x;
        k++;
    }
    *mean = k ? s / (double)k : NAN;
    for (size_t i = 0; i < n; i++) {
        double x = v[i * stride];
        if (isfinite(x))
            s2 += (x - *mean) * (x - *mean);
    }
    *sd = k > 1 ? sqrt(s2 / (double)(k - 1)) : (k == 1 ? 0 : NAN);
}

/* Per-method aggregate over its seeds. */
typedef struct method_stats {
    const char *method;
    size_t n_seeds;
    int T;
    double *curve_mean, *curve_sd;    /* T */
    double *acc_mean;                 /* T x T */
    double final_mean, final_sd, ml_mean, ml_sd, fg_mean, fg_sd, bwt_mean, bwt_sd;
    double ti_final_mean, ti_final_sd;
    double train_mean, train_sd, eval_mean;
    double rss_max_mb;
} method_stats;

static void stats_free(method_stats *s)
{
    free(s->curve_mean);
    free(s->curve_sd);
    free(s->acc_mean);
    s->curve_mean = s->curve_sd = s->acc_mean = NULL;
}

static int stats_compute(const char *method, const bench_run *runs, size_t n_runs,
                         method_stats *st, kn_error *err)
{
    memset(st, 0, sizeof *st);
    st->method = method;
    const bench_run *mine[64];
    size_t k = 0;
    for (size_t i = 0; i < n_runs && k < 64; i++)
        if (strcmp(runs[i].method, method) == 0)
            mine[k++] = &runs[i];
    if (k == 0)
        return kn_fail(err, KN_ESTATE, "no runs of %s", method);
    int T = mine[0]->res.n_tasks;
    st->T = T;
    st->n_seeds = k;
    st->curve_mean = calloc((size_t)T, sizeof(double));
    st->curve_sd = calloc((size_t)T, sizeof(double));
    st->acc_mean = calloc((size_t)T * T, sizeof(double));
    double *tmp = calloc(k, sizeof(double));
    if (!st->curve_mean || !st->curve_sd || !st->acc_mean || !tmp) {
        free(tmp);
        stats_free(st);
        return kn_fail(err, KN_ENOMEM, "out of memory");
    }
#define AGG(expr, m, s)                                                                        \
    do {                                                                                       \
        for (size_t q = 0; q < k; q++)                                                         \
            tmp[q] = (expr);                                                                   \
        mean_std(tmp, k, 1, &(m), &(s));                                                       \
    } while (0)
    double unused;
    for (int t = 0; t < T; t++)
        AGG(mine[q]->res.curve[t], st->curve_mean[t], st->curve_sd[t]);
    for (int c = 0; c < T * T; c++)
        AGG(mine[q]->res.acc[c], st->acc_mean[c], unused);
    AGG(mine[q]->res.final_accuracy, st->final_mean, st->final_sd);
    AGG(mine[q]->res.final_accuracy_ti, st->ti_final_mean, st->ti_final_sd);
    AGG(mine[q]->res.memory_loss, st->ml_mean, st->ml_sd);
    AGG(mine[q]->res.forgetting, st->fg_mean, st->fg_sd);
    AGG(mine[q]->res.bwt, st->bwt_mean, st->bwt_sd);
    AGG(mine[q]->res.train_seconds, st->train_mean, st->train_sd);
    AGG(mine[q]->res.eval_seconds, st->eval_mean, unused);
#undef AGG
    for (size_t q = 0; q < k; q++)
        st->rss_max_mb = fmax(st->rss_max_mb, mine[q]->res.peak_rss_kb / 1024.0);
    free(tmp);
    return KN_OK;
}

static void path_in(const char *dir, const char *name, char *buf, size_t size)
{
    snprintf(buf, size, "%s/%s", dir, name);
}

static int write_results_csv(const char *dir, const bench_run *runs, size_t n_runs, int cpt,
                             kn_error *err)
{
    char path[4096];
    path_in(dir, "results.csv", path, sizeof path);
    kn_atomic_file af;
    int rc = kn_atomic_open(&af, path, err);
    if (rc)
        return rc;
    fprintf(af.fp, "method,seed,task,classes_trained,accuracy,accuracy_task_incremental,"
                   "task_train_seconds,final_accuracy,memory_loss,forgetting,bwt,train_seconds,"
                   "eval_seconds,peak_rss_mb,cached\n");
    for (size_t i = 0; i < n_runs; i++) {
        const kn_run_result *r = &runs[i].res;
        for (int t = 0; t < r->n_tasks; t++)
            fprintf(af.fp, "%s,%" PRIu64 ",%d,%d,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%.4f,%.4f,"
                           "%.1f,%d\n",
                    runs[i].method, runs[i].seed, t + 1, (t + 1) * cpt, r->curve[t],
                    r->curve_ti[t], r->task_train_seconds[t], r->final_accuracy, r->memory_loss,
                    r->forgetting, r->bwt, r->train_seconds, r->eval_seconds,
                    r->peak_rss_kb / 1024.0, runs[i].from_cache);
    }
    return kn_atomic_commit(&af, err);
}

static cJSON *json_numbers(const double *v, size_t n)
{
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; a && i < n; i++)
        cJSON_AddItemToArray(a, isfinite(v[i]) ? cJSON_CreateNumber(v[i]) : cJSON_CreateNull());
    return a;
}

static void add_ms(cJSON *o, const char *name, double mean, double sd)
{
    cJSON *m = cJSON_AddObjectToObject(o, name);
    if (!m)
        return;
    if (isfinite(mean))
        cJSON_AddNumberToObject(m, "mean", mean);
    else
        cJSON_AddNullToObject(m, "mean");
    if (isfinite(sd))
        cJSON_AddNumberToObject(m, "std", sd);
    else
        cJSON_AddNullToObject(m, "std");
}

static int write_summary_json(const kn_bench_options *o, const method_stats *st, size_t n_methods,
                              const bench_run *runs, size_t n_runs, const char *source,
                              const char *features, size_t n_train, size_t n_test, int cpt,
                              const bench_job_info *job, kn_error *err)
{
    cJSON *root = cJSON_CreateObject();
    if (!root)
        return kn_fail(err, KN_ENOMEM, "out of memory");
    cJSON_AddStringToObject(root, "benchmark", o->dataset ? o->dataset : "files");
    cJSON_AddStringToObject(root, "class_order", o->class_order ? o->class_order : "label");
    cJSON_AddStringToObject(root, "data_source", source);
    cJSON_AddStringToObject(root, "features", features);
    cJSON_AddNumberToObject(root, "n_train", (double)n_train);
    cJSON_AddNumberToObject(root, "n_test", (double)n_test);
    cJSON_AddNumberToObject(root, "classes_per_task", cpt);
    cJSON_AddNumberToObject(root, "batch", (double)o->batch);
    cJSON_AddBoolToObject(root, "quick", o->quick);
    cJSON_AddNumberToObject(root, "threads_per_run", job->threads_per_run);
    cJSON_AddNumberToObject(root, "job_peak_rss_mb", job->job_peak_rss_kb / 1024.0);
    cJSON *failed = cJSON_AddArrayToObject(root, "failed_runs");
    for (size_t i = 0; failed && i < job->n_failed; i++) {
        cJSON *f = cJSON_CreateObject();
        cJSON_AddStringToObject(f, "method", job->failed[i].method);
        cJSON_AddNumberToObject(f, "seed", (double)job->failed[i].seed);
        cJSON_AddStringToObject(f, "error", job->failed[i].error);
        cJSON_AddItemToArray(failed, f);
    }
    cJSON *orders = cJSON_AddObjectToObject(root, "class_order_per_seed");
    for (size_t i = 0; orders && i < n_runs; i++) {
        char key[32];
        snprintf(key, sizeof key, "%" PRIu64, runs[i].seed);
        if (!runs[i].order || cJSON_GetObjectItemCaseSensitive(orders, key))
            continue;
        cJSON *a = cJSON_AddArrayToObject(orders, key);
        for (size_t c = 0; a && c < runs[i].n_order; c++)
            cJSON_AddItemToArray(a, cJSON_CreateNumber(runs[i].order[c]));
    }
    cJSON *defs = cJSON_AddObjectToObject(root, "definitions");
    cJSON_AddStringToObject(defs, "accuracy_after_task",
                            "unweighted mean over tasks seen so far of per-task test accuracy, "
                            "argmax over all classes seen so far (class-incremental)");
    cJSON_AddStringToObject(defs, "memory_loss",
                            "mean over all tasks j of R[j][j] - R[T-1][j] (the fly paper's)");
    cJSON_AddStringToObject(defs, "forgetting",
                            "mean over j < T-1 of max_i R[i][j] - R[T-1][j] (Mammoth)");
    cJSON_AddStringToObject(defs, "bwt", "mean over j < T-1 of R[T-1][j] - R[j][j]");
    cJSON_AddStringToObject(defs, "std", "sample standard deviation over seeds");
    cJSON *ms = cJSON_AddObjectToObject(root, "methods");
    for (size_t m = 0; m < n_methods; m++) {
        const method_stats *s = &st[m];
        cJSON *mo = cJSON_AddObjectToObject(ms, s->method);
        if (!mo)
            continue;
        cJSON *seeds = cJSON_AddArrayToObject(mo, "seeds");
        for (size_t i = 0; i < n_runs; i++)
            if (strcmp(runs[i].method, s->method) == 0)
                cJSON_AddItemToArray(seeds, cJSON_CreateNumber((double)runs[i].seed));
        cJSON_AddItemToObject(mo, "curve_mean", json_numbers(s->curve_mean, (size_t)s->T));
        cJSON_AddItemToObject(mo, "curve_std", json_numbers(s->curve_sd, (size_t)s->T));
        cJSON_AddItemToObject(mo, "accuracy_matrix_mean",
                              json_numbers(s->acc_mean, (size_t)s->T * (size_t)s->T));
        add_ms(mo, "final_accuracy", s->final_mean, s->final_sd);
        add_ms(mo, "final_accuracy_task_incremental", s->ti_final_mean, s->ti_final_sd);
        add_ms(mo, "memory_loss", s->ml_mean, s->ml_sd);
        add_ms(mo, "forgetting", s->fg_mean, s->fg_sd);
        add_ms(mo, "bwt", s->bwt_mean, s->bwt_sd);
        add_ms(mo, "train_seconds", s->train_mean, s->train_sd);
        cJSON_AddNumberToObject(mo, "eval_seconds_mean", s->eval_mean);
        cJSON_AddNumberToObject(mo, "peak_rss_mb_max", s->rss_max_mb);
        const bench_paper_table *pt = bench_paper_table_for(o, cpt);
        const paper_row *p = paper_for(pt, s->method);
        if (p) {
            cJSON *po = cJSON_AddObjectToObject(mo, "paper");
            cJSON_AddStringToObject(po, "source", pt->json_source);
            char key[64] = "accuracy_at_classes";
            for (int c = 0; c < pt->n_at; c++) {
                size_t len = strlen(key);
                snprintf(key + len, sizeof key - len, "_%d", pt->at[c]);
            }
            cJSON_AddItemToObject(po, key, json_numbers(p->acc, (size_t)pt->n_at));
            if (isfinite(p->memory_loss))
                cJSON_AddNumberToObject(po, "memory_loss", p->memory_loss);
        }
    }
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    if (!text)
        return kn_fail(err, KN_ENOMEM, "out of memory");
    char path[4096];
    path_in(o->out_dir, "summary.json", path, sizeof path);
    int rc = kn_write_file_atomic(path, text, strlen(text), err);
    free(text);
    return rc;
}

static void cell(FILE *f, double mean, double sd)
{
    if (!isfinite(mean))
        fprintf(f, " - |");
    else if (isfinite(sd))
        fprintf(f, " %.3f ± %.3f |", mean, sd);
    else
        fprintf(f, " %.3f |", mean);
}

/* Writes to buf the path p relative to directory dir (both absolute, resolved), "." when equal;
 * only p's last component when the two share no folder below the root (a relative path would
 * then spell out p's folders all the same). */
static void relative_to(const char *p, const char *dir, char *buf, size_t cap)
{
    size_t common = 0; /* length of the shared leading components */
    for (size_t i = 0;; i++) {
        const int p_end = p[i] == '\0' || p[i] == '/', d_end = dir[i] == '\0' || dir[i] == '/';
        if (p_end && d_end)
            common = i;
        if (p[i] != dir[i] || !p[i])
            break;
    }
    if (common == 0) {
        const char *last = strrchr(p, '/') + 1;
        snprintf(buf, cap, "%s", *last ? last : ".");
        return;
    }
    size_t len = 0;
    for (const char *q = dir + common; *q; q++) /* one ".." per component of dir left */
        if (*q == '/' && len + 3 < cap)
            len += (size_t)snprintf(buf + len, cap - len, "..%s", q[1] ? "/" : "");
    const char *rest = p[common] == '/' ? p + common + 1 : p + common;
    if (len && *rest && buf[len - 1] != '/' && len + 1 < cap)
        buf[len++] = '/';
    snprintf(buf + len, cap - len, "%s", *rest || len ? rest : ".");
}

/* text with every absolute path in it (a word starting with '/', up to a space, ')', ',' or ';')
 * written relative to the output directory, so a report names no machine's folders; a path that
 * cannot be resolved, or one the data set's source shortened to "...its end", is cut to its last
 * component. */
static void without_machine_paths(const char *text, const char *out_dir, char *buf, size_t cap)
{
    char out_real[PATH_MAX], path[PATH_MAX], real[PATH_MAX], rel[PATH_MAX];
    const int have_out = realpath(out_dir, out_real) != NULL;
    size_t len = 0;
    buf[0] = '\0';
    for (const char *t = text; *t && len + 1 < cap;) {
        const int word_start = t == text || t[-1] == ' ' || t[-1] == '(' || t[-1] == '=';
        const int shortened = strncmp(t, "...", 3) == 0 && t[3] && t[3] != '.';
        if ((*t != '/' && !shortened) || !word_start) {
            buf[len++] = *t++;
            buf[len] = '\0';
            continue;
        }
        size_t n = strcspn(t, " ),;");
        snprintf(path, sizeof path, "%.*s", (int)(n < sizeof path ? n : sizeof path - 1), t);
        const char *slash = strrchr(path, '/');
        if (!shortened && have_out && realpath(path, real))
            relative_to(real, out_real, rel, sizeof rel);
        else if (slash) /* "..." when the shortening cut the name itself */
            snprintf(rel, sizeof rel, "%s", slash[1] ? slash + 1 : "...");
        else
            snprintf(rel, sizeof rel, "%s", path);
        len += (size_t)snprintf(buf + len, cap - len, "%s", rel);
        if (len >= cap)
            len = cap - 1;
        t += n;
    }
}

/* The text of report.md, into f. */
static void report_md_text(FILE *f, const kn_bench_options *o, const method_stats *st,
                           size_t n_methods, const bench_run *runs, size_t n_runs,
                           const char *source, const char *features, size_t n_train,
                           size_t n_test, int cpt, const bench_job_info *job)
{
    const bench_paper_table *pt = bench_paper_table_for(o, cpt);
    const int paper_cols = pt != NULL;
    const int paper_ml = paper_cols && table_has_memory_loss(pt);
    time_t now = time(NULL);
    char when[64];
    strftime(when, sizeof when, "%Y-%m-%d %H:%M UTC", gmtime(&now));
    if (o->dataset)
        fprintf(f, "# %s class-incremental benchmark\n\n", set_title(o));
    else
        fprintf(f, "# Class-incremental benchmark on your data\n\n");
    fprintf(f, "Generated by `kenyon bench %s` on %s.\n\n", o->dataset ? o->dataset : "files",
            when);
    char text[2048];
    without_machine_paths(source, o->out_dir, text, sizeof text);
    fprintf(f, "- Data: %s; %zu training / %zu test samples%s.\n", text, n_train, n_test,
            o->quick    ? " (--quick: a subset of every class)"
            : o->balance ? " (class-balanced training set)"
                         : " (all training samples, --no-balance)");
    without_machine_paths(features, o->out_dir, text, sizeof text);
    fprintf(f, "- Features: %s.\n", text);
    char gemm[256];
    fprintf(f, "- Products: %s.\n", kn_gemm_describe(gemm, sizeof gemm));
    const int random_order = o->class_order && strcmp(o->class_order, "random") == 0;
    fprintf(f, "- Protocol: %d classes per task in %s, one pass over each task's "
               "training data (batch %zu), after every task a test on all tasks seen so far, "
               "argmax over all classes seen so far (no task id).\n",
            cpt, random_order ? "a class order drawn from each seed" : "label order", o->batch);
    for (size_t i = 0; random_order && i < n_runs; i++) {
        int seen = 0;
        for (size_t j = 0; j < i; j++)
            seen |= runs[j].seed == runs[i].seed;
        if (seen || !runs[i].order)
            continue;
        fprintf(f, "  - Seed %" PRIu64 ": classes", runs[i].seed);
        for (size_t c = 0; c < runs[i].n_order; c++)
            fprintf(f, " %d", (int)runs[i].order[c]);
        fprintf(f, ".\n");
    }
    fprintf(f, "- Accuracy after c classes = unweighted mean of the per-task test accuracies of "
               "the tasks trained so far. Memory loss = mean over tasks of (accuracy right after "
               "training the task) - (accuracy after the last task), the paper's definition.\n");
    bench_preset_describe(f, o);
    if (paper_cols)
        fprintf(f, "- Values are mean ± sample standard deviation over seeds. Columns marked "
                   "*paper* are the published numbers (%s), copied for comparison, not computed "
                   "here.\n\n",
                pt->citation);
    else
        fprintf(f, "- Values are mean ± sample standard deviation over seeds. The fly paper "
                   "has no numbers for this setting, so none are shown.\n\n");

    /* The paper's table reads the curve at 2, 4, 10, 16, 20 classes; elsewhere at five points
     * spread over the stream (the first task, the last, three between). */
    int T = st[0].T;
    int at[5];
    for (int c = 0; c < 5; c++)
        at[c] = paper_cols && pt->own_columns_at ? pt->at[c]
                           : ((int)(c * (T - 1) / 4.0 + 0.5) + 1) * cpt;
    int n_at = 0;
    for (int c = 0; c < 5; c++)
        if (n_at == 0 || at[c] != at[n_at - 1])
            at[n_at++] = at[c];
    fprintf(f, "## Accuracy over the classes trained so far\n\n| method | seeds |");
    for (int c = 0; c < n_at; c++)
        fprintf(f, " %d classes |", at[c]);
    fprintf(f, " memory loss |");
    if (paper_cols) {
        for (int c = 0; c < pt->n_at; c++)
            fprintf(f, " *paper* %d |", pt->at[c]);
        if (paper_ml)
            fprintf(f, " *paper* memory loss |");
    }
    fprintf(f, "\n|---|---|");
    for (int c = 0; c < n_at + 1 + (paper_cols ? pt->n_at + paper_ml : 0); c++)
        fprintf(f, "---|");
    fprintf(f, "\n");
    for (size_t m = 0; m < n_methods; m++) {
        const method_stats *s = &st[m];
        fprintf(f, "| %s | %zu |", s->method, s->n_seeds);
        for (int c = 0; c < n_at; c++) {
            int t = at[c] / cpt - 1;
            if (at[c] % cpt == 0 && t >= 0 && t < s->T)
                cell(f, s->curve_mean[t], s->curve_sd[t]);
            else
                fprintf(f, " - |");
        }
        cell(f, s->ml_mean, s->ml_sd);
        if (!paper_cols) {
            fprintf(f, "\n");
            continue;
        }
        const paper_row *p = paper_for(pt, s->method);
        for (int c = 0; c < pt->n_at; c++)
            if (p)
                fprintf(f, " *%.3f* |", p->acc[c]);
            else
                fprintf(f, " - |");
        if (paper_ml && p && isfinite(p->memory_loss))
            fprintf(f, " *%.3f* |", p->memory_loss);
        else if (paper_ml)
            fprintf(f, " - |");
        fprintf(f, "\n");
    }
    fprintf(f, "\n## Other metrics\n\n| method | final accuracy | task-incremental final | "
               "forgetting (best - final) | BWT | train seconds | eval seconds | peak RSS MB |\n"
               "|---|---|---|---|---|---|---|---|\n");
    for (size_t m = 0; m < n_methods; m++) {
        const method_stats *s = &st[m];
        fprintf(f, "| %s |", s->method);
        cell(f, s->final_mean, s->final_sd);
        cell(f, s->ti_final_mean, s->ti_final_sd);
        cell(f, s->fg_mean, s->fg_sd);
        cell(f, s->bwt_mean, s->bwt_sd);
        cell(f, s->train_mean, s->train_sd);
        fprintf(f, " %.2f | %.0f |\n", s->eval_mean, s->rss_max_mb);
    }
    if (job->n_failed) {
        fprintf(f, "\n## Failed runs\n\n%zu run%s failed and %s not in the tables above:\n\n",
                job->n_failed, job->n_failed == 1 ? "" : "s",
                job->n_failed == 1 ? "is" : "are");
        for (size_t i = 0; i < job->n_failed; i++)
            fprintf(f, "- %s seed %" PRIu64 ": %s\n", job->failed[i].method,
                    job->failed[i].seed, job->failed[i].error);
    }
    fprintf(f, "\n## Figures\n\n- `accuracy_vs_classes.png` (.svg): accuracy over the classes "
               "trained so far, mean with a ± 1 sd band (the paper's Fig. 2A).\n"
               "- `memory_loss.png` (.svg): memory loss per method with ± 1 sd error bars "
               "(Fig. 2B).\n- `accuracy_matrix_<method>.png` (.svg): mean R[i][j], the accuracy "
               "on task j after training task i.\n\nPer-run numbers: `results.csv`; "
               "aggregates: `summary.json`; this page with the figures inline: "
               "`report.html`.\n");
}

/* Writes report.md and returns its text (malloc'd) in *text for report.html. */
static int write_report_md(const kn_bench_options *o, const method_stats *st, size_t n_methods,
                           const bench_run *runs, size_t n_runs, const char *source,
                           const char *features, size_t n_train, size_t n_test, int cpt,
                           const bench_job_info *job, char **text, kn_error *err)
{
    *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(text, &len);
    if (!mem)
        return kn_fail(err, KN_ENOMEM, "out of memory (report text)");
    report_md_text(mem, o, st, n_methods, runs, n_runs, source, features, n_train, n_test, cpt,
                   job);
    if (fclose(mem) != 0 || !*text) {
        free(*text);
        *text = NULL;
        return kn_fail(err, KN_ENOMEM, "out of memory (report text)");
    }
    char path[4096];
    path_in(o->out_dir, "report.md", path, sizeof path);
    int rc = kn_write_file_atomic(path, *text, len, err);
    if (rc) {
        free(*text);
        *text = NULL;
    }
    return rc;
}

/* 1 when two row labels name the same method ("bir" and "bir:iters=188"). */
static int same_method(const char *a, const char *b)
{
    const size_t la = strcspn(a, ":");
    return la == strcspn(b, ":") && strncmp(a, b, la) == 0;
}

/* The registry position of a row's method; the registry's length for a name it does not know. */
static size_t registry_index(const char *label)
{
    const kn_method *const *list = kn_method_list();
    size_t i = 0;
    while (list[i] && !same_method(list[i]->name, label))
        i++;
    return i;
}

/* Palette colours of the rows, fixed by method rather than by place in --methods: the methods
 * take colours in registry order, each its registry position modulo the palette, or the next
 * colour still free in this figure when an earlier method holds that one (the registry has more
 * rows than the palette has colours). The rows of one method (its variants, "M:key=value")
 * share its colour. shared[m] = 1 when row m's method had to take a colour another method holds
 * (more methods than colours): it is told apart by open circles instead of dots. */
static void method_colours(const method_stats *st, size_t n, size_t *colours, int *shared)
{
    const size_t N = KN_PLOT_N_COLOURS;
    int used[KN_PLOT_N_COLOURS] = {0};
    size_t n_registry = 0;
    while (kn_method_list()[n_registry])
        n_registry++;
    for (size_t m = 0; m < n; m++)
        colours[m] = SIZE_MAX;
    for (size_t r = 0; r <= n_registry; r++) /* registry order; unknown names last */
        for (size_t m = 0; m < n; m++) {
            if (colours[m] != SIZE_MAX || registry_index(st[m].method) != r)
                continue;
            const size_t want = (r < n_registry ? r : m) % N;
            size_t k = 0;
            while (k < N && used[(want + k) % N])
                k++;
            const size_t pick = k < N ? (want + k) % N : want;
            used[pick] = 1;
            for (size_t v = m; v < n; v++)
                if (colours[v] == SIZE_MAX && same_method(st[v].method, st[m].method)) {
                    colours[v] = pick;
                    shared[v] = k == N;
                }
        }
}

static int write_plots(const kn_bench_options *o, const method_stats *st, size_t n_methods,
                       int cpt, kn_error *err)
{
    const char *exts[2] = {"png", "svg"};
    int T = st[0].T;
    double *x = malloc(sizeof(double) * (size_t)T);
    double *lo = malloc(sizeof(double) * (size_t)T * n_methods);
    double *hi = malloc(sizeof(double) * (size_t)T * n_methods);
    kn_plot_series *series = calloc(n_methods, sizeof *series);
    size_t *colours = calloc(n_methods, sizeof *colours);
    int *shared = calloc(n_methods, sizeof *shared);
    double *vals = malloc(sizeof(double) * n_methods);
    double *errs = malloc(sizeof(double) * n_methods);
    const char **labels = malloc(sizeof(char *) * n_methods);
    int rc = KN_OK;
    if (!x || !lo || !hi || !series || !colours || !shared || !vals || !errs || !labels) {
        rc = kn_fail(err, KN_ENOMEM, "out of memory");
        goto out;
    }
    method_colours(st, n_methods, colours, shared);
    for (int t = 0; t < T; t++)
        x[t] = (double)((t + 1) * cpt);
    for (size_t m = 0; m < n_methods; m++) {
        for (int t = 0; t < T; t++) {
            double sd = isfinite(st[m].curve_sd[t]) ? st[m].curve_sd[t] : 0;
            lo[m * T + t] = st[m].curve_mean[t] - sd;
            hi[m * T + t] = st[m].curve_mean[t] + sd;
        }
        /* A method with other settings ("bir:iters=188") is drawn dashed in its method's
         * colour; a method that shares its colour with another has open circles for dots. */
        const int variant = strchr(st[m].method, ':') != NULL;
        series[m] = (kn_plot_series){
            .label = st[m].method, .x = x, .y = st[m].curve_mean, .n = (size_t)T,
            .y_lo = lo + m * T, .y_hi = hi + m * T,
            .style = variant     ? KN_PLOT_DASHED
                     : shared[m] ? KN_PLOT_LINE_CIRCLES
                                 : KN_PLOT_LINE_POINTS};
        vals[m] = st[m].ml_mean;
        errs[m] = st[m].ml_sd;
        labels[m] = st[m].method;
    }
    /* The input in the title, so pixel and feature figures side by side are told apart. */
    const char *feat = o->features ? o->features : "pixels";
    const char *slash = strrchr(feat, '/');
    const char *input = !o->dataset                ? "features as given"
                        : strcmp(feat, "lenet") == 0 ? "LeNet5 features"
                        : slash                      ? slash + 1
                                                     : feat;
    char t_acc[200], t_ml[200];
    const char *set = o->dataset ? set_title(o) + (strncmp(set_title(o), "Split ", 6) ? 0 : 6)
                                 : "your data";
    snprintf(t_acc, sizeof t_acc, "%s, %.60s: accuracy over the classes trained so far", set,
             input);
    snprintf(t_ml, sizeof t_ml, "%s, %.60s: memory loss (mean ± sd over seeds)", set, input);
    for (int e = 0; e < 2 && !rc; e++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/accuracy_vs_classes.%s", o->out_dir, exts[e]);
        kn_plot_axes ax = {.title = t_acc,
                           .xlabel = "number of classes trained",
                           .ylabel = "accuracy (mean of per-task test accuracy)",
                           .xmin = cpt * 0.5, .xmax = T * cpt + cpt * 0.5, .ymin = 0,
                           .ymax = 1.02};
        rc = kn_plot_lines_coloured(path, &ax, series, colours, n_methods, err);
        if (rc)
            break;
        snprintf(path, sizeof path, "%s/memory_loss.%s", o->out_dir, exts[e]);
        kn_plot_axes bx = {.title = t_ml,
                           .xlabel = "method",
                           .ylabel = "memory loss (accuracy right after a task - final)"};
        rc = kn_plot_bars_coloured(path, &bx, labels, vals, errs, colours, n_methods, err);
        for (size_t m = 0; m < n_methods && !rc; m++) {
            char safe[256];
            bench_file_label(st[m].method, safe, sizeof safe);
            snprintf(path, sizeof path, "%s/accuracy_matrix_%s.%s", o->out_dir, safe, exts[e]);
            char title[128];
            snprintf(title, sizeof title, "%s: accuracy on task j after training task i",
                     st[m].method);
            kn_plot_axes hx = {.title = title, .xlabel = "task j (evaluated)",
                               .ylabel = "task i (trained up to)"};
            kn_heatmap hm = {.z = st[m].acc_mean, .rows = (size_t)T, .cols = (size_t)T,
                             .zmin = 0, .zmax = 1, .zlabel = "test accuracy", .annotate = 1,
                             .flip_y = 1, .one_based = 1};
            rc = kn_plot_heatmap(path, &hx, &hm, err);
        }
    }
out:
    free(x);
    free(lo);
    free(hi);
    free(series);
    free(colours);
    free(shared);
    free(vals);
    free(errs);
    free(labels);
    return rc;
}

int bench_write_reports(const kn_bench_options *o, const bench_run *runs, size_t n_runs,
                        const char *const *methods, size_t n_methods, const char *data_source,
                        const char *features_label, size_t n_train, size_t n_test,
                        int classes_per_task, const bench_job_info *job, kn_error *err)
{
    method_stats *st = calloc(n_methods, sizeof *st);
    if (!st)
        return kn_fail(err, KN_ENOMEM, "out of memory");
    int rc = KN_OK;
    size_t done = 0;
    for (; done < n_methods && !rc; done++)
        rc = stats_compute(methods[done], runs, n_runs, &st[done], err);
    if (!rc)
        rc = write_results_csv(o->out_dir, runs, n_runs, classes_per_task, err);
    if (!rc)
        rc = write_summary_json(o, st, n_methods, runs, n_runs, data_source, features_label,
                                n_train, n_test, classes_per_task, job, err);
    char *md = NULL;
    if (!rc)
        rc = write_report_md(o, st, n_methods, runs, n_runs, data_source, features_label,
                             n_train, n_test, classes_per_task, job, &md, err);
    if (!rc)
        rc = write_plots(o, st, n_methods, classes_per_task, err);
    /* The page inlines the SVGs just written: the two summaries, then one matrix per method. */
    char **svgs = rc ? NULL : calloc(n_methods + 2, sizeof *svgs);
    if (!rc && !svgs)
        rc = kn_fail(err, KN_ENOMEM, "out of memory");
    size_t n_svg = 0;
    if (!rc) {
        svgs[n_svg++] = strdup("accuracy_vs_classes.svg");
        svgs[n_svg++] = strdup("memory_loss.svg");
        for (size_t m = 0; m < n_methods; m++) {
            char safe[256], name[300];
            bench_file_label(st[m].method, safe, sizeof safe);
            snprintf(name, sizeof name, "accuracy_matrix_%s.svg", safe);
            svgs[n_svg++] = strdup(name);
        }
        for (size_t i = 0; i < n_svg && !rc; i++)
            if (!svgs[i])
                rc = kn_fail(err, KN_ENOMEM, "out of memory");
    }
    if (!rc)
        rc = bench_write_html(o->out_dir, md, (const char *const *)svgs, n_svg, err);
    for (size_t i = 0; svgs && i < n_svg; i++)
        free(svgs[i]);
    free(svgs);
    free(md);
    for (size_t m = 0; m < done; m++)
        stats_free(&st[m]);
    free(st);
    return rc;
}
