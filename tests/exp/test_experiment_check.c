/* Tests for kn_experiment_check: every bad field of a spec is refused with a message naming it,
 * before any file is read; every registered method's defaults pass their own table; and checking
 * allocates nothing large: under an address-space limit far below the size of a fly-ridge Gram
 * matrix with m = 46000 (17 GB), checking that spec still succeeds (a check that built a trial
 * learner would fail there). The limit is verified to bite first, so the test can fail. */
#include "test_support.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "kenyon/experiment.h"

static int fake_lenet(const char *data_dir, FILE *log, kn_split *split, char *label,
                      size_t label_size, kn_error *err)
{
    (void)data_dir, (void)log, (void)split, (void)label, (void)label_size, (void)err;
    return KN_OK;
}

/* The check fails and its message holds needle. */
static void expect_bad(const kn_experiment_spec *s, const char *needle)
{
    kn_error err;
    const char *msg = kn_experiment_check(s, &err);
    if (!msg)
        fail_msg("spec accepted; expected a message with '%s'", needle);
    assert_ptr_equal(msg, err.msg);
    if (!strstr(msg, needle))
        fail_msg("message '%s' lacks '%s'", msg, needle);
}

static void test_fields_are_named(void **state)
{
    (void)state;
    kn_experiment_spec s;
    kn_experiment_spec_default(&s);
    kn_error err;
    assert_null(kn_experiment_check(&s, &err));
    /* A data directory that does not exist is not the check's business (no file is read). */
    s.data_dir = "/nonexistent/kenyon-data";
    assert_null(kn_experiment_check(&s, &err));

    kn_experiment_spec b = s;
    b.classes_per_task = 0;
    expect_bad(&b, "--classes-per-task: 0 must be at least 1");
    b = s;
    b.batch = 0;
    expect_bad(&b, "--batch: 0");
    b = s;
    b.dataset = "mnist21";
    expect_bad(&b, "--dataset: 'mnist21'");
    b = s;
    b.features = "feats.csv";
    expect_bad(&b, "--features: 'feats.csv'");
    b = s;
    b.features = "lenet";
    expect_bad(&b, "--features lenet");
    b.lenet = fake_lenet;
    assert_null(kn_experiment_check(&b, &err));
    b = s;
    b.source = KN_SOURCE_FILES;
    b.train_x = b.train_y = b.test_x = "/nonexistent/x.npy";
    expect_bad(&b, "need all of --train-x");
    b.test_y = "/nonexistent/y.npy";
    assert_null(kn_experiment_check(&b, &err)); /* the files are not opened */
    b.features = "lenet";
    expect_bad(&b, "--features applies to named data sets");
    b = s;
    b.train_x = "x.npy";
    expect_bad(&b, "user data");
    b = s;
    b.source = KN_SOURCE_ARRAYS;
    expect_bad(&b, "arrays is NULL");
    b = s;
    b.source = (kn_experiment_source)7;
    expect_bad(&b, "source");
    b = s;
    int32_t dup[] = {0, 1, 1};
    b.class_order = dup;
    b.n_class_order = 3;
    expect_bad(&b, "class 1 is listed twice");
    int32_t out[] = {0, 3, 1};
    b.class_order = out;
    expect_bad(&b, "entry 1 is 3");
    b.class_order = NULL;
    expect_bad(&b, "class_order is NULL");
    b = s;
    b.method = "flyy";
    expect_bad(&b, "--method: unknown method 'flyy'");
    b = s;
    kn_kv lr[] = {{"lr", "1e308"}};
    b.params = lr;
    b.n_params = 1;
    expect_bad(&b, "method fly: --lr: 1e308 is out of range; accepted: a number in (0, ");
    kn_kv m[] = {{"m", "99999999999"}};
    b.params = m;
    expect_bad(&b, "method fly: --m: 99999999999 is out of range; accepted: an integer in [1, ");
    kn_kv k[] = {{"m", "10"}, {"k", "11"}};
    b.params = k;
    b.n_params = 2;
    expect_bad(&b, "method fly: k (winners) cannot exceed m");
    kn_kv kk[] = {{"kk", "1"}};
    b.params = kk;
    b.n_params = 1;
    expect_bad(&b, "unknown option '--kk' for method fly");
    b.load_model = "/nonexistent/model.safetensors";
    expect_bad(&b, "cannot be changed when resuming with --load");
    b.n_params = 0;
    assert_null(kn_experiment_check(&b, &err)); /* the model is opened by the run only */
    assert_non_null(kn_experiment_check(NULL, NULL));
}

static void test_every_method_default_passes(void **state)
{
    (void)state;
    kn_error err;
    for (const kn_method *const *m = kn_method_list(); *m; m++) {
        if (kn_method_check(*m, NULL, 0, NULL, &err) != KN_OK)
            fail_msg("method %s: its defaults fail: %s", (*m)->name, err.msg);
        for (const kn_param_spec *p = (*m)->params; p && p->name; p++) {
            if (!p->help || !p->default_value)
                fail_msg("method %s: --%s lacks help or a default", (*m)->name, p->name);
        }
    }
}

#if !defined(__SANITIZE_ADDRESS__)
/* Virtual memory in use now, from /proc/self/statm (pages). */
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

static void test_checking_allocates_nothing_large(void **state)
{
    (void)state;
#if defined(__SANITIZE_ADDRESS__)
    skip(); /* AddressSanitizer reserves terabytes of address space; the limit cannot be set */
#else
    kn_experiment_spec s;
    kn_experiment_spec_default(&s);
    s.method = "fly-ridge";
    kn_kv big[] = {{"m", "46000"}, {"k", "1"}};
    s.params = big;
    s.n_params = 2;
    struct rlimit old;
    assert_int_equal(getrlimit(RLIMIT_AS, &old), 0);
    struct rlimit lim = old;
    lim.rlim_cur = (rlim_t)(vm_bytes() + ((size_t)256 << 20));
    assert_int_equal(setrlimit(RLIMIT_AS, &lim), 0);
    /* The limit bites: 1 GB cannot be had (so a trial 17 GB Gram matrix could not either). */
    void *probe = malloc((size_t)1 << 30);
    int limited = probe == NULL;
    free(probe);
    kn_error err;
    const char *msg = kn_experiment_check(&s, &err);
    kn_params p;
    int rc = kn_method_check(kn_method_find("fly-ridge"), big, 2, &p, &err);
    assert_int_equal(setrlimit(RLIMIT_AS, &old), 0);
    assert_true(limited);
    if (msg)
        fail_msg("check failed under the limit: %s", msg);
    assert_int_equal(rc, KN_OK);
    assert_string_equal(kn_params_text(&p, "m"), "46000");
#endif
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fields_are_named),
        cmocka_unit_test(test_every_method_default_passes),
        cmocka_unit_test(test_checking_allocates_nothing_large),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
