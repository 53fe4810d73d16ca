/* Tests for the learner's typed parameters (kenyon/learner.h over kenyon/params.h): a parameter
 * that only affects how a run is shown (BI-R's verbose) is not written into model files and a
 * loaded model takes its default; every other parameter round-trips; typed reads refuse the
 * wrong type; kn_method_check resolves without building anything and runs the method's cross
 * check. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kenyon/learner.h"
#include "kenyon/safetensors.h"
#include "test_support.h"

static void test_run_only_parameters_are_not_stored(void **state)
{
    (void)state;
    const char *path = kt_path(kt_scratch_dir("learner-params"), "bir.safetensors");
    kn_learner_info info = {.d = 6, .n_classes = 3, .seed = 2};
    const kn_kv kv[] = {{"hidden", "8"}, {"latent", "2"}, {"verbose", "1"}, {"gating", "0"}};
    kn_learner *l = NULL;
    kn_error err;
    if (kn_learner_create("bir", &info, kv, 4, &l, &err))
        fail_msg("create: %s", err.msg);
    int v = -1;
    assert_int_equal(kn_learner_param_bool(l, "verbose", &v, &err), 0);
    assert_int_equal(v, 1);
    /* typed reads check the row's type */
    assert_int_equal(kn_learner_param_int(l, "verbose", &v, &err), KN_EINVAL);
    assert_int_equal(kn_learner_param_double(l, "nope", NULL, &err), KN_EINVAL);
    if (kn_learner_save(l, path, &err))
        fail_msg("save: %s", err.msg);
    kn_learner_free(l);

    kn_st_file f;
    assert_int_equal(kn_st_read(path, &f, &err), 0);
    assert_null(kn_st_meta(&f, "kenyon.param.verbose"));
    assert_string_equal(kn_st_meta(&f, "kenyon.param.gating"), "0");
    assert_string_equal(kn_st_meta(&f, "kenyon.param.hidden"), "8");
    kn_st_free(&f);

    if (kn_learner_load(path, &l, &err))
        fail_msg("load: %s", err.msg);
    assert_string_equal(kn_learner_param(l, "verbose"), "0"); /* the default */
    assert_string_equal(kn_learner_param(l, "gating"), "0");
    assert_string_equal(kn_learner_param(l, "latent"), "2");
    kn_learner_free(l);
}

static void test_method_check(void **state)
{
    (void)state;
    kn_error err;
    kn_params p;
    const kn_method *fly = kn_method_find("fly");
    assert_non_null(fly);
    assert_int_equal(kn_method_check(fly, NULL, 0, &p, &err), 0);
    assert_string_equal(kn_params_text(&p, "m"), "3200");
    const kn_kv k[] = {{"m", "20"}, {"k", "21"}};
    assert_int_equal(kn_method_check(fly, k, 2, NULL, &err), KN_EINVAL);
    assert_non_null(strstr(err.msg, "method fly: k (winners) cannot exceed m"));
    const kn_kv big[] = {{"m", "16777216"}, {"c", "65536"}};
    assert_int_equal(kn_method_check(fly, big, 2, NULL, &err), KN_EINVAL);
    assert_non_null(strstr(err.msg, "too large"));
    const kn_kv ok[] = {{"m", "20"}, {"k", "20"}};
    assert_int_equal(kn_method_check(fly, ok, 2, &p, &err), 0);
    /* EWC's choices, BI-R's switches */
    const kn_kv mode[] = {{"mode", "online"}, {"fisher", "expected"}};
    assert_int_equal(kn_method_check(kn_method_find("ewc"), mode, 2, NULL, &err), 0);
    const kn_kv gate[] = {{"gating", "2"}};
    assert_int_equal(kn_method_check(kn_method_find("bir"), gate, 1, NULL, &err), KN_EINVAL);
    assert_non_null(strstr(err.msg, "method bir: --gating: '2'"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_run_only_parameters_are_not_stored),
        cmocka_unit_test(test_method_check),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
