/* Tests of meta-RL training, testing and model files: training is reproducible bit for bit for a
 * seed; one A2C step lowers the loss on the batch it was computed from; frozen-weight testing
 * leaves the parameters unchanged (checksum) and the classical agents face the same episodes as
 * kn_agent_evaluate; a saved model loads back exactly; bad configurations and files are refused
 * with messages naming the culprit. */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kenyon/metarl.h"
#include "kenyon/safetensors.h"
#include "test_support.h"

static void small_config(kn_metarl_config *c, kn_bandit_task_kind kind)
{
    kn_metarl_config_default(c, kind);
    c->net.hidden = 8;
    c->task.n_trials = 20;
    c->episodes = 40;
    c->batch = 4;
    c->seed = 99;
}

static void make_net(kn_metarl_net *net, const kn_metarl_config *c, size_t batch)
{
    kn_error err;
    kn_rng rng;
    kn_rng_seed(&rng, c->seed);
    assert_int_equal(kn_metarl_net_create(net, &c->net, batch, (size_t)c->task.n_trials, &rng,
                                          &err), 0);
}

static void test_training_is_reproducible(void **state)
{
    (void)state;
    kn_metarl_config c;
    small_config(&c, KN_BANDIT_TASK_TWOSTEP);
    kn_metarl_net a, b;
    kn_error err;
    make_net(&a, &c, 4);
    make_net(&b, &c, 4);
    uint64_t initial = kn_metarl_net_checksum(&a);
    long done = 0;
    assert_int_equal(kn_metarl_train(&a, &c, 0, NULL, NULL, &done, &err), 0);
    assert_int_equal(done, 40);
    assert_int_equal(kn_metarl_train(&b, &c, 0, NULL, NULL, NULL, &err), 0);
    assert_true(kn_metarl_net_checksum(&a) != initial);
    assert_memory_equal(a.params, b.params, a.n_params * sizeof(kn_real));
    /* another seed trains differently */
    kn_metarl_net d;
    make_net(&d, &c, 4);
    c.seed = 100;
    assert_int_equal(kn_metarl_train(&d, &c, 0, NULL, NULL, NULL, &err), 0);
    assert_true(memcmp(a.params, d.params, a.n_params * sizeof(kn_real)) != 0);
    kn_metarl_net_free(&a);
    kn_metarl_net_free(&b);
    kn_metarl_net_free(&d);
}

/* The same seed gives the same weights whatever the BLAS thread count. */
static void test_training_independent_of_blas_threads(void **state)
{
    (void)state;
    kn_metarl_config c;
    small_config(&c, KN_BANDIT_TASK_INDEPENDENT);
    c.net.hidden = 48; /* big enough for a threaded gemm to split work */
    c.batch = 8;
    c.episodes = 16;
    kn_metarl_net a, b;
    kn_error err;
    make_net(&a, &c, 8);
    make_net(&b, &c, 8);
    int saved = openblas_get_num_threads();
    openblas_set_num_threads(1);
    assert_int_equal(kn_metarl_train(&a, &c, 0, NULL, NULL, NULL, &err), 0);
    openblas_set_num_threads(2);
    assert_int_equal(kn_metarl_train(&b, &c, 0, NULL, NULL, NULL, &err), 0);
    assert_int_equal(openblas_get_num_threads(), 2); /* restored */
    openblas_set_num_threads(saved);
    assert_memory_equal(a.params, b.params, a.n_params * sizeof(kn_real));
    kn_metarl_net_free(&a);
    kn_metarl_net_free(&b);
}

static void test_a2c_step_lowers_loss(void **state)
{
    (void)state;
    kn_metarl_config c;
    small_config(&c, KN_BANDIT_TASK_INDEPENDENT);
    kn_metarl_net net;
    kn_error err;
    make_net(&net, &c, 2);
    const int T = c.task.n_trials;
    kn_real x[2 * 4];
    int actions[2 * 20];
    kn_real rewards[2 * 20], adv[2 * 20];
    kn_rng rng;
    kn_rng_seed(&rng, 5);
    kn_metarl_net_reset(&net);
    int pa[2] = {-1, -1};
    double pr[2] = {0, 0};
    for (int t = 0; t < T; t++) {
        for (int i = 0; i < 2; i++)
            kn_metarl_make_input(&net.cfg, pa[i], pr[i], -1, t, T, x + i * net.in);
        assert_int_equal(kn_metarl_net_step(&net, x, &err), 0);
        for (int i = 0; i < 2; i++) {
            pa[i] = actions[t * 2 + i] = (int)kn_rng_below(&rng, 2);
            pr[i] = rewards[t * 2 + i] = (kn_real)(pa[i] == 1);
        }
    }
    /* fixed advantages: action 1 good, action 0 bad */
    for (int i = 0; i < 2 * T; i++)
        adv[i] = actions[i] == 1 ? 1.0f : -1.0f;
    kn_a2c_parts before, after;
    assert_int_equal(kn_metarl_net_a2c(&net, &c.coefs, actions, rewards, adv, 1, &before, &err), 0);
    for (size_t k = 0; k < net.n_params; k++)
        net.params[k] -= 0.01f * net.grads[k];
    /* the same inputs again */
    kn_metarl_net_reset(&net);
    pa[0] = pa[1] = -1;
    pr[0] = pr[1] = 0;
    for (int t = 0; t < T; t++) {
        for (int i = 0; i < 2; i++)
            kn_metarl_make_input(&net.cfg, pa[i], pr[i], -1, t, T, x + i * net.in);
        assert_int_equal(kn_metarl_net_step(&net, x, &err), 0);
        for (int i = 0; i < 2; i++) {
            pa[i] = actions[t * 2 + i];
            pr[i] = rewards[t * 2 + i];
        }
    }
    assert_int_equal(kn_metarl_net_a2c(&net, &c.coefs, actions, rewards, adv, 0, &after, &err), 0);
    assert_true(after.total < before.total);
    kn_metarl_net_free(&net);
}

static void test_frozen_test_and_model_roundtrip(void **state)
{
    (void)state;
    kn_metarl_config c;
    small_config(&c, KN_BANDIT_TASK_INDEPENDENT);
    kn_metarl_net net, loaded;
    kn_error err;
    make_net(&net, &c, 4);
    assert_int_equal(kn_metarl_train(&net, &c, 0, NULL, NULL, NULL, &err), 0);
    const char *dir = kt_scratch_dir("metarl");
    const char *path = kt_path(dir, "model.safetensors");
    assert_int_equal(kn_metarl_save(path, &net, &c.task, &c, 40, 0.5, &err), 0);
    kn_bandit_task_params task;
    assert_int_equal(kn_metarl_load(path, &loaded, &task, 1, &err), 0);
    assert_int_equal(loaded.n_params, net.n_params);
    assert_memory_equal(loaded.params, net.params, net.n_params * sizeof(kn_real));
    assert_int_equal(task.kind, KN_BANDIT_TASK_INDEPENDENT);
    assert_int_equal(task.n_trials, 20);
    assert_int_equal(loaded.cfg.hidden, 8);

    kn_metarl_test_result r;
    assert_int_equal(kn_metarl_test(&loaded, &task, 50, 123, 0, &r, &err), 0);
    assert_true(r.checksum_before == r.checksum_after);
    assert_true(r.checksum_before == kn_metarl_net_checksum(&net));
    assert_int_equal(r.n_agents, 4);
    assert_int_equal(r.net.stats.n_episodes, 50);
    assert_true(r.net.trial1_p_action0 > 0.0 && r.net.trial1_p_action0 < 1.0);
    /* the agents saw the same episodes as kn_agent_evaluate with this seed */
    kn_bandit_stats s;
    assert_int_equal(kn_bandit_stats_init(&s, 20, &err), 0);
    assert_int_equal(kn_agent_evaluate(KN_AGENT_THOMPSON, NULL, &task, 50, 123, &s, &err), 0);
    assert_true(kn_bandit_stats_regret_mean(&s) == kn_bandit_stats_regret_mean(&r.agent_stats[0]));
    kn_bandit_stats_free(&s);
    /* testing is deterministic */
    kn_metarl_test_result r2;
    assert_int_equal(kn_metarl_test(&loaded, &task, 50, 123, 0, &r2, &err), 0);
    assert_memory_equal(r.episode_regret, r2.episode_regret, 5 * 50 * sizeof(double));
    assert_int_equal(kn_metarl_write_test_report(kt_path(dir, "test"), &r, path, &err), 0);
    FILE *f = fopen(kt_path(dir, "test/summary.json"), "r");
    assert_non_null(f);
    fclose(f);
    kn_metarl_test_result_free(&r);
    kn_metarl_test_result_free(&r2);
    kn_metarl_net_free(&loaded);
    kn_metarl_net_free(&net);
}

static void test_bad_inputs_are_named(void **state)
{
    (void)state;
    kn_metarl_config c;
    small_config(&c, KN_BANDIT_TASK_INDEPENDENT);
    c.lr = -1;
    assert_non_null(strstr(kn_metarl_config_check(&c), "learning rate"));
    small_config(&c, KN_BANDIT_TASK_TWOSTEP);
    c.net.n_obs = 0;
    assert_non_null(strstr(kn_metarl_config_check(&c), "two-step"));
    small_config(&c, KN_BANDIT_TASK_INDEPENDENT);
    kn_metarl_net net;
    kn_error err;
    make_net(&net, &c, 1); /* batch 1, but the config asks for 4 */
    assert_int_equal(kn_metarl_train(&net, &c, 0, NULL, NULL, NULL, &err), KN_EINVAL);
    assert_non_null(strstr(err.msg, "batch"));
    kn_bandit_task_params ts;
    kn_bandit_task_params_default(&ts, KN_BANDIT_TASK_TWOSTEP);
    ts.n_trials = 20;
    kn_metarl_eval ev;
    assert_int_equal(kn_metarl_evaluate(&net, &ts, 5, 1, 0, NULL, &ev, &err), KN_EINVAL);
    assert_non_null(strstr(err.msg, "twostep"));
    kn_metarl_net_free(&net);

    /* files: not safetensors, and a safetensors file of something else */
    const char *dir = kt_scratch_dir("metarl-bad");
    const char *junk = kt_path(dir, "junk.safetensors");
    kt_write_bytes(junk, "hello", 5);
    kn_bandit_task_params task;
    assert_true(kn_metarl_load(junk, &net, &task, 1, &err) < 0);
    assert_non_null(strstr(err.msg, "junk.safetensors"));
    kn_st_writer w;
    kn_st_writer_init(&w);
    float v[2] = {1, 2};
    size_t shape[1] = {2};
    assert_int_equal(kn_st_writer_add(&w, "x", KN_ST_F32, 1, shape, v, &err), 0);
    const char *other = kt_path(dir, "other.safetensors");
    assert_int_equal(kn_st_writer_write(&w, other, &err), 0);
    kn_st_writer_free(&w);
    assert_int_equal(kn_metarl_load(other, &net, &task, 1, &err), KN_EFORMAT);
    assert_non_null(strstr(err.msg, "not a kenyon meta-RL model"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_training_is_reproducible),
        cmocka_unit_test(test_training_independent_of_blas_threads),
        cmocka_unit_test(test_a2c_step_lowers_loss),
        cmocka_unit_test(test_frozen_test_and_model_roundtrip),
        cmocka_unit_test(test_bad_inputs_are_named),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
