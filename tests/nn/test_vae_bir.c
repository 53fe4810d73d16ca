/* Double-precision finite-difference check of BI-R's whole joint loss (src/cl/bir_model.c):
 * classification or distillation + reconstruction + KL to the class's prior mode, through the
 * shared encoder, the latent head, the reparameterisation and the gated decoder, with respect to
 * every parameter of every stage and the prior table. Like test_gradcheck.c, this file compiles
 * the network core, the VAE kernels and the BI-R model a second time with KN_NN_DOUBLE, so the
 * very code the learner runs in float is checked at a tolerance float could never reach. */
#define KN_NN_DOUBLE 1
#include "../../src/nn/buffer.c"
#include "../../src/nn/net.c"
#include "../../src/nn/layer_dense.c"
#include "../../src/nn/layer_conv.c"
#include "../../src/nn/layer_batchnorm.c"
#include "../../src/nn/layer_pool.c"
#include "../../src/nn/loss.c"
#include "../../src/nn/vae.c"
#include "../../src/cl/bir_model.c"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "test_support.h"

enum { N = 4, D = 6, H = 5, K = 3, C = 4 };

typedef struct probe {
    kn_bir_model *m;
    double r[N * 8];
    double eps[N * K];
    int32_t cls[N];
    kn_bir_target t;
    double soft[N * C];
    uint8_t active[C];
} probe;

static double loss_of(probe *p)
{
    kn_bir_losses l;
    kn_error err;
    kn_bir_model_zero_grad(p->m);
    assert_int_equal(kn_bir_model_loss(p->m, p->r, N, p->cls, &p->t, p->eps, 0.7, NULL, &l, &err),
                     0);
    return l.cls + l.recon + l.kl;
}

static double rel_err(double a, double b)
{
    double d = fabs(a - b), s = fabs(a) + fabs(b);
    return d / (s > 1e-2 ? s : 1e-2);
}

static void check_vector(probe *p, double *v, const double *g, size_t n, const char *what)
{
    const double h = 1e-6;
    for (size_t i = 0; i < n; i++) {
        double keep = v[i];
        v[i] = keep + h;
        double lp = loss_of(p);
        v[i] = keep - h;
        double lm = loss_of(p);
        v[i] = keep;
        double num = (lp - lm) / (2 * h);
        if (rel_err(num, g[i]) > 1e-6)
            fail_msg("%s[%zu]: numeric %.10g analytic %.10g", what, i, num, g[i]);
    }
}

static void run_check(int internal, int conditional, int gating, int soft)
{
    kn_bir_config cfg = {.d = D, .n_classes = C, .hidden = H, .latent = K, .internal = internal,
                         .conditional = conditional, .gating = gating, .gate_prop = 0.4};
    probe p;
    memset(&p, 0, sizeof p);
    kn_error err;
    assert_int_equal(kn_bir_model_create(&cfg, 42, &p.m, &err), 0);
    kn_rng rng;
    kn_rng_seed(&rng, 9);
    size_t R = p.m->r_dim;
    for (size_t i = 0; i < N * R; i++)
        p.r[i] = internal ? fabs(kn_rng_normal(&rng)) : kn_rng_normal(&rng);
    for (size_t i = 0; i < N * K; i++)
        p.eps[i] = kn_rng_normal(&rng);
    /* the prior away from its initial log-variances */
    for (size_t i = 0; i < 2 * C * K; i++)
        p.m->prior[i] += 0.3 * kn_rng_normal(&rng);
    int32_t labels[N] = {1, 0, 3, 1};
    memcpy(p.cls, labels, sizeof labels);
    p.active[0] = p.active[1] = p.active[3] = 1; /* class 2 inactive */
    p.t.active = p.active;
    if (soft) {
        double z[N * C];
        for (size_t i = 0; i < N * C; i++)
            z[i] = kn_rng_normal(&rng);
        uint8_t prev[C] = {1, 1, 0, 0}; /* targets over the earlier classes, 0 on class 3 */
        kn_softmax_temperature(z, N, C, 2.0, prev, p.soft);
        p.t.soft = p.soft;
        p.t.temperature = 2.0;
    } else {
        p.t.labels = labels;
    }
    loss_of(&p);
    kn_bir_net_slot slots[KN_BIR_MAX_NETS];
    kn_net *nets[KN_BIR_MAX_NETS];
    const char *names[KN_BIR_MAX_NETS];
    int n_nets = 0;
    /* Every net the loss at the replay level goes through: all but `below`. */
    for (int i = 0, n = kn_bir_model_nets(p.m, slots); i < n; i++)
        if (strcmp(slots[i].name, "below") != 0) {
            nets[n_nets] = *slots[i].net;
            names[n_nets++] = slots[i].name;
        }
    assert_int_equal(n_nets, 3 + p.m->n_dec);
    /* Copy every analytic gradient first (each probe re-zeroes them). */
    double *g[KN_BIR_MAX_NETS];
    for (int i = 0; i < n_nets; i++) {
        size_t np = kn_net_n_params(nets[i]);
        g[i] = malloc(np * sizeof(double));
        assert_non_null(g[i]);
        memcpy(g[i], kn_net_grads(nets[i]), np * sizeof(double));
    }
    double *gp = malloc(2 * C * K * sizeof(double));
    assert_non_null(gp);
    memcpy(gp, p.m->prior_grad, 2 * C * K * sizeof(double));
    int nonzero_prior = 0;
    for (size_t i = 0; i < 2 * C * K; i++)
        nonzero_prior += gp[i] != 0;
    assert_true(conditional ? nonzero_prior > 0 : nonzero_prior == 0);
    for (int i = 0; i < n_nets; i++) {
        check_vector(&p, kn_net_params(nets[i]), g[i], kn_net_n_params(nets[i]), names[i]);
        free(g[i]);
    }
    check_vector(&p, p.m->prior, gp, 2 * C * K, "prior");
    free(gp);
    kn_bir_model_free(p.m);
}

static void test_internal_conditional_gated_soft(void **s)
{
    (void)s;
    run_check(1, 1, 1, 1);
}
static void test_internal_conditional_gated_hard(void **s)
{
    (void)s;
    run_check(1, 1, 1, 0);
}
static void test_input_level_standard_prior_ungated(void **s)
{
    (void)s;
    run_check(0, 0, 0, 1);
}
static void test_input_level_conditional_gated(void **s)
{
    (void)s;
    run_check(0, 1, 1, 0);
}

/* Reconstruction loss of the model's reconstruction of r against a separate, fixed target. */
static double recon_fixed_target(kn_bir_model *m, const double *r, const double *tgt,
                                 const double *eps, const int32_t *cls)
{
    kn_error err;
    const double *hh, *lat, *rec;
    assert_int_equal(kn_net_forward(m->above, r, N, &hh, &err), 0);
    assert_int_equal(kn_net_forward(m->lat, hh, N, &lat, &err), 0);
    double mu[N * K], lv[N * K], z[N * K], gated[N * H];
    for (int a = 0; a < N; a++)
        for (int b = 0; b < K; b++) {
            mu[a * K + b] = lat[a * 2 * K + b];
            lv[a * K + b] = lat[a * 2 * K + K + b];
        }
    kn_vae_reparam(mu, lv, eps, N, K, z);
    double *gp[KN_BIR_MAX_DEC] = {gated};
    assert_int_equal(decode(m, z, N, cls, gp, &rec, &err), 0);
    return kn_vae_recon_loss(rec, tgt, N, H, 1.0, NULL);
}

/* dr: the gradient with respect to the replay-level input through the encoder, the reconstruction
 * target held fixed (as documented): differences of cls + KL (no target dependence) plus the
 * reconstruction against a frozen copy of r. */
static void test_input_gradient(void **s)
{
    (void)s;
    kn_bir_config cfg = {.d = D, .n_classes = C, .hidden = H, .latent = K, .internal = 1,
                         .conditional = 1, .gating = 1, .gate_prop = 0.4};
    kn_bir_model *m;
    kn_error err;
    assert_int_equal(kn_bir_model_create(&cfg, 3, &m, &err), 0);
    kn_rng rng;
    kn_rng_seed(&rng, 4);
    double r[N * H], tgt[N * H], eps[N * K], dr[N * H];
    for (size_t i = 0; i < N * H; i++)
        r[i] = fabs(kn_rng_normal(&rng));
    memcpy(tgt, r, sizeof tgt);
    for (size_t i = 0; i < N * K; i++)
        eps[i] = kn_rng_normal(&rng);
    int32_t y[N] = {0, 1, 2, 3};
    kn_bir_target t = {.labels = y};
    kn_bir_losses l;
    kn_bir_model_zero_grad(m);
    assert_int_equal(kn_bir_model_loss(m, r, N, y, &t, eps, 1.0, dr, &l, &err), 0);
    const double h = 1e-6;
    for (size_t i = 0; i < N * H; i++) {
        double keep = r[i], f[2];
        for (int sgn = 0; sgn < 2; sgn++) {
            r[i] = keep + (sgn ? -h : h);
            kn_bir_losses q;
            assert_int_equal(kn_bir_model_loss(m, r, N, y, &t, eps, 1.0, NULL, &q, &err), 0);
            f[sgn] = q.cls + q.kl + recon_fixed_target(m, r, tgt, eps, y);
        }
        r[i] = keep;
        double num = (f[0] - f[1]) / (2 * h);
        if (rel_err(num, dr[i]) > 1e-6)
            fail_msg("dr[%zu]: numeric %.10g analytic %.10g", i, num, dr[i]);
    }
    kn_bir_model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_internal_conditional_gated_soft),
        cmocka_unit_test(test_internal_conditional_gated_hard),
        cmocka_unit_test(test_input_level_standard_prior_ungated),
        cmocka_unit_test(test_input_level_conditional_gated),
        cmocka_unit_test(test_input_gradient),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
