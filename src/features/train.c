/* Training the LeNet5 extractor as the fly paper did: Adam (lr 1e-3), StepLR (x0.1 every 7
 * epochs), batch 64 with a fresh seeded shuffle every epoch, cross-entropy, test accuracy after
 * every epoch in evaluation mode, and the weights of the best epoch kept. */
#include <stdlib.h>
#include <string.h>

#include "kenyon/features.h"
#include "kenyon/progress.h"

_Static_assert(sizeof(kn_real) == sizeof(float), "LeNet5 training assumes float kn_real");

void kn_lenet5_train_options_default(kn_lenet5_train_options *o)
{
    memset(o, 0, sizeof *o);
    o->epochs = 25;
    o->batch = 64;
    o->lr = 1e-3;
    o->lr_step = 7;
    o->lr_gamma = 0.1;
}

static int check_images(const kn_dataset *ds, const char *what, kn_error *err)
{
    if (!ds || ds->n == 0)
        return kn_fail(err, KN_EINVAL, "lenet5: the %s set is empty", what);
    if (ds->d != KN_LENET5_IN)
        return kn_fail(err, KN_EINVAL,
                       "lenet5: the %s set '%s' has %zu values per sample; LeNet5 needs 28x28 = 784",
                       what, ds->source, ds->d);
    for (size_t i = 0; i < ds->n; i++)
        if (ds->y[i] < 0 || ds->y[i] >= KN_LENET5_CLASSES)
            return kn_fail(err, KN_EINVAL,
                           "lenet5: the %s set '%s' has label %d at sample %zu; expected 0..%d",
                           what, ds->source, (int)ds->y[i], i, KN_LENET5_CLASSES - 1);
    return 0;
}

int kn_lenet5_accuracy(kn_net *net, const kn_dataset *ds, double *acc, kn_error *err)
{
    *acc = 0.0;
    if (ds->n == 0)
        return 0;
    const size_t chunk = 1024;
    float *out = malloc(chunk * KN_LENET5_CLASSES * sizeof *out);
    if (!out)
        return kn_fail(err, KN_ENOMEM, "lenet5: out of memory");
    int was_training = kn_net_is_training(net);
    kn_net_set_training(net, 0);
    size_t correct = 0;
    int rc = 0;
    size_t k = kn_net_out_dim(net);
    for (size_t s = 0; s < ds->n && !rc; s += chunk) {
        size_t m = ds->n - s < chunk ? ds->n - s : chunk;
        rc = kn_net_predict(net, ds->x + s * ds->d, m, out, err);
        for (size_t i = 0; !rc && i < m; i++) {
            const float *row = out + i * k;
            size_t best = 0;
            for (size_t c = 1; c < k; c++)
                if (row[c] > row[best])
                    best = c;
            correct += (int32_t)best == ds->y[s + i];
        }
    }
    kn_net_set_training(net, was_training);
    free(out);
    if (!rc)
        *acc = (double)correct / (double)ds->n;
    return rc;
}

int kn_lenet5_train(const kn_dataset *train, const kn_dataset *test,
                    const kn_lenet5_train_options *o, kn_net **out, kn_lenet5_result *result,
                    kn_error *err)
{
    *out = NULL;
    if (result)
        memset(result, 0, sizeof *result);
    int rc = check_images(train, "training", err);
    if (!rc)
        rc = check_images(test, "test", err);
    if (rc)
        return rc;
    if (o->epochs < 1 || o->epochs > 100000)
        return kn_fail(err, KN_EINVAL, "lenet5: --epochs must be in [1, 100000], got %d", o->epochs);
    if (o->batch < 2 || o->batch > 65536)
        return kn_fail(err, KN_EINVAL, "lenet5: batch must be in [2, 65536] (BatchNorm needs 2), "
                       "got %d", o->batch);
    if (!(o->lr > 0.0) || o->lr_step < 1 || !(o->lr_gamma > 0.0))
        return kn_fail(err, KN_EINVAL, "lenet5: lr (%g), lr_step (%d) and lr_gamma (%g) must be "
                       "positive", o->lr, o->lr_step, o->lr_gamma);

    double t0 = kn_seconds();
    kn_rng rng;
    kn_rng_stream(&rng, o->seed, 0);
    kn_net *net = NULL, *best = NULL;
    kn_optim *opt = NULL;
    uint32_t *perm = NULL;
    float *xb = NULL, *dlogits = NULL;
    int32_t *yb = NULL;
    rc = kn_lenet5_create(KN_LENET5_CLASSES, &rng, &net, err);
    if (!rc)
        rc = kn_net_clone(net, &best, err);
    if (rc)
        goto done;
    kn_optim_config cfg = kn_optim_adam(o->lr);
    rc = kn_optim_create(&cfg, kn_net_n_params(net), &opt, err);
    if (rc)
        goto done;
    size_t B = (size_t)o->batch;
    perm = malloc(train->n * sizeof *perm);
    xb = malloc(B * KN_LENET5_IN * sizeof *xb);
    yb = malloc(B * sizeof *yb);
    dlogits = malloc(B * KN_LENET5_CLASSES * sizeof *dlogits);
    if (!perm || !xb || !yb || !dlogits) {
        rc = kn_fail(err, KN_ENOMEM, "lenet5: out of memory for training buffers");
        goto done;
    }
    double best_acc = -1.0;
    int best_epoch = 0, epochs_run = 0;
    double last_acc = 0.0;
    for (int epoch = 0; epoch < o->epochs && !rc; epoch++) {
        double te = kn_seconds();
        kn_optim_set_lr(opt, kn_step_lr(o->lr, o->lr_gamma, o->lr_step, epoch));
        kn_net_set_training(net, 1);
        kn_rng srng;
        kn_rng_stream(&srng, o->seed, 1 + (uint64_t)epoch);
        kn_rng_permutation(&srng, perm, train->n);
        double loss_sum = 0.0;
        size_t correct = 0, seen = 0, n_batches = (train->n + B - 1) / B;
        for (size_t b = 0; b < n_batches && !rc; b++) {
            size_t start = b * B, m = train->n - start < B ? train->n - start : B;
            if (m < 2)
                break; /* BatchNorm cannot train on a single sample */
            for (size_t i = 0; i < m; i++) {
                size_t r = perm[start + i];
                memcpy(xb + i * KN_LENET5_IN, train->x + r * KN_LENET5_IN,
                       KN_LENET5_IN * sizeof *xb);
                yb[i] = train->y[r];
            }
            const float *logits;
            double loss;
            rc = kn_net_forward(net, xb, m, &logits, err);
            if (!rc)
                rc = kn_loss_cross_entropy(logits, m, KN_LENET5_CLASSES, yb, NULL, &loss, dlogits,
                                           err);
            if (rc)
                break;
            for (size_t i = 0; i < m; i++) {
                const float *row = logits + i * KN_LENET5_CLASSES;
                int am = 0;
                for (int c = 1; c < KN_LENET5_CLASSES; c++)
                    if (row[c] > row[am])
                        am = c;
                correct += am == yb[i];
            }
            loss_sum += loss * (double)m;
            seen += m;
            kn_net_zero_grad(net);
            rc = kn_net_backward(net, dlogits, NULL, err);
            if (rc)
                break;
            kn_optim_step(opt, kn_net_params(net), kn_net_grads(net));
            if (o->on_batch && (b % 16 == 15 || b + 1 == n_batches))
                o->on_batch(o->ctx, b + 1, n_batches);
        }
        if (rc)
            break;
        rc = kn_lenet5_accuracy(net, test, &last_acc, err);
        if (rc)
            break;
        epochs_run = epoch + 1;
        if (last_acc > best_acc) {
            best_acc = last_acc;
            best_epoch = epoch + 1;
            memcpy(kn_net_params(best), kn_net_params(net), kn_net_n_params(net) * sizeof(float));
            memcpy(kn_net_buffers(best), kn_net_buffers(net),
                   kn_net_n_buffers(net) * sizeof(float));
        }
        if (o->on_epoch &&
            o->on_epoch(o->ctx, epoch + 1, o->epochs, seen ? loss_sum / (double)seen : 0.0,
                        seen ? (double)correct / (double)seen : 0.0, last_acc,
                        kn_seconds() - te))
            break;
    }
    if (rc)
        goto done;
    kn_net_set_training(best, 0);
    if (result) {
        result->best_epoch = best_epoch;
        result->best_test_acc = best_acc;
        result->final_test_acc = last_acc;
        result->epochs_run = epochs_run;
        result->train_seconds = kn_seconds() - t0;
    }
    *out = best;
    best = NULL;
done:
    kn_net_free(net);
    kn_net_free(best);
    kn_optim_free(opt);
    free(perm);
    free(xb);
    free(yb);
    free(dlogits);
    return rc;
}
