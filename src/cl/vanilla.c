/* The `vanilla` baseline (fine-tuning): an MLP d -> hidden (ReLU) -> C trained by SGD with
 * cross-entropy over all outputs, one step per mini-batch, as data arrive, with no protection
 * against forgetting. It shows what catastrophic forgetting looks like.
 *
 * Model file: the learner's common metadata + the net's tensors ("net.layer0.weight" ...). The
 * SGD momentum buffer is not saved: a resumed run restarts momentum at the next task. */
#include <stdlib.h>

#include "cl/baselines.h"
#include "cl/methods.h"

typedef struct vanilla_state {
    kn_net *net; /* first: see kn_bp_head */
    kn_optim *opt;
    kn_bp_common c;
} vanilla_state;

static const kn_param_spec vanilla_params[] = {
    KN_BP_COMMON_PARAMS("3200", "0.001"),
    KN_PARAM_ROW_END,
};

static int vanilla_observe(kn_learner *l, const float *x, const int32_t *y, size_t n,
                           kn_error *err)
{
    vanilla_state *s = l->impl;
    size_t b = (size_t)s->c.batch;
    for (size_t i = 0; i < n; i += b) {
        size_t m = n - i < b ? n - i : b;
        int rc = kn_net_train_step(s->net, s->opt, x + i * l->info.d, y + i, m, NULL, NULL, err);
        if (rc)
            return rc;
    }
    return 0;
}

static int vanilla_predict(kn_learner *l, const float *x, size_t n, float *scores, kn_error *err)
{
    vanilla_state *s = l->impl;
    return kn_bp_predict(s->net, x, n, scores, err);
}

static int vanilla_save(const kn_learner *l, const char *path, kn_error *err)
{
    const vanilla_state *s = l->impl;
    kn_st_writer w;
    kn_st_writer_init(&w);
    int rc = kn_bp_writer_begin(l, s->net, &w, err);
    if (!rc)
        rc = kn_st_writer_write(&w, path, err);
    kn_st_writer_free(&w);
    return rc;
}

static void vanilla_destroy(kn_learner *l)
{
    vanilla_state *s = l->impl;
    if (!s)
        return;
    kn_net_free(s->net);
    kn_optim_free(s->opt);
    free(s);
    l->impl = NULL;
}

static const kn_learner_ops vanilla_ops = {
    .observe = vanilla_observe,
    .predict_scores = vanilla_predict,
    .save = vanilla_save,
    .destroy = vanilla_destroy,
};

static int vanilla_create(kn_learner *l, kn_error *err)
{
    vanilla_state *s = calloc(1, sizeof *s);
    if (!s)
        return kn_fail(err, KN_ENOMEM, "method vanilla: out of memory");
    l->impl = s;
    l->ops = &vanilla_ops;
    int rc = kn_bp_read_common(l, &s->c, err);
    if (!rc)
        rc = kn_bp_build_mlp(l, s->c.hidden, 0, 0, &s->net, err);
    if (!rc)
        rc = kn_bp_make_sgd(s->net, &s->c, &s->opt, err);
    return rc;
}

static int vanilla_load(kn_learner *l, const kn_st_file *f, kn_error *err)
{
    int rc = vanilla_create(l, err);
    if (rc)
        return rc;
    rc = kn_bp_read_net(((vanilla_state *)l->impl)->net, f, err);
    return rc;
}

const kn_method kn_method_vanilla = {
    "vanilla", "fine-tuned MLP d -> hidden (ReLU) -> C, SGD, no protection (lower bound)",
    vanilla_params, vanilla_create, vanilla_load, NULL};
