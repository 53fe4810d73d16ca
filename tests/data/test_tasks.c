/* Task streams, gathering, subsets and class balancing on small hand-made splits. */
#include "test_support.h"

#include <stdlib.h>
#include <string.h>

#include "kenyon/data_load.h"
#include "kenyon/tasks.h"

/* train: labels 0..C-1 repeated, x[i][j] = i*10 + j; test likewise with fewer rows. */
static void make_split(kn_split *sp, int C, size_t n_train, size_t n_test, size_t d)
{
    kn_error err;
    memset(sp, 0, sizeof *sp);
    assert_int_equal(kn_dataset_alloc(&sp->train, n_train, d, C, &err), 0);
    assert_int_equal(kn_dataset_alloc(&sp->test, n_test, d, C, &err), 0);
    for (size_t i = 0; i < n_train; i++) {
        sp->train.y[i] = (int32_t)(i % (size_t)C);
        for (size_t j = 0; j < d; j++)
            sp->train.x[i * d + j] = (float)(i * 10 + j);
    }
    for (size_t i = 0; i < n_test; i++)
        sp->test.y[i] = (int32_t)((i * 3) % (size_t)C);
}

static void test_label_order_stream(void **state)
{
    (void)state;
    kn_split sp;
    make_split(&sp, 20, 100, 40, 3);
    kn_task_stream ts;
    kn_error err;
    assert_int_equal(kn_task_stream_build(&sp, 2, NULL, &ts, &err), 0);
    assert_int_equal(ts.n_tasks, 10);
    for (int t = 0; t < 10; t++) {
        const kn_task *k = &ts.tasks[t];
        assert_int_equal(k->index, t);
        assert_int_equal(k->n_classes, 2);
        assert_int_equal(k->classes[0], 2 * t);
        assert_int_equal(k->classes[1], 2 * t + 1);
        assert_int_equal(k->n_train, 10); /* 100 rows / 20 classes * 2 */
        for (size_t i = 0; i < k->n_train; i++) {
            int32_t y = sp.train.y[k->train_idx[i]];
            assert_true(y == 2 * t || y == 2 * t + 1);
            if (i)
                assert_true(k->train_idx[i] > k->train_idx[i - 1]); /* file order */
        }
        assert_int_equal(k->n_test, 4);
        for (size_t i = 0; i < k->n_test; i++) {
            int32_t y = sp.test.y[k->test_idx[i]];
            assert_true(y == 2 * t || y == 2 * t + 1);
        }
    }
    /* Task 0 train rows are exactly 0,1,20,21,40,41,... */
    assert_int_equal(ts.tasks[0].train_idx[0], 0);
    assert_int_equal(ts.tasks[0].train_idx[1], 1);
    assert_int_equal(ts.tasks[0].train_idx[2], 20);
    assert_int_equal(ts.tasks[0].train_idx[3], 21);
    kn_task_stream_free(&ts);
    kn_split_free(&sp);
}

static void test_custom_order_and_remainder(void **state)
{
    (void)state;
    kn_split sp;
    make_split(&sp, 5, 50, 10, 2);
    int32_t order[5] = {4, 2, 0, 1, 3};
    kn_task_stream ts;
    kn_error err;
    assert_int_equal(kn_task_stream_build(&sp, 2, order, &ts, &err), 0);
    assert_int_equal(ts.n_tasks, 3);
    assert_int_equal(ts.tasks[0].classes[0], 4);
    assert_int_equal(ts.tasks[0].classes[1], 2);
    assert_int_equal(ts.tasks[2].n_classes, 1);
    assert_int_equal(ts.tasks[2].classes[0], 3);
    assert_int_equal(ts.tasks[2].n_train, 10);
    kn_task_stream_free(&ts);

    int32_t dup[5] = {4, 2, 2, 1, 3};
    assert_int_equal(kn_task_stream_build(&sp, 2, dup, &ts, &err), KN_EINVAL);
    assert_non_null(strstr(err.msg, "class 2 twice"));
    int32_t bad[5] = {4, 2, 7, 1, 3};
    assert_int_equal(kn_task_stream_build(&sp, 2, bad, &ts, &err), KN_EINVAL);
    assert_non_null(strstr(err.msg, "entry 2 is 7"));
    assert_int_equal(kn_task_stream_build(&sp, 0, NULL, &ts, &err), KN_EINVAL);
    assert_non_null(strstr(err.msg, "classes per task"));
    assert_int_equal(kn_task_stream_build(&sp, 6, NULL, &ts, &err), KN_EINVAL);
    /* A class without training samples is named. */
    for (size_t i = 0; i < sp.train.n; i++)
        if (sp.train.y[i] == 3)
            sp.train.y[i] = 1;
    assert_int_equal(kn_task_stream_build(&sp, 2, NULL, &ts, &err), KN_EINVAL);
    assert_non_null(strstr(err.msg, "class 3"));
    assert_null(ts.tasks);
    kn_split_free(&sp);
}

static void test_permuted_order(void **state)
{
    (void)state;
    int32_t a[20], b[20], c[20];
    kn_error err;
    assert_int_equal(kn_class_order_permuted(20, 7, a, &err), 0);
    assert_int_equal(kn_class_order_permuted(20, 7, b, &err), 0);
    assert_int_equal(kn_class_order_permuted(20, 8, c, &err), 0);
    assert_memory_equal(a, b, sizeof a);
    assert_true(memcmp(a, c, sizeof a) != 0);
    int seen[20] = {0};
    for (int i = 0; i < 20; i++) {
        assert_true(a[i] >= 0 && a[i] < 20);
        seen[a[i]]++;
    }
    for (int i = 0; i < 20; i++)
        assert_int_equal(seen[i], 1);
    assert_int_equal(kn_class_order_permuted(0, 7, a, &err), KN_EINVAL);
}

static void test_train_order_and_gather(void **state)
{
    (void)state;
    kn_split sp;
    make_split(&sp, 4, 40, 8, 3);
    kn_task_stream ts;
    kn_error err;
    assert_int_equal(kn_task_stream_build(&sp, 2, NULL, &ts, &err), 0);
    const kn_task *t = &ts.tasks[1];
    size_t order[64], order2[64];
    assert_int_equal(kn_task_train_order(t, 0, NULL, order, &err), 0);
    assert_memory_equal(order, t->train_idx, t->n_train * sizeof(size_t));
    kn_rng r1, r2;
    kn_rng_seed(&r1, 5);
    kn_rng_seed(&r2, 5);
    assert_int_equal(kn_task_train_order(t, 1, &r1, order, &err), 0);
    assert_int_equal(kn_task_train_order(t, 1, &r2, order2, &err), 0);
    assert_memory_equal(order, order2, t->n_train * sizeof(size_t));
    assert_true(memcmp(order, t->train_idx, t->n_train * sizeof(size_t)) != 0);
    /* A shuffle is a permutation of the same indices. */
    size_t sum1 = 0, sum2 = 0;
    for (size_t i = 0; i < t->n_train; i++) {
        sum1 += order[i];
        sum2 += t->train_idx[i];
    }
    assert_int_equal(sum1, sum2);
    assert_int_equal(kn_task_train_order(t, 1, NULL, order, &err), KN_EINVAL);

    size_t idx[3] = {6, 2, 39};
    float x[9];
    int32_t y[3];
    kn_dataset_gather(&sp.train, idx, 3, x, y);
    float want[9] = {60, 61, 62, 20, 21, 22, 390, 391, 392};
    assert_memory_equal(x, want, sizeof want);
    assert_int_equal(y[0], 2);
    assert_int_equal(y[1], 2);
    assert_int_equal(y[2], 3);
    kn_dataset_gather(&sp.train, idx, 3, NULL, y); /* x may be NULL */

    kn_dataset sub;
    assert_int_equal(kn_dataset_subset(&sp.train, idx, 3, &sub, &err), 0);
    assert_int_equal(sub.n, 3);
    assert_memory_equal(sub.x, want, sizeof want);
    kn_dataset_free(&sub);
    size_t badidx[1] = {40};
    assert_int_equal(kn_dataset_subset(&sp.train, badidx, 1, &sub, &err), KN_EINVAL);
    assert_non_null(strstr(err.msg, "beyond 40 rows"));
    kn_task_stream_free(&ts);
    kn_split_free(&sp);
}

static void test_balance(void **state)
{
    (void)state;
    kn_error err;
    kn_dataset ds, ds2;
    /* class 0: 10 rows, class 1: 4 rows, class 2: 7 rows, class 3: none. */
    int32_t labels[21];
    int k = 0;
    for (int i = 0; i < 10; i++) labels[k++] = 0;
    for (int i = 0; i < 7; i++) labels[k++] = 2;
    for (int i = 0; i < 4; i++) labels[k++] = 1;
    for (int rep = 0; rep < 2; rep++) {
        kn_dataset *d = rep ? &ds2 : &ds;
        assert_int_equal(kn_dataset_alloc(d, 21, 1, 4, &err), 0);
        for (int i = 0; i < 21; i++) {
            d->y[i] = labels[i];
            d->x[i] = (float)i;
        }
        assert_int_equal(kn_dataset_balance(d, 99, &err), 0);
    }
    assert_int_equal(ds.n, 12);
    size_t counts[4];
    kn_dataset_class_counts(&ds, counts);
    assert_int_equal(counts[0], 4);
    assert_int_equal(counts[1], 4);
    assert_int_equal(counts[2], 4);
    assert_int_equal(counts[3], 0);
    for (size_t i = 1; i < ds.n; i++)
        assert_true(ds.x[i] > ds.x[i - 1]); /* file order kept */
    for (size_t i = 0; i < ds.n; i++)
        assert_int_equal(ds.y[i], labels[(int)ds.x[i]]); /* rows stay intact */
    assert_memory_equal(ds.x, ds2.x, ds.n * sizeof(float)); /* same seed, same rows */
    kn_dataset_free(&ds);
    kn_dataset_free(&ds2);
}

/* Grouping the test rows by task: every task's rows become one contiguous run, in task order,
 * holding exactly the rows (features and label) that gathering its old test_idx gave, in the same
 * order; a second call finds nothing to do; a stream in which a row belongs to two tasks is left
 * alone. */
static void test_group_test_rows(void **state)
{
    (void)state;
    const size_t d = 3, n_test = 37;
    kn_split sp;
    make_split(&sp, 6, 60, n_test, d); /* test labels (3 i) mod 6: tasks interleaved */
    for (size_t i = 0; i < n_test; i++)
        for (size_t j = 0; j < d; j++)
            sp.test.x[i * d + j] = (float)(i * 10 + j);
    const int32_t order[6] = {4, 1, 0, 5, 3, 2};
    kn_task_stream ts;
    kn_error err;
    assert_int_equal(kn_task_stream_build(&sp, 2, order, &ts, &err), 0);
    float want_x[37 * 3];
    int32_t want_y[37];
    size_t at = 0;
    for (int t = 0; t < ts.n_tasks; t++) {
        kn_dataset_gather(&sp.test, ts.tasks[t].test_idx, ts.tasks[t].n_test, want_x + at * d,
                          want_y + at);
        at += ts.tasks[t].n_test;
    }
    assert_int_equal(at, n_test);
    assert_int_equal(kn_task_stream_group_test(&sp.test, &ts), 1);
    assert_memory_equal(sp.test.x, want_x, sizeof want_x);
    assert_memory_equal(sp.test.y, want_y, sizeof want_y);
    at = 0;
    for (int t = 0; t < ts.n_tasks; t++)
        for (size_t q = 0; q < ts.tasks[t].n_test; q++)
            assert_int_equal(ts.tasks[t].test_idx[q], at++);
    assert_int_equal(kn_task_stream_group_test(&sp.test, &ts), 0);
    assert_memory_equal(sp.test.x, want_x, sizeof want_x);

    /* Row 0 in two tasks: not a partition of the test set, nothing moves. */
    ts.tasks[1].test_idx[0] = ts.tasks[0].test_idx[0];
    ts.tasks[1].test_idx[1] = ts.tasks[0].test_idx[0] + 7;
    assert_int_equal(kn_task_stream_group_test(&sp.test, &ts), 0);
    assert_memory_equal(sp.test.x, want_x, sizeof want_x);
    kn_task_stream_free(&ts);
    kn_split_free(&sp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_label_order_stream),
        cmocka_unit_test(test_custom_order_and_remainder),
        cmocka_unit_test(test_permuted_order),
        cmocka_unit_test(test_train_order_and_gather),
        cmocka_unit_test(test_balance),
        cmocka_unit_test(test_group_test_rows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
