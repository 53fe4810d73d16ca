/* Shared pieces of the back-prop baselines; see baselines.h. */
#include "cl/baselines.h"

#include <stdlib.h>
#include <string.h>

int kn_bp_read_common(const kn_learner *l, kn_bp_common *c, kn_error *err)
{
    int rc;
    if ((rc = kn_learner_param_int(l, "hidden", &c->hidden, err)) ||
        (rc = kn_learner_param_double(l, "lr", &c->lr, err)) ||
        (rc = kn_learner_param_double(l, "momentum", &c->momentum, err)) ||
        (rc = kn_learner_param_double(l, "weight-decay", &c->weight_decay, err)) ||
        (rc = kn_learner_param_int(l, "minibatch", &c->batch, err)))
        return rc;
    const char *m = l->method->name;
    if (c->hidden < 1 || c->hidden > (1 << 20))
        return kn_fail(err, KN_EINVAL, "method %s: --hidden %d must be in [1, 1048576]", m,
                       c->hidden);
    if (!(c->lr > 0))
        return kn_fail(err, KN_EINVAL, "method %s: --lr %g must be positive", m, c->lr);
    if (!(c->momentum >= 0 && c->momentum < 1))
        return kn_fail(err, KN_EINVAL, "method %s: --momentum %g must be in [0, 1)", m,
                       c->momentum);
    if (!(c->weight_decay >= 0))
        return kn_fail(err, KN_EINVAL, "method %s: --weight-decay %g must be >= 0", m,
                       c->weight_decay);
    if (c->batch < 1 || c->batch > 65536)
        return kn_fail(err, KN_EINVAL, "method %s: --minibatch %d must be in [1, 65536]", m,
                       c->batch);
    return 0;
}

int kn_bp_build_mlp(const kn_learner *l, int hidden, int gem_shape, uint64_t stream,
                    kn_net **out, kn_error *err)
{
    *out = NULL;
    if (l->info.d > (size_t)INT32_MAX / (size_t)hidden)
        return kn_fail(err, KN_EINVAL, "method %s: d %zu x hidden %d is too large",
                       l->method->name, l->info.d, hidden);
    kn_net *net;
    int rc = kn_net_create(&net, (int)l->info.d, 1, 1, err);
    if (rc)
        return rc;
    if (!(rc = kn_net_add_dense(net, hidden, err)) && !(rc = kn_net_add_relu(net, err)) &&
        gem_shape) {
        if (!(rc = kn_net_add_dense(net, hidden, err)) && !(rc = kn_net_add_batchnorm(net, err)))
            rc = kn_net_add_relu(net, err);
    }
    if (!rc)
        rc = kn_net_add_dense(net, l->info.n_classes, err);
    if (!rc) {
        kn_rng rng;
        kn_rng_stream(&rng, l->info.seed, stream);
        rc = kn_net_build(net, &rng, err);
    }
    if (rc) {
        kn_net_free(net);
        return rc;
    }
    *out = net;
    return 0;
}

void kn_bp_reinit(const kn_learner *l, kn_net *net, uint64_t stream)
{
    kn_rng rng;
    kn_rng_stream(&rng, l->info.seed, stream);
    kn_net_reset_parameters(net, &rng);
}

int kn_bp_make_sgd(const kn_net *net, const kn_bp_common *c, kn_optim **out, kn_error *err)
{
    kn_optim_config oc = kn_optim_sgd(c->lr, c->momentum);
    oc.weight_decay = c->weight_decay;
    return kn_optim_create(&oc, kn_net_n_params(net), out, err);
}

int kn_bp_predict(kn_net *net, const float *x, size_t n, float *scores, kn_error *err)
{
    int was = kn_net_is_training(net);
    kn_net_set_training(net, 0);
    int rc = kn_net_predict(net, x, n, scores, err);
    kn_net_set_training(net, was);
    return rc;
}

int kn_bp_writer_begin(const kn_learner *l, const kn_net *net, kn_st_writer *w, kn_error *err)
{
    int rc = kn_learner_write_common(l, w, err);
    if (!rc)
        rc = kn_net_write_tensors(net, "net.", w, err);
    return rc;
}

int kn_bp_read_net(kn_net *net, const kn_st_file *f, kn_error *err)
{
    return kn_net_read_tensors(net, "net.", f, err);
}

kn_net *kn_bp_learner_net(kn_learner *l)
{
    if (!l || !l->impl)
        return NULL;
    const char *m = l->method->name;
    if (strcmp(m, "vanilla") && strcmp(m, "offline") && strcmp(m, "ewc") && strcmp(m, "gem"))
        return NULL;
    return ((kn_bp_head *)l->impl)->net;
}
