/* The generic half of the continual learner (kenyon/learner.h): resolving a method's
 * hyperparameters from its spec table and the caller's overrides, state checks around the
 * method's ops, argmax over allowed classes, and the common part of learner files (method name,
 * dimensions, seed, parameters, seen classes) so kn_learner_load can rebuild any method. */
#include "kenyon/learner.h"

#include <errno.h>
#include <float.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kenyon/argmax.h"
#include "kenyon/safetensors.h"

/* Files larger than this are not learner files (a 20000 x 20000 double matrix is 3.2 GB). */
#define KN_LEARNER_MAX_FILE ((size_t)8 << 30)

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

static const char *metavar(const kn_param_spec *p)
{
    switch (p->type) {
    case KN_PARAM_INT: return "N";
    case KN_PARAM_DOUBLE: return "X";
    case KN_PARAM_BOOL: return "0|1";
    case KN_PARAM_CHOICE: return p->choices ? p->choices : "S";
    }
    return "S";
}

void kn_method_print_params(const kn_method *m, FILE *out)
{
    fprintf(out, "options of method %s (%s):\n", m->name, m->summary ? m->summary : "");
    int any = 0;
    for (const kn_param_spec *p = m->params; p && p->name; p++) {
        char left[64], accepted[160];
        snprintf(left, sizeof left, "--%s %s", p->name, metavar(p));
        kn_param_describe(p, accepted, sizeof accepted);
        fprintf(out, "  %-24s %s (default %s; %s)\n", left, p->help ? p->help : "",
                p->default_value ? p->default_value : "none", accepted);
        any = 1;
    }
    if (!any)
        fprintf(out, "  (none)\n");
}

int kn_method_check(const kn_method *m, const kn_kv *overrides, size_t n_overrides,
                    kn_params *resolved, kn_error *err)
{
    kn_params local;
    kn_params *p = resolved ? resolved : &local;
    char owner[96];
    snprintf(owner, sizeof owner, "method %s", m->name);
    int rc = kn_params_resolve(p, m->params, owner, overrides, n_overrides, err);
    if (rc || !m->check)
        return rc;
    rc = m->check(p, err);
    if (rc && err) {
        char inner[KN_ERROR_MSG_MAX];
        snprintf(inner, sizeof inner, "%s", err->msg);
        rc = kn_fail(err, rc, "%s: %s", owner, inner);
    }
    return rc;
}

/* Allocates l with the resolved parameter list (defaults, then overrides). */
static int learner_alloc(const kn_method *m, const kn_learner_info *info, const kn_kv *overrides,
                         size_t n_overrides, kn_learner **out, kn_error *err)
{
    *out = NULL;
    if (!info || info->d == 0)
        return kn_fail(err, KN_EINVAL, "method %s: input dimension d must be positive", m->name);
    if (info->n_classes < 1)
        return kn_fail(err, KN_EINVAL, "method %s: number of classes must be positive (got %d)",
                       m->name, info->n_classes);
    kn_params resolved;
    int rc = kn_method_check(m, overrides, n_overrides, &resolved, err);
    if (rc)
        return rc;
    size_t np = resolved.n;
    kn_learner *l = calloc(1, sizeof *l);
    if (!l)
        return kn_fail(err, KN_ENOMEM, "out of memory creating learner %s", m->name);
    l->method = m;
    l->info = *info;
    l->task = -1;
    l->seen = calloc((size_t)info->n_classes, 1);
    l->params = np ? calloc(np, sizeof *l->params) : NULL;
    if (!l->seen || (np && !l->params)) {
        kn_learner_free(l);
        return kn_fail(err, KN_ENOMEM, "out of memory creating learner %s", m->name);
    }
    l->n_params = np;
    for (size_t i = 0; i < np; i++) {
        l->params[i].key = strdup(m->params[i].name);
        l->params[i].value = strdup(resolved.value[i]);
        if (!l->params[i].key || !l->params[i].value) {
            kn_learner_free(l);
            return kn_fail(err, KN_ENOMEM, "out of memory creating learner %s", m->name);
        }
    }
    *out = l;
    return 0;
}

int kn_learner_create(const char *method, const kn_learner_info *info, const kn_kv *overrides,
                      size_t n_overrides, kn_learner **out, kn_error *err)
{
    *out = NULL;
    const kn_method *m = method ? kn_method_find(method) : NULL;
    if (!m) {
        char names[1024];
        list_methods(names, sizeof names);
        return kn_fail(err, KN_EINVAL, "unknown method '%s' (methods: %s)",
                       method ? method : "(null)", names);
    }
    kn_learner *l;
    int rc = learner_alloc(m, info, overrides, n_overrides, &l, err);
    if (rc)
        return rc;
    rc = m->create(l, err);
    if (rc) {
        kn_learner_free(l);
        return rc;
    }
    if (!l->ops) {
        kn_learner_free(l);
        return kn_fail(err, KN_ESTATE, "method %s did not set its operations", m->name);
    }
    *out = l;
    return 0;
}

void kn_learner_free(kn_learner *l)
{
    if (!l)
        return;
    if (l->ops && l->ops->destroy)
        l->ops->destroy(l);
    for (size_t i = 0; i < l->n_params; i++) {
        free((char *)l->params[i].key);
        free((char *)l->params[i].value);
    }
    free(l->params);
    free(l->seen);
    free(l);
}

const char *kn_learner_param(const kn_learner *l, const char *name)
{
    for (size_t i = 0; i < l->n_params; i++)
        if (strcmp(l->params[i].key, name) == 0)
            return l->params[i].value;
    return NULL;
}

/* The learner's resolved texts seen as a kn_params over its method's table (no allocation). */
static void params_view(const kn_learner *l, kn_params *p)
{
    memset(p, 0, sizeof *p);
    p->table = l->method->params;
    p->n = l->n_params < KN_PARAMS_MAX ? l->n_params : KN_PARAMS_MAX;
    for (size_t i = 0; i < p->n; i++)
        p->value[i] = l->params[i].value;
}

/* Typed reads re-check the text against its row so that a message names the method. */
static int typed_read(const kn_learner *l, const char *name, kn_param_type type, kn_params *p,
                      kn_error *err)
{
    const kn_param_spec *row = kn_param_find(l->method->params, name);
    const char *v = kn_learner_param(l, name);
    if (!row || !v)
        return kn_fail(err, KN_EINVAL, "method %s: no parameter '%s'", l->method->name, name);
    if (row->type != type)
        return kn_fail(err, KN_EINVAL, "method %s: --%s read with the wrong type",
                       l->method->name, name);
    char owner[96];
    snprintf(owner, sizeof owner, "method %s", l->method->name);
    int rc = kn_param_check(row, owner, v, err);
    if (!rc)
        params_view(l, p);
    return rc;
}

int kn_learner_param_int(const kn_learner *l, const char *name, int *out, kn_error *err)
{
    kn_params p;
    int rc = typed_read(l, name, KN_PARAM_INT, &p, err);
    return rc ? rc : kn_params_int(&p, name, out, err);
}

int kn_learner_param_double(const kn_learner *l, const char *name, double *out, kn_error *err)
{
    kn_params p;
    int rc = typed_read(l, name, KN_PARAM_DOUBLE, &p, err);
    return rc ? rc : kn_params_double(&p, name, out, err);
}

int kn_learner_param_bool(const kn_learner *l, const char *name, int *out, kn_error *err)
{
    kn_params p;
    int rc = typed_read(l, name, KN_PARAM_BOOL, &p, err);
    return rc ? rc : kn_params_bool(&p, name, out, err);
}

int kn_learner_param_choice(const kn_learner *l, const char *name, int *out, kn_error *err)
{
    kn_params p;
    int rc = typed_read(l, name, KN_PARAM_CHOICE, &p, err);
    return rc ? rc : kn_params_choice(&p, name, out, err);
}

int kn_learner_begin_task(kn_learner *l, int task, const int32_t *classes, int n, kn_error *err)
{
    if (l->in_task)
        return kn_fail(err, KN_ESTATE, "begin_task(%d): task %d has not ended", task, l->task);
    if (task < 0 || task <= l->task)
        return kn_fail(err, KN_EINVAL, "begin_task: task index %d must exceed the last (%d)",
                       task, l->task);
    if (n < 1 || !classes)
        return kn_fail(err, KN_EINVAL, "begin_task(%d): a task needs at least one class", task);
    for (int i = 0; i < n; i++)
        if (classes[i] < 0 || classes[i] >= l->info.n_classes)
            return kn_fail(err, KN_EINVAL, "begin_task(%d): class %d outside [0, %d)", task,
                           (int)classes[i], l->info.n_classes);
    if (l->ops->begin_task) {
        int rc = l->ops->begin_task(l, task, classes, n, err);
        if (rc)
            return rc;
    }
    for (int i = 0; i < n; i++)
        l->seen[classes[i]] = 1;
    l->task = task;
    l->in_task = 1;
    return 0;
}

int kn_learner_observe(kn_learner *l, const float *x, const int32_t *y, size_t n, kn_error *err)
{
    if (!l->in_task)
        return kn_fail(err, KN_ESTATE, "observe: no task has begun (call begin_task first)");
    for (size_t i = 0; i < n; i++)
        if (y[i] < 0 || y[i] >= l->info.n_classes || !l->seen[y[i]])
            return kn_fail(err, KN_EINVAL,
                           "observe: sample %zu has label %d, not a class of the tasks so far", i,
                           (int)y[i]);
    if (n == 0)
        return 0;
    return l->ops->observe(l, x, y, n, err);
}

int kn_learner_end_task(kn_learner *l, kn_error *err)
{
    if (!l->in_task)
        return kn_fail(err, KN_ESTATE, "end_task: no task in progress");
    if (l->ops->end_task) {
        int rc = l->ops->end_task(l, err);
        if (rc)
            return rc;
    }
    l->in_task = 0;
    return 0;
}

int kn_learner_predict_scores(kn_learner *l, const float *x, size_t n, float *scores,
                              kn_error *err)
{
    if (n == 0)
        return 0;
    return l->ops->predict_scores(l, x, n, scores, err);
}

/* Scores are computed in chunks so the buffer stays small for large test sets. */
#define PREDICT_CHUNK 4096

int kn_learner_predict_labels(kn_learner *l, const float *x, size_t n, const uint8_t *allowed,
                              int32_t *labels, kn_error *err)
{
    int C = l->info.n_classes;
    int any = 0;
    for (int c = 0; c < C; c++)
        any |= allowed ? allowed[c] != 0 : 1;
    if (!any)
        return kn_fail(err, KN_EINVAL, "predict: no class is allowed");
    size_t chunk = n < PREDICT_CHUNK ? n : PREDICT_CHUNK;
    if (chunk == 0)
        return 0;
    float *scores = malloc(chunk * (size_t)C * sizeof *scores);
    if (!scores)
        return kn_fail(err, KN_ENOMEM, "predict: out of memory for %zu x %d scores", chunk, C);
    for (size_t s = 0; s < n; s += chunk) {
        size_t b = n - s < chunk ? n - s : chunk;
        int rc = l->ops->predict_scores(l, x + s * l->info.d, b, scores, err);
        if (rc) {
            free(scores);
            return rc;
        }
        for (size_t i = 0; i < b; i++) {
            labels[s + i] = kn_argmax_allowed(scores + i * (size_t)C, C, allowed);
        }
    }
    free(scores);
    return 0;
}

int kn_learner_save(const kn_learner *l, const char *path, kn_error *err)
{
    if (!l->ops->save)
        return kn_fail(err, KN_ESTATE, "method %s cannot be saved", l->method->name);
    if (l->in_task)
        return kn_fail(err, KN_ESTATE, "save: task %d is in progress; end it first", l->task);
    return l->ops->save(l, path, err);
}

int kn_learner_write_common(const kn_learner *l, struct kn_st_writer *w, kn_error *err)
{
    int rc = kn_st_writer_meta(w, "kenyon.method", l->method->name, err);
    if (!rc)
        rc = kn_st_writer_meta_fmt(w, "kenyon.d", err, "%zu", l->info.d);
    if (!rc)
        rc = kn_st_writer_meta_fmt(w, "kenyon.n_classes", err, "%d", l->info.n_classes);
    if (!rc)
        rc = kn_st_writer_meta_fmt(w, "kenyon.seed", err, "%" PRIu64, l->info.seed);
    if (!rc)
        rc = kn_st_writer_meta_fmt(w, "kenyon.task", err, "%d", l->task);
    for (size_t i = 0; !rc && i < l->n_params; i++) {
        if (l->method->params[i].flags & KN_PARAM_RUN_ONLY)
            continue; /* how a run is shown is not part of the model */
        char key[160];
        snprintf(key, sizeof key, "kenyon.param.%s", l->params[i].key);
        rc = kn_st_writer_meta(w, key, l->params[i].value, err);
    }
    size_t shape[1] = {(size_t)l->info.n_classes};
    if (!rc)
        rc = kn_st_writer_add(w, "kenyon.seen_classes", KN_ST_U8, 1, shape, l->seen, err);
    return rc;
}

int kn_learner_load(const char *path, kn_learner **out, kn_error *err)
{
    *out = NULL;
    /* The layout only: each method reads its tensors from the file straight into the learner,
     * so the model is held in memory once. */
    kn_st_file f;
    int rc = kn_st_open_limited(path, KN_LEARNER_MAX_FILE, &f, err);
    if (rc)
        return rc;
    kn_learner *l = NULL;
    kn_kv *ov = NULL;
    const char *name = kn_st_meta(&f, "kenyon.method");
    const kn_method *m = name ? kn_method_find(name) : NULL;
    if (!name) {
        rc = kn_fail(err, KN_EFORMAT, "%s: not a kenyon learner file (no kenyon.method metadata)",
                     path);
        goto done;
    }
    if (!m) {
        rc = kn_fail(err, KN_EFORMAT, "%s: unknown method '%s' in kenyon.method", path, name);
        goto done;
    }
    if (!m->load) {
        rc = kn_fail(err, KN_EFORMAT, "%s: method %s cannot be loaded", path, name);
        goto done;
    }
    uint64_t d, seed;
    int64_t nc, task;
    if ((rc = kn_st_meta_uint64(&f, "kenyon.d", &d, err)) ||
        (rc = kn_st_meta_int64(&f, "kenyon.n_classes", &nc, err)) ||
        (rc = kn_st_meta_uint64(&f, "kenyon.seed", &seed, err)) ||
        (rc = kn_st_meta_int64(&f, "kenyon.task", &task, err)))
        goto done;
    if (d == 0 || d > ((uint64_t)1 << 32) || nc < 1 || nc > (1 << 24) || task < -1 ||
        task > INT_MAX) {
        rc = kn_fail(err, KN_EFORMAT,
                     "%s: implausible kenyon.d=%" PRIu64 " / kenyon.n_classes=%" PRId64
                     " / kenyon.task=%" PRId64,
                     path, d, nc, task);
        goto done;
    }
    kn_learner_info info = {.d = (size_t)d, .n_classes = (int)nc, .seed = seed};
    /* Every parameter of the method must be in the file: a model never silently picks up
     * today's default for a value it was trained with. */
    size_t np = 0;
    ov = calloc(kn_param_count(m->params) + 1, sizeof *ov);
    if (!ov) {
        rc = kn_fail(err, KN_ENOMEM, "%s: out of memory", path);
        goto done;
    }
    for (const kn_param_spec *p = m->params; p && p->name; p++) {
        if (p->flags & KN_PARAM_RUN_ONLY)
            continue; /* not stored: the loaded learner takes the default */
        char key[160];
        snprintf(key, sizeof key, "kenyon.param.%s", p->name);
        const char *v = kn_st_meta(&f, key);
        if (!v) {
            rc = kn_fail(err, KN_EFORMAT, "%s: metadata %s is missing", path, key);
            goto done;
        }
        ov[np].key = p->name;
        ov[np].value = v;
        np++;
    }
    rc = learner_alloc(m, &info, ov, np, &l, err);
    if (rc) {
        char inner[KN_ERROR_MSG_MAX];
        snprintf(inner, sizeof inner, "%s", err ? err->msg : "");
        rc = kn_fail(err, KN_EFORMAT, "%s: %s", path, inner);
        goto done;
    }
    const kn_st_tensor *seen;
    size_t shape[1] = {(size_t)nc};
    if ((rc = kn_st_expect(&f, "kenyon.seen_classes", KN_ST_U8, 1, shape, &seen, err)))
        goto done;
    if ((rc = kn_st_tensor_read(&f, seen, l->seen, err)))
        goto done;
    for (int c = 0; c < (int)nc; c++) {
        if (l->seen[c] > 1) {
            rc = kn_fail(err, KN_EFORMAT, "%s: kenyon.seen_classes[%d] = %u is not 0 or 1", path,
                         c, l->seen[c]);
            goto done;
        }
    }
    l->task = (int)task;
    rc = m->load(l, &f, err);
    if (!rc && !l->ops)
        rc = kn_fail(err, KN_ESTATE, "method %s did not set its operations", m->name);
    if (!rc) {
        *out = l;
        l = NULL;
    }
done:
    free(ov);
    kn_learner_free(l);
    kn_st_free(&f);
    return rc;
}

void kn_learner_task_note(const kn_learner *l, char *buf, size_t cap)
{
    if (!cap)
        return;
    buf[0] = '\0';
    if (l && l->ops && l->ops->task_note && l->impl)
        l->ops->task_note(l, buf, cap);
}
