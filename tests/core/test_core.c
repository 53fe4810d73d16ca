/* Tests for src/core: errors, the random generator, file helpers. */
#include "test_support.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "kenyon/argmax.h"
#include "kenyon/clock.h"
#include "kenyon/samples.h"
#include "kenyon/error.h"
#include "kenyon/fileio.h"
#include "kenyon/rng.h"

static void test_fail_formats_message(void **state)
{
    (void)state;
    kn_error err;
    kn_error_clear(&err);
    int rc = kn_fail(&err, KN_EFORMAT, "%s: bad magic at offset %d", "x.idx", 3);
    assert_int_equal(rc, KN_EFORMAT);
    assert_int_equal(err.code, KN_EFORMAT);
    assert_string_equal(err.msg, "x.idx: bad magic at offset 3");
    assert_int_equal(kn_fail(NULL, KN_EIO, "ignored"), KN_EIO);
}

static void test_rng_reproducible_and_streams_differ(void **state)
{
    (void)state;
    kn_rng a, b, c;
    kn_rng_seed(&a, 42);
    kn_rng_seed(&b, 42);
    kn_rng_stream(&c, 42, 1);
    int same_c = 0;
    for (int i = 0; i < 1000; i++) {
        uint64_t x = kn_rng_next(&a);
        assert_true(x == kn_rng_next(&b));
        same_c += x == kn_rng_next(&c);
    }
    assert_int_equal(same_c, 0);
}

static void test_rng_distributions(void **state)
{
    (void)state;
    kn_rng r;
    kn_rng_seed(&r, 7);
    const int n = 200000;
    double su = 0, sn = 0, sn2 = 0;
    int counts[7] = {0};
    for (int i = 0; i < n; i++) {
        double u = kn_rng_uniform(&r);
        assert_true(u >= 0.0 && u < 1.0);
        su += u;
        double z = kn_rng_normal(&r);
        sn += z;
        sn2 += z * z;
        counts[kn_rng_below(&r, 7)]++;
    }
    assert_true(fabs(su / n - 0.5) < 0.005);
    assert_true(fabs(sn / n) < 0.01);
    assert_true(fabs(sn2 / n - 1.0) < 0.02);
    for (int k = 0; k < 7; k++)
        assert_true(abs(counts[k] - n / 7) < 1000);
}

static void test_permutation_is_permutation(void **state)
{
    (void)state;
    kn_rng r;
    kn_rng_seed(&r, 3);
    uint32_t p[100];
    int seen[100] = {0};
    kn_rng_permutation(&r, p, 100);
    int moved = 0;
    for (int i = 0; i < 100; i++) {
        assert_true(p[i] < 100);
        seen[p[i]]++;
        moved += p[i] != (uint32_t)i;
    }
    for (int i = 0; i < 100; i++)
        assert_int_equal(seen[i], 1);
    assert_true(moved > 50);
}

static void test_atomic_write_and_read(void **state)
{
    (void)state;
    const char *dir = kt_scratch_dir("core");
    const char *path = kt_path(dir, "out.txt");
    kn_error err;
    assert_int_equal(kn_write_file_atomic(path, "hello", 5, &err), KN_OK);
    unsigned char *data;
    size_t len;
    assert_int_equal(kn_read_file(path, 1 << 20, &data, &len, &err), KN_OK);
    assert_int_equal(len, 5);
    assert_memory_equal(data, "hello", 5);
    free(data);

    /* An aborted write leaves neither the target nor a temporary behind. */
    kn_atomic_file af;
    const char *path2 = kt_path(dir, "never.txt");
    assert_int_equal(kn_atomic_open(&af, path2, &err), KN_OK);
    fputs("partial", af.fp);
    kn_atomic_abort(&af);
    struct stat st;
    assert_int_not_equal(stat(path2, &st), 0);
    char listing[600];
    snprintf(listing, sizeof listing, "test $(ls '%s' | wc -l) -eq 1", dir);
    assert_int_equal(system(listing), 0);
}

static void test_read_file_errors_name_the_path(void **state)
{
    (void)state;
    const char *dir = kt_scratch_dir("core2");
    kn_error err;
    unsigned char *data;
    size_t len;
    assert_int_equal(kn_read_file(kt_path(dir, "missing"), 100, &data, &len, &err), KN_EIO);
    assert_non_null(strstr(err.msg, "missing"));
    assert_int_equal(kn_read_file(dir, 100, &data, &len, &err), KN_EIO);
    assert_non_null(strstr(err.msg, "directory"));
    const char *big = kt_path(dir, "big");
    char buf[300000];
    memset(buf, 'a', sizeof buf);
    kt_write_bytes(big, buf, sizeof buf);
    assert_int_equal(kn_read_file(big, 1000, &data, &len, &err), KN_EFORMAT);
    assert_non_null(strstr(err.msg, "limit"));
}

static void test_size_overflow_checks(void **state)
{
    (void)state;
    size_t out;
    assert_int_equal(kn_size_mul((size_t)1 << 40, (size_t)1 << 30, &out), -1);
    assert_int_equal(kn_size_mul(3, 4, &out), 0);
    assert_int_equal(out, 12);
    assert_int_equal(kn_size_add((size_t)-1, 1, &out), -1);
    kn_dataset ds;
    kn_error err;
    assert_int_equal(kn_dataset_alloc(&ds, (size_t)1 << 62, 16, 2, &err), KN_ENOMEM);
}

static void test_mkdirs(void **state)
{
    (void)state;
    const char *dir = kt_scratch_dir("core3");
    kn_error err;
    assert_int_equal(kn_mkdirs(kt_path(dir, "a/b/c"), &err), KN_OK);
    struct stat st;
    assert_int_equal(stat(kt_path(dir, "a/b/c"), &st), 0);
    kt_write_bytes(kt_path(dir, "file"), "x", 1);
    assert_int_equal(kn_mkdirs(kt_path(dir, "file/sub"), &err), KN_EIO);
    assert_non_null(strstr(err.msg, "not a directory"));
}

static void test_argmax_allowed(void **state)
{
    (void)state;
    const float sc[5] = {0.5f, 2.0f, NAN, 2.0f, 3.0f};
    const uint8_t all_but_last[5] = {1, 1, 1, 1, 0}, only_nan_and_first[5] = {1, 0, 1, 0, 0};
    const uint8_t none[5] = {0};
    assert_int_equal(kn_argmax_allowed(sc, 5, NULL), 4);
    /* ties: the first maximum wins */
    assert_int_equal(kn_argmax_allowed(sc, 5, all_but_last), 1);
    /* a NaN never beats an earlier score */
    assert_int_equal(kn_argmax_allowed(sc, 5, only_nan_and_first), 0);
    assert_int_equal(kn_argmax_allowed(sc, 5, none), -1);
    assert_int_equal(kn_argmax_allowed(sc, 0, NULL), -1);
}

static void test_seconds_is_monotonic(void **state)
{
    (void)state;
    double a = kn_seconds(), b = kn_seconds();
    assert_true(a > 0);
    assert_true(b >= a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fail_formats_message),
        cmocka_unit_test(test_rng_reproducible_and_streams_differ),
        cmocka_unit_test(test_rng_distributions),
        cmocka_unit_test(test_permutation_is_permutation),
        cmocka_unit_test(test_atomic_write_and_read),
        cmocka_unit_test(test_read_file_errors_name_the_path),
        cmocka_unit_test(test_size_overflow_checks),
        cmocka_unit_test(test_mkdirs),
        cmocka_unit_test(test_argmax_allowed),
        cmocka_unit_test(test_seconds_is_monotonic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
