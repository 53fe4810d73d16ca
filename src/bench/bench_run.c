/* The benchmark's main loop: every method x seed through the experiment layer
 * (kenyon/experiment.h) on data loaded once (a named set or the user's files), each item run by
 * bench_run_item (cache look-up, run, cache store), with a progress display whose remaining time
 * weighs the items by their expected cost (bench_eta.c) and a line per finished run; then the
 * reports. A driver (kn_bench_options.driver: the CLI's MPI sweep) may take over the item loop.
 * Every item is checked through the methods' typed parameter tables before anything runs (no
 * trial learner is built). */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cblas.h>
#include <omp.h>

#include "bench/bench_internal.h"
#include "kenyon/data_load.h"
#include "kenyon/experiment.h"
#include "kenyon/features.h"
#include "kenyon/fileio.h"
#include "kenyon/params.h"
#include "kenyon/peak_memory.h"
#include "kenyon/progress.h"
#include "kenyon/tasks.h"

#define MAX_LIST 64

void kn_bench_options_default(kn_bench_options *o)
{
    memset(o, 0, sizeof *o);
    o->dataset = "mnist20";
    o->class_order = "label";
    o->balance = 1;
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
    o->threads_per_run = 1;
}

void bench_set_threads(int n)
{
    omp_set_num_threads(n);
    openblas_set_num_threads(n);
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
struct method_item {
    char *name;                 /* owned copy of the base name */
    char *settings;             /* owned copy of the text after the first ':' (split in place) */
    kn_kv kv[MAX_SETTINGS + BENCH_PRESET_MAX]; /* the user's, then the set's preset */
    size_t n_kv;
};

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
                                          "vanilla", "offline", "ewc", "gem", "bir",
                                          "ncm", "slda", "ranpac", "er", NULL};
    for (const char *const *p = planned; *p; p++)
        if (strcmp(*p, name) == 0)
            return 1;
    return 0;
}

typedef struct progress_ctx {
    kn_progress *bar;
    const bench_eta *eta;
    size_t item;
    const char *method;
    uint64_t seed;
    int n_tasks;
} progress_ctx;

/* Moves the display to `frac` of item `p->item`, in the cost model's units (thousandths). */
static void progress_show(progress_ctx *p, double frac, const char *detail)
{
    double done, total;
    bench_eta_progress(p->eta, p->item, frac, &done, &total);
    p->bar->total = (size_t)(total * 1000.0 + 0.5);
    kn_progress_update(p->bar, (size_t)(done * 1000.0 + 0.5), detail);
}

static void reset_peak_memory(void *ctx)
{
    (void)ctx;
    kn_peak_memory_reset(); /* peak_rss_kb is this run's own */
}

static int on_task(void *ctx, int task, int n_tasks, double accuracy)
{
    (void)n_tasks;
    (void)accuracy;
    progress_ctx *p = ctx;
    char detail[128];
    snprintf(detail, sizeof detail, "%s seed %" PRIu64 " task %d/%d", p->method, p->seed,
             task + 1, p->n_tasks);
    progress_show(p, (double)(task + 1) / (double)p->n_tasks, detail);
    return 0;
}

/* The spec and cache path of item (mi, si). */
static int item_spec(const bench_plan *pl, size_t mi, size_t si, kn_experiment_spec *s,
                     uint64_t *key, char *path, size_t path_size, kn_error *err)
{
    *s = *pl->base;
    s->method = pl->chosen[mi]->name;
    s->params = pl->chosen[mi]->kv;
    s->n_params = pl->chosen[mi]->n_kv;
    s->seed = pl->seeds[si];
    if (pl->orders) {
        s->class_order = pl->orders + si * pl->n_classes;
        s->n_class_order = pl->n_classes;
    }
    kn_params resolved;
    int rc = kn_experiment_params(s, &resolved, err);
    if (rc)
        return rc;
    *key = bench_cache_key(s->method, &resolved, s->seed, pl->sp->train.d, pl->digest,
                           pl->features_label, pl->o->batch, pl->o->classes_per_task);
    *key = bench_cache_key_order(*key, s->class_order, s->n_class_order);
    bench_cache_path(pl->o->out_dir, pl->methods[mi], pl->seeds[si], *key, path, path_size);
    return KN_OK;
}

/* Fills run's labels and looks item (mi, si) up in the cache: 1 when found (run->res holds it),
 * 0 when it must run (s, key and path then say how and where), negative on error. */
static int find_in_cache(const bench_plan *pl, size_t mi, size_t si, bench_run *run,
                         kn_experiment_spec *s, uint64_t *key, char *path, size_t path_size,
                         kn_error *err)
{
    memset(run, 0, sizeof *run);
    run->method = pl->methods[mi];
    run->seed = pl->seeds[si];
    if (pl->orders) {
        run->order = pl->orders + si * pl->n_classes;
        run->n_order = pl->n_classes;
    }
    int rc = item_spec(pl, mi, si, s, key, path, path_size, err);
    if (rc)
        return rc;
    if (bench_cache_load(path, *key, &run->res) && run->res.n_tasks == pl->n_tasks) {
        run->from_cache = 1;
        return 1;
    }
    kn_run_result_free(&run->res);
    return 0;
}

int bench_find_item(const bench_plan *pl, size_t mi, size_t si, bench_run *run, kn_error *err)
{
    kn_experiment_spec s;
    uint64_t key = 0;
    char path[4096];
    return find_in_cache(pl, mi, si, run, &s, &key, path, sizeof path, err);
}

int bench_run_item(const bench_plan *pl, size_t mi, size_t si, bench_run *run, kn_error *err)
{
    kn_experiment_spec s;
    uint64_t key = 0;
    char path[4096];
    int rc = find_in_cache(pl, mi, si, run, &s, &key, path, sizeof path, err);
    if (rc < 0)
        return rc;
    const size_t item = mi * pl->n_seeds + si;
    progress_ctx pc = {pl->bar, pl->eta, item, pl->methods[mi], pl->seeds[si], pl->n_tasks};
    if (rc == 1) {
        bench_eta_mark_cached(pl->eta, item);
        progress_show(&pc, 0, "cached");
        return KN_OK;
    }
    kn_experiment_callbacks cb = {.on_task = on_task, .before_train = reset_peak_memory,
                                  .ctx = &pc};
    kn_experiment_result er;
    kn_error run_err;
    kn_error_clear(&run_err);
    double t0 = kn_seconds();
    if (kn_experiment_run(&s, &cb, &er, &run_err)) {
        /* The run's own failure (training diverged, a setting the data refute) is its result:
         * recorded for the reports, not cached (a later start tries again), and the
         * benchmark goes on. */
        bench_eta_mark_ran(pl->eta, item, kn_seconds() - t0);
        run->failed = 1;
        snprintf(run->error, sizeof run->error, "%s", run_err.msg[0] ? run_err.msg : "failed");
        return KN_OK;
    }
    run->res = er.run; /* ownership moves to the run record */
    bench_eta_mark_ran(pl->eta, item, kn_seconds() - t0);
    rc = bench_cache_store(path, key, pl->methods[mi], pl->seeds[si], &run->res, err);
    if (rc)
        kn_run_result_free(&run->res);
    return rc;
}

int bench_plan_todo(const bench_plan *pl, bench_run *runs, unsigned char *have, size_t *todo,
                    size_t *n_todo, kn_error *err)
{
    *n_todo = 0;
    for (size_t i = 0; i < pl->eta->n; i++) {
        int found = bench_find_item(pl, i / pl->n_seeds, i % pl->n_seeds, &runs[i], err);
        if (found < 0)
            return found;
        have[i] = (unsigned char)found;
        if (found)
            bench_eta_mark_cached(pl->eta, i);
        else
            todo[(*n_todo)++] = i;
    }
    bench_eta_order(pl->eta, todo, *n_todo);
    return KN_OK;
}

void bench_log_run(const bench_plan *pl, const bench_run *run, const char *where)
{
    FILE *log = pl->o->log;
    if (!log)
        return;
    if (pl->o->progress && isatty(STDERR_FILENO))
        fprintf(stderr, "\r\033[K");
    if (run->failed)
        fprintf(log, "%-10s seed %-4" PRIu64 " FAILED: %s%s\n", run->method, run->seed,
                run->error, where);
    else
        fprintf(log, "%-10s seed %-4" PRIu64 " final %.4f  memory loss %.4f  train %.2f s%s\n",
                run->method, run->seed, run->res.final_accuracy, run->res.memory_loss,
                run->res.train_seconds, where);
    fflush(log);
}

/* "VmHWM" or "VmRSS" of this process in KB (0 where /proc is missing). */
static long own_memory_kb(const char *field)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        return 0;
    char line[256];
    long kb = 0;
    size_t n = strlen(field);
    while (fgets(line, sizeof line, f))
        if (strncmp(line, field, n) == 0 && line[n] == ':') {
            kb = strtol(line + n + 1, NULL, 10);
            break;
        }
    fclose(f);
    return kb;
}

/* The runs one after another in this process (--jobs 1, or no way to start workers). */
static int run_here(const bench_plan *pl, bench_run *runs, size_t *n_runs, kn_error *err)
{
    const size_t n_items = pl->eta->n;
    long peak = own_memory_kb("VmHWM"); /* loading the data, before the runs reset the mark */
    for (size_t i = 0; i < n_items; i++) {
        bench_run *run = &runs[i];
        int rc = bench_run_item(pl, i / pl->n_seeds, i % pl->n_seeds, run, err);
        if (rc)
            return rc;
        *n_runs = i + 1;
        if (!run->from_cache && !run->failed && run->res.peak_rss_kb > peak)
            peak = run->res.peak_rss_kb;
        bench_log_run(pl, run, run->from_cache ? "  (cached)" : "");
    }
    *pl->job_peak_rss_kb = peak;
    return KN_OK;
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
    int32_t *orders = NULL;
    bench_eta eta;
    memset(&eta, 0, sizeof eta);
    kn_task_stream ts;
    memset(&ts, 0, sizeof ts);
    const char *seed_text = o->seeds ? o->seeds : o->quick ? KN_BENCH_QUICK_SEEDS
                                                           : KN_BENCH_DEFAULT_SEEDS;
    const char *order_text = o->class_order ? o->class_order : "label";
    const int random_order = strcmp(order_text, "random") == 0;
    if (!random_order && strcmp(order_text, "label") != 0)
        return kn_fail(err, KN_EINVAL, "--class-order: '%s' is not label or random",
                       order_text);
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
        mi->n_kv = bench_preset_fill(o, mi->name, mi->kv, mi->n_kv,
                                     sizeof mi->kv / sizeof mi->kv[0]);
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
    if (o->threads_per_run < 1 || o->jobs < 0) {
        rc = o->jobs < 0 ? kn_fail(err, KN_EINVAL, "--jobs: %d is negative (0: one per CPU)",
                                   o->jobs)
                         : kn_fail(err, KN_EINVAL, "--threads-per-run: %d must be at least 1",
                                   o->threads_per_run);
        goto out_seeds;
    }
    if (!sp)
        goto out_seeds; /* the options are fine; nothing to run */
    /* Every run at the same thread count, whichever process runs it: the cache keys and the
     * numbers of the back-prop methods then do not depend on --jobs or on the machine. */
    bench_set_threads(o->threads_per_run);
    const size_t n_classes = (size_t)kn_experiment_n_classes(sp);
    if (random_order) {
        orders = malloc(sizeof *orders * n_seeds * (n_classes ? n_classes : 1));
        if (!orders) {
            rc = kn_fail(err, KN_ENOMEM, "out of memory");
            goto out_seeds;
        }
        for (size_t si = 0; si < n_seeds; si++)
            bench_seeded_order(seeds[si], orders + si * n_classes, n_classes);
    }
    rc = kn_mkdirs(o->out_dir, err);
    if (!rc) {
        char cache_dir[4096];
        snprintf(cache_dir, sizeof cache_dir, "%s/cache", o->out_dir);
        rc = kn_mkdirs(cache_dir, err);
    }
    if (!rc)
        rc = kn_task_stream_build(sp, o->classes_per_task, orders, &ts, err);
    if (rc)
        goto out_seeds;
    runs = calloc(n_methods * n_seeds, sizeof *runs);
    const char **item_methods = malloc(sizeof *item_methods * n_methods * n_seeds);
    if (!runs || !item_methods) {
        free(item_methods);
        rc = kn_fail(err, KN_ENOMEM, "out of memory");
        goto out_seeds;
    }
    for (size_t i = 0; i < n_methods * n_seeds; i++)
        item_methods[i] = chosen[i / n_seeds]->name;
    rc = bench_eta_init(&eta, item_methods, n_methods * n_seeds, err);
    free(item_methods);
    if (rc)
        goto out_seeds;

    if (o->log)
        fflush(o->log); /* keep stdout lines ahead of the progress display on stderr */
    kn_progress bar;
    char label[64];
    snprintf(label, sizeof label, "bench %zu methods x %zu seeds", n_methods, n_seeds);
    /* Started with the task count (what its first line reports), then measured in the cost
     * model's units from the first update on. */
    kn_progress_start(&bar, stderr, !o->progress, label,
                      n_methods * n_seeds * (size_t)ts.n_tasks);
    if (o->log)
        fprintf(o->log, "benchmark: %zu methods x %zu seeds, %d tasks of %d classes (%s), %zu "
                        "train / %zu test samples, %zu features (%s); results in %s\n",
                n_methods, n_seeds, ts.n_tasks, o->classes_per_task,
                random_order ? "a seeded class order per seed" : "label order", sp->train.n,
                sp->test.n, sp->train.d, features_label, o->out_dir);
    long job_peak_kb = 0;
    bench_plan plan = {o, sp, &base, methods, chosen, seeds, n_seeds, features_label,
                       bench_split_digest(sp), ts.n_tasks, orders, n_classes, &bar, &eta,
                       &job_peak_kb};
    /* Who runs the items: the caller's driver (the CLI's MPI sweep), this process as a worker
     * of a parent's pool, a pool of workers, or this process one run after another. */
    const struct kn_bench_driver *driver = o->driver;
    if (!driver && o->pool_worker)
        driver = bench_pool_worker_driver();
    const int jobs = o->jobs > 0 ? o->jobs : bench_online_cpus();
    if (!driver && jobs > 1 && o->worker_argv)
        driver = bench_pool_driver();
    int write_reports = 1;
    if (driver)
        rc = driver->run_items(driver->ctx, &plan, n_methods, runs, &n_runs, &write_reports,
                               err);
    else
        rc = run_here(&plan, runs, &n_runs, err);
    kn_progress_finish(&bar, rc ? "stopped" : NULL);
    /* The reports take the runs that finished; the failed ones are listed beside them, and a
     * method none of whose seeds finished has no row. */
    size_t n_ok = 0, n_bad = 0, n_rows = 0;
    bench_run *ok = NULL, *bad = NULL;
    const char **rows = NULL;
    if (!rc && write_reports) {
        ok = malloc(sizeof *ok * (n_runs ? n_runs : 1));
        bad = malloc(sizeof *bad * (n_runs ? n_runs : 1));
        rows = malloc(sizeof *rows * n_methods);
        if (!ok || !bad || !rows)
            rc = kn_fail(err, KN_ENOMEM, "out of memory");
    }
    if (!rc && write_reports) {
        for (size_t i = 0; i < n_runs; i++) {
            if (runs[i].failed)
                bad[n_bad++] = runs[i];
            else
                ok[n_ok++] = runs[i];
        }
        for (size_t mi = 0; mi < n_methods; mi++)
            for (size_t i = 0; i < n_ok; i++)
                if (ok[i].method == methods[mi]) {
                    rows[n_rows++] = methods[mi];
                    break;
                }
        if (o->log && n_bad)
            fprintf(o->log, "%zu of %zu runs failed (listed in report.md and summary.json)\n",
                    n_bad, n_runs);
        bench_job_info job = {o->threads_per_run, bad, n_bad, job_peak_kb};
        if (n_ok)
            rc = bench_write_reports(o, ok, n_ok, rows, n_rows, data_source, features_label,
                                     sp->train.n, sp->test.n, o->classes_per_task, &job, err);
        else
            rc = kn_fail(err, KN_ESTATE, "all %zu runs failed, so there is no report; the "
                         "first: %s seed %" PRIu64 ": %.300s", n_runs, bad[0].method,
                         bad[0].seed, bad[0].error);
        if (!rc && o->n_failed)
            *o->n_failed = (int)n_bad; /* the outputs are written */
        if (!rc && n_bad)
            rc = kn_fail(err, KN_ESTATE, "%zu of %zu runs failed (the first: %s seed %" PRIu64
                         ": %.300s); every output is written, the failed runs are listed in "
                         "%.200s/report.md", n_bad, n_runs, bad[0].method, bad[0].seed,
                         bad[0].error, o->out_dir);
    }
    free(ok);
    free(bad);
    free(rows);
    for (size_t i = 0; i < n_runs; i++)
        kn_run_result_free(&runs[i].res);
    free(runs);
out_seeds:
    free_method_items(parsed, n_parsed);
    free_list(seed_items, n_seeds);
out_methods:
    free_list(method_items, n_methods_req);
    kn_task_stream_free(&ts);
    bench_eta_free(&eta);
    free(orders);
    return rc;
}

static void log_to_file(void *ctx, const char *text) { fputs(text, (FILE *)ctx); }

static int is_named_set(const char *name)
{
    static const char *const sets[] = {"mnist20", "mnist", "fashion", "cifar100", NULL};
    for (const char *const *p = sets; *p; p++)
        if (strcmp(*p, name) == 0)
            return 1;
    return 0;
}

int kn_bench_run(const kn_bench_options *o, kn_error *err)
{
    if (bench_cifar_takes(o))
        return bench_cifar_run(o, err);
    kn_experiment_spec s;
    kn_experiment_spec_default(&s);
    if (o->dataset) {
        if (!is_named_set(o->dataset))
            return kn_fail(err, KN_EINVAL, "'%s' is not a named data set (mnist20, mnist, "
                                           "fashion, cifar100)", o->dataset);
        if (o->train_x || o->train_y || o->test_x || o->test_y)
            return kn_fail(err, KN_EINVAL, "--train-x/--train-y/--test-x/--test-y are for your "
                                           "own data; not with the named set %s", o->dataset);
        s.dataset = o->dataset;
        s.data_dir = o->data_dir;
        s.features = o->features;
        s.lenet = kn_features_lenet_apply;
    } else {
        const char *need[4][2] = {{"train-x", o->train_x}, {"train-y", o->train_y},
                                  {"test-x", o->test_x}, {"test-y", o->test_y}};
        for (int i = 0; i < 4; i++)
            if (!need[i][1])
                return kn_fail(err, KN_EINVAL, "--%s: missing (your own data need all of "
                                               "--train-x, --train-y, --test-x, --test-y)",
                               need[i][0]);
        if (o->features && strcmp(o->features, "pixels") != 0)
            return kn_fail(err, KN_EINVAL, "--features %s: only for a named data set (your "
                                           "files are used as given)", o->features);
        s.source = KN_SOURCE_FILES;
        s.train_x = o->train_x;
        s.train_y = o->train_y;
        s.test_x = o->test_x;
        s.test_y = o->test_y;
    }
    s.balance = o->balance;
    if (o->quick) {
        s.train_per_class = o->quick_train_per_class;
        s.test_per_class = o->quick_test_per_class;
    }
    kn_experiment_callbacks cb = {.log = o->log ? log_to_file : NULL, .ctx = o->log};
    kn_split sp;
    char features_label[600];
    double t0 = kn_seconds();
    const struct kn_bench_driver *d = o->driver;
    if (d && d->before_load)
        d->before_load(d->ctx);
    /* The items first: a typo must not cost loading the data (or training the extractor). */
    int rc = kn_bench_run_split(o, NULL, NULL, NULL, err);
    if (!rc && kn_experiment_check(&s, err))
        rc = err ? err->code : KN_EINVAL;
    if (!rc)
        rc = kn_experiment_load_data(&s, &cb, &sp, features_label, sizeof features_label, err);
    if (d && d->after_load)
        d->after_load(d->ctx);
    if (rc)
        return rc;
    if (o->log)
        fprintf(o->log, "data: %s, loaded in %.1f s%s\n", sp.train.source, kn_seconds() - t0,
                o->quick ? " (quick: a subset of every class)" : "");
    rc = kn_bench_run_split(o, &sp, sp.train.source, features_label, err);
    kn_split_free(&sp);
    return rc;
}

int kn_bench_mnist20(const kn_bench_options *o, kn_error *err)
{
    kn_bench_options m = *o;
    m.dataset = "mnist20";
    return kn_bench_run(&m, err);
}
