/* The benchmark checks every --methods item through the methods' typed parameter tables before
 * anything runs, without building trial learners: under an address-space limit far below a
 * fly-ridge Gram matrix with m = 46000 (17 GB), a list whose first item asks for that and whose
 * second item is malformed fails on the second item's parameter, not on memory. The limit is
 * verified to bite, so the test can fail. */
#include "test_support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "kenyon/bench.h"

#if !defined(__SANITIZE_ADDRESS__)
static size_t vm_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long pages = 0;
    if (f) {
        if (fscanf(f, "%lu", &pages) != 1)
            pages = 0;
        fclose(f);
    }
    return (size_t)pages * 4096;
}
#endif

static void test_items_checked_without_learners(void **state)
{
    (void)state;
    kn_error err;
    kn_split sp;
    memset(&sp, 0, sizeof sp);
    assert_int_equal(kn_dataset_alloc(&sp.train, 8, 4, 2, &err), KN_OK);
    assert_int_equal(kn_dataset_alloc(&sp.test, 4, 4, 2, &err), KN_OK);
    for (size_t i = 0; i < sp.train.n; i++)
        sp.train.y[i] = (int32_t)(i % 2);
    for (size_t i = 0; i < sp.test.n; i++)
        sp.test.y[i] = (int32_t)(i % 2);
    kn_bench_options o;
    kn_bench_options_default(&o);
    o.out_dir = kt_path(kt_scratch_dir("bench-check"), "out");
    o.seeds = "1";
    o.methods = "fly-ridge:m=46000:k=1,fly:k-fraction=2";
#if defined(__SANITIZE_ADDRESS__)
    int limited = 1; /* AddressSanitizer needs its huge reservations: check the message only */
#else
    struct rlimit old, lim;
    assert_int_equal(getrlimit(RLIMIT_AS, &old), 0);
    lim = old;
    lim.rlim_cur = (rlim_t)(vm_bytes() + ((size_t)256 << 20));
    assert_int_equal(setrlimit(RLIMIT_AS, &lim), 0);
    void *probe = malloc((size_t)1 << 30);
    int limited = probe == NULL;
    free(probe);
#endif
    int rc = kn_bench_run_split(&o, &sp, "tiny", "raw", &err);
#if !defined(__SANITIZE_ADDRESS__)
    assert_int_equal(setrlimit(RLIMIT_AS, &old), 0);
#endif
    assert_true(limited);
    assert_int_equal(rc, KN_EINVAL);
    if (!strstr(err.msg, "method fly: --k-fraction: 2 is out of range"))
        fail_msg("message '%s' does not name fly's --k-fraction", err.msg);
    kn_split_free(&sp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_items_checked_without_learners),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
