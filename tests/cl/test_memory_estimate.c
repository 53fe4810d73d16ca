/* The memory estimate made before a learner is built: it grows with the settings that size the
 * big buffers (Gram matrix ~ m^2, projection ~ m c, network ~ hidden^2), it is at least the size
 * of the buffers it names, and a learner that cannot fit is refused with the estimate in the
 * message while ordinary settings pass. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kenyon/fly.h"
#include "kenyon/learner.h"
#include "kenyon/ridge.h"
#include "test_support.h"

static double estimate(const char *method, const kn_kv *ov, size_t n, size_t d, int C)
{
    kn_learner_info info = {.d = d, .n_classes = C, .seed = 1};
    double b = -1;
    char detail[256];
    assert_int_equal(kn_method_memory_estimate(kn_method_find(method), &info, ov, n, 1000, &b,
                                               detail, sizeof detail),
                     0);
    return b;
}

static void test_estimates_follow_the_big_buffers(void **state)
{
    (void)state;
    kn_kv small[] = {{"m", "1000"}, {"c", "10"}}, big[] = {{"m", "4000"}, {"c", "10"}};
    double r1 = estimate("fly-ridge", small, 2, 784, 20), r4 = estimate("fly-ridge", big, 2, 784, 20);
    /* The Gram matrix and its factor alone: 2 m^2 doubles. */
    assert_true(r1 >= 2.0 * 1000 * 1000 * 8);
    assert_true(r4 >= 2.0 * 4000 * 4000 * 8);
    assert_true(r4 > 10 * r1); /* quadratic in m */
    double f1 = estimate("fly", small, 2, 784, 20), f4 = estimate("fly", big, 2, 784, 20);
    assert_true(f1 >= 1000.0 * (10 + 20) * 4); /* projection + readout */
    assert_true(f4 > 3 * f1 && f4 < 5 * f1);   /* linear in m */
    kn_kv h1[] = {{"hidden", "1000"}}, h2[] = {{"hidden", "10000"}};
    double v1 = estimate("vanilla", h1, 1, 784, 20), v2 = estimate("vanilla", h2, 1, 784, 20);
    assert_true(v1 >= (784.0 * 1000 + 1000 * 20) * 4);
    assert_true(v2 > 10 * v1);
    kn_kv g[] = {{"hidden", "100"}, {"n-memories", "100000"}};
    assert_true(estimate("gem", g, 2, 784, 20) >= 100000.0 * 20 * 784 * 4);
}

static void test_too_big_refused_with_the_estimate(void **state)
{
    (void)state;
    double avail;
    if (kn_memory_available(&avail) != 0)
        skip();
    assert_true(avail > 0);
    kn_learner_info info = {.d = 784, .n_classes = 20, .seed = 1};
    kn_error err;
    kn_kv huge[] = {{"m", "500000000"}, {"c", "10"}};
    assert_int_equal(kn_learner_check_memory("fly-ridge", &info, huge, 2, 1000, &err), KN_ENOMEM);
    assert_non_null(strstr(err.msg, "would need about"));
    assert_non_null(strstr(err.msg, "Gram matrix"));
    assert_non_null(strstr(err.msg, "available"));
    kn_kv wide[] = {{"hidden", "10000000"}};
    assert_int_equal(kn_learner_check_memory("vanilla", &info, wide, 1, 1000, &err), KN_ENOMEM);
    /* The defaults fit anywhere kenyon runs. */
    assert_int_equal(kn_learner_check_memory("fly", &info, NULL, 0, 1000, &err), 0);
    assert_int_equal(kn_learner_check_memory("bir", &info, NULL, 0, 1000, &err), 0);
}

/* The ridge check in the learners' create (for callers that skip kn_learner_check_memory)
 * honours KENYON_MEMORY_LIMIT like the learner checks: a limit below what m 4000 needs (two
 * 4000 x 4000 double matrices, 0.256 GB) refuses fly-ridge and ranpac with that need named; a
 * limit above it, or none, lets them be made. */
static void test_ridge_check_honours_the_limit(void **state)
{
    (void)state;
    kn_learner_info info = {.d = 20, .n_classes = 4, .seed = 1};
    kn_kv fr[] = {{"m", "4000"}, {"c", "3"}}, rp[] = {{"M", "4000"}};
    kn_learner *l = NULL;
    kn_error err;
    const double need = kn_ridge_bytes(4000, 4);
    assert_true(need > 0.256e9 && need < 0.257e9);
    assert_int_equal(setenv("KENYON_MEMORY_LIMIT", "100M", 1), 0);
    assert_int_equal(kn_ridge_check_memory("method fly-ridge", "m", 4000, 4, 0, NULL, &err), KN_ENOMEM);
    assert_non_null(strstr(err.msg, "m=4000 needs 0.256 GB"));
    assert_non_null(strstr(err.msg, "KENYON_MEMORY_LIMIT's 0.105 GB"));
    assert_int_equal(kn_learner_create("fly-ridge", &info, fr, 2, &l, &err), KN_ENOMEM);
    assert_null(l);
    /* fly-ridge also holds its pending codes: 4000^2 * 13 / 8 bytes more. */
    assert_non_null(strstr(err.msg, "method fly-ridge: m=4000 needs 0.282 GB"));
    assert_non_null(strstr(err.msg, "and the Gram update's pending codes"));
    assert_int_equal(kn_learner_create("ranpac", &info, rp, 1, &l, &err), KN_ENOMEM);
    assert_null(l);
    assert_non_null(strstr(err.msg, "method ranpac: M=4000 needs 0.256 GB"));
    /* A smaller learner fits under the same limit. */
    assert_int_equal(kn_ridge_check_memory("method fly-ridge", "m", 1000, 4, 0, NULL, &err), 0);
    assert_int_equal(setenv("KENYON_MEMORY_LIMIT", "lots", 1), 0);
    assert_int_equal(kn_ridge_check_memory("method fly-ridge", "m", 1000, 4, 0, NULL, &err), KN_EINVAL);
    assert_non_null(strstr(err.msg, "KENYON_MEMORY_LIMIT=lots"));
    assert_int_equal(setenv("KENYON_MEMORY_LIMIT", "300M", 1), 0);
    assert_int_equal(kn_ridge_check_memory("method fly-ridge", "m", 4000, 4, 0, NULL, &err), 0);
    /* Between the two needs: the matrices alone fit, with the pending codes they do not. */
    assert_int_equal(setenv("KENYON_MEMORY_LIMIT", "260M", 1), 0);
    assert_int_equal(kn_ridge_check_memory("method fly-ridge", "m", 4000, 4, 0, NULL, &err), 0);
    assert_int_equal(kn_ridge_check_memory("method fly-ridge", "m", 4000, 4,
                                           kn_fly_ridge_buffer_bytes(4000), "the codes", &err),
                     KN_ENOMEM);
    assert_non_null(strstr(err.msg, "m=4000 needs 0.282 GB"));
    assert_int_equal(kn_learner_create("fly-ridge", &info, fr, 2, &l, &err), KN_ENOMEM);
    assert_null(l);
    kn_kv fa[] = {{"m", "4000"}, {"c", "3"}};
    assert_int_equal(kn_learner_create("fly-apl", &info, fa, 2, &l, &err), KN_ENOMEM);
    assert_null(l);
    assert_non_null(strstr(err.msg, "method fly-apl: m=4000 needs 0.282 GB"));
    unsetenv("KENYON_MEMORY_LIMIT");
    double avail;
    if (kn_memory_available(&avail) == 0 && avail > 4 * need) {
        assert_int_equal(kn_learner_create("fly-ridge", &info, fr, 2, &l, &err), 0);
        kn_learner_free(l);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_estimates_follow_the_big_buffers),
        cmocka_unit_test(test_too_big_refused_with_the_estimate),
        cmocka_unit_test(test_ridge_check_honours_the_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
