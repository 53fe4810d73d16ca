/* Shared pieces of the benchmark (src/bench): the per-run record, the cache, the reports. */
#ifndef KENYON_BENCH_INTERNAL_H
#define KENYON_BENCH_INTERNAL_H

#include <stdint.h>

#include "kenyon/bench.h"
#include "kenyon/learner.h"
#include "kenyon/protocol.h"

/* One finished (method, seed) run. */
typedef struct bench_run {
    const char *method; /* points into the method list */
    uint64_t seed;
    kn_run_result res;
    int from_cache;
} bench_run;

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
int bench_cache_store(const char *path, uint64_t key, const char *method, uint64_t seed,
                      const kn_run_result *res, kn_error *err);

/* Writes results.csv, summary.json, report.md and the plots into o->out_dir. */
int bench_write_reports(const kn_bench_options *o, const bench_run *runs, size_t n_runs,
                        const char *const *methods, size_t n_methods, const char *data_source,
                        const char *features_label, size_t n_train, size_t n_test,
                        int classes_per_task, kn_error *err);

#endif
