/* The `bir` learner: brain-inspired replay (van de Ven, Siegelmann & Tolias, Nat. Commun. 2020)
 * behind the learner interface. The model is in bir_model.c (see bir.h for its shape).
 *
 * Every training step, on a batch of the current task (n samples) and, from the second task on,
 * as many samples replayed by the previous model (the model as it was at the end of the last
 * task):
 *   loss = (1/t) [CE(current, seen classes) + recon + KL to the label's mode]
 *        + (1 - 1/t) [distillation (T = 2, x T^2) of the previous model's outputs on the replayed
 *                     samples + recon + KL to the sampled mode]
 * after t tasks. The distillation targets are the previous model's tempered softmax over the
 * previously seen classes, padded with 0 for the current task's classes; the current model is
 * scored over all seen classes. Replayed samples: a class drawn uniformly from the previously seen classes, z
 * from that class's prior mode, decoded with that class's gates to the replay level (the first
 * hidden layer with internal replay). Without distillation the replayed samples get the previous
 * model's argmax as a hard label. Every component has a switch (--internal, --conditional,
 * --gating, --distill) for ablations.
 *
 * Iterations: --iters 0 (default) trains one step per mini-batch as the data arrive (one pass,
 * the protocol of the fly paper); --iters N buffers the task's data and runs N steps at the end of
 * the task on mini-batches cycling through reshuffled passes (the original's setting: 2000 per
 * task on split MNIST).
 *
 * Randomness: nets, prior and gates from the run's seed (bir_model.c); the noise, replayed
 * classes and iteration order of task i from kn_rng_stream(seed, 1000 + i), so a resumed run
 * continues exactly. Model file: the learner's common metadata + every net's tensors and the
 * prior; the gates are rebuilt from the seed, the previous model is the saved model itself (saving
 * happens between tasks), Adam's moments are not saved (a resumed run restarts them). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cl/bir.h"
#include "cl/methods.h"
#include "kenyon/safetensors.h"
#include "kenyon/vae.h"

#define BIR_MAX_OPT (1 + 3 + KN_BIR_MAX_DEC + 1)

typedef struct bir_state {
    kn_bir_model *model, *prev;
    kn_bir_config cfg;
    double lr, beta1, beta2, temperature;
    int batch, iters, distill, verbose;
    kn_optim *opt[BIR_MAX_OPT];
    kn_rng rng;              /* this task's stream */
    uint8_t *prev_seen;      /* classes seen before the current task */
    int32_t *prev_classes;   /* the same as a list */
    int n_prev_classes;
    float *store_x;          /* the task's data when iters > 0 */
    int32_t *store_y;
    size_t n_store, cap_store;
    /* scratch for one step */
    kn_real *r, *dr, *eps, *rr, *soft, *plogits;
    int32_t *rcls, *rlab;
    double sum_cls, sum_rec, sum_kl, sum_rcls;
    size_t n_steps;
} bir_state;

static const kn_param_spec bir_params[] = {
    KN_PARAM_ROW_INT("hidden", "400", 1, 65536,
                     "units of each of the 2 fully connected layers (and decoder)"),
    KN_PARAM_ROW_INT("latent", "100", 1, 65536, "latent units of the VAE"),
    KN_PARAM_ROW_REAL("lr", "0.001", 0, 1e6, KN_PARAM_MIN_OPEN,
                      "Adam learning rate (original: 1e-3 MNIST, 1e-4 CIFAR-100)"),
    KN_PARAM_ROW_REAL("beta1", "0.9", 0, 1, KN_PARAM_MAX_OPEN, "Adam beta1"),
    KN_PARAM_ROW_REAL("beta2", "0.999", 0, 1, KN_PARAM_MAX_OPEN, "Adam beta2"),
    KN_PARAM_ROW_INT("minibatch", "64", 1, 65536,
                     "mini-batch of current samples (as many are replayed)"),
    KN_PARAM_ROW_INT("iters", "0", 0, 100000000,
                     "steps per task; 0 = one pass over the task as data arrive (one pass over "
                     "the paper's ~12,000 samples per task = 188 steps; original BI-R: 2000)"),
    KN_PARAM_ROW_BOOL("internal", "1", "1: replay hidden activity of the first layer; 0: inputs"),
    KN_PARAM_ROW_BOOL("conditional", "1", "1: one learnable prior mode per class; 0: N(0, I)"),
    KN_PARAM_ROW_BOOL("gating", "1", "1: per-class gates on the decoder's hidden units"),
    KN_PARAM_ROW_REAL("gate-prop", "0.7", 0, 1, KN_PARAM_MAX_OPEN,
                      "proportion of decoder units each class's gate silences"),
    KN_PARAM_ROW_BOOL("distill", "1", "1: replay labelled by the previous model's soft outputs"),
    KN_PARAM_ROW_REAL("temperature", "2", 0, 1e6, KN_PARAM_MIN_OPEN, "distillation temperature"),
    {"verbose", KN_PARAM_BOOL, "0", "1: print the mean loss terms of every task on stderr", 0, 1,
     KN_PARAM_RUN_ONLY, NULL},
    KN_PARAM_ROW_END,
};

static int read_switch(const kn_learner *l, const char *name, int *out, kn_error *err)
{
    return kn_learner_param_bool(l, name, out, err);
}

static int read_params(const kn_learner *l, bir_state *s, kn_error *err)
{
    int rc;
    kn_bir_config *c = &s->cfg;
    if ((rc = kn_learner_param_int(l, "hidden", &c->hidden, err)) ||
        (rc = kn_learner_param_int(l, "latent", &c->latent, err)) ||
        (rc = kn_learner_param_double(l, "lr", &s->lr, err)) ||
        (rc = kn_learner_param_double(l, "beta1", &s->beta1, err)) ||
        (rc = kn_learner_param_double(l, "beta2", &s->beta2, err)) ||
        (rc = kn_learner_param_int(l, "minibatch", &s->batch, err)) ||
        (rc = kn_learner_param_int(l, "iters", &s->iters, err)) ||
        (rc = read_switch(l, "internal", &c->internal, err)) ||
        (rc = read_switch(l, "conditional", &c->conditional, err)) ||
        (rc = read_switch(l, "gating", &c->gating, err)) ||
        (rc = kn_learner_param_double(l, "gate-prop", &c->gate_prop, err)) ||
        (rc = read_switch(l, "distill", &s->distill, err)) ||
        (rc = kn_learner_param_double(l, "temperature", &s->temperature, err)) ||
        (rc = read_switch(l, "verbose", &s->verbose, err)))
        return rc;
    if (c->hidden < 1 || c->hidden > (1 << 16))
        return kn_fail(err, KN_EINVAL, "method bir: --hidden %d must be in [1, 65536]", c->hidden);
    if (c->latent < 1 || c->latent > (1 << 16))
        return kn_fail(err, KN_EINVAL, "method bir: --latent %d must be in [1, 65536]", c->latent);
    if (!(s->lr > 0))
        return kn_fail(err, KN_EINVAL, "method bir: --lr %g must be positive", s->lr);
    if (!(s->beta1 >= 0 && s->beta1 < 1) || !(s->beta2 >= 0 && s->beta2 < 1))
        return kn_fail(err, KN_EINVAL, "method bir: --beta1 %g and --beta2 %g must be in [0, 1)",
                       s->beta1, s->beta2);
    if (s->batch < 1 || s->batch > 65536)
        return kn_fail(err, KN_EINVAL, "method bir: --minibatch %d must be in [1, 65536]", s->batch);
    if (s->iters < 0 || s->iters > 100000000)
        return kn_fail(err, KN_EINVAL, "method bir: --iters %d must be in [0, 1e8]", s->iters);
    if (!(c->gate_prop >= 0 && c->gate_prop < 1))
        return kn_fail(err, KN_EINVAL, "method bir: --gate-prop %g must be in [0, 1)",
                       c->gate_prop);
    if (!(s->temperature > 0))
        return kn_fail(err, KN_EINVAL, "method bir: --temperature %g must be positive",
                       s->temperature);
    if (l->info.d > (size_t)INT32_MAX / (size_t)c->hidden)
        return kn_fail(err, KN_EINVAL, "method bir: d %zu x hidden %d is too large", l->info.d,
                       c->hidden);
    c->d = l->info.d;
    c->n_classes = l->info.n_classes;
    return 0;
}

/* The trainable parameter vectors of the model in a fixed order (below first, prior last). */
static int param_slots(kn_bir_model *m, kn_real **p, kn_real **g, size_t *n)
{
    int k = 0;
    kn_net *nets[3 + KN_BIR_MAX_DEC + 1];
    int nn = 0;
    if (m->below)
        nets[nn++] = m->below;
    nets[nn++] = m->above;
    nets[nn++] = m->cls;
    nets[nn++] = m->lat;
    for (int i = 0; i < m->n_dec; i++)
        nets[nn++] = m->dec[i];
    for (int i = 0; i < nn; i++, k++) {
        p[k] = kn_net_params(nets[i]);
        g[k] = kn_net_grads(nets[i]);
        n[k] = kn_net_n_params(nets[i]);
    }
    p[k] = m->prior;
    g[k] = m->prior_grad;
    n[k] = 2 * (size_t)m->cfg.n_classes * (size_t)m->cfg.latent;
    return k + 1;
}

static void bir_destroy(kn_learner *l)
{
    bir_state *s = l->impl;
    if (!s)
        return;
    kn_bir_model_free(s->model);
    kn_bir_model_free(s->prev);
    for (int i = 0; i < BIR_MAX_OPT; i++)
        kn_optim_free(s->opt[i]);
    free(s->prev_seen);
    free(s->prev_classes);
    free(s->store_x);
    free(s->store_y);
    free(s->r);
    free(s->dr);
    free(s->eps);
    free(s->rr);
    free(s->soft);
    free(s->plogits);
    free(s->rcls);
    free(s->rlab);
    free(s);
    l->impl = NULL;
}

static void fill_normal(kn_real *v, size_t n, kn_rng *rng)
{
    for (size_t i = 0; i < n; i++)
        v[i] = (kn_real)kn_rng_normal(rng);
}

/* A replay batch of m samples from the previous model into s->rcls (classes), s->rr (replay-level
 * samples) and the targets: s->soft (distillation) or s->rlab (previous model's argmax). */
static int make_replay(kn_learner *l, size_t m, kn_error *err)
{
    bir_state *s = l->impl;
    const size_t K = (size_t)s->cfg.latent, C = (size_t)s->cfg.n_classes;
    for (size_t i = 0; i < m; i++)
        s->rcls[i] = s->prev_classes[kn_rng_below(&s->rng, (uint64_t)s->n_prev_classes)];
    fill_normal(s->eps, m * K, &s->rng);
    int rc = kn_bir_model_generate(s->prev, s->rcls, s->eps, m, s->rr, err);
    if (!rc)
        rc = kn_bir_model_logits(s->prev, s->rr, m, s->plogits, err);
    if (rc)
        return rc;
    if (s->distill) {
        kn_softmax_temperature(s->plogits, m, (int)C, s->temperature, s->prev_seen, s->soft);
        return 0;
    }
    for (size_t i = 0; i < m; i++) {
        const kn_real *p = s->plogits + i * C;
        int best = -1;
        for (size_t c = 0; c < C; c++)
            if (s->prev_seen[c] && (best < 0 || p[c] > p[best]))
                best = (int)c;
        s->rlab[i] = best;
    }
    return 0;
}

/* One step on m current samples (and m replayed ones after the first task). */
static int train_step(kn_learner *l, const float *x, const int32_t *y, size_t m, kn_error *err)
{
    bir_state *s = l->impl;
    kn_bir_model *md = s->model;
    const size_t K = (size_t)s->cfg.latent;
    const int replay = s->prev && s->n_prev_classes > 0;
    const int below_trainable = md->below && !s->prev; /* frozen after the first task */
    const double t = (double)(l->task + 1);
    const double w_cur = replay ? 1.0 / t : 1.0;
    kn_bir_losses lc = {0}, lr = {0};

    kn_bir_model_zero_grad(md);
    int rc = kn_bir_model_encode_below(md, x, m, s->r, err);
    if (rc)
        return rc;
    fill_normal(s->eps, m * K, &s->rng);
    kn_bir_target tc = {.labels = y, .active = l->seen};
    rc = kn_bir_model_loss(md, s->r, m, y, &tc, s->eps, w_cur, below_trainable ? s->dr : NULL,
                           &lc, err);
    if (!rc && below_trainable)
        rc = kn_bir_model_backward_below(md, s->dr, err);
    if (rc)
        return rc;
    if (replay) {
        if ((rc = make_replay(l, m, err)))
            return rc;
        /* The current model answers over every class seen so far: the previous model's targets
         * cover the earlier classes and give the current task's classes probability 0 (the
         * original pads them with zeros), which is what keeps new classes from taking over. */
        kn_bir_target tr = {.active = l->seen, .temperature = s->temperature};
        if (s->distill)
            tr.soft = s->soft;
        else
            tr.labels = s->rlab;
        fill_normal(s->eps, m * K, &s->rng);
        rc = kn_bir_model_loss(md, s->rr, m, s->rcls, &tr, s->eps, 1.0 - w_cur, NULL, &lr, err);
        if (rc)
            return rc;
    }
    kn_real *p[BIR_MAX_OPT], *g[BIR_MAX_OPT];
    size_t n[BIR_MAX_OPT];
    int k = param_slots(md, p, g, n);
    for (int i = 0; i < k; i++) {
        if (i == 0 && md->below && !below_trainable)
            continue;
        if (i == k - 1 && !s->cfg.conditional)
            continue;
        kn_optim_step(s->opt[i], p[i], g[i]);
    }
    s->sum_cls += lc.cls;
    s->sum_rec += lc.recon + lr.recon;
    s->sum_kl += lc.kl + lr.kl;
    s->sum_rcls += lr.cls;
    s->n_steps++;
    return 0;
}

static int bir_begin_task(kn_learner *l, int task, const int32_t *classes, int n_task_classes,
                          kn_error *err)
{
    (void)classes;
    (void)n_task_classes;
    bir_state *s = l->impl;
    kn_rng_stream(&s->rng, l->info.seed, 1000 + (uint64_t)task);
    /* l->seen still holds the classes of the earlier tasks here. */
    s->n_prev_classes = 0;
    for (int c = 0; c < l->info.n_classes; c++) {
        s->prev_seen[c] = l->seen[c];
        if (l->seen[c])
            s->prev_classes[s->n_prev_classes++] = c;
    }
    s->n_store = 0;
    s->sum_cls = s->sum_rec = s->sum_kl = s->sum_rcls = 0;
    s->n_steps = 0;
    (void)err;
    return 0;
}

static int store_append(kn_learner *l, const float *x, const int32_t *y, size_t n, kn_error *err)
{
    bir_state *s = l->impl;
    size_t d = l->info.d;
    if (s->n_store + n > s->cap_store) {
        size_t cap = s->cap_store ? s->cap_store : 1024;
        while (cap < s->n_store + n)
            cap *= 2;
        if (cap > SIZE_MAX / (d * sizeof(float)))
            return kn_fail(err, KN_ENOMEM, "method bir: task too large to buffer");
        float *nx = realloc(s->store_x, cap * d * sizeof *nx);
        if (!nx)
            return kn_fail(err, KN_ENOMEM, "method bir: out of memory buffering the task");
        s->store_x = nx;
        int32_t *ny = realloc(s->store_y, cap * sizeof *ny);
        if (!ny)
            return kn_fail(err, KN_ENOMEM, "method bir: out of memory buffering the task");
        s->store_y = ny;
        s->cap_store = cap;
    }
    memcpy(s->store_x + s->n_store * d, x, n * d * sizeof *x);
    memcpy(s->store_y + s->n_store, y, n * sizeof *y);
    s->n_store += n;
    return 0;
}

static int bir_observe(kn_learner *l, const float *x, const int32_t *y, size_t n, kn_error *err)
{
    bir_state *s = l->impl;
    if (s->iters > 0)
        return store_append(l, x, y, n, err);
    size_t b = (size_t)s->batch;
    for (size_t i = 0; i < n; i += b) {
        size_t m = n - i < b ? n - i : b;
        int rc = train_step(l, x + i * l->info.d, y + i, m, err);
        if (rc)
            return rc;
    }
    return 0;
}

/* --iters N: N steps on mini-batches cycling through reshuffled passes over the task. */
static int train_iterations(kn_learner *l, kn_error *err)
{
    bir_state *s = l->impl;
    size_t n = s->n_store, d = l->info.d, b = (size_t)s->batch;
    if (n == 0)
        return 0;
    if (b > n)
        b = n;
    uint32_t *order = malloc(n * sizeof *order);
    float *bx = malloc(b * d * sizeof *bx);
    int32_t *by = malloc(b * sizeof *by);
    int rc = 0;
    if (!order || !bx || !by)
        rc = kn_fail(err, KN_ENOMEM, "method bir: out of memory for the iteration batches");
    size_t pos = n;
    for (int it = 0; !rc && it < s->iters; it++) {
        if (pos + b > n) {
            kn_rng_permutation(&s->rng, order, n);
            pos = 0;
        }
        for (size_t i = 0; i < b; i++) {
            memcpy(bx + i * d, s->store_x + (size_t)order[pos + i] * d, d * sizeof *bx);
            by[i] = s->store_y[order[pos + i]];
        }
        pos += b;
        rc = train_step(l, bx, by, b, err);
    }
    free(order);
    free(bx);
    free(by);
    return rc;
}

static int bir_end_task(kn_learner *l, kn_error *err)
{
    bir_state *s = l->impl;
    int rc = 0;
    if (s->iters > 0)
        rc = train_iterations(l, err);
    if (rc)
        return rc;
    if (s->verbose && s->n_steps)
        fprintf(stderr, "bir task %d: %zu steps, mean loss: classify %.4f, replay-classify %.4f, "
                "recon %.5f, KL %.5f\n", l->task, s->n_steps, s->sum_cls / (double)s->n_steps,
                s->sum_rcls / (double)s->n_steps, s->sum_rec / (double)s->n_steps,
                s->sum_kl / (double)s->n_steps);
    kn_bir_model *prev;
    rc = kn_bir_model_clone(s->model, &prev, err);
    if (rc)
        return rc;
    kn_bir_model_free(s->prev);
    s->prev = prev;
    s->n_store = 0;
    return 0;
}

static int bir_predict(kn_learner *l, const float *x, size_t n, float *scores, kn_error *err)
{
    bir_state *s = l->impl;
    return kn_bir_model_predict(s->model, x, n, scores, err);
}

/* Tensor names of the nets in a model file. */
static void net_prefix(const kn_bir_model *m, int slot, char *buf, size_t cap)
{
    int i = slot;
    if (!m->below)
        i++;
    if (i == 0)
        snprintf(buf, cap, "below.");
    else if (i == 1)
        snprintf(buf, cap, "above.");
    else if (i == 2)
        snprintf(buf, cap, "cls.");
    else if (i == 3)
        snprintf(buf, cap, "lat.");
    else
        snprintf(buf, cap, "dec%d.", i - 4);
}

static kn_net *net_at(kn_bir_model *m, int slot)
{
    int i = slot;
    if (!m->below)
        i++;
    switch (i) {
    case 0:
        return m->below;
    case 1:
        return m->above;
    case 2:
        return m->cls;
    case 3:
        return m->lat;
    default:
        return i - 4 < m->n_dec ? m->dec[i - 4] : NULL;
    }
}

static int n_nets(const kn_bir_model *m) { return (m->below ? 1 : 0) + 3 + m->n_dec; }

static int bir_save(const kn_learner *l, const char *path, kn_error *err)
{
    const bir_state *s = l->impl;
    kn_bir_model *m = s->model;
    kn_st_writer w;
    kn_st_writer_init(&w);
    int rc = kn_learner_write_common(l, &w, err);
    char prefix[32];
    for (int i = 0; !rc && i < n_nets(m); i++) {
        net_prefix(m, i, prefix, sizeof prefix);
        rc = kn_net_write_tensors(net_at(m, i), prefix, &w, err);
    }
    size_t shape[2] = {(size_t)m->cfg.n_classes, (size_t)m->cfg.latent};
    if (!rc)
        rc = kn_st_writer_add(&w, "prior.mean", KN_ST_F32, 2, shape, m->prior, err);
    if (!rc)
        rc = kn_st_writer_add(&w, "prior.logvar", KN_ST_F32, 2, shape,
                              m->prior + shape[0] * shape[1], err);
    if (!rc)
        rc = kn_st_writer_write(&w, path, err);
    kn_st_writer_free(&w);
    return rc;
}

static const kn_learner_ops bir_ops = {
    .begin_task = bir_begin_task,
    .observe = bir_observe,
    .end_task = bir_end_task,
    .predict_scores = bir_predict,
    .save = bir_save,
    .destroy = bir_destroy,
};

static int bir_create(kn_learner *l, kn_error *err)
{
    bir_state *s = calloc(1, sizeof *s);
    if (!s)
        return kn_fail(err, KN_ENOMEM, "method bir: out of memory");
    l->impl = s;
    l->ops = &bir_ops;
    int rc = read_params(l, s, err);
    if (!rc)
        rc = kn_bir_model_create(&s->cfg, l->info.seed, &s->model, err);
    if (rc)
        return rc;
    kn_real *p[BIR_MAX_OPT], *g[BIR_MAX_OPT];
    size_t n[BIR_MAX_OPT];
    int k = param_slots(s->model, p, g, n);
    kn_optim_config oc = kn_optim_adam(s->lr);
    oc.beta1 = s->beta1;
    oc.beta2 = s->beta2;
    for (int i = 0; !rc && i < k; i++)
        rc = kn_optim_create(&oc, n[i], &s->opt[i], err);
    if (rc)
        return rc;
    size_t b = (size_t)s->batch, C = (size_t)l->info.n_classes, K = (size_t)s->cfg.latent;
    size_t R = s->model->r_dim;
    s->prev_seen = calloc(C, 1);
    s->prev_classes = calloc(C, sizeof *s->prev_classes);
    s->r = malloc(b * R * sizeof *s->r);
    s->dr = malloc(b * R * sizeof *s->dr);
    s->eps = malloc(b * K * sizeof *s->eps);
    s->rr = malloc(b * R * sizeof *s->rr);
    s->soft = malloc(b * C * sizeof *s->soft);
    s->plogits = malloc(b * C * sizeof *s->plogits);
    s->rcls = malloc(b * sizeof *s->rcls);
    s->rlab = malloc(b * sizeof *s->rlab);
    if (!s->prev_seen || !s->prev_classes || !s->r || !s->dr || !s->eps || !s->rr || !s->soft ||
        !s->plogits || !s->rcls || !s->rlab)
        return kn_fail(err, KN_ENOMEM, "method bir: out of memory for the step buffers");
    return 0;
}

static int bir_load(kn_learner *l, const kn_st_file *f, kn_error *err)
{
    int rc = bir_create(l, err);
    if (rc)
        return rc;
    bir_state *s = l->impl;
    kn_bir_model *m = s->model;
    char prefix[32];
    for (int i = 0; !rc && i < n_nets(m); i++) {
        net_prefix(m, i, prefix, sizeof prefix);
        rc = kn_net_read_tensors(net_at(m, i), prefix, f, err);
    }
    size_t shape[2] = {(size_t)m->cfg.n_classes, (size_t)m->cfg.latent};
    const kn_st_tensor *mean = NULL, *lv = NULL;
    if (!rc)
        rc = kn_st_expect(f, "prior.mean", KN_ST_F32, 2, shape, &mean, err);
    if (!rc)
        rc = kn_st_expect(f, "prior.logvar", KN_ST_F32, 2, shape, &lv, err);
    if (!rc) {
        /* read straight into the prior (means, then log-variances), then validate */
        size_t cnt = shape[0] * shape[1];
        if (!(rc = kn_st_tensor_read(f, mean, m->prior, err)))
            rc = kn_st_tensor_read(f, lv, m->prior + cnt, err);
        const float *a = m->prior, *b = m->prior + cnt;
        for (size_t i = 0; !rc && i < cnt; i++)
            if (!isfinite(a[i]) || !isfinite(b[i]))
                rc = kn_fail(err, KN_EFORMAT, "%s: prior.%s[%zu] is not finite", f->source,
                             isfinite(a[i]) ? "logvar" : "mean", i);
    }
    /* Saved between tasks, so the previous model is the saved one. */
    if (!rc && l->task >= 0)
        rc = kn_bir_model_clone(m, &s->prev, err);
    return rc;
}

kn_bir_model *kn_bir_learner_model(kn_learner *l, int previous)
{
    if (!l || !l->impl || strcmp(l->method->name, "bir") != 0)
        return NULL;
    bir_state *s = l->impl;
    return previous ? s->prev : s->model;
}

int kn_bir_learner_replay(kn_learner *l, size_t n, int32_t *cls, kn_real *r, kn_real *soft,
                          int32_t *labels, kn_error *err)
{
    bir_state *s = l->impl;
    if (!s->prev || s->n_prev_classes == 0 || !l->in_task)
        return kn_fail(err, KN_ESTATE, "bir: replay needs a task in progress after a first one");
    if (n == 0 || n > (size_t)s->batch)
        return kn_fail(err, KN_EINVAL, "bir: replay batch %zu must be in [1, %d]", n, s->batch);
    int rc = make_replay(l, n, err);
    if (rc)
        return rc;
    size_t C = (size_t)s->cfg.n_classes;
    memcpy(cls, s->rcls, n * sizeof *cls);
    memcpy(r, s->rr, n * s->model->r_dim * sizeof *r);
    if (soft)
        memcpy(soft, s->soft, n * C * sizeof *soft);
    if (labels)
        memcpy(labels, s->rlab, n * sizeof *labels);
    return 0;
}

const kn_method kn_method_bir = {
    "bir",
    "brain-inspired replay: classifier + VAE with conditional, gated, internal replay and "
    "distillation (van de Ven et al. 2020)",
    bir_params, bir_create, bir_load, NULL};
