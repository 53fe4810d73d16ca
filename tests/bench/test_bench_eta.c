/* Tests for the benchmark's remaining-time estimate (src/bench/bench_eta.c): items are weighed by
 * their expected cost (a GEM seed is not one fly seed), measured seconds replace the priors, cached
 * items cost nothing; and for the seeded class orders. */
#include "test_support.h"

#include <math.h>
#include <string.h>

#include "bench/bench_internal.h"

/* 5 fly seeds then 5 GEM seeds, as `kenyon bench --methods fly,gem` runs them. */
static void fly_then_gem(bench_eta *e)
{
    const char *items[10];
    for (int i = 0; i < 10; i++)
        items[i] = i < 5 ? "fly" : "gem";
    kn_error err;
    assert_int_equal(bench_eta_init(e, items, 10, &err), KN_OK);
}

static void test_priors_weigh_expensive_methods(void **state)
{
    (void)state;
    /* The measured MNIST-20 ratios: GEM and offline are hundreds of fly seeds, the fly
     * variants one, an unknown method one until measured. */
    assert_true(bench_method_prior_cost("gem") >= 100 * bench_method_prior_cost("fly"));
    assert_true(bench_method_prior_cost("offline") >= 100 * bench_method_prior_cost("v1"));
    assert_true(bench_method_prior_cost("fly-ridge") > bench_method_prior_cost("fly"));
    assert_true(bench_method_prior_cost("ewc") > bench_method_prior_cost("vanilla"));
    assert_true(bench_method_prior_cost("no-such-method") == 1.0);
    bench_eta e;
    fly_then_gem(&e);
    double done, total;
    bench_eta_progress(&e, 0, 0, &done, &total);
    assert_true(done == 0);
    assert_true(fabs(total - (5 * 1 + 5 * bench_method_prior_cost("gem"))) < 1e-12);
    /* Half of the first fly seed: done is half a fly seed, not a tenth of the benchmark. */
    bench_eta_progress(&e, 0, 0.5, &done, &total);
    assert_true(fabs(done - 0.5) < 1e-12);
    assert_true(done / total < 0.01);
    bench_eta_free(&e);
}

static void test_remaining_time_after_the_cheap_runs(void **state)
{
    (void)state;
    bench_eta e;
    fly_then_gem(&e);
    for (size_t i = 0; i < 5; i++)
        bench_eta_mark_ran(&e, i, 0.4);
    double done, total;
    bench_eta_progress(&e, 5, 0, &done, &total);
    /* Counting runs, half is done and 2 s remain; by cost, each GEM seed is its prior times
     * the measured seconds per prior unit (0.4 s), so about 16 minutes remain. */
    const double remaining = total - done;
    const double by_count = 5 * 0.4;
    assert_true(fabs(done - 2.0) < 1e-12);
    assert_true(fabs(remaining - 5 * bench_method_prior_cost("gem") * 0.4) < 1e-9);
    assert_true(remaining > 100 * by_count);
    bench_eta_free(&e);
}

static void test_measured_seconds_replace_the_prior(void **state)
{
    (void)state;
    bench_eta e;
    fly_then_gem(&e);
    for (size_t i = 0; i < 5; i++)
        bench_eta_mark_ran(&e, i, 0.4);
    bench_eta_mark_ran(&e, 5, 150.0);
    bench_eta_mark_ran(&e, 6, 170.0);
    /* GEM's own mean (160 s) for its remaining seeds, not prior x 0.4 s. */
    for (size_t i = 7; i < 10; i++)
        assert_true(fabs(bench_eta_item_cost(&e, i) - 160.0) < 1e-9);
    double done, total;
    bench_eta_progress(&e, 7, 0.25, &done, &total);
    assert_true(fabs(done - (2.0 + 320.0 + 40.0)) < 1e-9);
    assert_true(fabs(total - (2.0 + 320.0 + 3 * 160.0)) < 1e-9);
    /* A cached item costs nothing: the total drops by its expected cost. */
    bench_eta_mark_cached(&e, 9);
    assert_true(bench_eta_item_cost(&e, 9) == 0);
    bench_eta_progress(&e, 7, 0.25, &done, &total);
    assert_true(fabs(total - (2.0 + 320.0 + 2 * 160.0)) < 1e-9);
    bench_eta_free(&e);
}

static void test_unmeasured_method_scaled_by_measured_rate(void **state)
{
    (void)state;
    const char *items[3] = {"fly", "fly", "offline"};
    bench_eta e;
    kn_error err;
    assert_int_equal(bench_eta_init(&e, items, 3, &err), KN_OK);
    bench_eta_mark_ran(&e, 0, 0.3);
    bench_eta_mark_ran(&e, 1, 0.5);
    /* 0.4 s per prior unit measured on fly. */
    assert_true(fabs(bench_eta_item_cost(&e, 2) - 0.4 * bench_method_prior_cost("offline")) <
                1e-9);
    bench_eta_free(&e);
}

static void test_seeded_orders(void **state)
{
    (void)state;
    int32_t a[20], b[20], c[20];
    bench_seeded_order(1, a, 20);
    bench_seeded_order(1, b, 20);
    bench_seeded_order(12, c, 20);
    assert_memory_equal(a, b, sizeof a);
    assert_memory_not_equal(a, c, sizeof a);
    int seen[20] = {0}, identity = 1;
    for (int i = 0; i < 20; i++) {
        assert_true(a[i] >= 0 && a[i] < 20);
        seen[a[i]]++;
        identity &= a[i] == i;
    }
    for (int i = 0; i < 20; i++)
        assert_int_equal(seen[i], 1);
    assert_false(identity);
    /* A label-order run keeps its cache key; an order changes it. */
    assert_true(bench_cache_key_order(42, NULL, 0) == 42);
    assert_true(bench_cache_key_order(42, a, 20) != bench_cache_key_order(42, c, 20));
}

/* The hand-out order of the pool and the MPI sweep: most expensive first, ties in item order,
 * only the items asked for. */
static void test_order_most_expensive_first(void **state)
{
    (void)state;
    const char *methods[6] = {"fly", "gem", "vanilla", "offline", "fly", "gem"};
    bench_eta e;
    kn_error err;
    assert_int_equal(bench_eta_init(&e, methods, 6, &err), KN_OK);
    size_t items[5] = {0, 2, 3, 4, 5}; /* item 1 is cached: not listed */
    bench_eta_order(&e, items, 5);
    const size_t want[5] = {5, 3, 2, 0, 4};
    for (int i = 0; i < 5; i++)
        assert_int_equal(items[i], want[i]);
    bench_eta_free(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_priors_weigh_expensive_methods),
        cmocka_unit_test(test_remaining_time_after_the_cheap_runs),
        cmocka_unit_test(test_measured_seconds_replace_the_prior),
        cmocka_unit_test(test_unmeasured_method_scaled_by_measured_rate),
        cmocka_unit_test(test_seeded_orders),
        cmocka_unit_test(test_order_most_expensive_first),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
