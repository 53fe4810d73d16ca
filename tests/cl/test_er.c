/* Tests of the `er` learner (src/cl/er.c): its class-balanced reservoir never exceeds its size
 * and keeps the classes seen within one sample of each other; the same seed gives the same
 * memory and scores, another seed another memory; a saved model restores the memory, the
 * generator and the net, so a loaded copy goes on filling the memory exactly as the original. */
#include "test_support.h"
#include "cl_tasks.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cl/baselines.h"
#include "kenyon/learner.h"
#include "kenyon/rng.h"

#define D 7
#define C 8
#define PER 90
#define N (C * PER)

static void make_data(float *x, int32_t *y)
{
    kn_rng r;
    kn_rng_seed(&r, 17);
    for (size_t s = 0; s < N; s++) {
        int c = (int)(s % C);
        y[s] = c;
        for (int j = 0; j < D; j++)
            x[s * D + j] = (float)((j == c % D ? 2.0 : 0.0) + 0.5 * kn_rng_normal(&r));
    }
}

static kn_learner *make(uint64_t seed, const char *mem)
{
    kn_kv ov[] = {{"hidden", "16"}, {"memory", mem}, {"minibatch", "10"}};
    return cl_make("er", D, C, seed, ov, 3);
}

static void held_counts(const kn_learner *l, size_t *held, size_t *n, size_t *cap)
{
    const int32_t *y;
    assert_int_equal(kn_er_memory(l, NULL, &y, n, cap), 0);
    memset(held, 0, C * sizeof *held);
    for (size_t i = 0; i < *n; i++) {
        assert_true(y[i] >= 0 && y[i] < C);
        held[y[i]]++;
    }
}

/* Task t = classes 2t, 2t+1, in batches of 25; checks the memory after every batch. */
static void run_task(kn_learner *l, int t, const float *x, const int32_t *y, int check)
{
    kn_error err;
    int32_t cls[2] = {2 * t, 2 * t + 1};
    static float xb[N * D];
    static int32_t yb[N];
    size_t m = cl_task_gather(x, y, N, D, cls, 2, NULL, xb, yb);
    assert_int_equal(kn_learner_begin_task(l, t, cls, 2, &err), 0);
    size_t seen_before = (size_t)t * 2 * PER;
    for (size_t st = 0; st < m; st += 25) {
        size_t b = m - st < 25 ? m - st : 25;
        if (kn_learner_observe(l, xb + st * D, yb + st, b, &err))
            fail_msg("observe: %s", err.msg);
        if (!check)
            continue;
        size_t held[C], n, cap;
        held_counts(l, held, &n, &cap);
        size_t seen = seen_before + st + b;
        assert_true(n <= cap);
        assert_int_equal(n, seen < cap ? seen : cap);
    }
    assert_int_equal(kn_learner_end_task(l, &err), 0);
}

static void test_memory_balanced_and_bounded(void **state)
{
    (void)state;
    static float x[N * D];
    static int32_t y[N];
    make_data(x, y);
    const char *sizes[3] = {"48", "50", "1000"};
    for (int si = 0; si < 3; si++) {
        kn_learner *l = make(3, sizes[si]);
        for (int t = 0; t < C / 2; t++) {
            run_task(l, t, x, y, 1);
            size_t held[C], n, cap;
            held_counts(l, held, &n, &cap);
            size_t lo = (size_t)-1, hi = 0;
            for (int c = 0; c < 2 * (t + 1); c++) {
                lo = held[c] < lo ? held[c] : lo;
                hi = held[c] > hi ? held[c] : hi;
            }
            for (int c = 2 * (t + 1); c < C; c++)
                assert_int_equal(held[c], 0);
            if (hi - lo > 1)
                fail_msg("memory %s after task %d: classes hold %zu to %zu samples", sizes[si],
                         t, lo, hi);
        }
        kn_learner_free(l);
    }
}

static void test_same_seed_same_memory(void **state)
{
    (void)state;
    static float x[N * D];
    static int32_t y[N];
    make_data(x, y);
    kn_learner *a = make(5, "40"), *b = make(5, "40"), *c = make(6, "40");
    for (int t = 0; t < C / 2; t++) {
        run_task(a, t, x, y, 0);
        run_task(b, t, x, y, 0);
        run_task(c, t, x, y, 0);
    }
    const float *xa, *xb, *xc;
    const int32_t *ya, *yb, *yc;
    size_t na, nb, nc;
    assert_int_equal(kn_er_memory(a, &xa, &ya, &na, NULL), 0);
    assert_int_equal(kn_er_memory(b, &xb, &yb, &nb, NULL), 0);
    assert_int_equal(kn_er_memory(c, &xc, &yc, &nc, NULL), 0);
    assert_int_equal(na, 40);
    assert_int_equal(nb, 40);
    assert_memory_equal(xa, xb, 40 * D * sizeof(float));
    assert_memory_equal(ya, yb, 40 * sizeof(int32_t));
    assert_true(memcmp(xa, xc, 40 * D * sizeof(float)) != 0);
    float sa[N * C], sb[N * C];
    kn_error err;
    assert_int_equal(kn_learner_predict_scores(a, x, N, sa, &err), 0);
    assert_int_equal(kn_learner_predict_scores(b, x, N, sb, &err), 0);
    assert_memory_equal(sa, sb, sizeof sa);
    kn_learner_free(a);
    kn_learner_free(b);
    kn_learner_free(c);
}

static void test_round_trip(void **state)
{
    (void)state;
    static float x[N * D];
    static int32_t y[N];
    make_data(x, y);
    kn_learner *a = make(9, "30");
    run_task(a, 0, x, y, 0);
    run_task(a, 1, x, y, 0);
    const char *dir = kt_scratch_dir("er");
    const char *path = kt_path(dir, "er.safetensors");
    kn_error err;
    assert_int_equal(kn_learner_save(a, path, &err), 0);
    kn_learner *b = NULL;
    if (kn_learner_load(path, &b, &err))
        fail_msg("load: %s", err.msg);
    static float sa[N * C], sb[N * C];
    assert_int_equal(kn_learner_predict_scores(a, x, N, sa, &err), 0);
    assert_int_equal(kn_learner_predict_scores(b, x, N, sb, &err), 0);
    assert_memory_equal(sa, sb, sizeof sa);
    /* Both go on: the memory evolves identically (its draws depend only on the generator). */
    run_task(a, 2, x, y, 0);
    run_task(b, 2, x, y, 0);
    const float *xa, *xb;
    const int32_t *ya, *yb;
    size_t na, nb;
    assert_int_equal(kn_er_memory(a, &xa, &ya, &na, NULL), 0);
    assert_int_equal(kn_er_memory(b, &xb, &yb, &nb, NULL), 0);
    assert_int_equal(na, nb);
    assert_memory_equal(xa, xb, na * D * sizeof(float));
    assert_memory_equal(ya, yb, na * sizeof(int32_t));
    /* A file whose memory names a class that does not exist is refused. */
    size_t len;
    unsigned char *bytes = (unsigned char *)kt_read_file(path, &len);
    const char *bad = kt_path(dir, "bad.safetensors");
    for (size_t cut = 0; cut < len; cut += len / 9 + 1) {
        kt_write_bytes(bad, bytes, cut);
        kn_learner *c = NULL;
        assert_true(kn_learner_load(bad, &c, &err) < 0);
    }
    char *hit = strstr((char *)bytes + 8, "\"memory.y\"");
    assert_non_null(hit);
    unsigned long long off0 = 0, hlen = 0;
    assert_int_equal(sscanf(strstr(hit, "data_offsets") + 15, "%llu", &off0), 1);
    for (int i = 0; i < 8; i++)
        hlen |= (unsigned long long)bytes[i] << (8 * i);
    int32_t wrong = C;
    memcpy(bytes + 8 + hlen + off0, &wrong, sizeof wrong);
    kt_write_bytes(bad, bytes, len);
    kn_learner *c = NULL;
    assert_true(kn_learner_load(bad, &c, &err) < 0);
    assert_non_null(strstr(err.msg, "memory.y[0] = 8 is not a class"));
    free(bytes);
    kn_learner_free(a);
    kn_learner_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_memory_balanced_and_bounded),
        cmocka_unit_test(test_same_seed_same_memory),
        cmocka_unit_test(test_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
