/* Tests of FlyModel and its variants through the learner interface (src/cl/fly_methods.c,
 * src/cl/learner.c): options and their errors, state checks, save/load round trips with
 * bit-identical predictions and continued learning, and truncated or altered model files. */
#include "test_support.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kenyon/learner.h"
#include "kenyon/rng.h"
#include "kenyon/safetensors.h"

#define D 20
#define C 6
#define PER 40 /* samples per class */

/* Gaussian clusters, one per class, samples in class order. */
static void clusters(float *x, int32_t *y, uint64_t seed)
{
    kn_rng r;
    kn_rng_seed(&r, 1234); /* the centres are fixed */
    float centre[C][D];
    for (int c = 0; c < C; c++)
        for (int j = 0; j < D; j++)
            centre[c][j] = (float)(3 * kn_rng_uniform(&r));
    kn_rng_seed(&r, seed);
    for (int c = 0; c < C; c++)
        for (int i = 0; i < PER; i++) {
            int s = c * PER + i;
            y[s] = c;
            for (int j = 0; j < D; j++)
                x[s * D + j] = centre[c][j] + (float)(0.3 * kn_rng_normal(&r));
        }
}

static kn_learner *make(const char *method, const kn_kv *ov, size_t n)
{
    kn_learner_info info = {.d = D, .n_classes = C, .seed = 7};
    kn_learner *l = NULL;
    kn_error err;
    int rc = kn_learner_create(method, &info, ov, n, &l, &err);
    if (rc)
        fail_msg("create %s: %s", method, err.msg);
    return l;
}

static const kn_kv small[] = {{"m", "300"}, {"k", "15"}, {"c", "4"}};

static void train_task(kn_learner *l, int t, const float *x, const int32_t *y)
{
    kn_error err;
    int32_t cls[2] = {2 * t, 2 * t + 1};
    assert_int_equal(kn_learner_begin_task(l, t, cls, 2, &err), 0);
    /* Two batches per task. */
    const float *xt = x + (size_t)(2 * t * PER) * D;
    const int32_t *yt = y + 2 * t * PER;
    assert_int_equal(kn_learner_observe(l, xt, yt, 33, &err), 0);
    assert_int_equal(kn_learner_observe(l, xt + 33 * D, yt + 33, 2 * PER - 33, &err), 0);
    assert_int_equal(kn_learner_end_task(l, &err), 0);
}

static void test_options_and_errors(void **state)
{
    (void)state;
    kn_learner_info info = {.d = D, .n_classes = C, .seed = 1};
    kn_learner *l = NULL;
    kn_error err;
    assert_int_equal(kn_learner_create("nope", &info, NULL, 0, &l, &err), KN_EINVAL);
    assert_non_null(strstr(err.msg, "unknown method 'nope'"));
    assert_non_null(strstr(err.msg, "fly-ridge"));
    kn_kv bad[] = {{"kk", "3"}};
    assert_int_equal(kn_learner_create("fly", &info, bad, 1, &l, &err), KN_EINVAL);
    assert_non_null(strstr(err.msg, "unknown option '--kk' for method fly"));
    assert_non_null(strstr(err.msg, "--k-fraction"));
    kn_kv notnum[] = {{"lr", "fast"}};
    assert_int_equal(kn_learner_create("fly", &info, notnum, 1, &l, &err), KN_EINVAL);
    assert_non_null(strstr(err.msg, "--lr: 'fast' is not a number"));
    kn_kv kbig[] = {{"m", "100"}, {"k", "101"}};
    assert_int_equal(kn_learner_create("fly", &info, kbig, 2, &l, &err), KN_EINVAL);
    assert_non_null(strstr(err.msg, "k (winners) cannot exceed m"));
    kn_kv cbig[] = {{"c", "21"}};
    assert_int_equal(kn_learner_create("v1", &info, cbig, 1, &l, &err), KN_EINVAL);
    assert_non_null(strstr(err.msg, "c (inputs per Kenyon cell) cannot exceed"));
    kn_kv lam[] = {{"lambda", "-1"}};
    assert_int_equal(kn_learner_create("fly-ridge", &info, lam, 1, &l, &err), KN_EINVAL);
    assert_non_null(strstr(err.msg, "--lambda: -1 is out of range; accepted: a number in (0, "));
    kn_kv twice[] = {{"m", "10"}, {"m", "20"}};
    assert_int_equal(kn_learner_create("fly", &info, twice, 2, &l, &err), KN_EINVAL);
    assert_non_null(strstr(err.msg, "--m given twice"));
    assert_null(l);
    /* Defaults are the paper's, and variants get their own learning rates. */
    l = make("fly", NULL, 0);
    assert_string_equal(kn_learner_param(l, "m"), "3200");
    assert_string_equal(kn_learner_param(l, "lr"), "0.01");
    kn_learner_free(l);
    l = make("v2", NULL, 0);
    assert_string_equal(kn_learner_param(l, "lr"), "2");
    /* State checks. */
    float x[D] = {0};
    int32_t y = 0;
    assert_int_equal(kn_learner_observe(l, x, &y, 1, &err), KN_ESTATE);
    int32_t cls[2] = {0, 1};
    assert_int_equal(kn_learner_begin_task(l, 0, cls, 2, &err), 0);
    y = 4;
    assert_int_equal(kn_learner_observe(l, x, &y, 1, &err), KN_EINVAL);
    assert_non_null(strstr(err.msg, "label 4"));
    assert_int_equal(kn_learner_begin_task(l, 1, cls, 2, &err), KN_ESTATE);
    assert_int_equal(kn_learner_save(l, "/tmp/unused.safetensors", &err), KN_ESTATE);
    assert_int_equal(kn_learner_end_task(l, &err), 0);
    assert_int_equal(kn_learner_begin_task(l, 0, cls, 2, &err), KN_EINVAL);
    kn_learner_free(l);
}

/* k from the fraction: m 400 x 0.05 = 20 (recorded in the model file as fly.k). */
static void test_k_fraction(void **state)
{
    (void)state;
    kn_kv ov[] = {{"m", "400"}, {"k-fraction", "0.05"}};
    kn_learner *l = make("fly", ov, 2);
    const char *dir = kt_scratch_dir("kfrac");
    const char *path = kt_path(dir, "f.safetensors");
    kn_error err;
    assert_int_equal(kn_learner_save(l, path, &err), 0);
    kn_st_file f;
    assert_int_equal(kn_st_read(path, &f, &err), 0);
    assert_string_equal(kn_st_meta(&f, "fly.k"), "20");
    assert_string_equal(kn_st_meta(&f, "kenyon.method"), "fly");
    assert_string_equal(kn_st_meta(&f, "kenyon.param.m"), "400");
    kn_st_free(&f);
    kn_learner_free(l);
}

static void scores_of(kn_learner *l, const float *x, size_t n, float *sc)
{
    kn_error err;
    assert_int_equal(kn_learner_predict_scores(l, x, n, sc, &err), 0);
}

/* Train tasks 0-1, save, load: identical scores; both go on with task 2: identical again. */
static void round_trip(const char *method, const kn_kv *ov, size_t nov)
{
    float *x = malloc(C * PER * D * sizeof *x);
    int32_t *y = malloc(C * PER * sizeof *y);
    clusters(x, y, 5);
    kn_learner *a = make(method, ov, nov);
    train_task(a, 0, x, y);
    train_task(a, 1, x, y);
    const char *dir = kt_scratch_dir("rt");
    const char *path = kt_path(dir, "model.safetensors");
    kn_error err;
    float *sa = malloc(C * PER * C * sizeof *sa), *sb = malloc(C * PER * C * sizeof *sb);
    scores_of(a, x, C * PER, sa); /* for fly-ridge this solves before saving */
    assert_int_equal(kn_learner_save(a, path, &err), 0);
    kn_learner *b = NULL;
    if (kn_learner_load(path, &b, &err))
        fail_msg("load: %s", err.msg);
    assert_string_equal(b->method->name, method);
    assert_int_equal(b->task, 1);
    assert_int_equal(b->info.d, D);
    assert_true(b->seen[3] && !b->seen[4]);
    scores_of(b, x, C * PER, sb);
    assert_memory_equal(sa, sb, C * PER * C * sizeof *sa);
    train_task(a, 2, x, y);
    train_task(b, 2, x, y);
    scores_of(a, x, C * PER, sa);
    scores_of(b, x, C * PER, sb);
    assert_memory_equal(sa, sb, C * PER * C * sizeof *sa);
    /* The clusters are easy: after all tasks most samples are right over all 6 classes. */
    int32_t *lab = malloc(C * PER * sizeof *lab);
    assert_int_equal(kn_learner_predict_labels(b, x, C * PER, NULL, lab, &err), 0);
    int right = 0;
    for (int i = 0; i < C * PER; i++)
        right += lab[i] == y[i];
    if (right < C * PER * 8 / 10)
        fail_msg("%s: only %d of %d right", method, right, C * PER);
    /* Restricting the argmax to {0, 1} gives only those labels. */
    uint8_t allowed[C] = {1, 1, 0, 0, 0, 0};
    assert_int_equal(kn_learner_predict_labels(b, x, C * PER, allowed, lab, &err), 0);
    for (int i = 0; i < C * PER; i++)
        assert_true(lab[i] == 0 || lab[i] == 1);
    free(lab);
    free(sa);
    free(sb);
    free(x);
    free(y);
    kn_learner_free(a);
    kn_learner_free(b);
}

static void test_round_trip_fly(void **state)
{
    (void)state;
    round_trip("fly", small, 3);
}
static void test_round_trip_v1(void **state)
{
    (void)state;
    round_trip("v1", small, 3);
}
static void test_round_trip_v3(void **state)
{
    (void)state;
    round_trip("v3", small, 3);
}
static void test_round_trip_ridge(void **state)
{
    (void)state;
    kn_kv ov[] = {{"m", "300"}, {"k", "15"}, {"c", "4"}, {"lambda", "0.5"}};
    round_trip("fly-ridge", ov, 4);
}

static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    fseek(fp, 0, SEEK_END);
    *len = (size_t)ftell(fp);
    fseek(fp, 0, SEEK_SET);
    unsigned char *b = malloc(*len);
    assert_int_equal(fread(b, 1, *len, fp), *len);
    fclose(fp);
    return b;
}

static void expect_load_fails(const char *path, const void *bytes, size_t len, const char *needle)
{
    kt_write_bytes(path, bytes, len);
    kn_learner *l = NULL;
    kn_error err;
    kn_error_clear(&err);
    int rc = kn_learner_load(path, &l, &err);
    if (rc == 0 || (needle && !strstr(err.msg, needle)))
        fail_msg("load of altered file: rc %d, '%s' lacks '%s'", rc, err.msg,
                 needle ? needle : "");
    assert_null(l);
}

static void replace_same_length(unsigned char *b, size_t len, const char *from, const char *to)
{
    size_t fl = strlen(from);
    assert_int_equal(fl, strlen(to));
    for (size_t i = 0; i + fl <= len; i++)
        if (memcmp(b + i, from, fl) == 0) {
            memcpy(b + i, to, fl);
            return;
        }
    fail_msg("'%s' not found in the file", from);
}

static void test_bad_model_files(void **state)
{
    (void)state;
    kn_learner *l = make("fly-ridge", (kn_kv[]){{"m", "40"}, {"k", "5"}, {"c", "3"}}, 3);
    float *x = malloc(C * PER * D * sizeof *x);
    int32_t *y = malloc(C * PER * sizeof *y);
    clusters(x, y, 9);
    train_task(l, 0, x, y);
    const char *dir = kt_scratch_dir("bad");
    const char *good = kt_path(dir, "good.safetensors");
    const char *bad = kt_path(dir, "bad.safetensors");
    kn_error err;
    assert_int_equal(kn_learner_save(l, good, &err), 0);
    kn_learner_free(l);
    size_t len;
    unsigned char *b = slurp(good, &len);
    /* Truncations at many points (all of the header, then strided through the data). */
    for (size_t cut = 0; cut < len; cut += cut < 2000 ? 7 : 997)
        expect_load_fails(bad, b, cut, NULL);
    /* A method that does not exist. */
    unsigned char *c = malloc(len);
    memcpy(c, b, len);
    replace_same_length(c, len, "\"kenyon.method\":\"fly-ridge\"", "\"kenyon.method\":\"fly-ridgE\"");
    expect_load_fails(bad, c, len, "unknown method 'fly-ridgE'");
    /* Parameters that disagree with the tensors. */
    memcpy(c, b, len);
    replace_same_length(c, len, "\"kenyon.param.m\":\"40\"", "\"kenyon.param.m\":\"41\"");
    expect_load_fails(bad, c, len, "tensor 'kc_inputs' has shape [40, 3], expected [41, 3]");
    memcpy(c, b, len);
    replace_same_length(c, len, "\"kenyon.param.k\":\"5\"", "\"kenyon.param.k\":\"x\"");
    expect_load_fails(bad, c, len, "--k: 'x' is not an integer");
    memcpy(c, b, len);
    replace_same_length(c, len, "\"kenyon.param.k\":\"5\"", "\"kenyon.param.k\":\"6\"");
    expect_load_fails(bad, c, len, "fly.k = 5 disagrees");
    memcpy(c, b, len);
    replace_same_length(c, len, "\"kenyon.param.c\":\"3\"", "\"kenyon.param.c\":\"0\"");
    expect_load_fails(bad, c, len, "--c: 0 is out of range; accepted: an integer in [1, ");
    /* A projection index outside the input, and a non-finite weight. */
    kn_st_file f;
    assert_int_equal(kn_st_parse(b, len, "good", &f, &err), 0);
    const kn_st_tensor *t = kn_st_find(&f, "kc_inputs");
    size_t off = t->file_offset;
    memcpy(c, b, len);
    int32_t big = D;
    memcpy(c + off + 4 * 4, &big, 4);
    expect_load_fails(bad, c, len, "kc_inputs: KC encoder: cell 1 input 1 is 20, not < d=20");
    t = kn_st_find(&f, "readout");
    off = t->file_offset;
    memcpy(c, b, len);
    float inf = INFINITY;
    memcpy(c + off, &inf, 4);
    expect_load_fails(bad, c, len, "readout[0] is not finite");
    t = kn_st_find(&f, "kenyon.seen_classes");
    off = t->file_offset;
    memcpy(c, b, len);
    c[off] = 2;
    expect_load_fails(bad, c, len, "kenyon.seen_classes[0] = 2");
    kn_st_free(&f);
    /* Not a kenyon file at all. */
    expect_load_fails(bad, "hello", 5, "too short");
    /* The untouched file still loads. */
    kn_learner *ok = NULL;
    assert_int_equal(kn_learner_load(good, &ok, &err), 0);
    kn_learner_free(ok);
    free(c);
    free(b);
    free(x);
    free(y);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_options_and_errors),
        cmocka_unit_test(test_k_fraction),
        cmocka_unit_test(test_round_trip_fly),
        cmocka_unit_test(test_round_trip_v1),
        cmocka_unit_test(test_round_trip_v3),
        cmocka_unit_test(test_round_trip_ridge),
        cmocka_unit_test(test_bad_model_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
