/* kenyon features: the paper's fixed feature extractor. A LeNet5 (conv 1->6 3x3, BN, ReLU,
 * maxpool 2; conv 6->16 3x3, BN, ReLU, maxpool 2; fc 400->120, BN, ReLU; fc 120->84, BN, ReLU;
 * fc 84->10) is trained on a third data set (KMNIST, or kenyon's kana stand-in) and its 84
 * post-ReLU outputs of the 120->84 layer, in evaluation mode, are the features every continual
 * learner sees on MNIST-20. Built on the network core (kenyon/nn.h).
 *
 * Model files are safetensors with PyTorch's parameter names (conv1.weight, bn1.running_mean,
 * fc3.bias, ...) and shapes, so the weights load into the same model written in PyTorch. */
#ifndef KENYON_FEATURES_H
#define KENYON_FEATURES_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "kenyon/dataset.h"
#include "kenyon/datasets.h"
#include "kenyon/error.h"
#include "kenyon/nn.h"

#ifdef __cplusplus
extern "C" {
#endif

#define KN_LENET5_SIDE 28
#define KN_LENET5_IN (KN_LENET5_SIDE * KN_LENET5_SIDE)
#define KN_LENET5_FEATURES 84
#define KN_LENET5_CLASSES 10

/* A freshly initialised LeNet5 (PyTorch default initialisation drawn from rng), 1 x 28 x 28
 * input, n_classes outputs (10 for KMNIST). */
int kn_lenet5_create(int n_classes, kn_rng *rng, kn_net **out, kn_error *err);
/* The same network without its last layer (its output is the 84-d post-ReLU feature), sharing
 * nothing with `full`: parameters and BatchNorm statistics are copied. */
int kn_lenet5_extractor(kn_net *full, kn_net **out, kn_error *err);

typedef struct kn_lenet5_train_options {
    int epochs;            /* 25 */
    int batch;             /* 64 */
    double lr;             /* Adam 1e-3 */
    int lr_step;           /* 7: lr x gamma every lr_step epochs */
    double lr_gamma;       /* 0.1 */
    uint64_t seed;         /* initialisation and shuffling */
    /* Called after every epoch (may be NULL); a non-zero return stops training early. */
    int (*on_epoch)(void *ctx, int epoch, int epochs, double train_loss, double train_acc,
                    double test_acc, double seconds);
    /* Called every few batches within an epoch (may be NULL), for progress bars. */
    void (*on_batch)(void *ctx, size_t done, size_t total);
    void *ctx;
} kn_lenet5_train_options;

void kn_lenet5_train_options_default(kn_lenet5_train_options *o);

typedef struct kn_lenet5_result {
    int best_epoch;        /* 1-based epoch whose weights were kept */
    double best_test_acc;  /* test accuracy of those weights */
    double final_test_acc; /* after the last epoch */
    int epochs_run;
    double train_seconds;  /* wall time of training and per-epoch evaluation */
} kn_lenet5_result;

/* Trains a LeNet5 on train (images 28x28, x in [0,1], labels < 10) and keeps the weights with
 * the best test accuracy (evaluated after every epoch in evaluation mode), as the paper did.
 * *out receives the best network, in evaluation mode. */
int kn_lenet5_train(const kn_dataset *train, const kn_dataset *test,
                    const kn_lenet5_train_options *o, kn_net **out, kn_lenet5_result *result,
                    kn_error *err);

/* Accuracy of net (evaluation mode) on ds. */
int kn_lenet5_accuracy(kn_net *net, const kn_dataset *ds, double *acc, kn_error *err);

/* 84-d features of n images (n x 784, [0,1]) through the extractor in evaluation mode;
 * feats is n x 84. Accepts a full LeNet5 too (the last layer is skipped). */
int kn_lenet5_features(kn_net *net, const float *x, size_t n, float *feats, kn_error *err);
/* Features of a whole data set as a new data set (d = 84, labels and classes copied). */
int kn_lenet5_features_dataset(kn_net *net, const kn_dataset *in, kn_dataset *out,
                               kn_error *err);

/* Model files. meta may add key/value metadata (NULL-terminated key, value pairs; may be NULL). */
int kn_lenet5_save(kn_net *net, const char *path, const char *const *meta, kn_error *err);
/* Loads a full LeNet5 written by kn_lenet5_save (or by PyTorch with the same names). */
int kn_lenet5_load(const char *path, kn_net **out, kn_error *err);

/* Loads a pretraining set from a directory holding KMNIST's IDX files (train-images-idx3-ubyte,
 * train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte, each plain or .gz),
 * as written by `kenyon data kana`. Images must be 28x28. */
int kn_pretrain_load(const char *dir, kn_split *out, kn_error *err);

/* Cached features: `kenyon run --features lenet`. The extractor is trained on the pretraining
 * set in pretrain_dir (NULL: <data_dir>/kmnist when it holds KMNIST, else <data_dir>/kana,
 * rendered with seed 0 if missing) with the given seed and epochs, and stored in cache_dir
 * (NULL: <data_dir>/cache) under a name keyed by a hash of the pretraining files, seed and
 * epochs; the features of `split` are cached beside it keyed by the model's key and a hash of
 * the split's data. Anything found in the cache is reused. log (may be NULL) gets progress
 * lines. On success split's train and test are replaced by their 84-d features. */
typedef struct kn_feature_cache_options {
    const char *data_dir;     /* NULL: kn_data_dir_default() */
    const char *pretrain_dir; /* NULL: see above */
    const char *cache_dir;    /* NULL: <data_dir>/cache */
    uint64_t seed;            /* 0 */
    int epochs;               /* 25 */
    FILE *log;
} kn_feature_cache_options;

void kn_feature_cache_options_default(kn_feature_cache_options *o);
int kn_features_lenet_cached(const kn_feature_cache_options *o, kn_split *split, kn_error *err);

/* The features of `kenyon run --features lenet` for the experiment layer (a
 * kn_experiment_features_fn, kenyon/experiment.h): kn_features_lenet_cached with default options
 * on data_dir, progress lines to log (may be NULL); label receives a description for reports. */
int kn_features_lenet_apply(const char *data_dir, FILE *log, kn_split *split, char *label,
                            size_t label_size, kn_error *err);

#ifdef __cplusplus
}
#endif
#endif
