/* `kenyon dynamics train`: the limiting dynamics of SGD on a real network. Pretrains an MLP
 * (kenyon/nn.h) with SGD + momentum + weight decay, then continues from the pretrained theta_0 at
 * fixed hyperparameters (one run per value of a swept hyperparameter) and records, every step,
 * |delta_k|^2 = eta^2 |b_{k+1}|^2, |theta_k - theta_0|^2, |theta_k|, theta_k . theta_0.
 * The update is written out here (PyTorch form, b_0 = 0 at the start of each run) rather than
 * taken from kn_optim because the momentum buffer itself is the measured quantity.
 * Checks (issue 8): |delta|^2 flat after pretraining (coefficient of variation of window means
 * after the burn-in < 10%), and the ratio of mean |delta|^2 between runs within 10% of the law
 * eta^2 tr Sigma / (S (1 - beta^2)) (tr Sigma assumed equal across runs). The exponent c is the
 * OLS slope of log |theta_k - theta_0|^2 on log k over [burn-in, steps], with its 95% interval. */
#include "dynamics_internal.h"

#include <lapacke.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kenyon/samples.h"
#include "kenyon/nn.h"
#include "kenyon/progress.h"

void kn_dyn_train_config_default(kn_dyn_train_config *c)
{
    memset(c, 0, sizeof *c);
    c->hidden = 64;
    c->depth = 1;
    c->n_train = 10000;
    c->pre_epochs = 30;
    /* weight decay 5e-3: with 5e-4 the MLP keeps fitting its 10k rows and |delta|^2 drifts
     * (CV 7-11% over 20k steps); with 5e-3 it is flat (CV ~3%) */
    c->pre = (kn_sgd_hparams){.lr = 0.01, .momentum = 0.9, .wd = 5e-3, .batch = 64};
    c->hp = (kn_sgd_hparams){.lr = 0.01, .momentum = 0.9, .wd = 5e-3, .batch = 64};
    c->steps = 20000;
    c->hessian_k = 0;
    c->hessian_batch = 1024;
    c->hessian_iters = 20;
    c->burn_in = 0.1;
    c->windows = 10;
    c->seed = 1;
}

void kn_dyn_train_result_free(kn_dyn_train_result *r)
{
    if (!r)
        return;
    for (int i = 0; i < r->n_runs; i++) {
        free(r->runs[i].delta_sq);
        free(r->runs[i].disp_sq);
        free(r->runs[i].norm);
        free(r->runs[i].dot);
        free(r->runs[i].loss);
        free(r->runs[i].proj);
        free(r->runs[i].proj_vel);
    }
    memset(r, 0, sizeof *r);
}

static int check_batch(const kn_sgd_hparams *hp, const char *what, size_t n, kn_error *err)
{
    const char *bad = kn_sgd_hparams_check(hp);
    if (bad)
        return kn_fail(err, KN_EINVAL, "%s: %s", what, bad);
    if (hp->batch != floor(hp->batch) || hp->batch > (double)n)
        return kn_fail(err, KN_EINVAL, "%s: batch %g must be an integer <= the %zu training rows",
                       what, hp->batch, n);
    return 0;
}

/* Minibatch sampler: a fresh permutation per epoch, batches of consecutive entries. */
typedef struct sampler {
    uint32_t *perm;
    size_t n, pos;
    kn_rng rng;
} sampler;

static void next_batch(sampler *s, const kn_dataset *ds, const size_t *rows, size_t S, kn_real *x,
                       int32_t *y)
{
    for (size_t i = 0; i < S; i++) {
        if (s->pos == s->n) {
            kn_rng_permutation(&s->rng, s->perm, s->n);
            s->pos = 0;
        }
        size_t r = rows[s->perm[s->pos++]];
        for (size_t j = 0; j < ds->d; j++)
            x[i * ds->d + j] = (kn_real)ds->x[r * ds->d + j];
        y[i] = ds->y[r];
    }
}

/* One SGD step in the PyTorch form; returns |b_{k+1}|^2 (double accumulation). */
static int sgd_step(kn_net *net, kn_real *b, const kn_sgd_hparams *hp, const kn_real *x,
                    const int32_t *y, size_t S, double *loss, double *b_sq, kn_error *err)
{
    kn_net_zero_grad(net);
    int rc = kn_net_loss_grad(net, x, y, S, NULL, loss, err);
    if (rc)
        return rc;
    size_t n = kn_net_n_params(net);
    kn_real *th = kn_net_params(net);
    const kn_real *g = kn_net_grads(net);
    const kn_real beta = (kn_real)hp->momentum, lam = (kn_real)hp->wd, eta = (kn_real)hp->lr;
    double acc = 0;
    for (size_t p = 0; p < n; p++) {
        kn_real bp = beta * b[p] + g[p] + lam * th[p];
        b[p] = bp;
        th[p] -= eta * bp;
        acc += (double)bp * bp;
    }
    *b_sq = acc;
    return 0;
}

static double accuracy(kn_net *net, const kn_dataset *ds, kn_real *out, kn_real *xbuf,
                       kn_error *err, int *rc)
{
    size_t k = kn_net_out_dim(net), correct = 0, chunk = 1024;
    kn_net_set_training(net, 0);
    for (size_t start = 0; start < ds->n && *rc == 0; start += chunk) {
        size_t m = ds->n - start < chunk ? ds->n - start : chunk;
        for (size_t i = 0; i < m * ds->d; i++)
            xbuf[i] = (kn_real)ds->x[start * ds->d + i];
        *rc = kn_net_predict(net, xbuf, m, out, err);
        for (size_t i = 0; i < m && *rc == 0; i++) {
            size_t best = 0;
            for (size_t j = 1; j < k; j++)
                if (out[i * k + j] > out[i * k + best])
                    best = j;
            correct += (int32_t)best == ds->y[start + i];
        }
    }
    kn_net_set_training(net, 1);
    return ds->n ? (double)correct / (double)ds->n : 0;
}

/* Hessian-vector product at theta_0 by central differences of gradients:
 * H v ~ (g(theta_0 + eps v) - g(theta_0 - eps v)) / (2 eps), on a fixed batch (x, y, n).
 * Leaves the parameters at theta_0. */
static int hessian_vector(kn_net *net, const kn_real *theta0, const double *v, double eps,
                          const kn_real *x, const int32_t *y, size_t n, double *gplus,
                          double *out, kn_error *err)
{
    size_t np = kn_net_n_params(net);
    kn_real *th = kn_net_params(net);
    const kn_real *g = kn_net_grads(net);
    for (int sgn = 1; sgn >= -1; sgn -= 2) {
        for (size_t p = 0; p < np; p++)
            th[p] = (kn_real)(theta0[p] + sgn * eps * v[p]);
        kn_net_zero_grad(net);
        int rc = kn_net_loss_grad(net, x, y, n, NULL, NULL, err);
        if (rc) {
            memcpy(th, theta0, np * sizeof(kn_real));
            return rc;
        }
        for (size_t p = 0; p < np; p++) {
            if (sgn == 1)
                gplus[p] = g[p];
            else
                out[p] = (gplus[p] - g[p]) / (2 * eps);
        }
    }
    memcpy(th, theta0, np * sizeof(kn_real));
    return 0;
}

static void orthonormalise(double *Q, size_t np, int k)
{
    for (int j = 0; j < k; j++) {
        double *q = Q + (size_t)j * np;
        for (int i = 0; i < j; i++) {
            const double *p = Q + (size_t)i * np;
            double d = 0;
            for (size_t t = 0; t < np; t++)
                d += p[t] * q[t];
            for (size_t t = 0; t < np; t++)
                q[t] -= d * p[t];
        }
        double nrm = 0;
        for (size_t t = 0; t < np; t++)
            nrm += q[t] * q[t];
        nrm = sqrt(nrm);
        for (size_t t = 0; t < np; t++)
            q[t] = nrm > 0 ? q[t] / nrm : 0;
    }
}

/* Top-k eigenvectors of the loss Hessian at the net's current parameters: subspace iteration
 * with finite-difference Hessian-vector products, then Rayleigh-Ritz (LAPACKE_dsyev) on
 * Q^T H Q. Q (k x np, rows) gets the Ritz vectors by decreasing Ritz value. */
int kn_dyn_hessian_top(struct kn_net *net, const float *x, const int32_t *y, size_t n, int k,
                       int iters, double *Q, double *eig, kn_rng *rng, kn_error *err)
{
    if (k < 1 || k > 8 || iters < 1)
        return kn_fail(err, KN_EINVAL, "Hessian: k %d must be in 1..8 and iterations >= 1", k);
    size_t np = kn_net_n_params(net);
    kn_real *theta0 = malloc(np * sizeof(kn_real));
    double *Z = malloc((size_t)k * np * sizeof(double));
    double *gp = malloc(np * sizeof(double));
    double T[64], w[8];
    int rc = 0;
    if (!theta0 || !Z || !gp) {
        rc = kn_fail(err, KN_ENOMEM, "Hessian: out of memory");
        goto done;
    }
    memcpy(theta0, kn_net_params(net), np * sizeof(kn_real));
    for (size_t t = 0; t < (size_t)k * np; t++)
        Q[t] = kn_rng_normal(rng);
    orthonormalise(Q, np, k);
    /* unit v: 1e-3 keeps ReLU kink crossings rare and float gradient noise small */
    double eps = 1e-3;
    for (int it = 0; it <= iters; it++) {
        for (int j = 0; j < k && rc == 0; j++)
            rc = hessian_vector(net, theta0, Q + (size_t)j * np, eps, x, y, n, gp,
                                Z + (size_t)j * np, err);
        if (rc)
            goto done;
        if (it == iters)
            break;
        memcpy(Q, Z, (size_t)k * np * sizeof(double));
        orthonormalise(Q, np, k);
    }
    /* Rayleigh-Ritz: T = Q^T Z (symmetrised) */
    for (int i = 0; i < k; i++)
        for (int j = 0; j < k; j++) {
            double d = 0;
            for (size_t t = 0; t < np; t++)
                d += Q[(size_t)i * np + t] * Z[(size_t)j * np + t];
            T[i * k + j] = d;
        }
    for (int i = 0; i < k; i++)
        for (int j = 0; j < i; j++)
            T[i * k + j] = T[j * k + i] = 0.5 * (T[i * k + j] + T[j * k + i]);
    if (LAPACKE_dsyev(LAPACK_ROW_MAJOR, 'V', 'U', k, T, k, w) != 0) {
        rc = kn_fail(err, KN_EINVAL, "Hessian: Rayleigh-Ritz eigenproblem failed");
        goto done;
    }
    /* Ritz vectors, largest first: row j of the result = sum_i T[i][k-1-j] Q_i */
    for (int j = 0; j < k; j++) {
        int col = k - 1 - j;
        eig[j] = w[col];
        for (size_t t = 0; t < np; t++) {
            double acc = 0;
            for (int i = 0; i < k; i++)
                acc += T[i * k + col] * Q[(size_t)i * np + t];
            Z[(size_t)j * np + t] = acc;
        }
    }
    memcpy(Q, Z, (size_t)k * np * sizeof(double));
done:
    free(theta0);
    free(Z);
    free(gp);
    return rc;
}

/* tr Sigma at the current parameters: per-sample gradients (batch of one) of the loss without
 * weight decay (deterministic, so no noise) on m rows drawn with replacement;
 * tr Sigma = mean |g_i|^2 - |mean g_i|^2. */
static int trace_sigma(kn_net *net, const kn_dataset *tr, const size_t *rows, size_t n_rows,
                       size_t m, kn_rng *rng, kn_real *x1, double *sum, double *out,
                       kn_error *err)
{
    size_t np = kn_net_n_params(net);
    memset(sum, 0, np * sizeof(double));
    double sq = 0;
    for (size_t i = 0; i < m; i++) {
        size_t r = rows[kn_rng_below(rng, n_rows)];
        for (size_t j = 0; j < tr->d; j++)
            x1[j] = (kn_real)tr->x[r * tr->d + j];
        kn_net_zero_grad(net);
        int rc = kn_net_loss_grad(net, x1, &tr->y[r], 1, NULL, NULL, err);
        if (rc)
            return rc;
        const kn_real *g = kn_net_grads(net);
        for (size_t p = 0; p < np; p++) {
            sum[p] += g[p];
            sq += (double)g[p] * g[p];
        }
    }
    double mean_sq = 0;
    for (size_t p = 0; p < np; p++)
        mean_sq += (sum[p] / (double)m) * (sum[p] / (double)m);
    *out = sq / (double)m - mean_sq;
    return 0;
}

static double law_of(const kn_sgd_hparams *hp)
{
    return hp->lr * hp->lr / (hp->batch * (1 - hp->momentum * hp->momentum));
}

int kn_dyn_train(const kn_dyn_train_config *c, const kn_split *data, kn_dyn_train_result *r,
                 kn_error *err)
{
    memset(r, 0, sizeof *r);
    const kn_dataset *tr = &data->train, *te = &data->test;
    if (tr->n < 2 || tr->d == 0 || tr->n_classes < 2)
        return kn_fail(err, KN_EINVAL, "dynamics train: need >= 2 training rows and >= 2 classes "
                       "(got %zu rows, %d classes)", tr->n, tr->n_classes);
    if (te->n && te->d != tr->d)
        return kn_fail(err, KN_EINVAL, "dynamics train: test rows have %zu features, training "
                       "rows %zu", te->d, tr->d);
    if (c->hidden < 1 || c->hidden > 65536 || c->depth < 0 || c->depth > 16)
        return kn_fail(err, KN_EINVAL, "dynamics train: --hidden %d / --depth %d out of range",
                       c->hidden, c->depth);
    if (c->steps < 20 || c->windows < 2 || c->windows > 1000 || !(c->burn_in >= 0 && c->burn_in < 0.9))
        return kn_fail(err, KN_EINVAL, "dynamics train: need --steps >= 20, --windows in 2..1000, "
                       "--burn-in in [0, 0.9)");
    if (c->hessian_k < 0 || c->hessian_k > 8 || c->hessian_iters < 1 || c->hessian_iters > 1000 ||
        c->hessian_batch < 1)
        return kn_fail(err, KN_EINVAL, "dynamics train: --hessian %d must be in 0..8 (iterations "
                       "1..1000, batch >= 1)", c->hessian_k);
    if (c->pre_epochs < 0)
        return kn_fail(err, KN_EINVAL, "dynamics train: --pre-epochs %d < 0", c->pre_epochs);
    size_t n_train = c->n_train && c->n_train < tr->n ? c->n_train : tr->n;
    int rc;
    if ((rc = check_batch(&c->pre, "pretraining", n_train, err)) ||
        (rc = check_batch(&c->hp, "continuation", n_train, err)))
        return rc;
    /* runs */
    kn_sgd_hparams runs[KN_DYN_MAX_RUNS];
    int n_runs = 0;
    if (c->n_sweep == 0) {
        runs[0] = c->hp;
        runs[1] = c->hp;
        runs[1].lr = c->hp.lr / 2;
        n_runs = 2;
    } else {
        if (c->n_sweep > KN_DYN_MAX_RUNS || !c->sweep_name)
            return kn_fail(err, KN_EINVAL, "dynamics train: --sweep takes 1..%d values",
                           KN_DYN_MAX_RUNS);
        for (int i = 0; i < c->n_sweep; i++) {
            runs[i] = c->hp;
            double v = c->sweep[i];
            if (strcmp(c->sweep_name, "lr") == 0)
                runs[i].lr = v;
            else if (strcmp(c->sweep_name, "batch") == 0)
                runs[i].batch = v;
            else if (strcmp(c->sweep_name, "momentum") == 0)
                runs[i].momentum = v;
            else if (strcmp(c->sweep_name, "wd") == 0)
                runs[i].wd = v;
            else
                return kn_fail(err, KN_EINVAL, "dynamics train: --sweep %s: expected lr, batch, "
                               "momentum or wd", c->sweep_name);
            char what[64];
            snprintf(what, sizeof what, "--sweep %s=%g", c->sweep_name, v);
            if ((rc = check_batch(&runs[i], what, n_train, err)))
                return rc;
        }
        n_runs = c->n_sweep;
    }
    /* training subset */
    size_t *rows = malloc(tr->n * sizeof(size_t));
    uint32_t *perm = malloc(tr->n * sizeof(uint32_t));
    size_t maxS = (size_t)c->pre.batch;
    for (int i = 0; i < n_runs; i++)
        if ((size_t)runs[i].batch > maxS)
            maxS = (size_t)runs[i].batch;
    size_t xrows = maxS > 1024 ? maxS : 1024;
    kn_real *xb = malloc(xrows * tr->d * sizeof(kn_real));
    int32_t *yb = malloc(maxS * sizeof(int32_t));
    kn_real *out = malloc(1024 * (size_t)tr->n_classes * sizeof(kn_real));
    kn_net *net = NULL;
    kn_real *b = NULL, *theta0 = NULL;
    double *hq = NULL, *gsum = NULL;
    if (!rows || !perm || !xb || !yb || !out) {
        rc = kn_fail(err, KN_ENOMEM, "dynamics train: out of memory");
        goto done;
    }
    kn_rng rng;
    kn_rng_stream(&rng, c->seed, 0xd1);
    kn_rng_permutation(&rng, perm, tr->n);
    for (size_t i = 0; i < n_train; i++)
        rows[i] = perm[i];
    /* network */
    if ((rc = kn_net_create(&net, (int)tr->d, 1, 1, err)))
        goto done;
    for (int l = 0; l < c->depth && rc == 0; l++)
        if ((rc = kn_net_add_dense(net, c->hidden, err)) == 0)
            rc = kn_net_add_relu(net, err);
    if (rc || (rc = kn_net_add_dense(net, tr->n_classes, err)) || (rc = kn_net_build(net, &rng, err)))
        goto done;
    kn_net_set_training(net, 1);
    size_t np = kn_net_n_params(net);
    r->n_params = np;
    r->n_train = n_train;
    r->n_test = te->n;
    b = calloc(np, sizeof(kn_real));
    theta0 = malloc(np * sizeof(kn_real));
    gsum = malloc(np * sizeof(double));
    if (!b || !theta0 || !gsum) {
        rc = kn_fail(err, KN_ENOMEM, "dynamics train: out of memory for %zu parameters", np);
        goto done;
    }
    sampler smp = {perm, n_train, n_train, {{0}}};
    kn_rng_stream(&smp.rng, c->seed, 0xd2);
    /* pretraining */
    double t0 = kn_seconds();
    size_t S = (size_t)c->pre.batch;
    size_t pre_steps = (size_t)c->pre_epochs * ((n_train + S - 1) / S);
    kn_progress prog;
    kn_progress_start(&prog, NULL, c->quiet, "pretraining", pre_steps);
    double loss_sum = 0;
    size_t loss_n = 0;
    for (size_t k = 0; k < pre_steps; k++) {
        double loss, bsq;
        next_batch(&smp, tr, rows, S, xb, yb);
        if ((rc = sgd_step(net, b, &c->pre, xb, yb, S, &loss, &bsq, err)))
            goto done;
        if (!isfinite(loss)) {
            rc = kn_fail(err, KN_EINVAL, "dynamics train: pretraining diverged at step %zu "
                         "(lower --pre-lr)", k);
            goto done;
        }
        if (k + (n_train + S - 1) / S >= pre_steps) { /* last epoch */
            loss_sum += loss;
            loss_n++;
        }
        if ((k & 63) == 0)
            kn_progress_update(&prog, k, NULL);
    }
    kn_progress_finish(&prog, NULL);
    r->pre_seconds = kn_seconds() - t0;
    r->pre_train_loss = loss_n ? loss_sum / (double)loss_n : NAN;
    if (te->n) {
        r->pre_test_accuracy = accuracy(net, te, out, xb, err, &rc);
        if (rc)
            goto done;
    }
    memcpy(theta0, kn_net_params(net), np * sizeof(kn_real));
    double n0 = kn_vec_dot(theta0, theta0, np);
    r->theta0_norm = sqrt(n0);
    int hk = c->hessian_k;
    r->hessian_k = hk;
    if (hk > 0) {
        double th0 = kn_seconds();
        hq = malloc((size_t)hk * np * sizeof(double));
        if (!hq) {
            rc = kn_fail(err, KN_ENOMEM, "Hessian: out of memory for %d vectors", hk);
            goto done;
        }
        size_t hn = c->hessian_batch < n_train ? c->hessian_batch : n_train;
        kn_rng hrng;
        kn_rng_stream(&hrng, c->seed, 0xd4);
        kn_real *hx = malloc(hn * tr->d * sizeof(kn_real));
        int32_t *hy = malloc(hn * sizeof(int32_t));
        if (!hx || !hy) {
            free(hx);
            free(hy);
            rc = kn_fail(err, KN_ENOMEM, "Hessian: out of memory for %zu rows", hn);
            goto done;
        }
        for (size_t i = 0; i < hn; i++) {
            for (size_t j = 0; j < tr->d; j++)
                hx[i * tr->d + j] = (kn_real)tr->x[rows[i] * tr->d + j];
            hy[i] = tr->y[rows[i]];
        }
        rc = kn_dyn_hessian_top(net, hx, hy, hn, hk, c->hessian_iters, hq,
                                r->hessian_eigenvalues, &hrng, err);
        free(hx);
        free(hy);
        if (rc)
            goto done;
        r->hessian_seconds = kn_seconds() - th0;
    }
    /* continuation runs from theta_0 */
    for (int i = 0; i < n_runs; i++) {
        kn_dyn_train_run *run = &r->runs[i];
        r->n_runs = i + 1;
        run->hp = runs[i];
        run->steps = c->steps;
        run->law = law_of(&runs[i]);
        run->delta_sq = malloc(c->steps * sizeof(double));
        run->disp_sq = malloc(c->steps * sizeof(double));
        run->norm = malloc(c->steps * sizeof(double));
        run->dot = malloc(c->steps * sizeof(double));
        run->loss = malloc(c->steps * sizeof(double));
        if (hk > 0) {
            run->proj = malloc(c->steps * (size_t)hk * sizeof(double));
            run->proj_vel = malloc(c->steps * (size_t)hk * sizeof(double));
        }
        if (!run->delta_sq || !run->disp_sq || !run->norm || !run->dot || !run->loss ||
            (hk > 0 && (!run->proj || !run->proj_vel))) {
            rc = kn_fail(err, KN_ENOMEM, "dynamics train: out of memory for %zu steps", c->steps);
            goto done;
        }
        memcpy(kn_net_params(net), theta0, np * sizeof(kn_real));
        memset(b, 0, np * sizeof(kn_real));
        kn_rng_stream(&smp.rng, c->seed, 0xd300 + (uint64_t)i);
        smp.pos = smp.n;
        size_t Sr = (size_t)runs[i].batch;
        double ts = kn_seconds();
        char label[64];
        snprintf(label, sizeof label, "run %d/%d", i + 1, n_runs);
        kn_progress_start(&prog, NULL, c->quiet, label, c->steps);
        size_t k_burn = (size_t)(c->burn_in * (double)c->steps);
        size_t trace_every = (c->steps - k_burn) / 4 ? (c->steps - k_burn) / 4 : 1;
        double trace_acc = 0;
        int trace_n = 0;
        kn_rng trng;
        kn_rng_stream(&trng, c->seed, 0xd500 + (uint64_t)i);
        for (size_t k = 0; k < c->steps; k++) {
            double loss, bsq;
            next_batch(&smp, tr, rows, Sr, xb, yb);
            if ((rc = sgd_step(net, b, &runs[i], xb, yb, Sr, &loss, &bsq, err)))
                goto done;
            const kn_real *th = kn_net_params_const(net);
            double disp = 0, nn = 0, dot = 0;
            for (size_t p = 0; p < np; p++) {
                double t = th[p], d = t - theta0[p];
                disp += d * d;
                nn += t * t;
                dot += t * theta0[p];
            }
            for (int j = 0; j < hk; j++) {
                const double *v = hq + (size_t)j * np;
                double pp = 0, pv = 0;
                for (size_t p = 0; p < np; p++) {
                    pp += v[p] * ((double)th[p] - theta0[p]);
                    pv -= v[p] * b[p];
                }
                run->proj[k * (size_t)hk + j] = pp;
                run->proj_vel[k * (size_t)hk + j] = pv;
            }
            run->delta_sq[k] = runs[i].lr * runs[i].lr * bsq;
            run->disp_sq[k] = disp;
            run->norm[k] = sqrt(nn);
            run->dot[k] = dot;
            run->loss[k] = loss;
            if (!isfinite(loss) || !isfinite(disp)) {
                rc = kn_fail(err, KN_EINVAL, "dynamics train: run %d diverged at step %zu", i + 1,
                             k);
                goto done;
            }
            if (k + 1 > k_burn && (k + 1 - k_burn) % trace_every == 0 && trace_n < 4) {
                double ts_k;
                if ((rc = trace_sigma(net, tr, rows, n_train, 512, &trng, xb, gsum, &ts_k, err)))
                    goto done;
                trace_acc += ts_k;
                trace_n++;
            }
            if ((k & 63) == 0)
                kn_progress_update(&prog, k, NULL);
        }
        kn_progress_finish(&prog, NULL);
        run->seconds = kn_seconds() - ts;
        run->trace_sigma = trace_n ? trace_acc / trace_n : NAN;
        {
            double N = (double)n_train, Sd = runs[i].batch;
            double fpc = N > 1 ? (N - Sd) / (N - 1) : 1; /* batches drawn without replacement */
            run->law_absolute = run->law * run->trace_sigma * fpc;
        }
        if (te->n) {
            run->test_accuracy = accuracy(net, te, out, xb, err, &rc);
            if (rc)
                goto done;
        }
        /* flatness after the burn-in */
        size_t k0 = (size_t)(c->burn_in * (double)c->steps);
        size_t per = (c->steps - k0) / (size_t)c->windows;
        if (per < 1) {
            rc = kn_fail(err, KN_EINVAL, "dynamics train: %zu steps after burn-in cannot fill %d "
                         "windows", c->steps - k0, c->windows);
            goto done;
        }
        double wm[1000], mean = 0, var = 0;
        for (int w = 0; w < c->windows; w++) {
            double s = 0;
            for (size_t k = k0 + (size_t)w * per; k < k0 + (size_t)(w + 1) * per; k++)
                s += run->delta_sq[k];
            wm[w] = s / (double)per;
            mean += wm[w];
        }
        mean /= c->windows;
        for (int w = 0; w < c->windows; w++)
            var += (wm[w] - mean) * (wm[w] - mean);
        run->mean_delta_sq = mean;
        run->cv = sqrt(var / (c->windows - 1)) / mean;
        /* exponent c on [k0+1, steps] (x = step number k >= 1) */
        double *kx = malloc(c->steps * sizeof(double));
        if (!kx) {
            rc = kn_fail(err, KN_ENOMEM, "dynamics train: out of memory");
            goto done;
        }
        for (size_t k = 0; k < c->steps; k++)
            kx[k] = (double)(k + 1);
        rc = kn_powerlaw_fit(kx, run->disp_sq, c->steps, (double)(k0 > 0 ? k0 : 1),
                             (double)c->steps, &run->fit, err);
        free(kx);
        if (rc)
            goto done;
    }
    /* verdicts */
    r->cv_max = 0;
    r->law_error_max = 0;
    size_t n_text = 0;
#define SAY(...)                                                                               \
    do {                                                                                       \
        if (n_text < sizeof r->verdict)                                                        \
            n_text += (size_t)snprintf(r->verdict + n_text, sizeof r->verdict - n_text,         \
                                       __VA_ARGS__);                                           \
    } while (0)
    SAY("  MLP %zu-%s%d-%d (%zu parameters), %zu training rows; pretrained %d epochs: train "
        "loss %.4f, test accuracy %.4f\n", tr->d, c->depth ? "" : "", c->depth ? c->hidden : 0,
        tr->n_classes, np, n_train, c->pre_epochs, r->pre_train_loss, r->pre_test_accuracy);
    if (hk > 0) {
        SAY("  top Hessian eigenvalues at theta_0 (%zu rows, %d subspace iterations):",
            c->hessian_batch < n_train ? c->hessian_batch : n_train, c->hessian_iters);
        for (int j = 0; j < hk; j++)
            SAY(" %.4g", r->hessian_eigenvalues[j]);
        SAY("\n");
    }
    SAY("  %4s %8s %5s %5s %8s  %11s %7s %8s %8s  %-26s %8s %9s %11s\n", "run", "lr", "S", "beta",
        "wd", "E|delta|^2", "CV", "ratio", "law", "c (95% CI) on window", "test acc", "tr Sigma",
        "meas/abs law");
    for (int i = 0; i < r->n_runs; i++) {
        kn_dyn_train_run *run = &r->runs[i];
        double ratio = run->mean_delta_sq / r->runs[0].mean_delta_sq;
        double law = run->law / r->runs[0].law;
        double e = fabs(ratio / law - 1);
        r->cv_max = fmax(r->cv_max, run->cv);
        if (i > 0)
            r->law_error_max = fmax(r->law_error_max, e);
        char cbuf[64];
        snprintf(cbuf, sizeof cbuf, "%.3f+-%.3f [%g,%g]", run->fit.c, run->fit.ci95,
                 run->fit.x_lo, run->fit.x_hi);
        double law_tr = law * run->trace_sigma / r->runs[0].trace_sigma;
        if (i > 0)
            r->law_error_measured_trace_max =
                fmax(r->law_error_measured_trace_max, fabs(ratio / law_tr - 1));
        SAY("  %4d %8.4g %5g %5g %8.3g  %11.4e %6.2f%% %8.4f %8.4f  %-26s %8.4f %9.4g %11.4f\n",
            i + 1, run->hp.lr, run->hp.batch, run->hp.momentum, run->hp.wd, run->mean_delta_sq,
            100 * run->cv, ratio, law, cbuf, run->test_accuracy, run->trace_sigma,
            run->mean_delta_sq / run->law_absolute);
    }
    int same_wd = 1;
    for (int i = 1; i < r->n_runs; i++)
        same_wd &= r->runs[i].hp.wd == r->runs[0].hp.wd;
    int law_applies = r->n_runs > 1 && same_wd;
    r->pass = r->cv_max < 0.10 && (!law_applies || r->law_error_max <= 0.10);
    SAY("  flatness: max CV of |delta|^2 window means %.2f%% (target < 10%%)\n", 100 * r->cv_max);
    if (law_applies)
        SAY("  eta^2/(S(1-beta^2)) law: max |measured ratio / law ratio - 1| = %.2f%% (target <= "
            "10%%)\n", 100 * r->law_error_max);
    else
        SAY("  (law ratio not judged: weight decay differs between runs or a single run)\n");
    if (r->n_runs > 1)
        SAY("  same ratio with each run's own measured tr Sigma (512 per-sample gradients at 4 "
            "points): max error %.2f%% (diagnostic)\n", 100 * r->law_error_measured_trace_max);
#undef SAY
done:
    kn_net_free(net);
    free(rows);
    free(perm);
    free(xb);
    free(yb);
    free(out);
    free(b);
    free(theta0);
    free(hq);
    free(gsum);
    return rc;
}
