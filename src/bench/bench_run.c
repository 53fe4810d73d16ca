/* The benchmark's main loop: every method x seed through the experiment layer
 * (kenyon/experiment.h) on data loaded once, with the cache, a progress display and a line per
 * finished run; then the reports. Every item is checked through the methods' typed parameter
 * tables before anything runs (no trial learner is built). */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/bench_internal.h"
#include "kenyon/datasets.h"
#include "kenyon/experiment.h"
#include "kenyon/features.h"
#include "kenyon/fileio.h"
#include "kenyon/params.h"
#include "kenyon/progress.h"
#include "kenyon/tasks.h"

#define MAX_LIST 64

void kn_bench_options_default(kn_bench_options *o)
{
    memset(o, 0, sizeof *o);
    o->features = "pixels";
    o->methods = KN_BENCH_DEFAULT_METHODS;
    o->seeds = NULL;
    o->out_dir = "runs/mnist20";
    /* 96 per class: a task of 2 classes is exactly 3 batches of 64, so no step is spent on a
     * short last batch (GEM pays the full memory gradients for every step, even of 8 samples). */
    o->quick_train_per_class = 96;
    o->quick_test_per_class = 50;
    o->classes_per_task = 2;
    o->batch = 64;
}

/* Splits a comma list into at most max owned copies. */
static int split_list(const char *what, const char *text, char **items, size_t max, size_t *n,
                      kn_error *err)
{
    *n = 0;
    const char *p = text;
    while (*p) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == 0)
            return kn_fail(err, KN_EINVAL, "--%s: empty item in '%s'", what, text);
        if (*n == max)
            return kn_fail(err, KN_EINVAL, "--%s: more than %zu items", what, max);
        items[*n] = strndup(p, len);
        if (!items[*n])
            return kn_fail(err, KN_ENOMEM, "out of memory");
        (*n)++;
        p += len + (end ? 1 : 0);
        if (end && !*p)
            return kn_fail(err, KN_EINVAL, "--%s: trailing comma in '%s'", what, text);
    }
    if (*n == 0)
        return kn_fail(err, KN_EINVAL, "--%s: empty list", what);
    return KN_OK;
}

static void free_list(char **items, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(items[i]);
}

static int parse_seeds(char **items, size_t n, uint64_t *seeds, kn_error *err)
{
    for (size_t i = 0; i < n; i++) {
        uint64_t v;
        kn_num_status st = kn_parse_u64(items[i], &v);
        if (st != KN_NUM_OK)
            return kn_fail(err, KN_EINVAL, "--seeds: '%s' is %s", items[i],
                           st == KN_NUM_RANGE ? "out of range (a non-negative integer below 2^64)"
                                              : "not a non-negative integer");
        seeds[i] = v;
        for (size_t j = 0; j < i; j++)
            if (seeds[j] == v)
                return kn_fail(err, KN_EINVAL, "--seeds: %" PRIu64 " is listed twice", v);
    }
    return KN_OK;
}

/* A --methods item: a method name, optionally followed by ":key=value" settings of that method
 * ("bir:iters=188"); the whole item is the row's label. */
#define MAX_SETTINGS 8
typedef struct method_item {
    char *name;                 /* owned copy of the base name */
    char *settings;             /* owned copy of the text after the first ':' (split in place) */
    kn_kv kv[MAX_SETTINGS];
    size_t n_kv;
} method_item;

static int parse_method_item(const char *item, method_item *m, kn_error *err)
{
    memset(m, 0, sizeof *m);
    const char *colon = strchr(item, ':');
    m->name = strndup(item, colon ? (size_t)(colon - item) : strlen(item));
    m->settings = strdup(colon ? colon + 1 : "");
    if (!m->name || !m->settings)
        return kn_fail(err, KN_ENOMEM, "out of memory");
    if (!colon)
        return KN_OK;
    char *p = m->settings;
    for (;;) {
        char *next = strchr(p, ':');
        if (next)
            *next = '\0';
        char *eq = strchr(p, '=');
        if (!eq || eq == p || !eq[1])
            return kn_fail(err, KN_EINVAL, "--methods: '%s': setting '%s' is not key=value",
                           item, p);
        if (m->n_kv == MAX_SETTINGS)
            return kn_fail(err, KN_EINVAL, "--methods: '%s': more than %d settings", item,
                           MAX_SETTINGS);
        *eq = '\0';
        m->kv[m->n_kv].key = p;
        m->kv[m->n_kv].value = eq + 1;
        m->n_kv++;
        if (!next)
            break;
        p = next + 1;
    }
    return KN_OK;
}

static void free_method_items(method_item *m, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(m[i].name);
        free(m[i].settings);
    }
}

/* The methods the comparison knows of; a known one missing from the registry is skipped with a
 * note (it is being built), an unknown one is an error. */
static int is_planned_method(const char *name)
{
    static const char *const planned[] = {"fly", "fly-ridge", "v1",  "v2",  "v3",
                                          "vanilla", "offline", "ewc", "gem", "bir", NULL};
    for (const char *const *p = planned; *p; p++)
        if (strcmp(*p, name) == 0)
            return 1;
    return 0;
}

typedef struct progress_ctx {
    kn_progress *bar;
    size_t done_before;
    const char *method;
    uint64_t seed;
    int n_tasks;
} progress_ctx;

static int on_task(void *ctx, int task, int n_tasks, double accuracy)
{
    (void)n_tasks;
    (void)accuracy;
    progress_ctx *p = ctx;
    char detail[128];
    snprintf(detail, sizeof detail, "%s seed %" PRIu64 " task %d/%d", p->method, p->seed,
             task + 1, p->n_tasks);
    kn_progress_update(p->bar, p->done_before + (size_t)task + 1, detail);
    return 0;
}

int kn_bench_run_split(const kn_bench_options *o, const kn_split *sp, const char *data_source,
                       const char *features_label, kn_error *err)
{
    char *method_items[MAX_LIST], *seed_items[MAX_LIST];
    size_t n_methods_req = 0, n_seeds = 0;
    uint64_t seeds[MAX_LIST];
    const char *methods[MAX_LIST];  /* row labels: the --methods items */
    method_item parsed[MAX_LIST];
    const method_item *chosen[MAX_LIST];
    size_t n_methods = 0, n_parsed = 0;
    bench_run *runs = NULL;
    size_t n_runs = 0;
    kn_task_stream ts;
    memset(&ts, 0, sizeof ts);
    const char *seed_text = o->seeds ? o->seeds : o->quick ? KN_BENCH_QUICK_SEEDS
                                                           : KN_BENCH_DEFAULT_SEEDS;
    int rc = split_list("methods", o->methods, method_items, MAX_LIST, &n_methods_req, err);
    if (rc)
        goto out_methods;
    rc = split_list("seeds", seed_text, seed_items, MAX_LIST, &n_seeds, err);
    if (rc)
        goto out_seeds;
    rc = parse_seeds(seed_items, n_seeds, seeds, err);
    if (rc)
        goto out_seeds;
    for (size_t i = 0; i < n_methods_req; i++) {
        for (size_t j = 0; j < i; j++)
            if (strcmp(method_items[i], method_items[j]) == 0) {
                rc = kn_fail(err, KN_EINVAL, "--methods: %s is listed twice", method_items[i]);
                goto out_seeds;
            }
        method_item *mi = &parsed[n_parsed++];
        rc = parse_method_item(method_items[i], mi, err);
        if (rc)
            goto out_seeds;
        if (kn_method_find(mi->name)) {
            chosen[n_methods] = mi;
            methods[n_methods++] = method_items[i];
        } else if (is_planned_method(mi->name)) {
            if (o->log && sp)
                fprintf(o->log, "note: method %s is not built into this kenyon yet; skipped\n",
                        mi->name);
        } else {
            rc = kn_fail(err, KN_EINVAL, "--methods: unknown method '%s' (kenyon run --help "
                                         "lists them)", mi->name);
            goto out_seeds;
        }
    }
    if (n_methods == 0) {
        rc = kn_fail(err, KN_EINVAL, "--methods: none of the requested methods is available");
        goto out_seeds;
    }
    /* Every method's settings are checked before anything runs, so a typo in the last item
     * does not cost the runs before it. */
    kn_experiment_spec base;
    kn_experiment_spec_default(&base);
    base.source = sp ? KN_SOURCE_ARRAYS : KN_SOURCE_NAMED; /* NULL: check only */
    base.arrays = sp;
    base.arrays_label = data_source;
    base.features = "pixels"; /* already applied to sp */
    base.classes_per_task = o->classes_per_task;
    base.batch = o->batch;
    for (size_t mi = 0; mi < n_methods; mi++) {
        kn_experiment_spec s = base;
        s.method = chosen[mi]->name;
        s.params = chosen[mi]->kv;
        s.n_params = chosen[mi]->n_kv;
        if (kn_experiment_check(&s, err)) {
            rc = err ? err->code : KN_EINVAL;
            goto out_seeds;
        }
    }
    if (!sp)
        goto out_seeds; /* the options are fine; nothing to run */
    rc = kn_mkdirs(o->out_dir, err);
    if (!rc) {
        char cache_dir[4096];
        snprintf(cache_dir, sizeof cache_dir, "%s/cache", o->out_dir);
        rc = kn_mkdirs(cache_dir, err);
    }
    if (!rc)
        rc = kn_task_stream_build(sp, o->classes_per_task, NULL, &ts, err);
    if (rc)
        goto out_seeds;
    runs = calloc(n_methods * n_seeds, sizeof *runs);
    if (!runs) {
        rc = kn_fail(err, KN_ENOMEM, "out of memory");
        goto out_seeds;
    }

    const uint64_t digest = bench_split_digest(sp);
    const int tty = isatty(STDERR_FILENO);
    if (o->log)
        fflush(o->log); /* keep stdout lines ahead of the progress display on stderr */
    kn_progress bar;
    char label[64];
    snprintf(label, sizeof label, "bench %zu methods x %zu seeds", n_methods, n_seeds);
    kn_progress_start(&bar, stderr, !o->progress, label,
                      n_methods * n_seeds * (size_t)ts.n_tasks);
    if (o->log)
        fprintf(o->log, "benchmark: %zu methods x %zu seeds, %d tasks of %d classes, %zu train "
                        "/ %zu test samples, %zu features (%s); results in %s\n",
                n_methods, n_seeds, ts.n_tasks, o->classes_per_task, sp->train.n, sp->test.n,
                sp->train.d, features_label, o->out_dir);
    for (size_t mi = 0; mi < n_methods && !rc; mi++)
        for (size_t si = 0; si < n_seeds && !rc; si++) {
            bench_run *run = &runs[n_runs];
            run->method = methods[mi];
            run->seed = seeds[si];
            kn_experiment_spec s = base;
            s.method = chosen[mi]->name;
            s.params = chosen[mi]->kv;
            s.n_params = chosen[mi]->n_kv;
            s.seed = seeds[si];
            kn_params resolved;
            rc = kn_experiment_params(&s, &resolved, err);
            if (rc)
                break;
            uint64_t key = bench_cache_key(s.method, &resolved, s.seed, sp->train.d, digest,
                                           features_label, o->batch, o->classes_per_task);
            char path[4096];
            bench_cache_path(o->out_dir, methods[mi], seeds[si], key, path, sizeof path);
            size_t done_before = (mi * n_seeds + si) * (size_t)ts.n_tasks;
            if (bench_cache_load(path, key, &run->res) && run->res.n_tasks == ts.n_tasks) {
                run->from_cache = 1;
                kn_progress_update(&bar, done_before + (size_t)ts.n_tasks, "cached");
            } else {
                kn_run_result_free(&run->res);
                progress_ctx pc = {&bar, done_before, methods[mi], seeds[si], ts.n_tasks};
                kn_experiment_callbacks cb = {.on_task = on_task, .ctx = &pc};
                kn_experiment_result er;
                rc = kn_experiment_run(&s, &cb, &er, err);
                if (!rc) {
                    run->res = er.run; /* ownership moves to the run record */
                    rc = bench_cache_store(path, key, methods[mi], seeds[si], &run->res, err);
                }
            }
            if (rc) {
                kn_run_result_free(&run->res);
                break;
            }
            n_runs++;
            if (o->log) {
                if (tty && o->progress)
                    fprintf(stderr, "\r\033[K");
                fprintf(o->log,
                        "%-10s seed %-4" PRIu64 " final %.4f  memory loss %.4f  train %.2f s"
                        "%s\n",
                        run->method, run->seed, run->res.final_accuracy, run->res.memory_loss,
                        run->res.train_seconds, run->from_cache ? "  (cached)" : "");
                fflush(o->log);
            }
        }
    kn_progress_finish(&bar, rc ? "stopped" : NULL);
    if (!rc)
        rc = bench_write_reports(o, runs, n_runs, methods, n_methods, data_source,
                                 features_label, sp->train.n, sp->test.n, o->classes_per_task,
                                 err);
    for (size_t i = 0; i < n_runs; i++)
        kn_run_result_free(&runs[i].res);
    free(runs);
out_seeds:
    free_method_items(parsed, n_parsed);
    free_list(seed_items, n_seeds);
out_methods:
    free_list(method_items, n_methods_req);
    kn_task_stream_free(&ts);
    return rc;
}

static void log_to_file(void *ctx, const char *text) { fputs(text, (FILE *)ctx); }

int kn_bench_mnist20(const kn_bench_options *o, kn_error *err)
{
    kn_experiment_spec s;
    kn_experiment_spec_default(&s);
    s.dataset = "mnist20";
    s.data_dir = o->data_dir;
    s.features = o->features;
    s.lenet = kn_features_lenet_apply;
    if (o->quick) {
        s.train_per_class = o->quick_train_per_class;
        s.test_per_class = o->quick_test_per_class;
    }
    kn_experiment_callbacks cb = {.log = o->log ? log_to_file : NULL, .ctx = o->log};
    kn_split sp;
    char features_label[600];
    double t0 = kn_seconds();
    /* The items first: a typo must not cost loading the data (or training the extractor). */
    int rc = kn_bench_run_split(o, NULL, NULL, NULL, err);
    if (rc)
        return rc;
    rc = kn_experiment_load_data(&s, &cb, &sp, features_label, sizeof features_label, err);
    if (rc)
        return rc;
    if (o->log)
        fprintf(o->log, "data: %s, loaded in %.1f s%s\n", sp.train.source, kn_seconds() - t0,
                o->quick ? " (quick: a subset of every class)" : "");
    rc = kn_bench_run_split(o, &sp, sp.train.source, features_label, err);
    kn_split_free(&sp);
    return rc;
}
