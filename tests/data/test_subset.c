/* kn_dataset_keep_first_per_class (src/data/subset.c): which rows it keeps, in which order, and
 * that a bad label is refused with the data set left as it was. */
#include "test_support.h"

#include <string.h>

#include "kenyon/tasks.h"

/* 3 classes, class 1 with only 2 rows: labels 0 0 1 2 0 2 2 0 1 2, x[i] = i. */
static const int32_t labels[10] = {0, 0, 1, 2, 0, 2, 2, 0, 1, 2};

static void make(kn_dataset *ds)
{
    kn_error err;
    assert_int_equal(kn_dataset_alloc(ds, 10, 1, 3, &err), 0);
    for (int i = 0; i < 10; i++) {
        ds->y[i] = labels[i];
        ds->x[i] = (float)i;
    }
    strcpy(ds->source, "hand-made");
}

static void test_first_rows_of_each_class(void **state)
{
    (void)state;
    kn_error err;
    kn_dataset ds;
    make(&ds);
    assert_int_equal(kn_dataset_keep_first_per_class(&ds, 2, &err), 0);
    /* Rows 0 1 (class 0), 2 8 (class 1), 3 5 (class 2), in file order. */
    const float want[6] = {0, 1, 2, 3, 5, 8};
    assert_int_equal(ds.n, 6);
    assert_memory_equal(ds.x, want, sizeof want);
    for (size_t i = 0; i < ds.n; i++)
        assert_int_equal(ds.y[i], labels[(int)ds.x[i]]);
    assert_int_equal(ds.n_classes, 3);
    assert_string_equal(ds.source, "hand-made");
    /* Asking for more than a class has keeps every row. */
    assert_int_equal(kn_dataset_keep_first_per_class(&ds, 100, &err), 0);
    assert_int_equal(ds.n, 6);
    assert_int_equal(kn_dataset_keep_first_per_class(&ds, 0, &err), 0);
    assert_int_equal(ds.n, 0);
    kn_dataset_free(&ds);
}

static void test_bad_label_refused(void **state)
{
    (void)state;
    kn_error err;
    kn_dataset ds;
    make(&ds);
    ds.y[7] = 3;
    assert_int_equal(kn_dataset_keep_first_per_class(&ds, 1, &err), KN_EINVAL);
    assert_non_null(strstr(err.msg, "row 7"));
    assert_int_equal(ds.n, 10);
    assert_true(ds.x[9] == 9.0f);
    kn_dataset_free(&ds);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_first_rows_of_each_class),
        cmocka_unit_test(test_bad_label_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
