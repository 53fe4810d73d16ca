/* Does a loaded model fit the stream it is to continue on? A model file records its input
 * dimension, class count, last task and the classes it has seen; resuming on a stream whose first
 * tasks hold other classes (another --classes-per-task, another class order) would train classes
 * again and report memory loss, forgetting and BWT as NaN. This check says which part differs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kenyon/learner.h"
#include "kenyon/tasks.h"

/* "0-3,7" for the flags set in seen[0..n). */
static void class_set_text(const uint8_t *seen, int n, char *buf, size_t cap)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int c = 0; c < n && used + 1 < cap; c++) {
        if (!seen[c])
            continue;
        int e = c;
        while (e + 1 < n && seen[e + 1])
            e++;
        int w = e > c ? snprintf(buf + used, cap - used, "%s%d-%d", used ? "," : "", c, e)
                      : snprintf(buf + used, cap - used, "%s%d", used ? "," : "", c);
        if (w < 0 || (size_t)w >= cap - used) {
            snprintf(buf + (cap > 4 ? cap - 4 : 0), cap > 4 ? 4 : cap, "...");
            return;
        }
        used += (size_t)w;
        c = e;
    }
    if (!used)
        snprintf(buf, cap, "none");
}

int kn_learner_check_resume(const kn_learner *l, const char *name, const kn_task_stream *ts,
                            size_t d, int n_classes, kn_error *err)
{
    if (!name)
        name = "the model";
    if (l->info.d != d)
        return kn_fail(err, KN_EINVAL, "%s: the model expects %zu input features, the data have "
                       "%zu", name, l->info.d, d);
    if (l->info.n_classes != n_classes)
        return kn_fail(err, KN_EINVAL, "%s: the model was made for %d classes, the data have "
                       "%d", name, l->info.n_classes, n_classes);
    if (l->in_task)
        return kn_fail(err, KN_EINVAL, "%s: the model was saved in the middle of task %d", name,
                       l->task);
    int done = l->task + 1; /* tasks the model has learned */
    if (done > ts->n_tasks)
        return kn_fail(err, KN_EINVAL, "%s: the model has learned %d tasks, the stream has "
                       "only %d (different --classes-per-task?)", name, done, ts->n_tasks);
    int C = l->info.n_classes;
    uint8_t *want = calloc((size_t)C, 1);
    if (!want)
        return kn_fail(err, KN_ENOMEM, "out of memory");
    for (int t = 0; t < done; t++)
        for (int j = 0; j < ts->tasks[t].n_classes; j++) {
            int32_t c = ts->tasks[t].classes[j];
            if (c >= 0 && c < C)
                want[c] = 1;
        }
    int rc = 0;
    if (memcmp(want, l->seen, (size_t)C) != 0) {
        char has[160], exp[160];
        class_set_text(l->seen, C, has, sizeof has);
        class_set_text(want, C, exp, sizeof exp);
        int first = ts->n_tasks ? ts->tasks[0].n_classes : 0;
        rc = kn_fail(err, KN_EINVAL,
                     "%s: the model has learned %d task%s with classes %s, but the first %d "
                     "task%s of this stream hold classes %s (%d per task here): resume with the "
                     "--classes-per-task and class order the model was trained with",
                     name, done, done == 1 ? "" : "s", has, done, done == 1 ? "" : "s", exp,
                     first);
    }
    free(want);
    return rc;
}
