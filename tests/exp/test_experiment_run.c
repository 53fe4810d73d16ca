/* Tests for kn_experiment_run on a small split in memory (4 classes of blobs): the result equals
 * the learner run by hand through the protocol with the same seed and settings (the layer adds
 * nothing and loses nothing); the progress callback sees every task with the accuracy of the
 * accuracy matrix's row; the log callback receives the per-task table; a callback that stops
 * the run makes it fail cleanly; out_dir and save_model are written only on success. */
#include "test_support.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "kenyon/experiment.h"
#include "kenyon/rng.h"
#include "kenyon/tasks.h"

static void make_split(kn_split *sp)
{
    kn_error err;
    const size_t per_train = 30, per_test = 10, d = 12;
    assert_int_equal(kn_dataset_alloc(&sp->train, 4 * per_train, d, 4, &err), KN_OK);
    assert_int_equal(kn_dataset_alloc(&sp->test, 4 * per_test, d, 4, &err), KN_OK);
    kn_rng r;
    kn_rng_seed(&r, 5);
    kn_dataset *parts[2] = {&sp->train, &sp->test};
    for (int k = 0; k < 2; k++)
        for (size_t i = 0; i < parts[k]->n; i++) {
            int c = (int)(i % 4);
            parts[k]->y[i] = c;
            for (size_t j = 0; j < d; j++) {
                double v = (j / 3 == (size_t)c ? 1.0 : 0.1) + 0.1 * kn_rng_normal(&r);
                parts[k]->x[i * d + j] = (float)(v < 0 ? 0 : v);
            }
        }
}

typedef struct seen {
    int calls, stop_after;
    double acc[8];
    size_t log_bytes;
    int saw_table;
} seen;

static int on_task(void *ctx, int task, int n_tasks, double accuracy)
{
    seen *s = ctx;
    assert_int_equal(n_tasks, 2);
    assert_int_equal(task, s->calls);
    s->acc[s->calls++] = accuracy;
    return s->stop_after >= 0 && task >= s->stop_after;
}

static void on_log(void *ctx, const char *text)
{
    seen *s = ctx;
    s->log_bytes += strlen(text);
    if (strstr(text, "acc(TI)"))
        s->saw_table = 1;
}

static void test_same_as_by_hand(void **state)
{
    (void)state;
    kn_split sp;
    memset(&sp, 0, sizeof sp);
    make_split(&sp);
    const char *dir = kt_scratch_dir("exp-run");
    kn_kv kv[] = {{"m", "60"}, {"c", "3"}, {"k", "6"}};
    kn_experiment_spec s;
    kn_experiment_spec_default(&s);
    s.source = KN_SOURCE_ARRAYS;
    s.arrays = &sp;
    s.method = "fly";
    s.params = kv;
    s.n_params = 3;
    s.seed = 9;
    s.batch = 7;
    s.out_dir = kt_path(dir, "out");
    s.save_model = kt_path(dir, "fly.safetensors");
    seen sn = {.stop_after = -1};
    kn_experiment_callbacks cb = {.log = on_log, .on_task = on_task, .ctx = &sn};
    kn_experiment_result r;
    kn_error err;
    if (kn_experiment_run(&s, &cb, &r, &err))
        fail_msg("run: %s", err.msg);
    assert_int_equal(r.n_tasks, 2);
    assert_int_equal(r.n_classes, 4);
    assert_int_equal(r.d, 12);
    assert_string_equal(r.method, "fly");
    assert_int_equal(sn.calls, 2);
    assert_true(sn.saw_table);
    for (int t = 0; t < 2; t++) {
        double sum = 0;
        for (int j = 0; j <= t; j++)
            sum += r.run.acc[t * 2 + j];
        assert_true(fabs(sn.acc[t] - sum / (t + 1)) < 1e-12);
    }
    struct stat st;
    assert_int_equal(stat(kt_path(s.out_dir, "accuracy_matrix.csv"), &st), 0);
    assert_int_equal(stat(s.save_model, &st), 0);

    /* By hand: the same learner, stream and protocol options. */
    kn_learner_info info = {.d = 12, .n_classes = 4, .seed = 9};
    kn_learner *l;
    assert_int_equal(kn_learner_create("fly", &info, kv, 3, &l, &err), 0);
    kn_task_stream ts;
    assert_int_equal(kn_task_stream_build(&sp, 2, NULL, &ts, &err), 0);
    kn_protocol_options po;
    kn_protocol_options_default(&po);
    po.batch = 7;
    po.seed = 9;
    kn_run_result hand;
    assert_int_equal(kn_protocol_run(l, &sp, &ts, &po, &hand, &err), 0);
    assert_memory_equal(hand.acc, r.run.acc, 2 * 2 * sizeof(double));
    assert_true(hand.final_accuracy == r.run.final_accuracy);
    kn_run_result_free(&hand);
    kn_task_stream_free(&ts);
    kn_learner_free(l);
    kn_experiment_result_free(&r);

    /* Silent: no callbacks at all. */
    s.out_dir = NULL;
    s.save_model = NULL;
    assert_int_equal(kn_experiment_run(&s, NULL, &r, &err), 0);
    kn_experiment_result_free(&r);

    /* Stopped by the caller after the first task: an error, and no outputs. */
    seen stop = {.stop_after = 0};
    kn_experiment_callbacks cb2 = {.on_task = on_task, .ctx = &stop};
    s.out_dir = kt_path(dir, "stopped");
    assert_int_equal(kn_experiment_run(&s, &cb2, &r, &err), KN_ESTATE);
    assert_non_null(strstr(err.msg, "stopped by the caller"));
    assert_int_equal(stop.calls, 1);
    assert_int_not_equal(stat(s.out_dir, &st), 0);
    assert_null(r.run.acc);

    /* A bad spec fails with the check's message before anything runs. */
    s.classes_per_task = 0;
    assert_int_equal(kn_experiment_run(&s, &cb, &r, &err), KN_EINVAL);
    assert_non_null(strstr(err.msg, "--classes-per-task"));
    /* A class order must cover the data's classes. */
    s.classes_per_task = 2;
    int32_t order[3] = {2, 0, 1};
    s.class_order = order;
    s.n_class_order = 3;
    assert_int_equal(kn_experiment_run(&s, NULL, &r, &err), KN_EINVAL);
    assert_non_null(strstr(err.msg, "3 classes given, the data have 4"));
    kn_split_free(&sp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_as_by_hand),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
