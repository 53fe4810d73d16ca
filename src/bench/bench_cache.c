/* The benchmark's result cache: one small JSON file per finished (method, seed, settings), named by
 * a key that hashes everything that affects the numbers (method, resolved hyperparameters, seed,
 * data digest, features, batch, task split, kenyon version and source digest, and for back-prop
 * learners the BLAS/OpenMP thread counts). Entries are checked when read: one whose values the
 * protocol cannot produce (an accuracy of 5.0) is invalid and its run is recomputed. A changed
 * setting changes the key of exactly the runs it affects; the others are found again and reused. */
#include <cjson/cJSON.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>
#include <omp.h>

#include "bench/bench_internal.h"
#include "kenyon/fileio.h"

#ifndef KENYON_VERSION
#define KENYON_VERSION "0"
#endif
/* A digest of the library's sources, made by the build (cmake/code_digest.cmake): results cached
 * by other code under the same version string are not reused. */
#include "kenyon_code_digest.h"
#ifndef KENYON_CODE_DIGEST
#define KENYON_CODE_DIGEST "unknown"
#endif

int bench_uses_backprop(const kn_method *m)
{
    /* Every back-prop learner has a hidden-layer width; no fly method has one. */
    for (const kn_param_spec *p = m->params; p && p->name; p++)
        if (strcmp(p->name, "hidden") == 0)
            return 1;
    return 0;
}

uint64_t bench_fnv1a(uint64_t h, const void *data, size_t n)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

/* Word-wise FNV variant for the bulk data: hashing 200 MB byte by byte would take a second. */
static uint64_t fnv_words(uint64_t h, const void *data, size_t n)
{
    const unsigned char *p = data;
    size_t words = n / 8;
    for (size_t i = 0; i < words; i++) {
        uint64_t w;
        memcpy(&w, p + 8 * i, 8);
        h ^= w;
        h *= 0x100000001b3ULL;
        h ^= h >> 29;
    }
    return bench_fnv1a(h, p + 8 * words, n - 8 * words);
}

static uint64_t dataset_digest(uint64_t h, const kn_dataset *ds)
{
    uint64_t dims[3] = {ds->n, ds->d, (uint64_t)ds->n_classes};
    h = bench_fnv1a(h, dims, sizeof dims);
    h = fnv_words(h, ds->x, ds->n * ds->d * sizeof(float));
    return fnv_words(h, ds->y, ds->n * sizeof(int32_t));
}

uint64_t bench_split_digest(const kn_split *sp)
{
    return dataset_digest(dataset_digest(BENCH_FNV_OFFSET, &sp->train), &sp->test);
}

void bench_file_label(const char *label, char *buf, size_t size)
{
    size_t i = 0;
    for (; label[i] && i + 1 < size; i++) {
        char c = label[i];
        int keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                   c == '-' || c == '_' || c == '.';
        buf[i] = keep ? c : '_';
    }
    if (size)
        buf[i < size ? i : size - 1] = '\0';
}

void bench_cache_path(const char *out_dir, const char *method, uint64_t seed, uint64_t key,
                      char *buf, size_t size)
{
    char safe[256];
    bench_file_label(method, safe, sizeof safe);
    snprintf(buf, size, "%s/cache/%s-seed%" PRIu64 "-%016" PRIx64 ".json", out_dir, safe, seed,
             key);
}

static uint64_t hash_str(uint64_t h, const char *s)
{
    return bench_fnv1a(h, s ? s : "", s ? strlen(s) + 1 : 1);
}

uint64_t bench_cache_key(const char *method, const kn_params *p, uint64_t seed, size_t d,
                         uint64_t data_digest, const char *features, size_t batch,
                         int classes_per_task)
{
    uint64_t h = BENCH_FNV_OFFSET;
    h = hash_str(h, "kenyon-bench-v2: protocol defaults, shuffled within tasks");
    h = hash_str(h, KENYON_VERSION);
    h = hash_str(h, KENYON_CODE_DIGEST);
    h = hash_str(h, method);
    for (size_t i = 0; i < p->n; i++) {
        h = hash_str(h, p->table[i].name);
        h = hash_str(h, p->value[i]);
    }
    uint64_t nums[5] = {seed, data_digest, (uint64_t)batch, (uint64_t)classes_per_task,
                        (uint64_t)d};
    h = bench_fnv1a(h, nums, sizeof nums);
    /* Back-prop learners' weights depend on how BLAS and OpenMP split their sums (up to 1e-5
     * between 1 and 2 threads); the fly methods' do not. */
    const kn_method *bm = kn_method_find(method);
    if (bm && bench_uses_backprop(bm)) {
        int64_t threads[2] = {omp_get_max_threads(), openblas_get_num_threads()};
        h = bench_fnv1a(h, threads, sizeof threads);
    }
    return hash_str(h, features);
}

static cJSON *array_of(const double *v, size_t n)
{
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; a && i < n; i++)
        cJSON_AddItemToArray(a, isfinite(v[i]) ? cJSON_CreateNumber(v[i]) : cJSON_CreateNull());
    return a;
}

int bench_cache_store(const char *path, uint64_t key, const char *method, uint64_t seed,
                      const kn_run_result *r, kn_error *err)
{
    size_t T = (size_t)r->n_tasks;
    char keyhex[17];
    snprintf(keyhex, sizeof keyhex, "%016" PRIx64, key);
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return kn_fail(err, KN_ENOMEM, "%s: out of memory", path);
    cJSON_AddStringToObject(o, "key", keyhex);
    cJSON_AddStringToObject(o, "method", method);
    cJSON_AddNumberToObject(o, "seed", (double)seed);
    cJSON_AddNumberToObject(o, "n_tasks", (double)T);
    cJSON_AddItemToObject(o, "acc", array_of(r->acc, T * T));
    cJSON_AddItemToObject(o, "acc_ti", array_of(r->acc_ti, T * T));
    cJSON_AddItemToObject(o, "task_train_seconds", array_of(r->task_train_seconds, T));
    cJSON_AddNumberToObject(o, "train_seconds", r->train_seconds);
    cJSON_AddNumberToObject(o, "eval_seconds", r->eval_seconds);
    cJSON_AddNumberToObject(o, "total_seconds", r->total_seconds);
    cJSON_AddNumberToObject(o, "peak_rss_kb", (double)r->peak_rss_kb);
    cJSON_AddNumberToObject(o, "n_train", (double)r->n_train);
    cJSON_AddNumberToObject(o, "n_test", (double)r->n_test);
    char *text = cJSON_Print(o);
    cJSON_Delete(o);
    if (!text)
        return kn_fail(err, KN_ENOMEM, "%s: out of memory", path);
    int rc = kn_write_file_atomic(path, text, strlen(text), err);
    free(text);
    return rc;
}

/* Does o hold an array `name` of exactly n elements? Checked before anything is allocated, so an
 * entry that claims many tasks costs memory only in proportion to the numbers it really holds. */
static int has_array(const cJSON *o, const char *name, size_t n)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsArray(a) && (size_t)cJSON_GetArraySize(a) == n;
}

static int read_array(const cJSON *o, const char *name, double *out, size_t n)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, name);
    if (!cJSON_IsArray(a) || (size_t)cJSON_GetArraySize(a) != n)
        return -1;
    size_t i = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, a)
    {
        if (cJSON_IsNumber(e))
            out[i] = e->valuedouble;
        else if (cJSON_IsNull(e))
            out[i] = NAN;
        else
            return -1;
        i++;
    }
    return 0;
}

static double number_or(const cJSON *o, const char *name, double dflt)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsNumber(v) ? v->valuedouble : dflt;
}

/* A count or size read from an entry: a whole number in [0, 2^53], else -1 (invalid). */
static double whole_or_invalid(const cJSON *o, const char *name)
{
    double v = number_or(o, name, 0);
    return isfinite(v) && v >= 0 && v <= 9007199254740992.0 && v == floor(v) ? v : -1;
}

static int is_fraction(double v) { return isfinite(v) && v >= 0 && v <= 1; }

static int is_seconds(double v) { return isnan(v) || (isfinite(v) && v >= 0); }

/* An entry must hold what the protocol can produce: accuracies in [0, 1] where a task has been
 * tested (j <= i) and NaN after it, non-negative times and counts. Anything else was edited or
 * damaged, and the run is recomputed. */
static int entry_is_valid(const kn_run_result *r)
{
    size_t T = (size_t)r->n_tasks;
    for (size_t i = 0; i < T; i++) {
        for (size_t j = 0; j < T; j++) {
            double a = r->acc[i * T + j], ti = r->acc_ti[i * T + j];
            if (j <= i ? !is_fraction(a) : !isnan(a))
                return 0;
            if (!isnan(ti) && !is_fraction(ti))
                return 0;
        }
        if (!is_seconds(r->task_train_seconds[i]))
            return 0;
    }
    return is_seconds(r->train_seconds) && is_seconds(r->eval_seconds) &&
           is_seconds(r->total_seconds);
}

int bench_cache_parse(const char *text, size_t len, uint64_t key, kn_run_result *res)
{
    cJSON *o = cJSON_ParseWithLength(text, len);
    if (!o)
        return 0;
    int ok = 0;
    char keyhex[17];
    snprintf(keyhex, sizeof keyhex, "%016" PRIx64, key);
    const cJSON *k = cJSON_GetObjectItemCaseSensitive(o, "key");
    double T = number_or(o, "n_tasks", -1);
    double rss = whole_or_invalid(o, "peak_rss_kb"), ntr = whole_or_invalid(o, "n_train"),
           nte = whole_or_invalid(o, "n_test");
    if (cJSON_IsString(k) && strcmp(k->valuestring, keyhex) == 0 && T >= 1 && T <= 10000 &&
        T == floor(T) && rss >= 0 && ntr >= 0 && nte >= 0 &&
        has_array(o, "acc", (size_t)T * (size_t)T) &&
        has_array(o, "acc_ti", (size_t)T * (size_t)T) &&
        has_array(o, "task_train_seconds", (size_t)T) &&
        kn_run_result_alloc(res, (int)T, NULL) == KN_OK) {
        size_t t = (size_t)T;
        if (read_array(o, "acc", res->acc, t * t) == 0 &&
            read_array(o, "acc_ti", res->acc_ti, t * t) == 0 &&
            read_array(o, "task_train_seconds", res->task_train_seconds, t) == 0) {
            res->train_seconds = number_or(o, "train_seconds", NAN);
            res->eval_seconds = number_or(o, "eval_seconds", NAN);
            res->total_seconds = number_or(o, "total_seconds", NAN);
            res->peak_rss_kb = (long)rss;
            res->n_train = (size_t)ntr;
            res->n_test = (size_t)nte;
            ok = entry_is_valid(res);
            if (ok)
                kn_metrics_compute(res);
        }
        if (!ok)
            kn_run_result_free(res);
    }
    cJSON_Delete(o);
    return ok;
}

int bench_cache_load(const char *path, uint64_t key, kn_run_result *res)
{
    unsigned char *text;
    size_t len;
    if (kn_read_file(path, 16u << 20, &text, &len, NULL) != KN_OK)
        return 0;
    int ok = bench_cache_parse((const char *)text, len, key, res);
    free(text);
    return ok;
}

uint64_t bench_cache_key_order(uint64_t key, const int32_t *order, size_t n)
{
    if (!order)
        return key;
    key = hash_str(key, "class order");
    return bench_fnv1a(key, order, n * sizeof *order);
}
