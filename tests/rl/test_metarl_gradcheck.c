/* Gradient check of the whole meta-RL network (LSTM + policy and value heads + advantage
 * actor-critic loss) over complete 100-trial episodes, in double precision: this file compiles
 * src/nn/lstm.c and src/rl/metarl_net.c with KN_NN_DOUBLE, so central differences check the code
 * the library runs in float. The advantages are held fixed (as the A2C gradient treats them). The
 * symbols defined here take precedence over the float library linked after this object. */
#define KN_NN_DOUBLE 1
#include "../../src/nn/lstm.c"
#include "../../src/rl/metarl_net.c"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_support.h"

enum { T = 100, BATCH = 2 };

typedef struct episode_data {
    double *x;      /* T x BATCH x in */
    int *actions;   /* T x BATCH */
    double *rewards;
    double *adv;
} episode_data;

static const kn_a2c_coefs coefs = {0.9, 0.05, 0.05};

static double episode_loss(kn_metarl_net *net, const episode_data *d, int want_grad)
{
    kn_error err;
    kn_metarl_net_reset(net);
    for (int t = 0; t < T; t++)
        assert_int_equal(kn_metarl_net_step(net, d->x + (size_t)t * BATCH * net->in, &err), 0);
    kn_a2c_parts parts;
    assert_int_equal(kn_metarl_net_a2c(net, &coefs, d->actions, d->rewards, d->adv, want_grad,
                                       &parts, &err), 0);
    return parts.total;
}

/* Five-point central difference (truncation error O(h^4)): the loss sums 100 trials, so a
 * two-point difference small enough to be accurate drowns small gradients in rounding. */
static double numeric_grad(kn_metarl_net *net, const episode_data *d, size_t i)
{
    const double h = 1e-3;
    double keep = net->params[i], f[4];
    const double steps[4] = {2 * h, h, -h, -2 * h};
    for (int k = 0; k < 4; k++) {
        net->params[i] = keep + steps[k];
        f[k] = episode_loss(net, d, 0);
    }
    net->params[i] = keep;
    return (-f[0] + 8 * f[1] - 8 * f[2] + f[3]) / (12 * h);
}

static double rel_err(double a, double b)
{
    double d = fabs(a - b), s = fabs(a) + fabs(b);
    return s < 1e-9 ? d : d / s;
}

/* Checks every parameter (stride 1) or every stride-th one. */
static void check(int hidden, int twostep, int time_input, size_t stride, double weight_scale)
{
    kn_metarl_net_config c = {hidden, 2, twostep ? 2 : 0, time_input};
    kn_metarl_net net;
    kn_error err;
    kn_rng rng;
    kn_rng_seed(&rng, 7 + (uint64_t)hidden);
    assert_int_equal(kn_metarl_net_create(&net, &c, BATCH, T, &rng, &err), 0);
    for (size_t i = 0; i < net.n_params; i++)
        net.params[i] = weight_scale * (2 * kn_rng_uniform(&rng) - 1);
    episode_data d;
    d.x = calloc((size_t)T * BATCH * net.in, sizeof(double));
    d.actions = calloc(T * BATCH, sizeof(int));
    d.rewards = calloc(T * BATCH, sizeof(double));
    d.adv = calloc(T * BATCH, sizeof(double));
    assert_true(d.x && d.actions && d.rewards && d.adv);
    /* A plausible episode: random actions and rewards, inputs built from them. */
    for (int b = 0; b < BATCH; b++) {
        int pa = -1, ps = -1;
        double pr = 0;
        for (int t = 0; t < T; t++) {
            kn_metarl_make_input(&c, pa, pr, ps, t, T, d.x + ((size_t)t * BATCH + b) * net.in);
            pa = (int)kn_rng_below(&rng, 2);
            pr = kn_rng_uniform(&rng) < 0.5;
            ps = twostep ? (int)kn_rng_below(&rng, 2) : -1;
            d.actions[t * BATCH + b] = pa;
            d.rewards[t * BATCH + b] = pr;
        }
    }
    /* Advantages from the unperturbed forward: A = R - V, then held fixed. */
    kn_metarl_net_reset(&net);
    for (int t = 0; t < T; t++)
        assert_int_equal(kn_metarl_net_step(&net, d.x + (size_t)t * BATCH * net.in, &err), 0);
    for (int b = 0; b < BATCH; b++) {
        double R = 0;
        for (int t = T - 1; t >= 0; t--) {
            R = d.rewards[t * BATCH + b] + coefs.gamma * R;
            d.adv[t * BATCH + b] = R - net.value[t * BATCH + b];
        }
    }
    /* With these advantages the loss equals the loss computed with A = R - V. */
    kn_a2c_parts own = {0}, fixed = {0};
    assert_int_equal(kn_metarl_net_a2c(&net, &coefs, d.actions, d.rewards, NULL, 0, &own, &err), 0);
    assert_int_equal(kn_metarl_net_a2c(&net, &coefs, d.actions, d.rewards, d.adv, 0, &fixed, &err), 0);
    assert_true(fabs(own.total - fixed.total) < 1e-12 * (1 + fabs(own.total)));

    episode_loss(&net, &d, 1);
    double *g = malloc(net.n_params * sizeof *g);
    assert_non_null(g);
    memcpy(g, net.grads, net.n_params * sizeof *g);
    double worst = 0;
    size_t checked = 0;
    for (size_t i = 0; i < net.n_params; i += stride) {
        double e = rel_err(g[i], numeric_grad(&net, &d, i));
        if (e > worst)
            worst = e;
        checked++;
    }
    /* the last parameters (value bias, value weights) are always checked */
    for (size_t i = net.off_policy_w; i < net.n_params; i++) {
        double e = rel_err(g[i], numeric_grad(&net, &d, i));
        if (e > worst)
            worst = e;
    }
    printf("meta-RL net H=%d %s%s: %zu of %zu parameters over a %d-trial episode, worst relative "
           "error %.3g\n", hidden, twostep ? "two-step" : "bandit", time_input ? " +time" : "",
           checked, net.n_params, T, worst);
    assert_true(worst < 1e-5);
    free(g);
    free(d.x);
    free(d.actions);
    free(d.rewards);
    free(d.adv);
    kn_metarl_net_free(&net);
}

static void test_every_parameter_small_net(void **state)
{
    (void)state;
    check(6, 1, 1, 1, 0.5);
    check(5, 0, 0, 1, 1.0);
}

static void test_paper_size_net_sampled(void **state)
{
    (void)state;
    check(48, 0, 0, 97, 0.2);
}

static void test_bad_action_is_named(void **state)
{
    (void)state;
    kn_metarl_net_config c = {4, 2, 0, 0};
    kn_metarl_net net;
    kn_error err;
    kn_rng rng;
    kn_rng_seed(&rng, 1);
    assert_int_equal(kn_metarl_net_create(&net, &c, 1, 3, &rng, &err), 0);
    double x[3] = {0, 0, 0};
    int actions[2] = {0, 5};
    double rewards[2] = {1, 0};
    assert_int_equal(kn_metarl_net_a2c(&net, &coefs, actions, rewards, NULL, 1, NULL, &err),
                     KN_ESTATE);
    assert_int_equal(kn_metarl_net_step(&net, x, &err), 0);
    assert_int_equal(kn_metarl_net_step(&net, x, &err), 0);
    assert_int_equal(kn_metarl_net_a2c(&net, &coefs, actions, rewards, NULL, 1, NULL, &err),
                     KN_EINVAL);
    assert_non_null(strstr(err.msg, "action 5 at step 1"));
    kn_metarl_net_free(&net);
    c.hidden = 0;
    assert_int_equal(kn_metarl_net_create(&net, &c, 1, 3, &rng, &err), KN_EINVAL);
    assert_non_null(strstr(err.msg, "hidden units 0"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_parameter_small_net),
        cmocka_unit_test(test_paper_size_net_sampled),
        cmocka_unit_test(test_bad_action_is_named),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
