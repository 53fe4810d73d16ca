/* Shared pieces of the back-prop baselines (vanilla, offline, ewc, gem): building their MLPs,
 * reading the common hyperparameters, batched training on a learner's observe calls,
 * prediction in evaluation mode, and the parts of their model files they share. Also the few
 * internals the tests inspect (EWC's penalty, the network of a baseline learner). */
#ifndef KENYON_CL_BASELINES_H
#define KENYON_CL_BASELINES_H

#include <stddef.h>
#include <stdint.h>

#include "kenyon/learner.h"
#include "kenyon/nn.h"
#include "kenyon/safetensors.h"

/* Rows of the parameter table every baseline has. */
#define KN_BP_COMMON_PARAMS(hidden, lr)                                                          \
    KN_PARAM_ROW_INT("hidden", hidden, 1, 1 << 20, "hidden units per layer"),                    \
        KN_PARAM_ROW_REAL("lr", lr, 0, 1e30, KN_PARAM_MIN_OPEN, "SGD learning rate"),             \
        KN_PARAM_ROW_REAL("momentum", "0.9", 0, 1, KN_PARAM_MAX_OPEN,                           \
                          "SGD momentum (PyTorch form)"),                                        \
        KN_PARAM_ROW_REAL("weight-decay", "0", 0, 1e6, 0, "L2 weight decay added to the gradient"), \
        KN_PARAM_ROW_INT("minibatch", "64", 1, 65536,                                            \
                         "SGD mini-batch (observed data are split into these; kenyon run "      \
                         "--batch sets the call)")

/* Every baseline's state starts with its network (kn_bp_learner_net relies on it). */
typedef struct kn_bp_head {
    kn_net *net;
} kn_bp_head;

/* Hyperparameters every baseline has. */
typedef struct kn_bp_common {
    int hidden;
    double lr, momentum, weight_decay;
    int batch;
} kn_bp_common;

/* Fills c from the learner's resolved "hidden", "lr", "momentum", "weight-decay", "minibatch" and
 * checks their ranges (error names the parameter). */
int kn_bp_read_common(const kn_learner *l, kn_bp_common *c, kn_error *err);

/* The MLP d -> hidden (ReLU) -> C, or with gem_shape d -> H (ReLU) -> H (BatchNorm, ReLU) -> C,
 * initialised from kn_rng_stream(seed, stream). */
int kn_bp_build_mlp(const kn_learner *l, int hidden, int gem_shape, uint64_t stream,
                    kn_net **out, kn_error *err);
/* Re-initialises the net from kn_rng_stream(seed, stream) (offline's retraining from scratch). */
void kn_bp_reinit(const kn_learner *l, kn_net *net, uint64_t stream);

/* SGD (PyTorch form) over the net's flat vectors with the common settings. */
int kn_bp_make_sgd(const kn_net *net, const kn_bp_common *c, kn_optim **out, kn_error *err);

/* Scores = the net's outputs (logits) in evaluation mode; the mode is restored afterwards. */
int kn_bp_predict(kn_net *net, const float *x, size_t n, float *scores, kn_error *err);

/* Starts a model file: the learner's common part plus the net's tensors under "net.". */
int kn_bp_writer_begin(const kn_learner *l, const kn_net *net, kn_st_writer *w, kn_error *err);
/* Restores the net's tensors (under "net.") from f. */
int kn_bp_read_net(kn_net *net, const kn_st_file *f, kn_error *err);

/* The network of a vanilla/offline/ewc/gem learner (tests and tools). */
kn_net *kn_bp_learner_net(kn_learner *l);

/* EWC internals for tests: the Fisher-weighted squared distance to the anchors
 * Q = sum_i A_i (theta_i - mu_i)^2 + R at the current parameters (0 before the first
 * consolidation), the penalty lambda/2 Q, and its gradient lambda A (theta - mu) (grad may be
 * NULL; n_params entries). *n_fisher_nonzero counts A_i > 0. Any output may be NULL. */
int kn_ewc_penalty(kn_learner *l, double *penalty, double *quadratic, float *grad,
                   size_t *n_fisher_nonzero, kn_error *err);

/* The replay memory of an `er` learner (tests and tools): its samples (capacity x d; the first
 * *n in use), labels and capacity. KN_EINVAL for another method. Any output may be NULL. */
int kn_er_memory(const kn_learner *l, const float **x, const int32_t **y, size_t *n,
                 size_t *capacity);

#endif
