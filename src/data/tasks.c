/* Class-incremental task streams over a train/test split, the per-pass sample order of a task,
 * and row gathering; see kenyon/tasks.h. */
#include "kenyon/tasks.h"

#include <stdlib.h>
#include <string.h>

#include "kenyon/fileio.h"

void kn_task_stream_free(kn_task_stream *ts)
{
    if (!ts)
        return;
    for (int i = 0; i < ts->n_tasks && ts->tasks; i++) {
        free(ts->tasks[i].classes);
        free(ts->tasks[i].train_idx);
        free(ts->tasks[i].test_idx);
    }
    free(ts->tasks);
    ts->tasks = NULL;
    ts->n_tasks = 0;
}

/* Indices of rows of ds whose label maps to task `task` in task_of_class, file order. */
static int collect_rows(const kn_dataset *ds, const int *task_of_class, int n_classes, int task,
                        size_t **idx_out, size_t *n_out, const char *part, kn_error *err)
{
    size_t n = 0;
    for (size_t i = 0; i < ds->n; i++) {
        int32_t c = ds->y[i];
        if (c < 0 || c >= n_classes)
            return kn_fail(err, KN_EINVAL, "%s sample %zu has label %d outside 0..%d", part, i,
                           (int)c, n_classes - 1);
        if (task_of_class[c] == task)
            n++;
    }
    size_t *idx = malloc((n ? n : 1) * sizeof *idx);
    if (!idx)
        return kn_fail(err, KN_ENOMEM, "out of memory for task %d %s indices", task, part);
    size_t k = 0;
    for (size_t i = 0; i < ds->n; i++)
        if (task_of_class[ds->y[i]] == task)
            idx[k++] = i;
    *idx_out = idx;
    *n_out = n;
    return KN_OK;
}

int kn_task_stream_build(const kn_split *sp, int classes_per_task, const int32_t *class_order,
                         kn_task_stream *out, kn_error *err)
{
    memset(out, 0, sizeof *out);
    if (!sp)
        return kn_fail(err, KN_EINVAL, "task stream: no data");
    int C = sp->train.n_classes > sp->test.n_classes ? sp->train.n_classes : sp->test.n_classes;
    if (C <= 0)
        return kn_fail(err, KN_EINVAL, "task stream: the data set has no classes");
    if (classes_per_task < 1 || classes_per_task > C)
        return kn_fail(err, KN_EINVAL, "classes per task must be in 1..%d, got %d", C,
                       classes_per_task);
    int *task_of_class = malloc((size_t)C * sizeof *task_of_class);
    if (!task_of_class)
        return kn_fail(err, KN_ENOMEM, "out of memory for %d classes", C);
    for (int c = 0; c < C; c++)
        task_of_class[c] = -1;
    int rc = KN_OK;
    /* Position p of the order goes to task p / classes_per_task. */
    for (int p = 0; p < C; p++) {
        int32_t c = class_order ? class_order[p] : p;
        if (c < 0 || c >= C) {
            rc = kn_fail(err, KN_EINVAL, "class order entry %d is %d, outside 0..%d", p, (int)c,
                         C - 1);
            goto done;
        }
        if (task_of_class[c] != -1) {
            rc = kn_fail(err, KN_EINVAL, "class order lists class %d twice (entry %d)", (int)c, p);
            goto done;
        }
        task_of_class[c] = p / classes_per_task;
    }
    int n_tasks = (C + classes_per_task - 1) / classes_per_task;
    out->tasks = calloc((size_t)n_tasks, sizeof *out->tasks);
    if (!out->tasks) {
        rc = kn_fail(err, KN_ENOMEM, "out of memory for %d tasks", n_tasks);
        goto done;
    }
    out->n_tasks = n_tasks;
    for (int t = 0; t < n_tasks; t++) {
        kn_task *task = &out->tasks[t];
        task->index = t;
        int first = t * classes_per_task;
        int k = C - first < classes_per_task ? C - first : classes_per_task;
        task->classes = malloc((size_t)k * sizeof *task->classes);
        if (!task->classes) {
            rc = kn_fail(err, KN_ENOMEM, "out of memory for task %d", t);
            goto done;
        }
        task->n_classes = k;
        for (int j = 0; j < k; j++)
            task->classes[j] = class_order ? class_order[first + j] : first + j;
        rc = collect_rows(&sp->train, task_of_class, C, t, &task->train_idx, &task->n_train,
                          "training", err);
        if (rc)
            goto done;
        rc = collect_rows(&sp->test, task_of_class, C, t, &task->test_idx, &task->n_test, "test",
                          err);
        if (rc)
            goto done;
    }
    /* A test label that never appears in training cannot be learned: say which, and where. */
    for (int c = 0; c < C; c++)
        task_of_class[c] = 0; /* reused: 1 when the class occurs in training */
    for (size_t r = 0; r < sp->train.n; r++)
        if (sp->train.y[r] >= 0 && sp->train.y[r] < C)
            task_of_class[sp->train.y[r]] = 1;
    for (size_t i = 0; !rc && i < sp->test.n; i++) {
        int32_t c = sp->test.y[i];
        if (c >= 0 && c < C && !task_of_class[c])
            rc = kn_fail(err, KN_EINVAL, "class %d: test label %d (test sample %zu) never occurs "
                         "in the training labels (%s)", (int)c, (int)c, i + 1, sp->test.source);
    }
    if (rc)
        goto done;
    /* A class that never appears in training cannot be learned: say which. */
    for (int t = 0; t < n_tasks; t++) {
        const kn_task *task = &out->tasks[t];
        for (int j = 0; j < task->n_classes; j++) {
            size_t m = 0;
            for (size_t i = 0; i < task->n_train && !m; i++)
                m += sp->train.y[task->train_idx[i]] == task->classes[j];
            if (!m) {
                size_t in_test = 0;
                for (size_t i = 0; i < sp->test.n; i++)
                    in_test += sp->test.y[i] == task->classes[j];
                rc = kn_fail(err, KN_EINVAL,
                             "class %d (task %d) has no training samples: it is in %zu test "
                             "samples but never in the training labels (%s)%s",
                             (int)task->classes[j], t, in_test, sp->train.source,
                             in_test ? "" : "; labels must be 0..C-1 without gaps");
                goto done;
            }
        }
    }
done:
    free(task_of_class);
    if (rc)
        kn_task_stream_free(out);
    return rc;
}

int kn_class_order_permuted(int n_classes, uint64_t seed, int32_t *order, kn_error *err)
{
    if (n_classes <= 0)
        return kn_fail(err, KN_EINVAL, "class order: number of classes must be positive, got %d",
                       n_classes);
    uint32_t *perm = malloc((size_t)n_classes * sizeof *perm);
    if (!perm)
        return kn_fail(err, KN_ENOMEM, "out of memory for class order");
    kn_rng rng;
    kn_rng_stream(&rng, seed, 0);
    kn_rng_permutation(&rng, perm, (size_t)n_classes);
    for (int i = 0; i < n_classes; i++)
        order[i] = (int32_t)perm[i];
    free(perm);
    return KN_OK;
}

int kn_task_train_order(const kn_task *t, int shuffle, kn_rng *rng, size_t *order_out,
                        kn_error *err)
{
    if (t->n_train)
        memcpy(order_out, t->train_idx, t->n_train * sizeof *order_out);
    if (shuffle) {
        if (!rng)
            return kn_fail(err, KN_EINVAL, "task %d: shuffling needs a random generator",
                           t->index);
        kn_rng_shuffle(rng, order_out, t->n_train, sizeof *order_out);
    }
    return KN_OK;
}

void kn_dataset_gather(const kn_dataset *ds, const size_t *idx, size_t n, float *x, int32_t *y)
{
    for (size_t i = 0; i < n; i++) {
        if (x)
            memcpy(x + i * ds->d, ds->x + idx[i] * ds->d, ds->d * sizeof *x);
        if (y)
            y[i] = ds->y[idx[i]];
    }
}

int kn_dataset_subset(const kn_dataset *ds, const size_t *idx, size_t n, kn_dataset *out,
                      kn_error *err)
{
    for (size_t i = 0; i < n; i++)
        if (idx[i] >= ds->n)
            return kn_fail(err, KN_EINVAL, "subset index %zu is %zu, beyond %zu rows", i, idx[i],
                           ds->n);
    int rc = kn_dataset_alloc(out, n, ds->d, ds->n_classes, err);
    if (rc)
        return rc;
    kn_dataset_gather(ds, idx, n, out->x, out->y);
    out->channels = ds->channels;
    out->height = ds->height;
    out->width = ds->width;
    memcpy(out->source, ds->source, sizeof out->source);
    return KN_OK;
}
