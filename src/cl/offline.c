/* The `offline` baseline (the upper bound): keeps every training sample seen so far and, at the
 * end of each task, retrains the vanilla MLP from a fresh initialisation on all of them for
 * `epochs` epochs (reshuffled every epoch), cross-entropy over all outputs.
 *
 * Randomness: the k-th retraining (after task k) initialises from kn_rng_stream(seed, 1 + k)
 * and shuffles with kn_rng_stream(seed, 1000 + k), so a resumed run retrains identically.
 * Model file: common metadata + net tensors + the stored data ("memory_x" F32 [n, d],
 * "memory_y" I32 [n]) so a loaded learner can go on with the next task. */
#include <stdlib.h>
#include <string.h>

#include "cl/baselines.h"
#include "cl/methods.h"

typedef struct offline_state {
    kn_net *net; /* first: see kn_bp_head */
    kn_optim *opt;
    kn_bp_common c;
    int epochs;
    float *x;    /* stored samples, n x d */
    int32_t *y;
    size_t n, cap;
} offline_state;

static const kn_param_spec offline_params[] = {
    KN_BP_COMMON_PARAMS("3200", "0.001"),
    KN_PARAM_ROW_INT("epochs", "10", 1, 100000,
                     "epochs of retraining on all data seen so far, after each task"),
    KN_PARAM_ROW_END,
};

static int store(offline_state *s, size_t d, const float *x, const int32_t *y, size_t n,
                 kn_error *err)
{
    if (s->n + n > s->cap) {
        size_t cap = s->cap ? s->cap : 4096;
        while (cap < s->n + n)
            cap *= 2;
        if (cap > SIZE_MAX / (d * sizeof(float)))
            return kn_fail(err, KN_ENOMEM, "method offline: %zu stored samples overflow", cap);
        float *nx = realloc(s->x, cap * d * sizeof *nx);
        if (!nx)
            return kn_fail(err, KN_ENOMEM, "method offline: out of memory storing %zu samples",
                           cap);
        s->x = nx;
        int32_t *ny = realloc(s->y, cap * sizeof *ny);
        if (!ny)
            return kn_fail(err, KN_ENOMEM, "method offline: out of memory storing %zu labels",
                           cap);
        s->y = ny;
        s->cap = cap;
    }
    memcpy(s->x + s->n * d, x, n * d * sizeof *x);
    memcpy(s->y + s->n, y, n * sizeof *y);
    s->n += n;
    return 0;
}

static int offline_observe(kn_learner *l, const float *x, const int32_t *y, size_t n,
                           kn_error *err)
{
    return store(l->impl, l->info.d, x, y, n, err);
}

static int offline_end_task(kn_learner *l, kn_error *err)
{
    offline_state *s = l->impl;
    if (s->n == 0)
        return 0;
    const size_t d = l->info.d, b = (size_t)s->c.batch;
    kn_bp_reinit(l, s->net, 1 + (uint64_t)l->task);
    kn_optim_reset(s->opt);
    kn_net_set_training(s->net, 1);
    kn_rng rng;
    kn_rng_stream(&rng, l->info.seed, 1000 + (uint64_t)l->task);
    uint32_t *perm = malloc(s->n * sizeof *perm);
    float *bx = malloc(b * d * sizeof *bx);
    int32_t *by = malloc(b * sizeof *by);
    int rc = 0;
    if (!perm || !bx || !by)
        rc = kn_fail(err, KN_ENOMEM, "method offline: out of memory for the shuffle");
    for (int e = 0; !rc && e < s->epochs; e++) {
        kn_rng_permutation(&rng, perm, s->n);
        for (size_t i = 0; !rc && i < s->n; i += b) {
            size_t m = s->n - i < b ? s->n - i : b;
            for (size_t r = 0; r < m; r++) {
                memcpy(bx + r * d, s->x + (size_t)perm[i + r] * d, d * sizeof *bx);
                by[r] = s->y[perm[i + r]];
            }
            rc = kn_net_train_step(s->net, s->opt, bx, by, m, NULL, NULL, err);
        }
    }
    free(perm);
    free(bx);
    free(by);
    return rc;
}

static int offline_predict(kn_learner *l, const float *x, size_t n, float *scores, kn_error *err)
{
    offline_state *s = l->impl;
    return kn_bp_predict(s->net, x, n, scores, err);
}

static int offline_save(const kn_learner *l, const char *path, kn_error *err)
{
    const offline_state *s = l->impl;
    kn_st_writer w;
    kn_st_writer_init(&w);
    int rc = kn_bp_writer_begin(l, s->net, &w, err);
    size_t shx[2] = {s->n, l->info.d}, shy[1] = {s->n};
    if (!rc)
        rc = kn_st_writer_add(&w, "memory_x", KN_ST_F32, 2, shx, s->x, err);
    if (!rc)
        rc = kn_st_writer_add(&w, "memory_y", KN_ST_I32, 1, shy, s->y, err);
    if (!rc)
        rc = kn_st_writer_write(&w, path, err);
    kn_st_writer_free(&w);
    return rc;
}

static void offline_destroy(kn_learner *l)
{
    offline_state *s = l->impl;
    if (!s)
        return;
    kn_net_free(s->net);
    kn_optim_free(s->opt);
    free(s->x);
    free(s->y);
    free(s);
    l->impl = NULL;
}

static const kn_learner_ops offline_ops = {
    .observe = offline_observe,
    .end_task = offline_end_task,
    .predict_scores = offline_predict,
    .save = offline_save,
    .destroy = offline_destroy,
};

static int offline_create(kn_learner *l, kn_error *err)
{
    offline_state *s = calloc(1, sizeof *s);
    if (!s)
        return kn_fail(err, KN_ENOMEM, "method offline: out of memory");
    l->impl = s;
    l->ops = &offline_ops;
    int rc = kn_bp_read_common(l, &s->c, err);
    if (!rc)
        rc = kn_learner_param_int(l, "epochs", &s->epochs, err);
    if (!rc && (s->epochs < 1 || s->epochs > 100000))
        rc = kn_fail(err, KN_EINVAL, "method offline: --epochs %d must be in [1, 100000]",
                     s->epochs);
    if (!rc)
        rc = kn_bp_build_mlp(l, s->c.hidden, 0, 0, &s->net, err);
    if (!rc)
        rc = kn_bp_make_sgd(s->net, &s->c, &s->opt, err);
    return rc;
}

static int offline_load(kn_learner *l, const kn_st_file *f, kn_error *err)
{
    int rc = offline_create(l, err);
    if (rc)
        return rc;
    offline_state *s = l->impl;
    const kn_st_tensor *tx = kn_st_find(f, "memory_x"), *ty;
    rc = kn_bp_read_net(s->net, f, err);
    if (!rc && !tx)
        rc = kn_fail(err, KN_EFORMAT, "%s: tensor memory_x is missing", f->source);
    if (!rc) {
        size_t n = tx->ndim == 2 ? tx->shape[0] : 0;
        size_t shx[2] = {n, l->info.d}, shy[1] = {n};
        if (!(rc = kn_st_expect(f, "memory_x", KN_ST_F32, 2, shx, &tx, err)) &&
            !(rc = kn_st_expect(f, "memory_y", KN_ST_I32, 1, shy, &ty, err))) {
            /* room for the n samples, read straight into it, then validate */
            s->x = malloc((n ? n : 1) * l->info.d * sizeof *s->x);
            s->y = malloc((n ? n : 1) * sizeof *s->y);
            if (!s->x || !s->y)
                rc = kn_fail(err, KN_ENOMEM, "method offline: out of memory for %zu samples", n);
            if (!rc) {
                s->cap = n ? n : 1;
                rc = kn_st_tensor_read(f, tx, s->x, err);
            }
            if (!rc)
                rc = kn_st_tensor_read(f, ty, s->y, err);
            if (!rc)
                s->n = n;
            for (size_t i = 0; i < n && !rc; i++)
                if (s->y[i] < 0 || s->y[i] >= l->info.n_classes)
                    rc = kn_fail(err, KN_EFORMAT, "%s: memory_y[%zu] = %d is not a class", f->source,
                                 i, (int)s->y[i]);
        }
    }
    return rc;
}

const kn_method kn_method_offline = {
    "offline", "MLP retrained from scratch on all data seen so far after each task (upper bound)",
    offline_params, offline_create, offline_load, NULL};
