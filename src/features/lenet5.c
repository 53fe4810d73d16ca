/* The LeNet5 of the fly paper on the network core: its layer list, the feature extractor (the
 * same layers without the last one) and the 84-d feature pass. Written in terms of kn_real so the
 * gradient-check test can compile it in double precision together with the nn sources. */
#include <stdlib.h>
#include <string.h>

#include "kenyon/features.h"

/* Adds every layer up to (and including) the ReLU after fc2; the 84-d feature is its output. */
static int add_trunk(kn_net *net, kn_error *err)
{
    int rc = 0;
    if (!rc) rc = kn_net_add_conv2d(net, 6, 3, 1, 0, err);   /* 6 x 26 x 26 */
    if (!rc) rc = kn_net_add_batchnorm(net, err);
    if (!rc) rc = kn_net_add_relu(net, err);
    if (!rc) rc = kn_net_add_maxpool2d(net, 2, 2, err);     /* 6 x 13 x 13 */
    if (!rc) rc = kn_net_add_conv2d(net, 16, 3, 1, 0, err);  /* 16 x 11 x 11 */
    if (!rc) rc = kn_net_add_batchnorm(net, err);
    if (!rc) rc = kn_net_add_relu(net, err);
    if (!rc) rc = kn_net_add_maxpool2d(net, 2, 2, err);     /* 16 x 5 x 5 = 400 */
    if (!rc) rc = kn_net_add_flatten(net, err);
    if (!rc) rc = kn_net_add_dense(net, 120, err);
    if (!rc) rc = kn_net_add_batchnorm(net, err);
    if (!rc) rc = kn_net_add_relu(net, err);
    if (!rc) rc = kn_net_add_dense(net, KN_LENET5_FEATURES, err);
    if (!rc) rc = kn_net_add_batchnorm(net, err);
    if (!rc) rc = kn_net_add_relu(net, err);
    return rc;
}

int kn_lenet5_create(int n_classes, kn_rng *rng, kn_net **out, kn_error *err)
{
    *out = NULL;
    if (n_classes < 2 || n_classes > 65536)
        return kn_fail(err, KN_EINVAL, "lenet5: number of classes must be in [2, 65536], got %d",
                       n_classes);
    kn_net *net;
    int rc = kn_net_create(&net, 1, KN_LENET5_SIDE, KN_LENET5_SIDE, err);
    if (rc)
        return rc;
    rc = add_trunk(net, err);
    if (!rc)
        rc = kn_net_add_dense(net, n_classes, err);
    if (!rc)
        rc = kn_net_build(net, rng, err);
    if (rc) {
        kn_net_free(net);
        return rc;
    }
    *out = net;
    return 0;
}

int kn_lenet5_extractor(kn_net *full, kn_net **out, kn_error *err)
{
    *out = NULL;
    if (kn_net_out_dim(full) == KN_LENET5_FEATURES && kn_net_n_layers(full) == 15)
        return kn_net_clone(full, out, err);
    if (kn_net_n_layers(full) != 16 || kn_net_in_dim(full) != KN_LENET5_IN)
        return kn_fail(err, KN_EINVAL, "lenet5: the network is not a LeNet5 (%d layers, input %zu)",
                       kn_net_n_layers(full), kn_net_in_dim(full));
    kn_net *ex;
    int rc = kn_net_create(&ex, 1, KN_LENET5_SIDE, KN_LENET5_SIDE, err);
    if (rc)
        return rc;
    kn_rng rng;
    kn_rng_seed(&rng, 0); /* overwritten below */
    rc = add_trunk(ex, err);
    if (!rc)
        rc = kn_net_build(ex, &rng, err);
    if (rc) {
        kn_net_free(ex);
        return rc;
    }
    /* The trunk's parameters and buffers are a prefix of the full net's (layers in order, the
     * dropped last layer has no buffers). */
    memcpy(kn_net_params(ex), kn_net_params(full), kn_net_n_params(ex) * sizeof(kn_real));
    memcpy(kn_net_buffers(ex), kn_net_buffers(full), kn_net_n_buffers(ex) * sizeof(kn_real));
    kn_net_set_training(ex, 0);
    *out = ex;
    return 0;
}

int kn_lenet5_features(kn_net *net, const float *x, size_t n, float *feats, kn_error *err)
{
    kn_net *ex = net;
    int rc = 0;
    if (kn_net_out_dim(net) != KN_LENET5_FEATURES) {
        rc = kn_lenet5_extractor(net, &ex, err);
        if (rc)
            return rc;
    }
    int was_training = kn_net_is_training(ex);
    kn_net_set_training(ex, 0);
    if (sizeof(kn_real) == sizeof(float)) {
        rc = kn_net_predict(ex, (const kn_real *)(const void *)x, n, (kn_real *)(void *)feats,
                            err);
    } else {
        /* Double build (tests): convert through a buffer. */
        kn_real *xb = malloc((n ? n : 1) * KN_LENET5_IN * sizeof *xb);
        kn_real *fb = malloc((n ? n : 1) * KN_LENET5_FEATURES * sizeof *fb);
        if (!xb || !fb)
            rc = kn_fail(err, KN_ENOMEM, "lenet5: out of memory for %zu samples", n);
        for (size_t i = 0; !rc && i < n * KN_LENET5_IN; i++)
            xb[i] = x[i];
        if (!rc)
            rc = kn_net_predict(ex, xb, n, fb, err);
        for (size_t i = 0; !rc && i < n * KN_LENET5_FEATURES; i++)
            feats[i] = (float)fb[i];
        free(xb);
        free(fb);
    }
    kn_net_set_training(ex, was_training);
    if (ex != net)
        kn_net_free(ex);
    return rc;
}

int kn_lenet5_features_dataset(kn_net *net, const kn_dataset *in, kn_dataset *out, kn_error *err)
{
    memset(out, 0, sizeof *out);
    if (in->d != KN_LENET5_IN)
        return kn_fail(err, KN_EINVAL,
                       "lenet5 features: '%s' has %zu values per sample; LeNet5 needs 28x28 = 784",
                       in->source, in->d);
    int rc = kn_dataset_alloc(out, in->n, KN_LENET5_FEATURES, in->n_classes, err);
    if (rc)
        return rc;
    memcpy(out->y, in->y, in->n * sizeof *in->y);
    snprintf(out->source, sizeof out->source, "LeNet5 features of %.200s", in->source);
    rc = kn_lenet5_features(net, in->x, in->n, out->x, err);
    if (rc)
        kn_dataset_free(out);
    return rc;
}
