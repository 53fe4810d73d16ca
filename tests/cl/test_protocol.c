/* Tests of the class-incremental protocol and metrics (src/cl/protocol.c, src/cl/metrics.c):
 * metrics on a hand-made accuracy matrix, a scripted learner whose accuracy matrix is known in
 * advance, the results files, resuming a saved model, and FlyModel on easy synthetic tasks. */
#include "test_support.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kenyon/learner.h"
#include "kenyon/protocol.h"
#include "kenyon/rng.h"
#include "kenyon/tasks.h"

static void test_metrics_known_answer(void **state)
{
    (void)state;
    kn_run_result r;
    kn_error err;
    assert_int_equal(kn_run_result_alloc(&r, 3, &err), 0);
    const double R[9] = {1.0, NAN, NAN, 0.8, 0.9, NAN, 0.6, 0.7, 0.95};
    memcpy(r.acc, R, sizeof R);
    memcpy(r.acc_ti, R, sizeof R);
    kn_metrics_compute(&r);
    assert_float_equal(r.curve[0], 1.0, 1e-12);
    assert_float_equal(r.curve[1], 0.85, 1e-12);
    assert_float_equal(r.curve[2], 0.75, 1e-12);
    assert_float_equal(r.final_accuracy, 0.75, 1e-12);
    /* ((1 - 0.6) + (0.9 - 0.7) + 0) / 3 */
    assert_float_equal(r.memory_loss, 0.2, 1e-12);
    /* best-minus-final over j < T-1: (max(1, 0.8) - 0.6 + 0.9 - 0.7) / 2 */
    assert_float_equal(r.forgetting, 0.3, 1e-12);
    /* ((0.6 - 1) + (0.7 - 0.9)) / 2 */
    assert_float_equal(r.bwt, -0.3, 1e-12);
    /* Forgetting uses the best earlier accuracy, not the one right after training. */
    const double R2[9] = {0.5, NAN, NAN, 0.9, 0.8, NAN, 0.4, 0.8, 1.0};
    memcpy(r.acc, R2, sizeof R2);
    kn_metrics_compute(&r);
    assert_float_equal(r.forgetting, ((0.9 - 0.4) + (0.8 - 0.8)) / 2, 1e-12);
    assert_float_equal(r.memory_loss, ((0.5 - 0.4) + 0 + 0) / 3, 1e-12);
    kn_run_result_free(&r);
}

/* A scripted learner: scores[c] = c, i.e. it always predicts the highest allowed class. */
static int script_observe(kn_learner *l, const float *x, const int32_t *y, size_t n,
                          kn_error *err)
{
    (void)l, (void)x, (void)y, (void)n, (void)err;
    return 0;
}
static int script_predict(kn_learner *l, const float *x, size_t n, float *scores, kn_error *err)
{
    (void)x, (void)err;
    for (size_t i = 0; i < n; i++)
        for (int c = 0; c < l->info.n_classes; c++)
            scores[i * (size_t)l->info.n_classes + c] = (float)c;
    return 0;
}
static const kn_learner_ops script_ops = {.observe = script_observe, .predict_scores = script_predict};
static const kn_method script_method = {"script", "test", NULL, NULL, NULL, NULL};

/* 6 classes, 10 train and 5 test samples each, d = 6: class c is feature c on, plus a little
 * noise. */
static void fill(kn_dataset *ds, kn_rng *r)
{
    for (size_t i = 0; i < ds->n; i++) {
        ds->y[i] = (int32_t)(i % 6);
        for (int j = 0; j < 6; j++)
            ds->x[i * 6 + j] = (ds->y[i] == j ? 4.0f : 0.0f) + (float)(0.1 * kn_rng_normal(r));
    }
}
static void make_split(kn_split *sp)
{
    kn_error err;
    assert_int_equal(kn_dataset_alloc(&sp->train, 60, 6, 6, &err), 0);
    assert_int_equal(kn_dataset_alloc(&sp->test, 30, 6, 6, &err), 0);
    kn_rng r;
    kn_rng_seed(&r, 2);
    fill(&sp->train, &r);
    fill(&sp->test, &r);
}

static void test_protocol_scripted_learner(void **state)
{
    (void)state;
    kn_split sp;
    memset(&sp, 0, sizeof sp);
    make_split(&sp);
    kn_task_stream ts;
    kn_error err;
    assert_int_equal(kn_task_stream_build(&sp, 2, NULL, &ts, &err), 0);
    assert_int_equal(ts.n_tasks, 3);
    kn_learner l;
    memset(&l, 0, sizeof l);
    uint8_t seen[6] = {0};
    l.ops = &script_ops;
    l.method = &script_method;
    l.info = (kn_learner_info){.d = 6, .n_classes = 6, .seed = 0};
    l.task = -1;
    l.seen = seen;
    kn_protocol_options o;
    kn_protocol_options_default(&o);
    o.batch = 7;
    kn_run_result r;
    assert_int_equal(kn_protocol_run(&l, &sp, &ts, &o, &r, &err), 0);
    /* After task i the prediction is always class 2i+1: half of task i's test samples, none of
     * the earlier tasks'. Task-incremental: the higher class of each task, always half. */
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) {
            double v = r.acc[i * 3 + j], vt = r.acc_ti[i * 3 + j];
            if (j > i) {
                assert_true(isnan(v) && isnan(vt));
            } else {
                assert_float_equal(v, j == i ? 0.5 : 0.0, 1e-12);
                assert_float_equal(vt, 0.5, 1e-12);
            }
        }
    assert_float_equal(r.final_accuracy, 0.5 / 3, 1e-12);
    assert_float_equal(r.final_accuracy_ti, 0.5, 1e-12);
    assert_float_equal(r.memory_loss, (0.5 + 0.5 + 0) / 3, 1e-12);
    assert_float_equal(r.bwt, -0.5, 1e-12);
    assert_int_equal(r.n_train, 60);
    assert_int_equal(r.n_test, 30);
    assert_true(r.peak_rss_kb > 0);

    /* Results files. */
    const char *dir = kt_scratch_dir("proto");
    const char *out = kt_path(dir, "results/run1");
    kn_run_info info = {.method = "script", .dataset = "synthetic", .seed = 12, .stream = &ts,
                        .batch = 7};
    assert_int_equal(kn_results_write(out, &info, &r, &err), 0);
    char path[600];
    snprintf(path, sizeof path, "%s/accuracy_matrix.csv", out);
    FILE *fp = fopen(path, "r");
    assert_non_null(fp);
    char line[256];
    assert_non_null(fgets(line, sizeof line, fp));
    assert_string_equal(line, "after_task,task_0,task_1,task_2\n");
    assert_non_null(fgets(line, sizeof line, fp));
    assert_string_equal(line, "0,0.500000,,\n");
    assert_non_null(fgets(line, sizeof line, fp));
    assert_non_null(fgets(line, sizeof line, fp));
    assert_string_equal(line, "2,0.000000,0.000000,0.500000\n");
    fclose(fp);
    snprintf(path, sizeof path, "%s/summary.json", out);
    fp = fopen(path, "r");
    assert_non_null(fp);
    static char buf[65536];
    size_t n = fread(buf, 1, sizeof buf - 1, fp);
    buf[n] = '\0';
    fclose(fp);
    cJSON *j = cJSON_Parse(buf);
    assert_non_null(j);
    assert_string_equal(cJSON_GetObjectItem(j, "method")->valuestring, "script");
    assert_float_equal(cJSON_GetObjectItem(j, "final_accuracy")->valuedouble, 0.5 / 3, 1e-12);
    assert_float_equal(cJSON_GetObjectItem(j, "memory_loss")->valuedouble, 1.0 / 3, 1e-12);
    assert_non_null(cJSON_GetObjectItem(j, "forgetting"));
    assert_non_null(cJSON_GetObjectItem(j, "bwt"));
    assert_int_equal(cJSON_GetObjectItem(j, "seed")->valuedouble, 12);
    cJSON *m = cJSON_GetObjectItem(j, "accuracy_matrix");
    assert_int_equal(cJSON_GetArraySize(m), 3);
    assert_true(cJSON_IsNull(cJSON_GetArrayItem(cJSON_GetArrayItem(m, 0), 1)));
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "curve")), 3);
    cJSON *defs = cJSON_GetObjectItem(j, "metrics");
    assert_non_null(strstr(cJSON_GetObjectItem(cJSON_GetObjectItem(defs, "memory_loss"),
                                               "definition")->valuestring,
                           "R[j][j] - R[T-1][j]"));
    assert_non_null(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "timings"), "train_seconds"));
    assert_non_null(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "memory"), "peak_rss_kb"));
    cJSON_Delete(j);
    kn_run_result_free(&r);
    /* A learner that has done every task cannot run again. */
    assert_int_equal(kn_protocol_run(&l, &sp, &ts, &o, &r, &err), KN_ESTATE);
    kn_task_stream_free(&ts);
    kn_split_free(&sp);
}

static int save_after_task1(void *ctx, kn_learner *l, int task, kn_error *err)
{
    if (task == 1)
        return kn_learner_save(l, (const char *)ctx, err);
    return 0;
}

/* FlyModel on easy data through the protocol; a model saved after task 1 and resumed gives the
 * same final row as the uninterrupted run. */
static void test_fly_protocol_and_resume(void **state)
{
    (void)state;
    kn_split sp;
    memset(&sp, 0, sizeof sp);
    make_split(&sp);
    kn_task_stream ts;
    kn_error err;
    assert_int_equal(kn_task_stream_build(&sp, 2, NULL, &ts, &err), 0);
    kn_learner_info info = {.d = 6, .n_classes = 6, .seed = 3};
    kn_kv ov[] = {{"m", "200"}, {"c", "2"}, {"k", "60"}, {"lr", "0.01"}};
    kn_learner *l;
    assert_int_equal(kn_learner_create("fly", &info, ov, 4, &l, &err), 0);
    const char *dir = kt_scratch_dir("resume");
    const char *path = kt_path(dir, "after1.safetensors");
    kn_protocol_options o;
    kn_protocol_options_default(&o);
    o.shuffle = 1;
    o.seed = 3;
    o.after_task = save_after_task1;
    o.after_task_ctx = (void *)path;
    kn_run_result r;
    assert_int_equal(kn_protocol_run(l, &sp, &ts, &o, &r, &err), 0);
    assert_true(r.final_accuracy > 0.9);
    assert_true(r.memory_loss < 0.1);
    kn_learner *b;
    assert_int_equal(kn_learner_load(path, &b, &err), 0);
    assert_int_equal(b->task, 1);
    o.after_task = NULL;
    kn_run_result r2;
    assert_int_equal(kn_protocol_run(b, &sp, &ts, &o, &r2, &err), 0);
    for (int j = 0; j < 3; j++)
        assert_true(r.acc[2 * 3 + j] == r2.acc[2 * 3 + j]);
    assert_true(isnan(r2.acc[0])); /* rows before the resume are not re-run */
    kn_run_result_free(&r);
    kn_run_result_free(&r2);
    kn_learner_free(l);
    kn_learner_free(b);
    kn_task_stream_free(&ts);
    kn_split_free(&sp);
}

/* What kn_evaluate says after each task, for the protocol's own evaluation to be compared with. */
typedef struct {
    const kn_split *sp;
    const kn_task_stream *ts;
    double acc[9], acc_ti[9];
} eval_check;

static int evaluate_after_task(void *ctx, kn_learner *l, int task, kn_error *err)
{
    eval_check *c = ctx;
    uint8_t allowed[6] = {0};
    for (int j = 0; j <= task; j++)
        for (int q = 0; q < c->ts->tasks[j].n_classes; q++)
            allowed[c->ts->tasks[j].classes[q]] = 1;
    for (int j = 0; j <= task; j++) {
        const kn_task *tj = &c->ts->tasks[j];
        int rc = kn_evaluate(l, &c->sp->test, tj->test_idx, tj->n_test, allowed, tj->classes,
                             tj->n_classes, &c->acc[task * 3 + j], &c->acc_ti[task * 3 + j],
                             err);
        if (rc)
            return rc;
    }
    return 0;
}

/* The protocol evaluates a task's test rows in place when they are one run of the test set and
 * from a copy gathered once otherwise: both give kn_evaluate's numbers, after every task. Task 0's
 * rows are contiguous here (the test set starts with its 10 samples), tasks 1 and 2 interleave. */
static void test_protocol_rows_equal_kn_evaluate(void **state)
{
    (void)state;
    kn_split sp;
    memset(&sp, 0, sizeof sp);
    make_split(&sp);
    for (size_t i = 0; i < sp.test.n; i++) { /* classes 0,1 first, then 2..5 interleaved */
        int32_t y = i < 10 ? (int32_t)(i % 2) : (int32_t)(2 + i % 4);
        for (int j = 0; j < 6; j++)
            sp.test.x[i * 6 + j] = (y == j ? 4.0f : 0.0f) + 0.3f * (float)((i * 7 + j) % 5);
        sp.test.y[i] = y;
    }
    kn_task_stream ts;
    kn_error err;
    assert_int_equal(kn_task_stream_build(&sp, 2, NULL, &ts, &err), 0);
    assert_int_equal(ts.tasks[0].test_idx[9], 9);
    assert_int_equal(ts.tasks[1].test_idx[2], 16); /* rows 12, 13, 16, ...: not one run */
    kn_learner_info info = {.d = 6, .n_classes = 6, .seed = 5};
    kn_kv ov[] = {{"m", "50"}, {"c", "2"}, {"k", "5"}, {"lr", "0.01"}};
    kn_learner *l;
    assert_int_equal(kn_learner_create("fly", &info, ov, 4, &l, &err), 0);
    eval_check c = {.sp = &sp, .ts = &ts};
    kn_protocol_options o;
    kn_protocol_options_default(&o);
    o.after_task = evaluate_after_task;
    o.after_task_ctx = &c;
    kn_run_result r;
    assert_int_equal(kn_protocol_run(l, &sp, &ts, &o, &r, &err), 0);
    int below_one = 0;
    for (int i = 0; i < 3; i++)
        for (int j = 0; j <= i; j++) {
            assert_true(r.acc[i * 3 + j] == c.acc[i * 3 + j]);
            assert_true(r.acc_ti[i * 3 + j] == c.acc_ti[i * 3 + j]);
            below_one += r.acc[i * 3 + j] < 1.0;
        }
    assert_true(below_one > 0); /* a learner that gets everything right would show nothing */
    kn_run_result_free(&r);
    kn_learner_free(l);
    kn_task_stream_free(&ts);
    kn_split_free(&sp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_metrics_known_answer),
        cmocka_unit_test(test_protocol_scripted_learner),
        cmocka_unit_test(test_fly_protocol_and_resume),
        cmocka_unit_test(test_protocol_rows_equal_kn_evaluate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
