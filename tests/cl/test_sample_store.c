/* The sample store of offline and BI-R (src/cl/sample_store.h): rows appended in uneven pieces
 * across several growths come back exactly, in order and through a gather; clear keeps the
 * memory; an impossible size fails with a message naming the owner and leaves the store as it
 * was. */
#include "test_support.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cl/sample_store.h"

#define D 3

static float value(size_t row, size_t j) { return (float)(row * 10 + j) + 0.25f; }

static void test_append_across_growths_and_gather(void **state)
{
    (void)state;
    kn_sample_store st;
    kn_sample_store_init(&st, D, "method test");
    kn_error err;
    const size_t total = 9001, piece = 7; /* more than two doublings of the first capacity */
    float x[7 * D];
    int32_t y[7];
    for (size_t done = 0; done < total;) {
        size_t m = total - done < piece ? total - done : piece;
        for (size_t r = 0; r < m; r++) {
            for (size_t j = 0; j < D; j++)
                x[r * D + j] = value(done + r, j);
            y[r] = (int32_t)((done + r) % 13);
        }
        assert_int_equal(kn_sample_store_append(&st, x, y, m, &err), 0);
        done += m;
    }
    assert_int_equal(st.n, total);
    assert_true(st.cap >= total);
    for (size_t i = 0; i < total; i++) {
        for (size_t j = 0; j < D; j++)
            assert_true(st.x[i * D + j] == value(i, j));
        assert_int_equal(st.y[i], (int32_t)(i % 13));
    }
    const uint32_t idx[4] = {9000, 0, 4321, 0};
    float bx[4 * D];
    int32_t by[4];
    kn_sample_store_gather(&st, idx, 4, bx, by);
    for (size_t r = 0; r < 4; r++) {
        for (size_t j = 0; j < D; j++)
            assert_true(bx[r * D + j] == value(idx[r], j));
        assert_int_equal(by[r], (int32_t)(idx[r] % 13));
    }
    size_t cap = st.cap;
    float *mem = st.x;
    kn_sample_store_clear(&st);
    assert_int_equal(st.n, 0);
    assert_int_equal(st.cap, cap);
    assert_ptr_equal(st.x, mem);
    assert_int_equal(kn_sample_store_append(&st, x, y, 1, &err), 0);
    assert_int_equal(st.n, 1);
    kn_sample_store_free(&st);
    assert_null(st.x);
    assert_int_equal(st.n, 0);
}

static void test_overflow_is_refused_and_named(void **state)
{
    (void)state;
    kn_sample_store st;
    kn_sample_store_init(&st, D, "method test");
    kn_error err;
    float x[D] = {1, 2, 3};
    int32_t y[1] = {4};
    assert_int_equal(kn_sample_store_append(&st, x, y, 1, &err), 0);
    /* A count no memory can hold: refused before any copy. */
    assert_int_equal(kn_sample_store_append(&st, x, y, SIZE_MAX / 2, &err), KN_ENOMEM);
    assert_non_null(strstr(err.msg, "method test"));
    assert_int_equal(st.n, 1);
    assert_true(st.x[0] == 1 && st.x[2] == 3 && st.y[0] == 4);
    kn_sample_store_free(&st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_append_across_growths_and_gather),
        cmocka_unit_test(test_overflow_is_refused_and_named),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
