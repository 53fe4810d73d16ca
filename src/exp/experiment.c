/* The experiment layer (kenyon/experiment.h): the spec's defaults, its check (no data, no
 * learner, no allocation), and the one function that runs a spec: load the data, cut the stream
 * into tasks, build or resume the learner, run the class-incremental protocol, write the
 * outputs. Every entry point (kenyon run, kenyon bench, the Python package) goes through here,
 * so a run is assembled one way only. */
#include "kenyon/experiment.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exp/exp_internal.h"
#include "kenyon/data_load.h"
#include "kenyon/progress.h"
#include "kenyon/tasks.h"

/* Far beyond any real class count; keeps a class order's check cheap and its values sane. */
#define MAX_CLASSES (1 << 24)

void kn_experiment_spec_default(kn_experiment_spec *s)
{
    memset(s, 0, sizeof *s);
    s->source = KN_SOURCE_NAMED;
    s->dataset = "mnist20";
    s->features = "pixels";
    s->balance = 1;
    s->classes_per_task = 2;
    s->batch = 64;
    s->shuffle = 1;
    s->seed = 1;
    s->method = "fly";
}

static int is_dataset_name(const char *name)
{
    for (const char *const *n = kn_dataset_names; *n; n++)
        if (strcmp(*n, name) == 0)
            return 1;
    return 0;
}

static void list_methods(char *buf, size_t cap)
{
    size_t used = 0;
    buf[0] = '\0';
    for (const kn_method *const *m = kn_method_list(); *m; m++) {
        int w = snprintf(buf + used, cap - used, "%s%s", used ? ", " : "", (*m)->name);
        if (w < 0 || (size_t)w >= cap - used)
            break;
        used += (size_t)w;
    }
}

static int check_features(const kn_experiment_spec *s, kn_error *err)
{
    const char *f = s->features ? s->features : "pixels";
    if (s->source != KN_SOURCE_NAMED) {
        if (strcmp(f, "pixels") != 0)
            return kn_fail(err, KN_EINVAL,
                           "--features applies to named data sets; give user data as feature "
                           "files with --train-x/--test-x instead");
        return KN_OK;
    }
    if (strcmp(f, "pixels") == 0)
        return KN_OK;
    if (strcmp(f, "lenet") == 0) {
        if (!s->lenet)
            return kn_fail(err, KN_EINVAL, "--features lenet: this program has no LeNet5 "
                                           "feature extractor (spec.lenet is NULL)");
        return KN_OK;
    }
    const char *dot = strrchr(f, '.');
    if (!(dot && strcmp(dot, ".npy") == 0))
        return kn_fail(err, KN_EINVAL, "--features: '%s' is not pixels, lenet or a .npy file", f);
    return KN_OK;
}

static int check_source(const kn_experiment_spec *s, kn_error *err)
{
    const int any_file = s->train_x || s->train_y || s->test_x || s->test_y;
    switch (s->source) {
    case KN_SOURCE_NAMED:
        if (any_file)
            return kn_fail(err, KN_EINVAL, "--train-x/--train-y/--test-x/--test-y are user "
                                           "data; the source is a named data set");
        if (!s->dataset || !is_dataset_name(s->dataset))
            return kn_fail(err, KN_EINVAL,
                           "--dataset: '%s' is not a named data set (mnist20, mnist, fashion, "
                           "cifar100)",
                           s->dataset ? s->dataset : "(none)");
        break;
    case KN_SOURCE_FILES:
        if (!(s->train_x && s->train_y && s->test_x && s->test_y))
            return kn_fail(err, KN_EINVAL, "user data need all of --train-x, --train-y, "
                                           "--test-x, --test-y");
        break;
    case KN_SOURCE_ARRAYS:
        if (!s->arrays)
            return kn_fail(err, KN_EINVAL, "source: arrays in memory, but arrays is NULL");
        if (any_file)
            return kn_fail(err, KN_EINVAL, "--train-x/--train-y/--test-x/--test-y are user "
                                           "data; the source is arrays in memory");
        if (s->train_per_class || s->test_per_class)
            return kn_fail(err, KN_EINVAL, "train_per_class/test_per_class do not apply to "
                                           "arrays in memory (they are used as given)");
        break;
    default:
        return kn_fail(err, KN_EINVAL, "source: %d is not a data source", (int)s->source);
    }
    return check_features(s, err);
}

static int check_protocol(const kn_experiment_spec *s, kn_error *err)
{
    if (s->classes_per_task < 1)
        return kn_fail(err, KN_EINVAL, "--classes-per-task: %d must be at least 1",
                       s->classes_per_task);
    if (s->batch < 1)
        return kn_fail(err, KN_EINVAL, "--batch: %zu must be at least 1", s->batch);
    if (s->class_order) {
        if (s->n_class_order < 1 || s->n_class_order > MAX_CLASSES)
            return kn_fail(err, KN_EINVAL, "class order: %zu classes (must be 1 to %d)",
                           s->n_class_order, MAX_CLASSES);
        /* A permutation of 0..n-1: every value in range and none twice (O(n^2) would be slow
         * for many classes, but a bit set would allocate; n is small in practice, and the
         * quadratic scan stops at the first repeat). */
        for (size_t i = 0; i < s->n_class_order; i++) {
            if (s->class_order[i] < 0 || (size_t)s->class_order[i] >= s->n_class_order)
                return kn_fail(err, KN_EINVAL, "class order: entry %zu is %d, not a class in "
                                               "[0, %zu)",
                               i, (int)s->class_order[i], s->n_class_order);
            for (size_t j = 0; j < i; j++)
                if (s->class_order[j] == s->class_order[i])
                    return kn_fail(err, KN_EINVAL, "class order: class %d is listed twice",
                                   (int)s->class_order[i]);
        }
    } else if (s->n_class_order) {
        return kn_fail(err, KN_EINVAL, "class order: n_class_order is %zu but class_order is "
                                       "NULL", s->n_class_order);
    }
    return KN_OK;
}

int kn_experiment_params(const kn_experiment_spec *s, kn_params *out, kn_error *err)
{
    const kn_method *m = s->method ? kn_method_find(s->method) : NULL;
    if (!m) {
        char names[512];
        list_methods(names, sizeof names);
        return kn_fail(err, KN_EINVAL, "--method: unknown method '%s' (methods: %s)",
                       s->method ? s->method : "(none)", names);
    }
    if (s->n_params && !s->params)
        return kn_fail(err, KN_EINVAL, "method %s: n_params is %zu but params is NULL", m->name,
                       s->n_params);
    return kn_method_check(m, s->params, s->n_params, out, err);
}

static int check_method(const kn_experiment_spec *s, kn_error *err)
{
    if (s->load_model) {
        if (s->n_params)
            return kn_fail(err, KN_EINVAL, "method options cannot be changed when resuming "
                                           "with --load (they come from the model file)");
        return KN_OK;
    }
    kn_params p;
    return kn_experiment_params(s, &p, err);
}

const char *kn_experiment_check(const kn_experiment_spec *s, kn_error *err)
{
    static _Thread_local kn_error fallback;
    kn_error *e = err ? err : &fallback;
    kn_error_clear(e);
    if (!s) {
        kn_fail(e, KN_EINVAL, "no experiment spec");
        return e->msg;
    }
    if (check_source(s, e) || check_protocol(s, e) || check_method(s, e))
        return e->msg;
    return NULL;
}

int kn_experiment_n_classes(const kn_split *sp)
{
    return sp->train.n_classes > sp->test.n_classes ? sp->train.n_classes : sp->test.n_classes;
}

int kn_experiment_load_data(const kn_experiment_spec *s, const kn_experiment_callbacks *cb,
                            kn_split *out, char *label, size_t label_size, kn_error *err)
{
    memset(out, 0, sizeof *out);
    if (kn_experiment_check(s, err))
        return err ? err->code : KN_EINVAL;
    FILE *log = kn_exp_log_open(cb);
    int rc = kn_exp_load(s, log, out, label, label_size, err);
    if (log)
        fclose(log);
    return rc;
}

void kn_experiment_result_free(kn_experiment_result *res)
{
    if (!res)
        return;
    kn_run_result_free(&res->run);
    memset(res, 0, sizeof *res);
}

/* The after-task hook: the accuracy over the tasks so far, to the caller's on_task. */
typedef struct task_hook {
    const kn_experiment_callbacks *cb;
    const kn_run_result *res;
    int n_tasks;
} task_hook;

static int after_task(void *ctx, kn_learner *l, int task, kn_error *err)
{
    (void)l;
    task_hook *h = ctx;
    double sum = 0;
    for (int j = 0; j <= task; j++)
        sum += h->res->acc[(size_t)task * (size_t)h->n_tasks + (size_t)j];
    if (h->cb->on_task(h->cb->ctx, task, h->n_tasks, sum / (task + 1)))
        return kn_fail(err, KN_ESTATE, "stopped by the caller after task %d", task);
    return 0;
}

/* Builds the learner, or resumes it from the model file (checked against the data). */
static int make_learner(const kn_experiment_spec *s, const kn_learner_info *info,
                        const kn_task_stream *ts, size_t n_train, FILE *log, kn_learner **out,
                        kn_error *err)
{
    if (!s->load_model) {
        /* Refuse a learner that would not fit in memory before allocating any of it. */
        int rc = kn_learner_check_memory(s->method, info, s->params, s->n_params, n_train, err);
        return rc ? rc : kn_learner_create(s->method, info, s->params, s->n_params, out, err);
    }
    kn_learner *l = NULL;
    int rc = kn_learner_load(s->load_model, &l, err);
    if (!rc)
        rc = kn_learner_check_resume(l, s->load_model, ts, info->d, info->n_classes, err);
    if (!rc && log && s->method && strcmp(l->method->name, s->method) != 0)
        fprintf(log, "note: %s holds method %s (not %s); using it\n", s->load_model,
                l->method->name, s->method);
    if (rc) {
        kn_learner_free(l);
        l = NULL;
    }
    *out = l;
    return rc;
}

static void log_header(FILE *log, const kn_experiment_spec *s, const kn_learner *l,
                       const kn_split *sp, int n_classes, int n_tasks, double load_seconds,
                       const char *features_label)
{
    const char *what = s->source == KN_SOURCE_NAMED  ? s->dataset
                       : s->source == KN_SOURCE_FILES ? "user data"
                                                      : "arrays in memory";
    fprintf(log,
            "run: method %s, %s (%zu train / %zu test samples, %zu features, %d classes, %d "
            "tasks), seed %" PRIu64 ", data loaded in %.2f s\n",
            l->method->name, what, sp->train.n, sp->test.n, sp->train.d, n_classes, n_tasks,
            s->seed, load_seconds);
    fprintf(log, "features: %s\n", features_label);
    fprintf(log, "parameters:");
    for (size_t i = 0; i < l->n_params; i++)
        fprintf(log, " %s=%s", l->params[i].key, l->params[i].value);
    fprintf(log, "\n");
    fflush(log);
}

int kn_experiment_run(const kn_experiment_spec *s, const kn_experiment_callbacks *cb,
                      kn_experiment_result *res, kn_error *err)
{
    memset(res, 0, sizeof *res);
    if (kn_experiment_check(s, err))
        return err ? err->code : KN_EINVAL;
    const double t0 = kn_seconds();
    FILE *log = kn_exp_log_open(cb);
    kn_split loaded;
    memset(&loaded, 0, sizeof loaded);
    kn_task_stream ts;
    memset(&ts, 0, sizeof ts);
    kn_learner *l = NULL;
    const kn_split *sp = s->arrays;
    int rc = 0;
    if (s->source != KN_SOURCE_ARRAYS) {
        rc = kn_exp_load(s, log, &loaded, res->features_label, sizeof res->features_label, err);
        sp = &loaded;
    } else {
        snprintf(res->features_label, sizeof res->features_label, "as given");
    }
    if (rc)
        goto out;
    res->load_seconds = kn_seconds() - t0;
    const int n_classes = kn_experiment_n_classes(sp);
    if (s->class_order && s->n_class_order != (size_t)n_classes) {
        rc = kn_fail(err, KN_EINVAL, "class order: %zu classes given, the data have %d",
                     s->n_class_order, n_classes);
        goto out;
    }
    rc = kn_task_stream_build(sp, s->classes_per_task, s->class_order, &ts, err);
    if (rc)
        goto out;
    if (sp == &loaded) /* our own copy (never the caller's arrays): task order, in place */
        (void)kn_task_stream_group_test(&loaded.test, &ts);
    kn_learner_info info = {.d = sp->train.d, .n_classes = n_classes, .seed = s->seed};
    rc = make_learner(s, &info, &ts, sp->train.n, log, &l, err);
    if (!rc && cb && cb->on_learner)
        rc = cb->on_learner(cb->ctx, l, err);
    if (rc)
        goto out;
    if (log)
        log_header(log, s, l, sp, n_classes, ts.n_tasks, res->load_seconds, res->features_label);
    kn_protocol_options po;
    kn_protocol_options_default(&po);
    po.batch = s->batch;
    po.shuffle = s->shuffle;
    po.seed = s->seed;
    po.log = log;
    task_hook hook = {cb, &res->run, ts.n_tasks};
    if (cb && cb->on_task) {
        po.after_task = after_task;
        po.after_task_ctx = &hook;
    }
    if (cb && cb->before_train)
        cb->before_train(cb->ctx);
    rc = kn_protocol_run(l, sp, &ts, &po, &res->run, err);
    if (rc)
        goto out;
    res->wall_seconds = kn_seconds() - t0;
    snprintf(res->method, sizeof res->method, "%s", l->method->name);
    snprintf(res->data_source, sizeof res->data_source, "%.400s; features: %.600s",
             s->source == KN_SOURCE_ARRAYS && s->arrays_label ? s->arrays_label
                                                               : sp->train.source,
             res->features_label);
    res->n_train = sp->train.n;
    res->n_test = sp->test.n;
    res->d = sp->train.d;
    res->n_classes = n_classes;
    res->n_tasks = ts.n_tasks;
    kn_run_info ri = {.method = l->method->name,
                      .dataset = s->source == KN_SOURCE_NAMED  ? s->dataset
                                 : s->source == KN_SOURCE_FILES ? "user"
                                                                : "arrays",
                      .data_source = res->data_source,
                      .seed = s->seed,
                      .learner = l,
                      .stream = &ts,
                      .batch = s->batch,
                      .shuffle = s->shuffle,
                      .load_seconds = res->load_seconds};
    /* The results files and the model as one set: all of them appear, or none does. */
    if (s->out_dir || s->save_model)
        rc = kn_run_outputs_write(s->out_dir, s->save_model, &ri, &res->run, l, err);
out:
    if (rc)
        kn_experiment_result_free(res);
    kn_learner_free(l);
    kn_task_stream_free(&ts);
    kn_split_free(&loaded);
    if (log)
        fclose(log);
    return rc;
}
