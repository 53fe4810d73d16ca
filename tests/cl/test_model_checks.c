/* Model files that cannot hurt: for every method in the registry, a model trained on one task is
 * saved, then every float tensor of the file in turn is tampered with (a NaN, then an infinity)
 * and the load must refuse it naming the tensor; fly-ridge's fly.dirty must be 0 or 1; devices,
 * pipes and files whose header does not match their size are refused before anything is read;
 * a model resumed on a stream checks the stream's first tasks hold the classes it has learned. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kenyon/fileio.h"
#include "kenyon/learner.h"
#include "kenyon/rng.h"
#include "kenyon/safetensors.h"
#include "kenyon/tasks.h"
#include "test_support.h"

#define D 6
#define C 4
#define N 64

/* Small settings for whichever of these parameters the method has. */
static const kn_kv small[] = {{"m", "40"},      {"c", "3"},       {"hidden", "8"},
                              {"latent", "4"},  {"iters", "4"},   {"minibatch", "16"},
                              {"n-memories", "8"}};

static kn_learner *trained(const kn_method *m)
{
    kn_kv ov[8];
    size_t n = 0;
    for (size_t i = 0; i < sizeof small / sizeof small[0]; i++)
        for (const kn_param_spec *p = m->params; p && p->name; p++)
            if (strcmp(p->name, small[i].key) == 0)
                ov[n++] = small[i];
    kn_learner_info info = {.d = D, .n_classes = C, .seed = 3};
    kn_learner *l = NULL;
    kn_error err;
    if (kn_learner_create(m->name, &info, ov, n, &l, &err))
        fail_msg("%s: %s", m->name, err.msg);
    float x[N * D];
    int32_t y[N];
    kn_rng r;
    kn_rng_seed(&r, 5);
    for (int i = 0; i < N; i++) {
        y[i] = i % 2;
        for (int j = 0; j < D; j++)
            x[i * D + j] = (float)(kn_rng_uniform(&r) + (j == y[i] ? 1.0 : 0.0));
    }
    int32_t cls[2] = {0, 1};
    if (kn_learner_begin_task(l, 0, cls, 2, &err) || kn_learner_observe(l, x, y, N, &err) ||
        kn_learner_end_task(l, &err))
        fail_msg("%s: %s", m->name, err.msg);
    return l;
}

static unsigned char *slurp(const char *path, size_t *len)
{
    unsigned char *d;
    kn_error err;
    if (kn_read_file(path, (size_t)1 << 30, &d, len, &err))
        fail_msg("%s", err.msg);
    return d;
}

static void test_non_finite_tensors_refused_in_every_method(void **state)
{
    (void)state;
    const char *dir = kt_scratch_dir("tamper");
    int tampered_tensors = 0;
    for (const kn_method *const *mp = kn_method_list(); *mp; mp++) {
        const kn_method *m = *mp;
        kn_learner *l = trained(m);
        const char *path = kt_path(dir, "model.st"), *bad = kt_path(dir, "bad.st");
        kn_error err;
        if (kn_learner_save(l, path, &err))
            fail_msg("%s save: %s", m->name, err.msg);
        kn_learner_free(l);
        kn_learner *back = NULL;
        if (kn_learner_load(path, &back, &err))
            fail_msg("%s load: %s", m->name, err.msg);
        kn_learner_free(back);
        size_t len;
        unsigned char *bytes = slurp(path, &len);
        kn_st_file f;
        assert_int_equal(kn_st_parse(bytes, len, path, &f, &err), 0);
        for (size_t t = 0; t < f.n_tensors; t++) {
            const kn_st_tensor *ti = &f.tensors[t];
            if ((ti->dtype != KN_ST_F32 && ti->dtype != KN_ST_F64) || ti->count == 0)
                continue;
            for (int kind = 0; kind < 2; kind++) {
                double v = kind ? INFINITY : NAN;
                unsigned char *copy = malloc(len);
                assert_non_null(copy);
                memcpy(copy, bytes, len);
                size_t at = ti->file_offset + (ti->count / 2) * kn_st_dtype_size(ti->dtype);
                if (ti->dtype == KN_ST_F32) {
                    float fv = (float)v;
                    memcpy(copy + at, &fv, 4);
                } else {
                    memcpy(copy + at, &v, 8);
                }
                kt_write_bytes(bad, copy, len);
                free(copy);
                kn_learner *x = NULL;
                int rc = kn_learner_load(bad, &x, &err);
                kn_learner_free(x);
                if (rc == 0)
                    fail_msg("%s: a %s in tensor %s was accepted", m->name,
                             kind ? "infinity" : "NaN", ti->name);
                if (!strstr(err.msg, ti->name))
                    fail_msg("%s: message does not name tensor %s: %s", m->name, ti->name,
                             err.msg);
            }
            tampered_tensors++;
        }
        kn_st_free(&f);
        free(bytes);
    }
    assert_true(tampered_tensors > 10);
}

/* Replaces the first occurrence of `from` by `to` (same length) in the file. */
static void patch(const char *src, const char *dst, const char *from, const char *to)
{
    size_t len;
    unsigned char *b = slurp(src, &len);
    size_t fl = strlen(from);
    assert_int_equal(fl, strlen(to));
    unsigned char *hit = NULL;
    for (size_t i = 0; i + fl <= len && !hit; i++)
        if (memcmp(b + i, from, fl) == 0)
            hit = b + i;
    if (!hit)
        fail_msg("%s: '%s' not found", src, from);
    memcpy(hit, to, fl);
    kt_write_bytes(dst, b, len);
    free(b);
}

static void test_fly_ridge_dirty_flag_is_0_or_1(void **state)
{
    (void)state;
    const char *dir = kt_scratch_dir("dirty");
    kn_learner *l = trained(kn_method_find("fly-ridge"));
    const char *path = kt_path(dir, "ridge.st"), *bad = kt_path(dir, "bad.st");
    kn_error err;
    assert_int_equal(kn_learner_save(l, path, &err), 0);
    kn_learner_free(l);
    size_t len;
    unsigned char *b = slurp(path, &len);
    const char *key = "\"fly.dirty\":\"";
    char value = 0;
    for (size_t i = 8; i + 14 < len && !value; i++)
        if (memcmp(b + i, key, 13) == 0)
            value = (char)b[i + 13];
    assert_true(value == '0' || value == '1');
    char from[32], to[32];
    snprintf(from, sizeof from, "\"fly.dirty\":\"%c\"", value);
    free(b);
    const char *bad_values[] = {"7", "-"};
    for (int i = 0; i < 2; i++) {
        snprintf(to, sizeof to, "\"fly.dirty\":\"%s\"", bad_values[i]);
        patch(path, bad, from, to);
        kn_learner *x = NULL;
        assert_int_not_equal(kn_learner_load(bad, &x, &err), 0);
        kn_learner_free(x);
        assert_non_null(strstr(err.msg, "fly.dirty"));
    }
}

static void test_non_regular_and_mis_sized_files_refused(void **state)
{
    (void)state;
    const char *dir = kt_scratch_dir("nonreg");
    kn_learner *x = NULL;
    kn_error err;
    /* A device would otherwise be read until the size limit. */
    assert_int_not_equal(kn_learner_load("/dev/zero", &x, &err), 0);
    assert_non_null(strstr(err.msg, "not a regular file"));
    assert_int_not_equal(kn_learner_load(dir, &x, &err), 0);
    assert_non_null(strstr(err.msg, "not a regular file"));
    const char *fifo = kt_path(dir, "pipe");
    assert_int_equal(mkfifo(fifo, 0600), 0);
    /* Opening a FIFO for reading blocks until a writer comes: hold one open. */
    int wfd = open(fifo, O_RDWR | O_NONBLOCK);
    assert_true(wfd >= 0);
    assert_int_not_equal(kn_learner_load(fifo, &x, &err), 0);
    assert_non_null(strstr(err.msg, "pipe"));
    close(wfd);
    /* A real model with bytes appended: the header's declared size disagrees with the file. */
    kn_learner *l = trained(kn_method_find("fly"));
    const char *path = kt_path(dir, "fly.st"), *longer = kt_path(dir, "longer.st");
    assert_int_equal(kn_learner_save(l, path, &err), 0);
    kn_learner_free(l);
    size_t len;
    unsigned char *b = slurp(path, &len);
    unsigned char *b2 = malloc(len + 100);
    assert_non_null(b2);
    memcpy(b2, b, len);
    memset(b2 + len, 0, 100);
    kt_write_bytes(longer, b2, len + 100);
    assert_int_not_equal(kn_learner_load(longer, &x, &err), 0);
    assert_non_null(strstr(err.msg, "declares"));
    free(b);
    free(b2);
}

static void test_resume_must_match_the_stream(void **state)
{
    (void)state;
    /* A model that learned task 0 = classes {0, 1} of 4 (trained() above). */
    kn_learner *l = trained(kn_method_find("fly"));
    kn_split sp;
    memset(&sp, 0, sizeof sp);
    kn_error err;
    assert_int_equal(kn_dataset_alloc(&sp.train, 8, D, 4, &err), 0);
    assert_int_equal(kn_dataset_alloc(&sp.test, 8, D, 4, &err), 0);
    for (int i = 0; i < 8; i++)
        sp.train.y[i] = sp.test.y[i] = i % 4;
    kn_task_stream ts;
    assert_int_equal(kn_task_stream_build(&sp, 2, NULL, &ts, &err), 0);
    assert_int_equal(kn_learner_check_resume(l, "m.st", &ts, D, C, &err), 0);
    assert_int_not_equal(kn_learner_check_resume(l, "m.st", &ts, D + 1, C, &err), 0);
    assert_non_null(strstr(err.msg, "input features"));
    assert_int_not_equal(kn_learner_check_resume(l, "m.st", &ts, D, C + 1, &err), 0);
    assert_non_null(strstr(err.msg, "classes"));
    kn_task_stream_free(&ts);
    /* Four classes per task: the first task holds 0-3, the model learned 0-1. */
    assert_int_equal(kn_task_stream_build(&sp, 4, NULL, &ts, &err), 0);
    assert_int_not_equal(kn_learner_check_resume(l, "m.st", &ts, D, C, &err), 0);
    assert_non_null(strstr(err.msg, "m.st"));
    assert_non_null(strstr(err.msg, "classes 0-1"));
    assert_non_null(strstr(err.msg, "classes 0-3"));
    kn_task_stream_free(&ts);
    /* Another class order: the first task holds 2 and 3. */
    const int32_t order[4] = {2, 3, 0, 1};
    assert_int_equal(kn_task_stream_build(&sp, 2, order, &ts, &err), 0);
    assert_int_not_equal(kn_learner_check_resume(l, "m.st", &ts, D, C, &err), 0);
    assert_non_null(strstr(err.msg, "classes 2-3"));
    kn_task_stream_free(&ts);
    /* A stream with fewer tasks than the model has learned. */
    l->task = 1;
    assert_int_equal(kn_task_stream_build(&sp, 4, NULL, &ts, &err), 0);
    assert_int_not_equal(kn_learner_check_resume(l, "m.st", &ts, D, C, &err), 0);
    assert_non_null(strstr(err.msg, "learned 2 tasks"));
    kn_task_stream_free(&ts);
    kn_split_free(&sp);
    kn_learner_free(l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_non_finite_tensors_refused_in_every_method),
        cmocka_unit_test(test_fly_ridge_dirty_flag_is_0_or_1),
        cmocka_unit_test(test_non_regular_and_mis_sized_files_refused),
        cmocka_unit_test(test_resume_must_match_the_stream),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
