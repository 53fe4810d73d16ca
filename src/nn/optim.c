/* Optimisers on flat vectors, in PyTorch's exact update forms (torch.optim.SGD with momentum
 * and weight decay, Adam with bias correction, RMSprop), and the StepLR schedule. Moments are
 * kept in kn_real, as PyTorch keeps them in the parameter dtype. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/nn_internal.h"

/* Ranges of SGD's momentum buffer kept pre-multiplied by the momentum (see
 * kn_optim_momentum_fold): a dense layer's weights each, so a few suffice. */
enum { KN_OPTIM_MAX_PRESCALED = 32 };

struct kn_optim {
    kn_optim_config cfg;
    size_t n;
    kn_real *m, *v;
    long t;
    size_t pre_off[KN_OPTIM_MAX_PRESCALED], pre_count[KN_OPTIM_MAX_PRESCALED];
    int n_pre;
};

kn_optim_config kn_optim_sgd(double lr, double momentum)
{
    kn_optim_config c = {KN_OPTIM_SGD, lr, 0, momentum, 0.9, 0.999, 0.99, 1e-8};
    return c;
}

kn_optim_config kn_optim_adam(double lr)
{
    kn_optim_config c = {KN_OPTIM_ADAM, lr, 0, 0, 0.9, 0.999, 0.99, 1e-8};
    return c;
}

kn_optim_config kn_optim_rmsprop(double lr)
{
    kn_optim_config c = {KN_OPTIM_RMSPROP, lr, 0, 0, 0.9, 0.999, 0.99, 1e-8};
    return c;
}

int kn_optim_create(const kn_optim_config *cfg, size_t n_params, kn_optim **out, kn_error *err)
{
    *out = NULL;
    if (!(cfg->lr >= 0) || !(cfg->weight_decay >= 0) || !(cfg->momentum >= 0 && cfg->momentum < 1))
        return kn_fail(err, KN_EINVAL, "kn_optim_create: lr %g, weight_decay %g must be >= 0 and "
                       "momentum %g in [0, 1)", cfg->lr, cfg->weight_decay, cfg->momentum);
    if (cfg->kind == KN_OPTIM_ADAM &&
        !(cfg->beta1 >= 0 && cfg->beta1 < 1 && cfg->beta2 >= 0 && cfg->beta2 < 1 && cfg->eps > 0))
        return kn_fail(err, KN_EINVAL, "kn_optim_create: Adam betas (%g, %g) must be in [0, 1) "
                       "and eps %g positive", cfg->beta1, cfg->beta2, cfg->eps);
    if (cfg->kind == KN_OPTIM_RMSPROP && !(cfg->alpha >= 0 && cfg->alpha < 1 && cfg->eps > 0))
        return kn_fail(err, KN_EINVAL, "kn_optim_create: RMSprop alpha %g must be in [0, 1) and "
                       "eps %g positive", cfg->alpha, cfg->eps);
    if (cfg->kind != KN_OPTIM_SGD && cfg->kind != KN_OPTIM_ADAM && cfg->kind != KN_OPTIM_RMSPROP)
        return kn_fail(err, KN_EINVAL, "kn_optim_create: unknown optimiser kind %d", cfg->kind);
    kn_optim *o = calloc(1, sizeof *o);
    if (!o)
        return kn_fail(err, KN_ENOMEM, "kn_optim_create: out of memory");
    o->cfg = *cfg;
    o->n = n_params;
    size_t cnt = n_params ? n_params : 1;
    o->m = calloc(cnt, sizeof(kn_real));
    if (cfg->kind == KN_OPTIM_ADAM)
        o->v = calloc(cnt, sizeof(kn_real));
    if (!o->m || (cfg->kind == KN_OPTIM_ADAM && !o->v)) {
        kn_optim_free(o);
        return kn_fail(err, KN_ENOMEM, "kn_optim_create: out of memory for %zu parameters",
                       n_params);
    }
    *out = o;
    return 0;
}

void kn_optim_free(kn_optim *o)
{
    if (!o)
        return;
    free(o->m);
    free(o->v);
    free(o);
}

void kn_optim_reset(kn_optim *o)
{
    o->t = 0;
    memset(o->m, 0, o->n * sizeof(kn_real));
    if (o->v)
        memset(o->v, 0, o->n * sizeof(kn_real));
}

void kn_optim_set_lr(kn_optim *o, double lr) { o->cfg.lr = lr; }
double kn_optim_lr(const kn_optim *o) { return o->cfg.lr; }

size_t kn_optim_size(const kn_optim *o) { return o->n; }

void kn_optim_step_begin(kn_optim *o) { o->t++; }

/* SGD on entries [off, off + count) of one kind: `prescaled` entries of the buffer hold
 * momentum * b instead of b. momentum * b is rounded once either way (stored, or computed at the
 * next step), so both kinds give the same parameters bit for bit. */
static void sgd_range(kn_optim *o, kn_real *p, const kn_real *g, size_t off, size_t n,
                      int prescaled)
{
    const kn_optim_config *c = &o->cfg;
    const kn_real lr = (kn_real)c->lr, wd = (kn_real)c->weight_decay;
    const kn_real mom = (kn_real)c->momentum;
    p += off;
    g += off;
    kn_real *restrict mb = o->m + off;
    if (mom == 0) {
        for (size_t i = 0; i < n; i++)
            p[i] -= lr * (g[i] + wd * p[i]);
    } else if (o->t == 1) {
        /* PyTorch: the first momentum buffer is the gradient itself. */
        for (size_t i = 0; i < n; i++) {
            kn_real d = g[i] + wd * p[i];
            mb[i] = prescaled ? mom * d : d;
            p[i] -= lr * d;
        }
    } else if (prescaled) {
        for (size_t i = 0; i < n; i++) {
            kn_real b = mb[i] + g[i] + wd * p[i];
            mb[i] = mom * b;
            p[i] -= lr * b;
        }
    } else {
        for (size_t i = 0; i < n; i++) {
            kn_real b = mom * mb[i] + g[i] + wd * p[i];
            mb[i] = b;
            p[i] -= lr * b;
        }
    }
}

/* One step on entries [off, off + count): every update is elementwise, so stepping a vector range
 * by range gives the same bits as one call over the whole vector. */
void kn_optim_step_range(kn_optim *o, kn_real *p, const kn_real *g, size_t off, size_t count)
{
    const kn_optim_config *c = &o->cfg;
    const kn_real lr = (kn_real)c->lr, wd = (kn_real)c->weight_decay;
    kn_real *restrict mb = o->m + off;
    const size_t n = count;
    switch (c->kind) {
    case KN_OPTIM_SGD: {
        /* split at the pre-multiplied ranges */
        const size_t end = off + count;
        while (off < end) {
            size_t next = end;
            int pre = 0;
            for (int k = 0; k < o->n_pre; k++) {
                size_t s = o->pre_off[k], e = s + o->pre_count[k];
                if (s <= off && off < e) {
                    pre = 1;
                    next = e < end ? e : end;
                    break;
                }
                if (s > off && s < next)
                    next = s;
            }
            sgd_range(o, p, g, off, next - off, pre);
            off = next;
        }
        break;
    }
    case KN_OPTIM_ADAM: {
        p += off;
        g += off;
        kn_real *restrict vb = o->v + off;
        const kn_real b1 = (kn_real)c->beta1, b2 = (kn_real)c->beta2;
        const double bc1 = 1 - pow(c->beta1, (double)o->t);
        const double bc2 = 1 - pow(c->beta2, (double)o->t);
        const kn_real step = (kn_real)(c->lr / bc1), sq2 = (kn_real)sqrt(bc2);
        const kn_real eps = (kn_real)c->eps;
        for (size_t i = 0; i < n; i++) {
            kn_real d = g[i] + wd * p[i];
            mb[i] = b1 * mb[i] + (1 - b1) * d;
            vb[i] = b2 * vb[i] + (1 - b2) * d * d;
            p[i] -= step * mb[i] / ((kn_real)sqrt(vb[i]) / sq2 + eps);
        }
        break;
    }
    case KN_OPTIM_RMSPROP: {
        p += off;
        g += off;
        const kn_real a = (kn_real)c->alpha, eps = (kn_real)c->eps;
        for (size_t i = 0; i < n; i++) {
            kn_real d = g[i] + wd * p[i];
            mb[i] = a * mb[i] + (1 - a) * d * d;
            p[i] -= lr * d / ((kn_real)sqrt(mb[i]) + eps);
        }
        break;
    }
    }
}

kn_real *kn_optim_momentum_fold(kn_optim *o, size_t off, size_t count)
{
    if (o->cfg.kind != KN_OPTIM_SGD || o->cfg.momentum == 0 || off > o->n ||
        count > o->n - off)
        return NULL;
    for (int k = 0; k < o->n_pre; k++) {
        size_t s = o->pre_off[k], e = s + o->pre_count[k];
        if (s == off && o->pre_count[k] == count)
            return o->m;
        if (s < off + count && off < e)
            return NULL; /* overlaps another range: not this layer's */
    }
    if (o->n_pre == KN_OPTIM_MAX_PRESCALED)
        return NULL;
    /* The buffer as the next step would read it: momentum * b, the same single rounding. */
    const kn_real mom = (kn_real)o->cfg.momentum;
    for (size_t i = off; i < off + count; i++)
        o->m[i] = mom * o->m[i];
    o->pre_off[o->n_pre] = off;
    o->pre_count[o->n_pre] = count;
    o->n_pre++;
    return o->m;
}

void kn_optim_folded_step_range(kn_optim *o, kn_real *p, size_t off, size_t count)
{
    const kn_real lr = (kn_real)o->cfg.lr, wd = (kn_real)o->cfg.weight_decay;
    const kn_real mom = (kn_real)o->cfg.momentum;
    p += off;
    kn_real *restrict mb = o->m + off;
    if (wd == 0) {
        /* b = mb + 0 p = mb: the sum the GEMM wrote is never -0 (its accumulator starts at
         * +0), so adding 0 p would not change it. */
        for (size_t i = 0; i < count; i++) {
            kn_real b = mb[i];
            mb[i] = mom * b;
            p[i] -= lr * b;
        }
    } else {
        for (size_t i = 0; i < count; i++) {
            kn_real b = mb[i] + wd * p[i];
            mb[i] = mom * b;
            p[i] -= lr * b;
        }
    }
}

void kn_optim_step(kn_optim *o, kn_real *p, const kn_real *g)
{
    kn_optim_step_begin(o);
    kn_optim_step_range(o, p, g, 0, o->n);
}

double kn_step_lr(double base_lr, double gamma, int step_size, int epoch)
{
    if (step_size <= 0 || epoch <= 0)
        return base_lr;
    return base_lr * pow(gamma, (double)(epoch / step_size));
}
