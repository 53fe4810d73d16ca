/* A back-prop run that diverges (learning rate 1e30) stops with an error naming the task and the
 * step, for every back-prop method, instead of going on to report chance accuracy; the same run
 * at a sane learning rate completes (so the check does not fire on healthy training). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kenyon/learner.h"
#include "kenyon/protocol.h"
#include "kenyon/rng.h"
#include "kenyon/tasks.h"
#include "test_support.h"

#define D 6
#define N 80

static void make_split(kn_split *sp)
{
    kn_error err;
    memset(sp, 0, sizeof *sp);
    assert_int_equal(kn_dataset_alloc(&sp->train, N, D, 4, &err), 0);
    assert_int_equal(kn_dataset_alloc(&sp->test, N, D, 4, &err), 0);
    kn_rng r;
    kn_rng_seed(&r, 11);
    kn_dataset *parts[2] = {&sp->train, &sp->test};
    for (int k = 0; k < 2; k++)
        for (size_t i = 0; i < N; i++) {
            int c = (int)(i % 4);
            parts[k]->y[i] = c;
            for (size_t j = 0; j < D; j++)
                parts[k]->x[i * D + j] = (float)(kn_rng_uniform(&r) + (j == (size_t)c ? 2 : 0));
        }
}

static int run(const char *method, const char *lr, kn_error *err)
{
    kn_split sp;
    make_split(&sp);
    kn_task_stream ts;
    assert_int_equal(kn_task_stream_build(&sp, 2, NULL, &ts, err), 0);
    kn_kv ov[] = {{"lr", lr}, {"hidden", "8"}, {"latent", "4"}, {"iters", "5"}};
    size_t n = strcmp(method, "bir") == 0 ? 4 : 2;
    kn_learner_info info = {.d = D, .n_classes = 4, .seed = 2};
    kn_learner *l = NULL;
    if (kn_learner_create(method, &info, ov, n, &l, err))
        fail_msg("%s: %s", method, err->msg);
    kn_protocol_options po;
    kn_protocol_options_default(&po);
    po.batch = 8;
    kn_run_result res;
    int rc = kn_protocol_run(l, &sp, &ts, &po, &res, err);
    kn_run_result_free(&res);
    kn_learner_free(l);
    kn_task_stream_free(&ts);
    kn_split_free(&sp);
    return rc;
}

static void test_divergence_stops_every_backprop_method(void **state)
{
    (void)state;
    const char *methods[] = {"vanilla", "offline", "ewc", "gem", "bir"};
    for (int i = 0; i < 5; i++) {
        kn_error err;
        if (run(methods[i], "0.01", &err) != 0)
            fail_msg("%s at lr 0.01: %s", methods[i], err.msg);
        if (run(methods[i], "1e30", &err) == 0)
            fail_msg("%s at lr 1e30 reported success", methods[i]);
        if (!strstr(err.msg, "task ") || !strstr(err.msg, "diverged") ||
            !(strstr(err.msg, "step") || strstr(err.msg, "end of task")))
            fail_msg("%s: message does not name the task and step: %s", methods[i], err.msg);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_divergence_stops_every_backprop_method),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
