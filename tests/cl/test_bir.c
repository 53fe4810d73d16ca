/* Behaviour tests of the `bir` learner (src/cl/bir.c, bir_model.c) on small synthetic streams
 * (Gaussian blobs, 2 tasks of 2 classes): replayed samples come from the requested class's mode
 * and are recognised as that class; the gates are fixed per class (never trained, identical in the
 * previous model, and units a class silences have no effect on its samples); distillation targets
 * are the previous (frozen) model's tempered outputs padded with zeros for new classes; the
 * learner keeps the first task; every ablation switch runs; bad options are named; save/load
 * round-trips; `kenyon run --method bir` works on user data. The joint loss's gradients are checked in tests/nn/test_vae_bir.c. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cl/bir.h"
#include "kenyon/formats.h"
#include "kenyon/learner.h"
#include "kenyon/vae.h"
#include "test_support.h"

enum { D = 10, C = 4, PER = 120, B = 16 };

typedef struct blobs {
    float x[C * PER * D];
    int32_t y[C * PER];
} blobs;

/* Class c: mean 2.5 * N(0, I) (fixed by seed 77), noise 0.4; rows class-major. */
static void make_blobs(blobs *b, uint64_t seed)
{
    kn_rng rng, mr;
    kn_rng_seed(&mr, 77);
    kn_rng_seed(&rng, seed);
    double mean[C][D];
    for (int c = 0; c < C; c++)
        for (int j = 0; j < D; j++)
            mean[c][j] = 2.5 * kn_rng_normal(&mr);
    for (int c = 0; c < C; c++)
        for (int i = 0; i < PER; i++) {
            size_t r = (size_t)c * PER + (size_t)i;
            b->y[r] = c;
            for (int j = 0; j < D; j++)
                b->x[r * D + j] = (float)(mean[c][j] + 0.4 * kn_rng_normal(&rng));
        }
}

static kn_learner *make_learner(const kn_kv *extra, size_t n_extra)
{
    const kn_kv base[4] = {{"hidden", "32"}, {"latent", "4"}, {"iters", "200"}, {"minibatch", "16"}};
    kn_kv kv[16];
    size_t n = 0;
    for (size_t i = 0; i < 4; i++) { /* base settings unless overridden */
        int over = 0;
        for (size_t j = 0; j < n_extra; j++)
            over |= strcmp(extra[j].key, base[i].key) == 0;
        if (!over)
            kv[n++] = base[i];
    }
    for (size_t i = 0; i < n_extra; i++)
        kv[n++] = extra[i];
    kn_learner_info info = {.d = D, .n_classes = C, .seed = 5};
    kn_learner *l = NULL;
    kn_error err;
    int rc = kn_learner_create("bir", &info, kv, n, &l, &err);
    if (rc)
        fail_msg("create: %s", err.msg);
    return l;
}

/* Trains task t (classes 2t, 2t+1) fully: begin, observe, end. */
static void train_task(kn_learner *l, const blobs *b, int t, int end)
{
    kn_error err;
    int32_t cls[2] = {2 * t, 2 * t + 1};
    if (kn_learner_begin_task(l, t, cls, 2, &err))
        fail_msg("begin: %s", err.msg);
    const float *x = b->x + (size_t)2 * t * PER * D;
    const int32_t *y = b->y + (size_t)2 * t * PER;
    /* interleave the two classes so one-pass training sees both */
    for (int i = 0; i < PER; i += 8) {
        float bx[16 * D];
        int32_t by[16];
        for (int k = 0; k < 8; k++) {
            memcpy(bx + (size_t)(2 * k) * D, x + (size_t)(i + k) * D, D * sizeof(float));
            memcpy(bx + (size_t)(2 * k + 1) * D, x + (size_t)(PER + i + k) * D, D * sizeof(float));
            by[2 * k] = y[i + k];
            by[2 * k + 1] = y[PER + i + k];
        }
        if (kn_learner_observe(l, bx, by, 16, &err))
            fail_msg("observe: %s", err.msg);
    }
    if (end && kn_learner_end_task(l, &err))
        fail_msg("end: %s", err.msg);
}

static double accuracy(kn_learner *l, const blobs *b, int first_class, int n_classes,
                       int n_allowed)
{
    uint8_t allowed[C] = {0};
    for (int c = 0; c < n_allowed; c++)
        allowed[c] = 1;
    size_t n = (size_t)n_classes * PER;
    int32_t *pred = malloc(n * sizeof *pred);
    assert_non_null(pred);
    kn_error err;
    assert_int_equal(kn_learner_predict_labels(l, b->x + (size_t)first_class * PER * D, n,
                                               allowed, pred, &err), 0);
    size_t ok = 0;
    for (size_t i = 0; i < n; i++)
        ok += pred[i] == b->y[(size_t)first_class * PER + i];
    free(pred);
    return (double)ok / (double)n;
}

static int argmax_over(const float *row, const uint8_t *allowed)
{
    int best = -1;
    for (int c = 0; c < C; c++)
        if (allowed[c] && (best < 0 || row[c] > row[best]))
            best = c;
    return best;
}

static void test_replay_samples_class_modes(void **state)
{
    (void)state;
    static blobs b;
    make_blobs(&b, 1);
    kn_learner *l = make_learner(NULL, 0);
    train_task(l, &b, 0, 1);
    train_task(l, &b, 1, 0); /* task 1 in progress: replay comes from the previous model */
    kn_bir_model *prev = kn_bir_learner_model(l, 1);
    assert_non_null(prev);
    int32_t cls[B];
    float r[B * 32], soft[B * C], logits[B * C];
    kn_error err;
    int agree = 0;
    const uint8_t old[C] = {1, 1, 0, 0};
    for (int rep = 0; rep < 4; rep++) {
        assert_int_equal(kn_bir_learner_replay(l, B, cls, r, soft, NULL, &err), 0);
        assert_int_equal(kn_bir_model_logits(prev, r, B, logits, &err), 0);
        for (int i = 0; i < B; i++) {
            assert_true(cls[i] == 0 || cls[i] == 1); /* only earlier classes are replayed */
            agree += argmax_over(logits + i * C, old) == cls[i];
        }
    }
    /* samples drawn from class c's mode are recognised as class c */
    assert_true(agree >= 4 * B * 9 / 10);
    /* the mode selects the sample: with zero noise a class's sample depends on its own prior
     * row only */
    int32_t two[2] = {0, 1};
    float eps[2 * 4] = {0}, g1[2 * 32], g2[2 * 32];
    assert_int_equal(kn_bir_model_generate(prev, two, eps, 2, g1, &err), 0);
    for (int j = 0; j < 4; j++)
        prev->prior[1 * 4 + j] += 3.0f; /* move class 1's mean */
    assert_int_equal(kn_bir_model_generate(prev, two, eps, 2, g2, &err), 0);
    assert_memory_equal(g1, g2, 32 * sizeof(float));
    assert_true(memcmp(g1 + 32, g2 + 32, 32 * sizeof(float)) != 0);
    kn_learner_free(l);
}

static void test_gates_fixed_per_class(void **state)
{
    (void)state;
    static blobs b;
    make_blobs(&b, 2);
    kn_learner *l = make_learner(NULL, 0);
    kn_bir_model *m = kn_bir_learner_model(l, 0);
    size_t nm = (size_t)(m->n_dec - 1) * C * 32;
    uint8_t *before = malloc(nm);
    assert_non_null(before);
    memcpy(before, m->masks, nm);
    /* exactly round(0.7 * 32) = 22 of 32 decoder units silenced per class */
    for (int c = 0; c < C; c++) {
        int on = 0;
        for (int j = 0; j < 32; j++)
            on += m->masks[c * 32 + j];
        assert_int_equal(on, 10);
    }
    train_task(l, &b, 0, 1);
    train_task(l, &b, 1, 1);
    m = kn_bir_learner_model(l, 0);
    kn_bir_model *prev = kn_bir_learner_model(l, 1);
    assert_memory_equal(before, m->masks, nm);    /* never trained */
    assert_memory_equal(before, prev->masks, nm); /* the previous model gates the same way */
    /* a unit class 0 silences has no effect on class 0's samples, but does on a class that
     * keeps it on */
    int unit = -1;
    for (int j = 0; j < 32 && unit < 0; j++)
        if (!m->masks[0 * 32 + j] && m->masks[1 * 32 + j])
            unit = j;
    assert_true(unit >= 0);
    int32_t two[2] = {0, 1};
    float eps[2 * 4] = {0.3f, -0.2f, 0.1f, 0.5f, 0.3f, -0.2f, 0.1f, 0.5f};
    float g1[2 * 32], g2[2 * 32];
    kn_error err;
    assert_int_equal(kn_bir_model_generate(m, two, eps, 2, g1, &err), 0);
    /* the output layer's weights from `unit` (column `unit` of the 32 x 32 weight) */
    float *W = kn_net_params(m->dec[1]);
    for (int o = 0; o < 32; o++)
        W[o * 32 + unit] += 5.0f;
    assert_int_equal(kn_bir_model_generate(m, two, eps, 2, g2, &err), 0);
    assert_memory_equal(g1, g2, 32 * sizeof(float));
    /* without the gates the same samples differ (the gates do something) */
    kn_bir_model *m2;
    assert_int_equal(kn_bir_model_clone(m, &m2, &err), 0);
    m2->cfg.gating = 0;
    float g3[2 * 32];
    assert_int_equal(kn_bir_model_generate(m2, two, eps, 2, g3, &err), 0);
    assert_true(memcmp(g2, g3, 2 * 32 * sizeof(float)) != 0); /* gates do something */
    kn_bir_model_free(m2);
    free(before);
    /* same seed, same gates; another seed, other gates */
    kn_learner *l2 = make_learner(NULL, 0);
    assert_memory_equal(kn_bir_learner_model(l2, 0)->masks, m->masks, nm);
    kn_learner_free(l2);
    kn_learner_free(l);
}

static void softmax_t2(const float *z, const uint8_t *active, float *out)
{
    double mx = -INFINITY, s = 0;
    for (int c = 0; c < C; c++)
        if (active[c] && z[c] / 2.0 > mx)
            mx = z[c] / 2.0;
    for (int c = 0; c < C; c++)
        if (active[c])
            s += exp(z[c] / 2.0 - mx);
    for (int c = 0; c < C; c++)
        out[c] = active[c] ? (float)(exp(z[c] / 2.0 - mx) / s) : 0.0f;
}

static void test_distillation_targets_from_previous_model(void **state)
{
    (void)state;
    static blobs b;
    make_blobs(&b, 3);
    /* one pass, so the current model moves while task 1 is in progress */
    kn_kv one_pass[1] = {{"iters", "0"}};
    kn_learner *l = make_learner(one_pass, 1);
    train_task(l, &b, 0, 1);
    /* scores of the model at the end of task 0 */
    static float s0[C * PER * C], s1[C * PER * C], sp[C * PER * C];
    kn_error err;
    assert_int_equal(kn_learner_predict_scores(l, b.x, C * PER, s0, &err), 0);
    train_task(l, &b, 1, 0);
    kn_bir_model *prev = kn_bir_learner_model(l, 1), *cur = kn_bir_learner_model(l, 0);
    assert_int_equal(kn_bir_model_predict(prev, b.x, C * PER, sp, &err), 0);
    assert_memory_equal(s0, sp, sizeof s0); /* the previous model is frozen at the end of task 0 */
    assert_int_equal(kn_learner_predict_scores(l, b.x, C * PER, s1, &err), 0);
    assert_true(memcmp(s0, s1, sizeof s0) != 0); /* while the current model has moved */
    int32_t cls[B];
    float r[B * 32], soft[B * C], pl[B * C], cl[B * C], want[C], curp[C];
    assert_int_equal(kn_bir_learner_replay(l, B, cls, r, soft, NULL, &err), 0);
    assert_int_equal(kn_bir_model_logits(prev, r, B, pl, &err), 0);
    assert_int_equal(kn_bir_model_logits(cur, r, B, cl, &err), 0);
    const uint8_t old[C] = {1, 1, 0, 0};
    double max_diff_cur = 0;
    for (int i = 0; i < B; i++) {
        softmax_t2(pl + i * C, old, want);
        softmax_t2(cl + i * C, old, curp);
        double sum = 0;
        for (int c = 0; c < C; c++) {
            sum += soft[i * C + c];
            assert_true(fabsf(soft[i * C + c] - want[c]) < 1e-5f);
            if (fabs(soft[i * C + c] - curp[c]) > max_diff_cur)
                max_diff_cur = fabs(soft[i * C + c] - curp[c]);
        }
        assert_true(soft[i * C + 2] == 0 && soft[i * C + 3] == 0); /* new classes: 0 */
        assert_true(fabs(sum - 1) < 1e-5);
    }
    assert_true(max_diff_cur > 1e-4); /* not the current model's outputs */
    kn_learner_free(l);

    /* without distillation: the previous model's argmax over the earlier classes */
    kn_kv nd[1] = {{"distill", "0"}};
    l = make_learner(nd, 1);
    train_task(l, &b, 0, 1);
    train_task(l, &b, 1, 0);
    prev = kn_bir_learner_model(l, 1);
    int32_t lab[B];
    assert_int_equal(kn_bir_learner_replay(l, B, cls, r, NULL, lab, &err), 0);
    assert_int_equal(kn_bir_model_logits(prev, r, B, pl, &err), 0);
    for (int i = 0; i < B; i++)
        assert_int_equal(lab[i], argmax_over(pl + i * C, old));
    kn_learner_free(l);
}

static void test_keeps_first_task_and_ablations_run(void **state)
{
    (void)state;
    static blobs b;
    make_blobs(&b, 4);
    kn_learner *l = make_learner(NULL, 0);
    train_task(l, &b, 0, 1);
    double a0 = accuracy(l, &b, 0, 2, 2);
    train_task(l, &b, 1, 1);
    double a_old = accuracy(l, &b, 0, 2, 4), a_all = accuracy(l, &b, 0, 4, 4);
    assert_true(a0 > 0.95);
    assert_true(a_old > 0.8); /* replay keeps the first task against the new classes */
    assert_true(a_all > 0.85);
    kn_learner_free(l);
    const char *switches[] = {"gating", "distill", "conditional", "internal"};
    for (int i = 0; i < 4; i++) {
        kn_kv kv[1] = {{switches[i], "0"}};
        l = make_learner(kv, 1);
        train_task(l, &b, 0, 1);
        train_task(l, &b, 1, 1);
        double a = accuracy(l, &b, 0, 4, 4);
        assert_true(a >= 0 && a <= 1);
        assert_true(accuracy(l, &b, 2, 2, 4) > 0.5); /* learnt the last task */
        kn_learner_free(l);
    }
    /* one pass (iters 0) trains as data arrive */
    kn_kv kv0[1] = {{"iters", "0"}};
    l = make_learner(kv0, 1);
    train_task(l, &b, 0, 1);
    assert_true(accuracy(l, &b, 0, 2, 2) > 0.9);
    kn_learner_free(l);
}

static void test_bad_options_are_named(void **state)
{
    (void)state;
    kn_learner_info info = {.d = D, .n_classes = C, .seed = 1};
    kn_learner *l = NULL;
    kn_error err;
    struct {
        const char *k, *v, *needle;
    } bad[] = {
        {"gate-prop", "1.5", "--gate-prop"}, {"internal", "2", "--internal"},
        {"temperature", "0", "--temperature"}, {"latent", "0", "--latent"},
        {"iters", "-1", "--iters"}, {"lr", "-0.1", "--lr"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        kn_kv kv[1] = {{bad[i].k, bad[i].v}};
        assert_int_equal(kn_learner_create("bir", &info, kv, 1, &l, &err), KN_EINVAL);
        if (!strstr(err.msg, bad[i].needle))
            fail_msg("'%s' does not name %s", err.msg, bad[i].needle);
        assert_null(l);
    }
}

static void test_save_load_roundtrip(void **state)
{
    (void)state;
    static blobs b;
    make_blobs(&b, 5);
    kn_learner *l = make_learner(NULL, 0);
    train_task(l, &b, 0, 1);
    const char *path = kt_path(kt_scratch_dir("bir"), "bir.safetensors");
    kn_error err;
    assert_int_equal(kn_learner_save(l, path, &err), 0);
    kn_learner *l2;
    if (kn_learner_load(path, &l2, &err))
        fail_msg("load: %s", err.msg);
    static float s1[C * PER * C], s2[C * PER * C];
    assert_int_equal(kn_learner_predict_scores(l, b.x, C * PER, s1, &err), 0);
    assert_int_equal(kn_learner_predict_scores(l2, b.x, C * PER, s2, &err), 0);
    assert_memory_equal(s1, s2, sizeof s1);
    kn_bir_model *a = kn_bir_learner_model(l, 0), *c = kn_bir_learner_model(l2, 0);
    assert_memory_equal(a->prior, c->prior, 2 * C * 4 * sizeof(float));
    assert_memory_equal(a->masks, c->masks, (size_t)(a->n_dec - 1) * C * 32);
    assert_non_null(kn_bir_learner_model(l2, 1)); /* resumes with a previous model */
    /* the loaded learner continues with task 1 and replays */
    train_task(l2, &b, 1, 1);
    assert_true(accuracy(l2, &b, 0, 4, 4) > 0.6);
    kn_learner_free(l2);
    kn_learner_free(l);
}

/* `kenyon run --method bir` on small user data (.npy): method options pass through, results
 * files are written, and a bad option value is refused naming the option. */
static void test_cli_run(void **state)
{
    (void)state;
    static blobs b;
    make_blobs(&b, 6);
    const char *dir = kt_scratch_dir("bircli");
    kn_error err;
    size_t sx[2] = {C * PER, D}, sy[1] = {C * PER};
    if (kn_npy_write_f32(kt_path(dir, "x.npy"), b.x, sx, 2, &err) ||
        kn_npy_write_i32(kt_path(dir, "y.npy"), b.y, sy, 1, &err))
        fail_msg("writing test data: %s", err.msg);
    char data[1024];
    snprintf(data, sizeof data,
             "--train-x '%s/x.npy' --train-y '%s/y.npy' --test-x '%s/x.npy' --test-y '%s/y.npy' "
             "--classes-per-task 2 --quiet",
             dir, dir, dir, dir);
    char *out = NULL;
    int rc = kt_run_cli(&out, "run --method bir %s --iters 30 --hidden 16 --latent 4 "
                              "--gating 0 --out '%s/res'", data, dir);
    if (rc != 0)
        fail_msg("kenyon run failed (%d): %s", rc, out ? out : "");
    free(out);
    FILE *f = fopen(kt_path(dir, "res/summary.json"), "r");
    assert_non_null(f);
    char buf[8192];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    assert_non_null(strstr(buf, "\"bir\""));
    assert_non_null(strstr(buf, "\"gating\""));
    out = NULL;
    rc = kt_run_cli(&out, "run --method bir %s --gate-prop 2", data);
    assert_true(rc != 0);
    assert_non_null(out);
    assert_non_null(strstr(out, "gate-prop"));
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_replay_samples_class_modes),
        cmocka_unit_test(test_gates_fixed_per_class),
        cmocka_unit_test(test_distillation_targets_from_previous_model),
        cmocka_unit_test(test_keeps_first_task_and_ablations_run),
        cmocka_unit_test(test_bad_options_are_named),
        cmocka_unit_test(test_save_load_roundtrip),
        cmocka_unit_test(test_cli_run),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
