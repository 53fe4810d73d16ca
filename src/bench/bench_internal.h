/* Shared pieces of the benchmark (src/bench): the per-run record, the cache, the reports. */
#ifndef KENYON_BENCH_INTERNAL_H
#define KENYON_BENCH_INTERNAL_H

#include <stdint.h>

#include "kenyon/bench.h"
#include "kenyon/learner.h"
#include "kenyon/experiment.h"
#include "kenyon/progress.h"
#include "kenyon/protocol.h"

/* One finished (method, seed) run. */
typedef struct bench_run {
    const char *method; /* points into the method list */
    uint64_t seed;
    kn_run_result res;
    int from_cache;
    const int32_t *order; /* the class order of this run (NULL: label order); borrowed */
    size_t n_order;
    int failed;           /* the run stopped with an error (res is empty, error says why) */
    char error[KN_ERROR_MSG_MAX];
} bench_run;

/* The class order a seed draws with --class-order random: a permutation of 0..n-1 from a
 * generator of its own (stream "order" of the seed), so the order does not consume the draws of
 * the run itself. */
void bench_seeded_order(uint64_t seed, int32_t *order, size_t n);

/* Folds a class order into a cache key (label-order runs keep the key they always had). */
uint64_t bench_cache_key_order(uint64_t key, const int32_t *order, size_t n);

/* The remaining-time estimate of a benchmark: every (method, seed) item has an expected cost,
 * first from a per-method prior (bench_method_prior_cost), then, once runs of a method have
 * finished, from their measured seconds; items found in the cache cost nothing. */
typedef struct bench_eta {
    size_t n;
    const char **method;  /* per item: the method's base name (borrowed) */
    double *prior;        /* per item: prior cost, in fly seeds */
    double *seconds;      /* per item: measured seconds once run, else NAN */
    int *state;           /* 0 to do, 1 ran, 2 cached */
} bench_eta;

/* Prior cost of one seed of a method on MNIST-20 in units of one fly seed (1 for unknown
 * methods until one of their runs is measured). */
double bench_method_prior_cost(const char *method);
int bench_eta_init(bench_eta *e, const char *const *methods, size_t n, kn_error *err);
void bench_eta_free(bench_eta *e);
void bench_eta_mark_cached(bench_eta *e, size_t item);
void bench_eta_mark_ran(bench_eta *e, size_t item, double seconds);
/* Expected cost of item i: seconds once any run has been measured, else prior units. */
double bench_eta_item_cost(const bench_eta *e, size_t i);
/* Progress in the same units: the cost done (finished items plus `frac` of item `current`)
 * and the total (done plus what is still expected). */
void bench_eta_progress(const bench_eta *e, size_t current, double frac, double *done,
                        double *total);

/* Sorts items (indices into e) most expensive first by their prior cost, equal costs in item
 * order: the order in which the local pool and the MPI sweep hand runs out, so the longest
 * runs start first and the short ones fill the gaps at the end. */
void bench_eta_order(const bench_eta *e, size_t *items, size_t n);

/* 64-bit FNV-1a, for cache keys (not for security). */
uint64_t bench_fnv1a(uint64_t h, const void *data, size_t n);
#define BENCH_FNV_OFFSET 0xcbf29ce484222325ULL

/* Digest of a split's contents (features, labels, shapes). */
uint64_t bench_split_digest(const kn_split *sp);

/* A row label ("bir:iters=188") made safe for a file name: characters other than letters,
 * digits, '-', '_' and '.' become '_'. */
void bench_file_label(const char *label, char *buf, size_t size);

/* Cache file path for a key: <out_dir>/cache/<method>-seed<seed>-<key hex>.json. */
void bench_cache_path(const char *out_dir, const char *method, uint64_t seed, uint64_t key,
                      char *buf, size_t size);
/* The key: everything that affects a run's numbers (the method's resolved parameters p, the
 * seed, the data's digest and dimension, the features, the batch and the task size). */
uint64_t bench_cache_key(const char *method, const kn_params *p, uint64_t seed, size_t d,
                         uint64_t data_digest, const char *features, size_t batch,
                         int classes_per_task);
/* Reads a cached result; returns 1 if found and valid, 0 if absent or stale/corrupt. */
int bench_cache_load(const char *path, uint64_t key, kn_run_result *res);
/* The same from an entry's text (for tests and the fuzz target). */
int bench_cache_parse(const char *text, size_t len, uint64_t key, kn_run_result *res);
/* Does the method train by back-propagation (its numbers then depend on the thread count)? */
int bench_uses_backprop(const kn_method *m);
int bench_cache_store(const char *path, uint64_t key, const char *method, uint64_t seed,
                      const kn_run_result *res, kn_error *err);

/* A --methods item parsed (bench_run.c). */
typedef struct method_item method_item;

/* What every (method, seed) item of one benchmark shares. */
typedef struct bench_plan {
    const kn_bench_options *o;
    const kn_split *sp;
    const kn_experiment_spec *base;
    const char *const *methods;    /* row labels */
    const method_item *const *chosen;
    const uint64_t *seeds;
    size_t n_seeds;
    const char *features_label;
    uint64_t digest;
    int n_tasks;
    int32_t *orders;               /* n_seeds x n_classes with --class-order random, else NULL */
    size_t n_classes;
    kn_progress *bar;
    bench_eta *eta;
    long *job_peak_rss_kb; /* out: the whole job's peak resident KB, set by whoever runs */
} bench_plan;

/* Runs item (mi, si) (method mi, seed si), or finds it in the cache, and stores a new result
 * there; *run receives the result (the caller frees run->res). The single unit of work of a
 * benchmark: a driver that spreads items over processes calls this for its share. */
int bench_run_item(const bench_plan *pl, size_t mi, size_t si, bench_run *run, kn_error *err);
/* Looks item (mi, si) up in the cache only: 1 when a valid entry was found (run filled, the
 * caller frees run->res), 0 when the item has still to run, negative on error. */
int bench_find_item(const bench_plan *pl, size_t mi, size_t si, bench_run *run, kn_error *err);

/* Looks every item of the plan up in the cache: found ones go into runs[item] with have[item]
 * set and are marked cached in the estimate; the others are listed in todo (room for every
 * item), most expensive first (bench_eta_order). Returns 0 or an error. */
int bench_plan_todo(const bench_plan *pl, bench_run *runs, unsigned char *have, size_t *todo,
                    size_t *n_todo, kn_error *err);
/* The line per finished run on o->log ("where": "  (cached)", "  (rank 2)", "" ...); a failed
 * run's line gives its error. Clears the progress display's line first. */
void bench_log_run(const bench_plan *pl, const bench_run *run, const char *where);
/* Sets the BLAS and OpenMP thread counts of this process (bench_cache_key reads them). */
void bench_set_threads(int n);

/* A driver that runs a plan's items some other way than one after another in this process
 * (kn_bench_options.driver; the CLI's MPI sweep). run_items receives the plan and its n_methods;
 * on the process that writes the reports it fills runs[mi * n_seeds + si] for every item, in
 * that order, sets *n_runs to their number and *write_reports to 1; a process that only worked
 * sets *write_reports to 0. On failure *n_runs counts the runs to free and err says why. */
struct kn_bench_driver {
    int (*run_items)(void *ctx, const bench_plan *pl, size_t n_methods, bench_run *runs,
                     size_t *n_runs, int *write_reports, kn_error *err);
    void *ctx;
    /* Optional, around kn_bench_run's data load (every path past before_load passes
     * after_load): the MPI sweep lets rank 0 load first, so its caches are warm for the rest. */
    void (*before_load)(void *ctx);
    void (*after_load)(void *ctx);
};

/* The local pool (bench_pool.c): the parent's driver, which starts the workers (o->worker_argv)
 * and hands the uncached items out most expensive first, one at a time per worker, then reads
 * every result back from the cache; and the worker's driver, which runs what its parent sends.
 * bench_online_cpus is the default worker count: the CPUs this process may run on. */
const struct kn_bench_driver *bench_pool_driver(void);
const struct kn_bench_driver *bench_pool_worker_driver(void);
int bench_online_cpus(void);

/* What the reports say about the job besides its runs: the thread count of every run, the runs
 * that failed (method, seed, error), and the peak resident memory of the whole job (this
 * process plus its workers at once; 0 when not measured). */
typedef struct bench_job_info {
    int threads_per_run;
    const bench_run *failed;
    size_t n_failed;
    long job_peak_rss_kb;
} bench_job_info;

/* Is this a setting the fly paper measured (MNIST-20, 2 classes per task in label order,
 * pixels or LeNet5 features; or CIFAR-100, 4 classes per task in label order, ResNet-18
 * features)? Only then do the reports carry the paper's columns. */
int bench_is_paper_setting(const kn_bench_options *o, int classes_per_task);

/* One method's published numbers: accuracy over the classes trained so far at the table's
 * class counts, and the memory loss (NAN: not reported). */
typedef struct bench_paper_row {
    const char *method, *label;
    double acc[5];
    double memory_loss;
} bench_paper_row;

/* A published table of one setting. */
typedef struct bench_paper_table {
    const char *citation;  /* for report.md: who, where, on which features */
    const char *json_source;
    int n_at;              /* accuracy columns (at most 5) ... */
    const int *at;         /* ... at these numbers of classes trained */
    int own_columns_at;    /* 1: the report's own accuracy columns read the curve there too */
    const bench_paper_row *rows; /* ends with a NULL method */
} bench_paper_table;

/* The published table of the setting, NULL outside the paper's settings. */
const bench_paper_table *bench_paper_table_for(const kn_bench_options *o, int classes_per_task);

/* bench_cifar.c: the CIFAR-100 setting of the paper (its table, its settings per method). */
const bench_paper_table *bench_cifar_paper_table(void);
int bench_cifar_is_paper_setting(const kn_bench_options *o, int classes_per_task);
/* Appends to kv (n used, room for max) the preset settings of `method` in o's named set that
 * the user did not give; returns the new count. Names and values are static text. */
size_t bench_preset_fill(const kn_bench_options *o, const char *method, kn_kv *kv, size_t n,
                         size_t max);
#define BENCH_PRESET_MAX 8
/* report.md's line on the preset settings (nothing outside a preset set). */
void bench_preset_describe(FILE *f, const kn_bench_options *o);
/* Does kn_bench_run hand these options to bench_cifar_run (CIFAR-100 with ResNet-18 features,
 * or any of the options only that path knows)? */
int bench_cifar_takes(const kn_bench_options *o);
/* `kenyon bench cifar100` on ResNet-18 features: checks the options and that every file is
 * there (naming what to put where), loads the labels and the features, runs the benchmark. */
int bench_cifar_run(const kn_bench_options *o, kn_error *err);

/* Writes <out_dir>/report.html: one self-contained page made from the text of report.md (its
 * headings, lists, tables and inline marks) with every named SVG figure of out_dir inline, so it
 * opens in a browser from the file alone. */
/* The Markdown subset of report.md (headings, "- " and "  - " lists, pipe tables, `code`,
 * *em*, **strong**, paragraphs) as HTML body text into f; all text is escaped. */
void bench_markdown_html(FILE *f, const char *md);
int bench_write_html(const char *out_dir, const char *report_md, const char *const *svg_files,
                     size_t n_svg, kn_error *err);

/* Writes results.csv, summary.json, report.md, report.html and the plots into o->out_dir. */
int bench_write_reports(const kn_bench_options *o, const bench_run *runs, size_t n_runs,
                        const char *const *methods, size_t n_methods, const char *data_source,
                        const char *features_label, size_t n_train, size_t n_test,
                        int classes_per_task, const bench_job_info *job, kn_error *err);

#endif
