/* The back-prop baselines behind the learner interface, on a small synthetic class-incremental
 * stream (4 Gaussian classes in 10-d, tasks {0,1} then {2,3}): Vanilla forgets the first task,
 * Offline keeps both, EWC's penalty is non-zero after a task and pulls the weights back (a
 * well-known library once shipped an EWC whose penalty was always 0), GEM keeps more of the
 * first task than Vanilla, every method saves and loads to identical predictions, and bad
 * hyperparameters are refused with the parameter named. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cl/baselines.h"
#include "kenyon/learner.h"
#include "kenyon/rng.h"
#include "test_support.h"
#include "cl_tasks.h"

#define D 10
#define C 4
#define NTR 1000 /* per task */
#define NTE 200 /* per task */

static float xtr[2][NTR * D], xte[2][NTE * D];
static int32_t ytr[2][NTR], yte[2][NTE];

static void make_data(void)
{
    kn_rng r;
    kn_rng_seed(&r, 42);
    for (int t = 0; t < 2; t++) {
        for (int i = 0; i < NTR + NTE; i++) {
            int c = 2 * t + i % 2;
            float *x = i < NTR ? xtr[t] + i * D : xte[t] + (i - NTR) * D;
            /* a shared component (dimension 9) plus a class-specific one: the tasks overlap */
            for (int j = 0; j < D; j++)
                x[j] = (float)(kn_rng_normal(&r) + (j == c ? 2.5 : 0.0) + (j == 9 ? 3.0 : 0.0));
            if (i < NTR)
                ytr[t][i] = c;
            else
                yte[t][i - NTR] = c;
        }
    }
}

static kn_learner *create(const char *method, const kn_kv *ov, size_t n_ov)
{
    kn_learner_info info = {.d = D, .n_classes = C, .seed = 7};
    kn_learner *l = NULL;
    kn_error err;
    int rc = kn_learner_create(method, &info, ov, n_ov, &l, &err);
    if (rc)
        fail_msg("%s: %s", method, err.msg);
    return l;
}

static void train_task(kn_learner *l, int t)
{
    const int32_t cls[2] = {2 * t, 2 * t + 1};
    cl_train_task(l, t, cls, xtr[t], ytr[t], NTR, D, 64);
}

/* Class-incremental accuracy on task t's test data over the classes of tasks 0..upto. */
static double accuracy(kn_learner *l, int t, int upto)
{
    uint8_t allowed[C] = {0};
    for (int c = 0; c < 2 * (upto + 1); c++)
        allowed[c] = 1;
    int32_t pred[NTE];
    kn_error err;
    assert_int_equal(kn_learner_predict_labels(l, xte[t], NTE, allowed, pred, &err), 0);
    int ok = 0;
    for (int i = 0; i < NTE; i++)
        ok += pred[i] == yte[t][i];
    return (double)ok / NTE;
}

static const kn_kv small[] = {{"hidden", "32"}, {"lr", "0.05"}, {"minibatch", "16"}};

static void test_vanilla_forgets_offline_remembers(void **state)
{
    (void)state;
    kn_learner *v = create("vanilla", small, 3);
    train_task(v, 0);
    assert_true(accuracy(v, 0, 0) > 0.95);
    train_task(v, 1);
    double v_old = accuracy(v, 0, 1), v_new = accuracy(v, 1, 1);
    printf("vanilla: task 0 %.3f, task 1 %.3f after both\n", v_old, v_new);
    assert_true(v_new > 0.9);
    assert_true(v_old < 0.5); /* catastrophic forgetting */
    kn_learner_free(v);

    const kn_kv ov[] = {{"hidden", "32"}, {"lr", "0.05"}, {"epochs", "3"}};
    kn_learner *o = create("offline", ov, 3);
    train_task(o, 0);
    train_task(o, 1);
    assert_true(accuracy(o, 0, 1) > 0.9);
    assert_true(accuracy(o, 1, 1) > 0.9);
    kn_learner_free(o);
}

static void test_ewc_penalty_pulls_back(void **state)
{
    (void)state;
    const kn_kv ov[] = {{"hidden", "32"}, {"lr", "0.02"}, {"lambda", "300"}};
    kn_learner *l = create("ewc", ov, 3);
    kn_error err;
    double pen;
    size_t nz;
    train_task(l, 0);
    kn_net *net = kn_bp_learner_net(l);
    assert_non_null(net);
    size_t np = kn_net_n_params(net);
    float *grad = malloc(np * sizeof *grad), *anchor = malloc(np * sizeof *anchor);
    assert_non_null(grad);
    assert_non_null(anchor);
    memcpy(anchor, kn_net_params(net), np * sizeof *anchor);
    /* at the anchor the penalty vanishes, but the Fisher is non-zero */
    assert_int_equal(kn_ewc_penalty(l, &pen, NULL, grad, &nz, &err), 0);
    assert_true(fabs(pen) < 1e-6);
    assert_true(nz > np / 4);
    /* displaced weights: positive penalty whose gradient points back to the anchor */
    kn_rng r;
    kn_rng_seed(&r, 3);
    float *p = kn_net_params(net);
    for (size_t i = 0; i < np; i++)
        p[i] += (float)(0.1 * kn_rng_normal(&r));
    assert_int_equal(kn_ewc_penalty(l, &pen, NULL, grad, NULL, &err), 0);
    assert_true(pen > 1e-3);
    double dot = 0;
    for (size_t i = 0; i < np; i++)
        dot += (double)grad[i] * (p[i] - anchor[i]);
    assert_true(dot > 0); /* -grad . displacement < 0: descent moves back */
    /* numerical check of the gradient along the displacement */
    double pen0 = pen, h = 1e-3;
    for (size_t i = 0; i < np; i++)
        p[i] -= (float)(h * (p[i] - anchor[i]));
    double pen1;
    assert_int_equal(kn_ewc_penalty(l, &pen1, NULL, NULL, NULL, &err), 0);
    assert_true(pen1 < pen0);
    memcpy(p, anchor, np * sizeof *anchor);

    /* training task 1: with the penalty the weights stay closer to the anchor, in the Fisher
     * metric the penalty measures, than with lambda = 0 from the same start */
    train_task(l, 1);
    double q_ewc, q_plain;
    assert_int_equal(kn_ewc_penalty(l, NULL, &q_ewc, NULL, NULL, &err), 0);
    double acc_ewc = accuracy(l, 0, 1);
    kn_learner_free(l);
    const kn_kv ov0[] = {{"hidden", "32"}, {"lr", "0.02"}, {"lambda", "0"}};
    l = create("ewc", ov0, 3);
    train_task(l, 0);
    net = kn_bp_learner_net(l);
    assert_memory_equal(kn_net_params(net), anchor, np * sizeof *anchor); /* same seed */
    train_task(l, 1);
    assert_int_equal(kn_ewc_penalty(l, &pen, &q_plain, NULL, &nz, &err), 0);
    assert_true(pen == 0); /* lambda 0 */
    assert_true(nz > 0);   /* but the Fisher is still estimated */
    double acc_plain = accuracy(l, 0, 1);
    printf("ewc: Fisher distance to the anchor %.4g (lambda 0: %.4g); task 0 accuracy %.3f "
           "(lambda 0: %.3f)\n", q_ewc, q_plain, acc_ewc, acc_plain);
    assert_true(q_ewc < 0.5 * q_plain);
    kn_learner_free(l);
    free(grad);
    free(anchor);
}

static void test_ewc_online_mode(void **state)
{
    (void)state;
    const kn_kv ov[] = {{"hidden", "16"}, {"lr", "0.02"}, {"lambda", "100"}, {"mode", "online"}, {"gamma", "0.5"}};
    kn_learner *l = create("ewc", ov, 5);
    train_task(l, 0);
    train_task(l, 1);
    double pen;
    size_t nz;
    kn_error err;
    assert_int_equal(kn_ewc_penalty(l, &pen, NULL, NULL, &nz, &err), 0);
    printf("ewc online: penalty at the anchor %g\n", pen);
    assert_true(fabs(pen) < 1e-6); /* anchored at the latest weights */
    assert_true(nz > 0);
    kn_learner_free(l);
}

static void test_gem_keeps_more_than_vanilla(void **state)
{
    (void)state;
    const kn_kv ov[] = {{"hidden", "32"}, {"lr", "0.05"}, {"minibatch", "16"}, {"n-memories", "64"}};
    kn_learner *g = create("gem", ov, 4);
    train_task(g, 0);
    assert_true(accuracy(g, 0, 0) > 0.9);
    train_task(g, 1);
    double g_old = accuracy(g, 0, 1);
    kn_learner_free(g);
    const kn_kv vv[] = {{"hidden", "32"}, {"lr", "0.05"}, {"minibatch", "16"}};
    kn_learner *v = create("vanilla", vv, 3);
    train_task(v, 0);
    train_task(v, 1);
    double v_old = accuracy(v, 0, 1);
    kn_learner_free(v);
    if (!(g_old > v_old + 0.2))
        fail_msg("gem keeps %.3f of task 0, vanilla %.3f", g_old, v_old);
}

static void test_save_load_round_trip(void **state)
{
    (void)state;
    const char *methods[4] = {"vanilla", "offline", "ewc", "gem"};
    const char *dir = kt_scratch_dir("baselines");
    for (int k = 0; k < 4; k++) {
        const kn_kv ov[] = {{"hidden", "8"}, {"lr", "0.05"}};
        kn_learner *l = create(methods[k], ov, 2);
        train_task(l, 0);
        char name[64];
        snprintf(name, sizeof name, "%s.safetensors", methods[k]);
        const char *path = kt_path(dir, name);
        kn_error err;
        if (kn_learner_save(l, path, &err))
            fail_msg("%s save: %s", methods[k], err.msg);
        kn_learner *m = NULL;
        if (kn_learner_load(path, &m, &err))
            fail_msg("%s load: %s", methods[k], err.msg);
        float s1[NTE * C], s2[NTE * C];
        assert_int_equal(kn_learner_predict_scores(l, xte[0], NTE, s1, &err), 0);
        assert_int_equal(kn_learner_predict_scores(m, xte[0], NTE, s2, &err), 0);
        assert_memory_equal(s1, s2, sizeof s1);
        /* the loaded learner goes on with the next task */
        train_task(m, 1);
        kn_learner_free(l);
        kn_learner_free(m);
    }
}

static void test_bad_parameters(void **state)
{
    (void)state;
    kn_learner_info info = {.d = D, .n_classes = C, .seed = 1};
    kn_learner *l = NULL;
    kn_error err;
    const kn_kv a[] = {{"mode", "sideways"}};
    assert_int_not_equal(kn_learner_create("ewc", &info, a, 1, &l, &err), 0);
    assert_non_null(strstr(err.msg, "--mode"));
    const kn_kv b[] = {{"hidden", "0"}};
    assert_int_not_equal(kn_learner_create("vanilla", &info, b, 1, &l, &err), 0);
    assert_non_null(strstr(err.msg, "--hidden"));
    const kn_kv c[] = {{"margin", "-1"}};
    assert_int_not_equal(kn_learner_create("gem", &info, c, 1, &l, &err), 0);
    assert_non_null(strstr(err.msg, "--margin"));
    const kn_kv d[] = {{"epochs", "0"}};
    assert_int_not_equal(kn_learner_create("offline", &info, d, 1, &l, &err), 0);
    assert_non_null(strstr(err.msg, "--epochs"));
    assert_null(l);
}

int main(void)
{
    make_data();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vanilla_forgets_offline_remembers),
        cmocka_unit_test(test_ewc_penalty_pulls_back),
        cmocka_unit_test(test_ewc_online_mode),
        cmocka_unit_test(test_gem_keeps_more_than_vanilla),
        cmocka_unit_test(test_save_load_round_trip),
        cmocka_unit_test(test_bad_parameters),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
