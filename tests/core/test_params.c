/* Tests for typed parameters (kenyon/params.h): the one number parser tells malformed text from
 * numbers out of range, and for every parameter type a malformed or out-of-range value is
 * refused with a message that names the parameter, the value and the accepted range, while
 * values at the limits are accepted. Resolving a table against overrides finds unknown and
 * repeated keys. The keyword spelling (Python's) names k_fraction=, the default --k-fraction. */
#include "test_support.h"

#include <math.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>

#include "kenyon/params.h"

static void test_number_parser(void **state)
{
    (void)state;
    int64_t i;
    uint64_t u;
    double d;
    assert_int_equal(kn_parse_i64("-12", &i), KN_NUM_OK);
    assert_int_equal(i, -12);
    assert_int_equal(kn_parse_i64("+7", &i), KN_NUM_OK);
    assert_int_equal(i, 7);
    assert_int_equal(kn_parse_i64("9223372036854775807", &i), KN_NUM_OK);
    assert_true(i == INT64_MAX);
    assert_int_equal(kn_parse_i64("9223372036854775808", &i), KN_NUM_RANGE);
    assert_int_equal(kn_parse_i64("-99999999999999999999", &i), KN_NUM_RANGE);
    const char *not_int[] = {"", " 5", "5 ", "1.5", "1e3", "0x10", "abc", "-", "+", "--1", NULL};
    for (int k = 0; not_int[k]; k++)
        if (kn_parse_i64(not_int[k], &i) != KN_NUM_SYNTAX)
            fail_msg("'%s' should not parse as an integer", not_int[k]);
    assert_int_equal(kn_parse_i64(NULL, &i), KN_NUM_SYNTAX);

    assert_int_equal(kn_parse_u64("18446744073709551615", &u), KN_NUM_OK);
    assert_true(u == UINT64_MAX);
    assert_int_equal(kn_parse_u64("18446744073709551616", &u), KN_NUM_RANGE);
    assert_int_equal(kn_parse_u64("-1", &u), KN_NUM_RANGE);
    assert_int_equal(kn_parse_u64("-0", &u), KN_NUM_OK);
    assert_true(u == 0);
    assert_int_equal(kn_parse_u64("1x", &u), KN_NUM_SYNTAX);

    assert_int_equal(kn_parse_f64("1e-3", &d), KN_NUM_OK);
    assert_true(d == 1e-3);
    assert_int_equal(kn_parse_f64("-2.5", &d), KN_NUM_OK);
    assert_true(d == -2.5);
    assert_int_equal(kn_parse_f64("1e308", &d), KN_NUM_OK);
    assert_int_equal(kn_parse_f64("1e999", &d), KN_NUM_RANGE);
    assert_int_equal(kn_parse_f64("-1e999", &d), KN_NUM_RANGE);
    assert_int_equal(kn_parse_f64("1e-400", &d), KN_NUM_OK); /* underflow: a tiny number */
    assert_true(d >= 0 && d < 1e-300);
    const char *not_num[] = {"", "nan", "inf", "-inf", "0x1p3", "1,5", " 1", "1 ", "e5", "fast",
                             NULL};
    for (int k = 0; not_num[k]; k++)
        if (kn_parse_f64(not_num[k], &d) != KN_NUM_SYNTAX)
            fail_msg("'%s' should not parse as a number", not_num[k]);
}

/* check(row, text) fails, and the message holds every needle. */
static void expect_refused(const kn_param_spec *row, const char *text, const char *n1,
                           const char *n2)
{
    kn_error err;
    kn_error_clear(&err);
    if (kn_param_check(row, "method t", text, &err) != KN_EINVAL)
        fail_msg("--%s '%s' was accepted", row->name, text);
    char name[80];
    snprintf(name, sizeof name, "method t: --%s: ", row->name);
    if (!strstr(err.msg, name) || (n1 && !strstr(err.msg, n1)) || (n2 && !strstr(err.msg, n2)))
        fail_msg("--%s '%s': message '%s' lacks '%s' / '%s' / '%s'", row->name, text, err.msg,
                 name, n1 ? n1 : "", n2 ? n2 : "");
}

static void expect_accepted(const kn_param_spec *row, const char *text)
{
    kn_error err;
    if (kn_param_check(row, "method t", text, &err) != KN_OK)
        fail_msg("--%s '%s' refused: %s", row->name, text, err.msg);
}

static void test_int_rows(void **state)
{
    (void)state;
    const kn_param_spec m = KN_PARAM_ROW_INT("m", "3200", 1, 1048576, "cells");
    expect_accepted(&m, "1");
    expect_accepted(&m, "1048576");
    expect_refused(&m, "0", "0 is out of range", "accepted: an integer in [1, 1048576]");
    expect_refused(&m, "1048577", "out of range", "[1, 1048576]");
    /* Too big for any integer type is still "out of range", never "not an integer". */
    expect_refused(&m, "99999999999", "99999999999 is out of range", "[1, 1048576]");
    expect_refused(&m, "99999999999999999999999", "is out of range", NULL);
    expect_refused(&m, "12x", "'12x' is not an integer", "[1, 1048576]");
    expect_refused(&m, "1.5", "is not an integer", NULL);
    expect_refused(&m, "", "is not an integer", NULL);
}

static void test_double_rows(void **state)
{
    (void)state;
    const kn_param_spec lr = KN_PARAM_ROW_REAL("lr", "0.01", 0, 1e6, KN_PARAM_MIN_OPEN, "rate");
    expect_accepted(&lr, "1e-30");
    expect_accepted(&lr, "1e6");
    expect_refused(&lr, "0", "0 is out of range", "accepted: a number in (0, 1e+06]");
    expect_refused(&lr, "-0.1", "out of range", NULL);
    /* 1e308 is a fine double, just too big: the message says so, not "must be positive". */
    expect_refused(&lr, "1e308", "1e308 is out of range", "(0, 1e+06]");
    expect_refused(&lr, "1e999", "1e999 is out of range", NULL);
    expect_refused(&lr, "nan", "'nan' is not a number", NULL);
    expect_refused(&lr, "fast", "'fast' is not a number", NULL);
    const kn_param_spec beta = KN_PARAM_ROW_REAL("beta", "0", 0, 1, KN_PARAM_MAX_OPEN, "decay");
    expect_accepted(&beta, "0");
    expect_accepted(&beta, "0.999");
    expect_refused(&beta, "1", "out of range", "[0, 1)");
    const kn_param_spec big =
        KN_PARAM_ROW_REAL("lambda", "1", 0, KN_PARAM_UNBOUNDED, 0, "no upper limit");
    expect_accepted(&big, "1e300");
    expect_refused(&big, "-1", "out of range", "[0, inf)");
}

static void test_bool_rows(void **state)
{
    (void)state;
    const kn_param_spec b = KN_PARAM_ROW_BOOL("gating", "1", "switch");
    const char *yes[] = {"0", "1", "true", "false", "yes", "no", "on", "off", NULL};
    for (int k = 0; yes[k]; k++)
        expect_accepted(&b, yes[k]);
    expect_refused(&b, "2", "'2' is not a yes/no value", "accepted: 0 or 1");
    expect_refused(&b, "-1", "is not a yes/no value", NULL);
    expect_refused(&b, "True ", "is not a yes/no value", NULL);
    expect_refused(&b, "", "is not a yes/no value", NULL);
}

static void test_choice_rows(void **state)
{
    (void)state;
    const kn_param_spec c = KN_PARAM_ROW_CHOICE("mode", "offline", "offline|online", "mode");
    expect_accepted(&c, "offline");
    expect_accepted(&c, "online");
    expect_refused(&c, "sideways", "'sideways' is not a known value",
                   "accepted: one of offline, online");
    expect_refused(&c, "onlin", "is not a known value", NULL);   /* a prefix is not a word */
    expect_refused(&c, "online|", "is not a known value", NULL); /* nor the separator */
    expect_refused(&c, "", "is not a known value", NULL);
}

static const kn_param_spec table[] = {
    KN_PARAM_ROW_INT("m", "3200", 1, 1048576, "cells"),
    KN_PARAM_ROW_REAL("lr", "0.01", 0, 1e6, KN_PARAM_MIN_OPEN, "rate"),
    KN_PARAM_ROW_BOOL("gating", "1", "switch"),
    KN_PARAM_ROW_CHOICE("mode", "offline", "offline|online", "mode"),
    KN_PARAM_ROW_END,
};

static void test_resolve(void **state)
{
    (void)state;
    kn_params p;
    kn_error err;
    assert_int_equal(kn_params_resolve(&p, table, "method t", NULL, 0, &err), KN_OK);
    assert_int_equal(p.n, 4);
    int m, g, mode;
    double lr;
    assert_int_equal(kn_params_int(&p, "m", &m, &err), KN_OK);
    assert_int_equal(m, 3200);
    kn_kv ov[] = {{"lr", "0.5"}, {"gating", "off"}, {"mode", "online"}, {"m", "7"}};
    assert_int_equal(kn_params_resolve(&p, table, "method t", ov, 4, &err), KN_OK);
    assert_int_equal(kn_params_int(&p, "m", &m, &err), KN_OK);
    assert_int_equal(kn_params_double(&p, "lr", &lr, &err), KN_OK);
    assert_int_equal(kn_params_bool(&p, "gating", &g, &err), KN_OK);
    assert_int_equal(kn_params_choice(&p, "mode", &mode, &err), KN_OK);
    assert_int_equal(m, 7);
    assert_true(lr == 0.5);
    assert_int_equal(g, 0);
    assert_int_equal(mode, 1);
    assert_string_equal(kn_params_text(&p, "lr"), "0.5");
    /* Reading with the wrong type or a name the table lacks is an error, not a crash. */
    assert_int_equal(kn_params_int(&p, "lr", &m, &err), KN_EINVAL);
    assert_int_equal(kn_params_int(&p, "nope", &m, &err), KN_EINVAL);
    assert_null(kn_params_text(&p, "nope"));

    kn_kv unknown[] = {{"mm", "3"}};
    assert_int_equal(kn_params_resolve(&p, table, "method t", unknown, 1, &err), KN_EINVAL);
    assert_non_null(strstr(err.msg, "unknown option '--mm' for method t"));
    assert_non_null(strstr(err.msg, "--gating")); /* lists the options */
    kn_kv twice[] = {{"m", "3"}, {"m", "4"}};
    assert_int_equal(kn_params_resolve(&p, table, "method t", twice, 2, &err), KN_EINVAL);
    assert_non_null(strstr(err.msg, "--m given twice"));
    kn_kv bad[] = {{"m", "3"}, {"lr", "0"}};
    assert_int_equal(kn_params_resolve(&p, table, "method t", bad, 2, &err), KN_EINVAL);
    assert_non_null(strstr(err.msg, "method t: --lr: 0 is out of range"));
    kn_kv novalue[] = {{"m", NULL}};
    assert_int_equal(kn_params_resolve(&p, table, "method t", novalue, 1, &err), KN_EINVAL);
    /* A default that fails its own row is caught when the table is resolved. */
    const kn_param_spec broken[] = {KN_PARAM_ROW_INT("n", "0", 1, 10, "bad default"),
                                    KN_PARAM_ROW_END};
    assert_int_equal(kn_params_resolve(&p, broken, "method t", NULL, 0, &err), KN_EINVAL);
    assert_non_null(strstr(err.msg, "--n: 0 is out of range"));
}

/* The same checks with the keyword spelling (the Python package's): every message names the
 * parameter as a keyword (k_fraction=...), none as an option (--k-fraction), and the option
 * spelling of the same failures is unchanged. */
static void test_keyword_spelling(void **state)
{
    (void)state;
    const kn_param_spec row = KN_PARAM_ROW_REAL("k-fraction", "0.5", 0, 1, 0, "share");
    kn_error err;
    assert_int_equal(kn_param_check_spelled(&row, "method t", "2", KN_PARAM_SPELL_KEYWORD, &err),
                     KN_EINVAL);
    assert_string_equal(err.msg,
                        "method t: k_fraction=2 is out of range; accepted: a number in [0, 1]");
    assert_int_equal(kn_param_check_spelled(&row, NULL, "x", KN_PARAM_SPELL_KEYWORD, &err),
                     KN_EINVAL);
    assert_string_equal(err.msg, "k_fraction='x' is not a number; accepted: a number in [0, 1]");
    assert_int_equal(kn_param_check(&row, "method t", "2", &err), KN_EINVAL);
    assert_string_equal(err.msg,
                        "method t: --k-fraction: 2 is out of range; accepted: a number in [0, 1]");
    assert_int_equal(kn_param_check_spelled(&row, NULL, "0.25", KN_PARAM_SPELL_KEYWORD, &err),
                     KN_OK);

    const kn_param_spec rows[] = {KN_PARAM_ROW_INT("m", "8", 1, 64, "width"),
                                  KN_PARAM_ROW_REAL("k-fraction", "0.5", 0, 1, 0, "share"),
                                  KN_PARAM_ROW_END};
    kn_params p;
    kn_kv unknown[] = {{"k-fractoin", "1"}};
    assert_int_equal(kn_params_resolve_spelled(&p, rows, "method t", unknown, 1,
                                               KN_PARAM_SPELL_KEYWORD, &err),
                     KN_EINVAL);
    assert_string_equal(err.msg, "unknown parameter 'k_fractoin' for method t "
                                 "(its parameters: m, k_fraction)");
    assert_int_equal(kn_params_resolve(&p, rows, "method t", unknown, 1, &err), KN_EINVAL);
    assert_string_equal(err.msg, "unknown option '--k-fractoin' for method t "
                                 "(its options: --m, --k-fraction)");
    kn_kv twice[] = {{"m", "3"}, {"m", "4"}};
    assert_int_equal(kn_params_resolve_spelled(&p, rows, NULL, twice, 2, KN_PARAM_SPELL_KEYWORD,
                                               &err),
                     KN_EINVAL);
    assert_string_equal(err.msg, "parameter m given twice");
    kn_kv bad[] = {{"m", "65"}};
    assert_int_equal(kn_params_resolve_spelled(&p, rows, "method t", bad, 1,
                                               KN_PARAM_SPELL_KEYWORD, &err),
                     KN_EINVAL);
    assert_null(strstr(err.msg, "--"));
    assert_non_null(strstr(err.msg, "method t: m=65 is out of range"));
    kn_kv good[] = {{"k-fraction", "0.25"}};
    assert_int_equal(kn_params_resolve_spelled(&p, rows, "method t", good, 1,
                                               KN_PARAM_SPELL_KEYWORD, &err),
                     KN_OK);
    assert_string_equal(kn_params_text(&p, "k-fraction"), "0.25");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_number_parser), cmocka_unit_test(test_int_rows),
        cmocka_unit_test(test_double_rows),   cmocka_unit_test(test_bool_rows),
        cmocka_unit_test(test_choice_rows),   cmocka_unit_test(test_resolve),
        cmocka_unit_test(test_keyword_spelling),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
