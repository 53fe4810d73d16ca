/* Tests for the progress display: plain-line output when not a terminal, durations. */
#include "test_support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kenyon/progress.h"

static void test_plain_lines_when_not_a_terminal(void **state)
{
    (void)state;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    kn_progress p;
    kn_progress_start(&p, f, 0, "train", 100);
    for (size_t i = 1; i <= 100; i++)
        kn_progress_update(&p, i, "epoch 1");
    kn_progress_finish(&p, "accuracy 0.9");
    fclose(f);
    assert_non_null(strstr(buf, "train: started (100 steps)"));
    assert_non_null(strstr(buf, "train: 25%"));
    assert_non_null(strstr(buf, "train: 50%"));
    assert_non_null(strstr(buf, "train: 75%"));
    assert_non_null(strstr(buf, "done in"));
    assert_non_null(strstr(buf, "accuracy 0.9"));
    assert_null(strstr(buf, "\r"));
    int lines = 0;
    for (char *c = buf; *c; c++)
        lines += *c == '\n';
    assert_int_equal(lines, 5);
    free(buf);
}

static void test_quiet_prints_nothing(void **state)
{
    (void)state;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    kn_progress p;
    kn_progress_start(&p, f, 1, "x", 10);
    kn_progress_update(&p, 5, NULL);
    kn_progress_finish(&p, NULL);
    fclose(f);
    assert_int_equal(len, 0);
    free(buf);
}

static void test_durations(void **state)
{
    (void)state;
    char b[32];
    kn_format_duration(12.34, b, sizeof b);
    assert_string_equal(b, "12.3s");
    kn_format_duration(185, b, sizeof b);
    assert_string_equal(b, "3m05s");
    kn_format_duration(3720, b, sizeof b);
    assert_string_equal(b, "1h02m");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_lines_when_not_a_terminal),
        cmocka_unit_test(test_quiet_prints_nothing),
        cmocka_unit_test(test_durations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
