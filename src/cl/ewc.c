/* The `ewc` baseline (elastic weight consolidation, Kirkpatrick et al. 2017): an MLP
 * d -> hidden (ReLU) -> C trained by SGD on the current task's output slice only (cross-entropy
 * over that task's classes), evaluated over all seen classes; after each task, a diagonal
 * Fisher F from up to n-memories of that task's most recent examples anchors the weights with
 * the penalty lambda/2 sum_i F_i (theta_i - theta*_i)^2.
 *
 * Fisher "expected": the expectation over the model's own predicted labels (the "true" Fisher,
 * not the empirical one): F = 1/N sum_x sum_c p(c|x) (d log p(c|x) / d theta)^2, p = softmax
 * over the task's slice (the distribution the task was trained on). Per-sample squared gradients come
 * from kn_net_backward_sqgrad (one sgemm per layer for all samples, no per-sample loop).
 *
 * Modes: "offline" keeps one penalty term per finished task; "online" keeps one running Fisher
 * F <- F_new + gamma F_old anchored at the latest weights (Schwarz et al. 2018). Both are kept
 * as one quadratic per weight, lambda/2 (sum_i A_i (theta_i - mu_i)^2 + R): a sum of quadratics
 * F_k (theta - theta*_k)^2 is again one, A = sum F_k, mu = the F-weighted mean of the anchors,
 * R = the constant left over, merged one task at a time without cancellation
 * (A (x - mu)^2 + F (x - t)^2 = A' (x - mu')^2 + A F / A' (mu - t)^2). This is identical to the
 * sum of per-task terms at O(params) memory whatever the number of tasks; online: A = F,
 * mu = latest weights, R = 0. Gradient of the penalty: lambda A (theta - mu).
 *
 * Fisher variants (--fisher): "batch" (default), the squared gradient of the mean loss over the
 * memories, which is what the GEM authors' EWC code computes, or "expected" (above). The
 * paper's settings (lambda 1000, lr 0.1, n_memories 1000) come with that code: with the
 * expected Fisher, which is larger, they diverge on LeNet5 features (3 of 5 seeds of MNIST-20
 * end at chance, 0.05), while the batch Fisher stays stable (0.24-0.34 final, seeds 1/21/35).
 *
 * Model file: common metadata + net tensors + "ewc_a", "ewc_mu" (F32 [params]) and metadata
 * ewc.r, ewc.consolidated. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cl/baselines.h"
#include "cl/methods.h"

typedef struct ewc_state {
    kn_net *net; /* first: see kn_bp_head */
    kn_optim *opt;
    kn_bp_common c;
    double lambda, gamma;
    int online;
    int n_memories;
    uint8_t *mask;     /* current task's classes */
    float *mem_x;      /* ring buffer of the current task's most recent examples */
    int32_t *mem_y;
    size_t mem_count, mem_pos;
    float *A, *mu;     /* penalty: curvature and anchor per weight (n_params) */
    double R;          /* constant part of the penalty */
    int batch_fisher;  /* --fisher batch */
    int consolidated;  /* tasks consolidated so far */
    float *fisher;     /* scratch */
    float *dout, *roww;
} ewc_state;

static const kn_param_spec ewc_params[] = {
    KN_BP_COMMON_PARAMS("3200", "0.1"),
    KN_PARAM_ROW_REAL("lambda", "1000", 0, 1e12, 0, "strength of the penalty"),
    KN_PARAM_ROW_INT("n-memories", "1000", 0, 10000000,
                     "examples of each task kept to estimate its Fisher"),
    KN_PARAM_ROW_CHOICE("mode", "offline", "offline|online",
                        "offline (one term per task) or online (running Fisher)"),
    KN_PARAM_ROW_REAL("gamma", "1", 0, 1, 0,
                      "online mode: decay of the old Fisher, F <- F_new + gamma F"),
    KN_PARAM_ROW_CHOICE("fisher", "batch", "batch|expected",
                        "batch (squared gradient of the mean memory loss, as the GEM authors' "
                        "code the paper's settings come from) or expected (over the model's "
                        "predicted labels, per sample)"),
    KN_PARAM_ROW_END,
};

static void penalty_grad_add(const ewc_state *s, float *g)
{
    const float *th = kn_net_params_const(s->net);
    const float lam = (float)s->lambda;
    size_t np = kn_net_n_params(s->net);
    for (size_t i = 0; i < np; i++)
        g[i] += lam * s->A[i] * (th[i] - s->mu[i]);
}

int kn_ewc_penalty(kn_learner *l, double *penalty, double *quadratic, float *grad,
                   size_t *n_fisher_nonzero, kn_error *err)
{
    if (!l || strcmp(l->method->name, "ewc") != 0)
        return kn_fail(err, KN_EINVAL, "kn_ewc_penalty: not an ewc learner");
    ewc_state *s = l->impl;
    size_t np = kn_net_n_params(s->net), nz = 0;
    const float *th = kn_net_params_const(s->net);
    double v = s->R;
    for (size_t i = 0; i < np; i++) {
        double dv = (double)th[i] - s->mu[i];
        v += (double)s->A[i] * dv * dv;
        nz += s->A[i] > 0;
    }
    if (penalty)
        *penalty = 0.5 * s->lambda * v;
    if (quadratic)
        *quadratic = v;
    if (grad) {
        memset(grad, 0, np * sizeof *grad);
        penalty_grad_add(s, grad);
    }
    if (n_fisher_nonzero)
        *n_fisher_nonzero = nz;
    return 0;
}

static int ewc_begin_task(kn_learner *l, int task, const int32_t *classes, int n_classes,
                          kn_error *err)
{
    (void)task;
    (void)err;
    ewc_state *s = l->impl;
    memset(s->mask, 0, (size_t)l->info.n_classes);
    for (int i = 0; i < n_classes; i++)
        s->mask[classes[i]] = 1;
    s->mem_count = s->mem_pos = 0;
    return 0;
}

static int ewc_observe(kn_learner *l, const float *x, const int32_t *y, size_t n, kn_error *err)
{
    ewc_state *s = l->impl;
    const size_t d = l->info.d, b = (size_t)s->c.batch, cap = (size_t)s->n_memories;
    for (size_t i = 0; i < n; i++) {
        if (!s->mask[y[i]])
            return kn_fail(err, KN_EINVAL, "method ewc: sample %zu has label %d, not a class "
                           "of the current task", i, (int)y[i]);
    }
    for (size_t i = 0; i < n && cap; i++) { /* ring buffer of the most recent examples */
        memcpy(s->mem_x + s->mem_pos * d, x + i * d, d * sizeof(float));
        s->mem_y[s->mem_pos] = y[i];
        s->mem_pos = (s->mem_pos + 1) % cap;
        if (s->mem_count < cap)
            s->mem_count++;
    }
    for (size_t i = 0; i < n; i += b) {
        size_t m = n - i < b ? n - i : b;
        kn_net_zero_grad(s->net);
        int rc = kn_net_loss_grad(s->net, x + i * d, y + i, m, s->mask, NULL, err);
        if (rc)
            return rc;
        if (s->consolidated)
            penalty_grad_add(s, kn_net_grads(s->net));
        kn_optim_step(s->opt, kn_net_params(s->net), kn_net_grads(s->net));
    }
    return 0;
}

/* F = 1/N sum_r sum_{c in task} p(c|x_r) (grad log p(c|x_r))^2, into s->fisher. */
static int compute_fisher(kn_learner *l, ewc_state *s, kn_error *err)
{
    const size_t d = l->info.d, C = (size_t)l->info.n_classes, np = kn_net_n_params(s->net);
    const size_t chunk = 256, N = s->mem_count;
    memset(s->fisher, 0, np * sizeof(float));
    if (s->batch_fisher) {
        /* (gradient of the mean loss over the memories)^2, over the task's slice */
        kn_net_zero_grad(s->net);
        for (size_t st = 0; st < N; st += chunk) {
            size_t m = N - st < chunk ? N - st : chunk;
            const float *z;
            int rc = kn_net_forward(s->net, s->mem_x + st * d, m, &z, err);
            if (!rc)
                rc = kn_loss_cross_entropy(z, m, (int)C, s->mem_y + st, s->mask, NULL, s->dout,
                                           err);
            for (size_t q = 0; !rc && q < m * C; q++)
                s->dout[q] *= (float)((double)m / (double)N); /* mean over all N */
            if (!rc)
                rc = kn_net_backward(s->net, s->dout, NULL, err);
            if (rc)
                return rc;
        }
        const float *g = kn_net_grads(s->net);
        for (size_t i = 0; i < np; i++)
            s->fisher[i] = g[i] * g[i];
        kn_net_zero_grad(s->net);
        return 0;
    }
    for (size_t st = 0; st < N; st += chunk) {
        size_t m = N - st < chunk ? N - st : chunk;
        const float *z;
        int rc = kn_net_forward(s->net, s->mem_x + st * d, m, &z, err);
        if (rc)
            return rc;
        kn_log_softmax(z, m, (int)C, s->mask, s->dout); /* log p in dout for now */
        float *logp = malloc(m * C * sizeof *logp);
        if (!logp)
            return kn_fail(err, KN_ENOMEM, "method ewc: out of memory for the Fisher");
        memcpy(logp, s->dout, m * C * sizeof *logp);
        for (size_t c = 0; c < C && !rc; c++) {
            if (!s->mask[c])
                continue;
            for (size_t r = 0; r < m; r++) {
                /* d log p(c|x) / d logits = onehot(c) - p on the slice, 0 elsewhere */
                for (size_t j = 0; j < C; j++)
                    s->dout[r * C + j] =
                        s->mask[j] ? (float)((j == c ? 1.0 : 0.0) - exp(logp[r * C + j])) : 0.0f;
                s->roww[r] = (float)(exp(logp[r * C + c]) / (double)N);
            }
            rc = kn_net_backward_sqgrad(s->net, s->dout, s->roww, s->fisher, err);
        }
        free(logp);
        if (rc)
            return rc;
    }
    return 0;
}

static int ewc_end_task(kn_learner *l, kn_error *err)
{
    ewc_state *s = l->impl;
    if (s->mem_count == 0)
        return 0;
    int rc = compute_fisher(l, s, err);
    if (rc)
        return rc;
    const size_t np = kn_net_n_params(s->net);
    const float *th = kn_net_params_const(s->net);
    if (s->online) {
        for (size_t i = 0; i < np; i++) {
            s->A[i] = s->fisher[i] + (float)s->gamma * s->A[i];
            s->mu[i] = th[i];
        }
        s->R = 0;
    } else {
        double R = s->R;
        for (size_t i = 0; i < np; i++) {
            double a = s->A[i], f = s->fisher[i], a2 = a + f;
            if (a2 <= 0) {
                s->mu[i] = th[i];
                continue;
            }
            double d = (double)s->mu[i] - th[i];
            R += a * f / a2 * d * d;
            s->mu[i] = (float)((a * s->mu[i] + f * th[i]) / a2);
            s->A[i] = (float)a2;
        }
        s->R = R;
    }
    s->consolidated++;
    return 0;
}

static int ewc_predict(kn_learner *l, const float *x, size_t n, float *scores, kn_error *err)
{
    ewc_state *s = l->impl;
    return kn_bp_predict(s->net, x, n, scores, err);
}

static int ewc_save(const kn_learner *l, const char *path, kn_error *err)
{
    const ewc_state *s = l->impl;
    kn_st_writer w;
    kn_st_writer_init(&w);
    size_t sh[1] = {kn_net_n_params(s->net)};
    int rc = kn_bp_writer_begin(l, s->net, &w, err);
    if (!rc)
        rc = kn_st_writer_add(&w, "ewc_a", KN_ST_F32, 1, sh, s->A, err);
    if (!rc)
        rc = kn_st_writer_add(&w, "ewc_mu", KN_ST_F32, 1, sh, s->mu, err);
    if (!rc)
        rc = kn_st_writer_meta_fmt(&w, "ewc.r", err, "%.17g", s->R);
    if (!rc)
        rc = kn_st_writer_meta_fmt(&w, "ewc.consolidated", err, "%d", s->consolidated);
    if (!rc)
        rc = kn_st_writer_write(&w, path, err);
    kn_st_writer_free(&w);
    return rc;
}

static void ewc_destroy(kn_learner *l)
{
    ewc_state *s = l->impl;
    if (!s)
        return;
    kn_net_free(s->net);
    kn_optim_free(s->opt);
    free(s->mask);
    free(s->mem_x);
    free(s->mem_y);
    free(s->A);
    free(s->mu);
    free(s->fisher);
    free(s->dout);
    free(s->roww);
    free(s);
    l->impl = NULL;
}

static const kn_learner_ops ewc_ops = {
    .begin_task = ewc_begin_task,
    .observe = ewc_observe,
    .end_task = ewc_end_task,
    .predict_scores = ewc_predict,
    .save = ewc_save,
    .destroy = ewc_destroy,
};

static int ewc_create(kn_learner *l, kn_error *err)
{
    ewc_state *s = calloc(1, sizeof *s);
    if (!s)
        return kn_fail(err, KN_ENOMEM, "method ewc: out of memory");
    l->impl = s;
    l->ops = &ewc_ops;
    int rc = kn_bp_read_common(l, &s->c, err);
    if (!rc)
        rc = kn_learner_param_double(l, "lambda", &s->lambda, err);
    if (!rc)
        rc = kn_learner_param_double(l, "gamma", &s->gamma, err);
    if (!rc)
        rc = kn_learner_param_int(l, "n-memories", &s->n_memories, err);
    if (rc)
        return rc;
    const char *mode = kn_learner_param(l, "mode");
    if (mode && strcmp(mode, "online") == 0)
        s->online = 1;
    else if (!mode || strcmp(mode, "offline") != 0)
        return kn_fail(err, KN_EINVAL, "method ewc: --mode '%s' must be offline or online",
                       mode ? mode : "");
    const char *fisher = kn_learner_param(l, "fisher");
    if (fisher && strcmp(fisher, "batch") == 0)
        s->batch_fisher = 1;
    else if (!fisher || strcmp(fisher, "expected") != 0)
        return kn_fail(err, KN_EINVAL, "method ewc: --fisher '%s' must be expected or batch",
                       fisher ? fisher : "");
    if (!(s->lambda >= 0))
        return kn_fail(err, KN_EINVAL, "method ewc: --lambda %g must be >= 0", s->lambda);
    if (!(s->gamma >= 0 && s->gamma <= 1))
        return kn_fail(err, KN_EINVAL, "method ewc: --gamma %g must be in [0, 1]", s->gamma);
    if (s->n_memories < 0 || s->n_memories > 10000000)
        return kn_fail(err, KN_EINVAL, "method ewc: --n-memories %d must be in [0, 1e7]",
                       s->n_memories);
    rc = kn_bp_build_mlp(l, s->c.hidden, 0, 0, &s->net, err);
    if (!rc)
        rc = kn_bp_make_sgd(s->net, &s->c, &s->opt, err);
    if (rc)
        return rc;
    const size_t np = kn_net_n_params(s->net), d = l->info.d, C = (size_t)l->info.n_classes;
    const size_t nm = (size_t)s->n_memories;
    s->mask = calloc(C, 1);
    s->mem_x = malloc((nm ? nm : 1) * d * sizeof(float));
    s->mem_y = malloc((nm ? nm : 1) * sizeof(int32_t));
    s->A = calloc(np, sizeof(float));
    s->mu = calloc(np, sizeof(float));
    s->fisher = malloc(np * sizeof(float));
    s->dout = malloc(256 * C * sizeof(float));
    s->roww = malloc(256 * sizeof(float));
    if (!s->mask || !s->mem_x || !s->mem_y || !s->A || !s->mu || !s->fisher || !s->dout ||
        !s->roww)
        return kn_fail(err, KN_ENOMEM, "method ewc: out of memory for %zu parameters", np);
    return 0;
}

static int ewc_load(kn_learner *l, const kn_st_file *f, kn_error *err)
{
    int rc = ewc_create(l, err);
    if (rc)
        return rc;
    ewc_state *s = l->impl;
    size_t sh[1] = {kn_net_n_params(s->net)};
    const kn_st_tensor *ta, *tb;
    int64_t cons;
    if (!(rc = kn_bp_read_net(s->net, f, err)) &&
        !(rc = kn_st_expect(f, "ewc_a", KN_ST_F32, 1, sh, &ta, err)) &&
        !(rc = kn_st_expect(f, "ewc_mu", KN_ST_F32, 1, sh, &tb, err)) &&
        !(rc = kn_st_meta_double(f, "ewc.r", &s->R, err)) &&
        !(rc = kn_st_meta_int64(f, "ewc.consolidated", &cons, err))) {
        /* read straight into the state, then validate */
        if (!(rc = kn_st_tensor_read(f, ta, s->A, err)))
            rc = kn_st_tensor_read(f, tb, s->mu, err);
        for (size_t i = 0; i < sh[0] && !rc; i++)
            if (!isfinite(s->A[i]) || s->A[i] < 0 || !isfinite(s->mu[i]))
                rc = kn_fail(err, KN_EFORMAT, "%s: ewc_a/ewc_mu[%zu] invalid (Fisher must be "
                             "finite and >= 0)", f->source, i);
        if (!rc && (cons < 0 || cons > 1000000 || !isfinite(s->R) || s->R < 0))
            rc = kn_fail(err, KN_EFORMAT, "%s: ewc.consolidated / ewc.r implausible", f->source);
        if (!rc)
            s->consolidated = (int)cons;
    }
    return rc;
}

const kn_method kn_method_ewc = {
    "ewc", "elastic weight consolidation on an MLP, loss on the current task's outputs",
    ewc_params, ewc_create, ewc_load, NULL};
