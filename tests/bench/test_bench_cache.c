/* Tests for the benchmark's cache entries (src/bench/bench_cache.c): an entry read back holds what
 * was stored; an entry edited to hold values the protocol cannot produce (an accuracy of 5.0, a
 * negative count) is invalid, so its run is recomputed; the key of a back-prop learner changes
 * with the OpenMP thread count, a fly method's does not. */
#include "test_support.h"

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench_internal.h"
#include "kenyon/fileio.h"

#define T 3

static void fill(kn_run_result *r)
{
    assert_int_equal(kn_run_result_alloc(r, T, NULL), KN_OK);
    for (int i = 0; i < T; i++) {
        for (int j = 0; j < T; j++) {
            r->acc[i * T + j] = j <= i ? 0.5 + 0.1 * j : NAN;
            r->acc_ti[i * T + j] = j <= i ? 0.9 : NAN;
        }
        r->task_train_seconds[i] = 0.25;
    }
    r->train_seconds = 0.75;
    r->eval_seconds = 0.1;
    r->total_seconds = 1.0;
    r->peak_rss_kb = 1000;
    r->n_train = 300;
    r->n_test = 60;
}

__attribute__((noinline)) static char *slurp(const char *path)
{
    unsigned char *d;
    size_t n;
    kn_error err;
    if (kn_read_file(path, 1 << 20, &d, &n, &err))
        fail_msg("%s", err.msg);
    return (char *)d;
}

/* The entry's text with the first `from` replaced by `to`. */
static char *edited(const char *text, const char *from, const char *to)
{
    const char *hit = strstr(text, from);
    if (!hit)
        fail_msg("'%s' not in the entry", from);
    size_t a = (size_t)(hit - text), fl = strlen(from), tl = strlen(to), n = strlen(text);
    char *out = malloc(n - fl + tl + 1);
    assert_non_null(out);
    memcpy(out, text, a);
    memcpy(out + a, to, tl);
    memcpy(out + a + tl, hit + fl, n - a - fl + 1);
    return out;
}

static void test_entries_checked_when_read(void **state)
{
    (void)state;
    const char *dir = kt_scratch_dir("cache");
    const char *path = kt_path(dir, "entry.json");
    kn_run_result r, back;
    fill(&r);
    kn_error err;
    assert_int_equal(bench_cache_store(path, 42, "fly", 1, &r, &err), KN_OK);
    char *text = slurp(path);
    memset(&back, 0, sizeof back);
    assert_int_equal(bench_cache_parse(text, strlen(text), 42, &back), 1);
    assert_true(fabs(back.final_accuracy - (0.5 + 0.6 + 0.7) / 3) < 1e-12);
    kn_run_result_free(&back);
    assert_int_equal(bench_cache_parse(text, strlen(text), 43, &back), 0); /* other key */
    /* Values the protocol cannot produce, each alone. cJSON prints 0.7 as 0.7. */
    const char *bad[][2] = {
        {"0.7", "5.0"},                 /* an accuracy above 1 */
        {"0.5", "-0.5"},                /* below 0 */
        {"0.9", "1e308"},               /* task-incremental above 1 */
        {"\"n_train\":\t300", "\"n_train\":\t-300"},
        {"\"n_test\":\t60", "\"n_test\":\t6.5"},
        {"\"peak_rss_kb\":\t1000", "\"peak_rss_kb\":\t-1"},
        {"\"train_seconds\":\t0.75", "\"train_seconds\":\t-1"},
        {"\"n_tasks\":\t3", "\"n_tasks\":\t2.5"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *t = edited(text, bad[i][0], bad[i][1]);
        memset(&back, 0, sizeof back);
        if (bench_cache_parse(t, strlen(t), 42, &back) != 0)
            fail_msg("edit %s -> %s was accepted", bad[i][0], bad[i][1]);
        assert_null(back.acc);
        free(t);
    }
    /* A tested task (j <= i) must have a number; an untested one (j > i) must not. */
    r.acc[0 * T + 2] = 0.5;
    assert_int_equal(bench_cache_store(path, 42, "fly", 1, &r, &err), KN_OK);
    free(text);
    text = slurp(path);
    memset(&back, 0, sizeof back);
    assert_int_equal(bench_cache_parse(text, strlen(text), 42, &back), 0);
    free(text);
    kn_run_result_free(&r);
}

static uint64_t key_with_threads(const char *method, int threads)
{
    kn_error err;
    const kn_kv ov[] = {{"m", "32"}, {"hidden", "8"}};
    const kn_method *m = kn_method_find(method);
    size_t n = 0;
    kn_kv use[2];
    for (int i = 0; i < 2; i++)
        if (kn_param_find(m->params, ov[i].key))
            use[n++] = ov[i];
    kn_params p;
    if (kn_params_resolve(&p, m->params, method, use, n, &err))
        fail_msg("%s", err.msg);
    omp_set_num_threads(threads);
    return bench_cache_key(method, &p, 1, 16, 7, "pixels", 64, 2);
}

static void test_key_follows_thread_count_for_backprop(void **state)
{
    (void)state;
    int saved = omp_get_max_threads();
    assert_true(key_with_threads("vanilla", 1) != key_with_threads("vanilla", 2));
    assert_true(key_with_threads("gem", 1) != key_with_threads("gem", 2));
    assert_true(key_with_threads("fly", 1) == key_with_threads("fly", 2));
    assert_true(key_with_threads("fly-ridge", 1) == key_with_threads("fly-ridge", 2));
    omp_set_num_threads(saved);
    assert_true(bench_uses_backprop(kn_method_find("bir")));
    assert_false(bench_uses_backprop(kn_method_find("v1")));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_entries_checked_when_read),
        cmocka_unit_test(test_key_follows_thread_count_for_backprop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
