/* BI-R (brain-inspired replay, van de Ven, Siegelmann & Tolias, Nat. Commun. 2020): the model
 * (src/cl/bir_model.c) behind the `bir` learner (src/cl/bir.c). Private to src/cl and its tests.
 *
 * One network is both classifier and VAE ("replay through feedback"):
 *
 *   x (d) --below--> r (replay level) --above--> h (hidden) --cls--> class logits (C)
 *                                                           \--lat--> [mu | logvar] (2 x latent)
 *   z (latent) --dec[0]: dense+ReLU, gated--> ... --dec[last]: dense--> r_hat (replay level)
 *
 * Internal replay on (default): below = dense d->hidden + ReLU, the replay level r is that hidden
 * layer, above = dense hidden->hidden + ReLU, and the decoder has one gated hidden layer (it
 * mirrors `above`). `below` trains during the first task and is frozen afterwards, because
 * representations replayed at level r must keep their meaning (the original froze the layers
 * below its replay level, pre-trained convolutional layers). Internal replay off: below is absent
 * (r = x), above = two dense+ReLU layers, the decoder has two gated hidden layers.
 *
 * Conditional replay: a learnable Gaussian prior mode (mean, log-variance) per class; a sample of
 * class c is decoded from z ~ N(mu_c, exp(logvar_c)). Off: standard normal prior.
 * Gating: per class and per decoder hidden layer, a fixed random mask silences a proportion of
 * the units whenever the decoder works on (or generates) that class. */
#ifndef KENYON_CL_BIR_H
#define KENYON_CL_BIR_H

#include <stddef.h>
#include <stdint.h>

#include "kenyon/nn.h"
#include "kenyon/rng.h"

#define KN_BIR_MAX_DEC 3

typedef struct kn_bir_config {
    size_t d;          /* input features */
    int n_classes;
    int hidden;        /* units of every hidden layer (400) */
    int latent;        /* latent units (100) */
    int internal;      /* internal replay (replay level = first hidden layer) */
    int conditional;   /* one prior mode per class */
    int gating;        /* per-class decoder gates */
    double gate_prop;  /* proportion of decoder units silenced per class (0.7) */
} kn_bir_config;

typedef struct kn_bir_model {
    kn_bir_config cfg;
    size_t r_dim;      /* replay-level width: hidden (internal) or d */
    kn_net *below;     /* NULL without internal replay */
    kn_net *above, *cls, *lat;
    int n_dec;         /* decoder stages; the last is the linear output */
    kn_net *dec[KN_BIR_MAX_DEC];
    kn_real *prior;    /* n_classes x latent means, then n_classes x latent log-variances */
    kn_real *prior_grad;
    uint8_t *masks;    /* (n_dec - 1) x n_classes x hidden gates, 1 = on */
} kn_bir_model;

/* The model's sub-networks in one table, in their one fixed order: below (present with internal
 * replay), above, cls, lat, dec0 .. dec{n_dec-1}. Everything that goes over all the networks
 * (free, clone, zero the gradients, the optimiser slots, the model file's tensors "<name>.*")
 * goes through this table, so a network added to the model is added once. */
#define KN_BIR_MAX_NETS (4 + KN_BIR_MAX_DEC)

typedef struct kn_bir_net_slot {
    const char *name; /* tensor-name prefix in model files, without the dot */
    kn_net **net;     /* the field of the model that holds it */
} kn_bir_net_slot;

/* Fills slots (KN_BIR_MAX_NETS entries) and returns their number. Depends only on m->cfg and
 * m->n_dec, so it also gives the slots of a model still being built or cloned. */
int kn_bir_model_nets(kn_bir_model *m, kn_bir_net_slot *slots);

/* What the classifier head is trained towards on one batch. */
typedef struct kn_bir_target {
    const int32_t *labels;   /* hard labels (n), or NULL */
    const kn_real *soft;     /* soft targets n x n_classes (distillation), or NULL */
    double temperature;      /* for soft targets; the loss is multiplied by T^2 */
    const uint8_t *active;   /* outputs the loss is over */
} kn_bir_target;

/* The loss terms of one batch (each already multiplied by the batch weight). */
typedef struct kn_bir_losses {
    double cls, recon, kl;
} kn_bir_losses;

/* Builds the model; nets are initialised from kn_rng_stream(seed, 100 + i) (PyTorch defaults),
 * the prior means from N(0, 1) and log-variances 0 (stream 120), the gates from stream 130. */
int kn_bir_model_create(const kn_bir_config *cfg, uint64_t seed, kn_bir_model **out,
                        kn_error *err);
void kn_bir_model_free(kn_bir_model *m);
/* Deep copy (the previous model that generates replay and gives the distillation targets). */
int kn_bir_model_clone(const kn_bir_model *src, kn_bir_model **out, kn_error *err);
void kn_bir_model_zero_grad(kn_bir_model *m);

/* r (n x r_dim) = replay-level representation of x (a copy of x without internal replay). */
int kn_bir_model_encode_below(kn_bir_model *m, const kn_real *x, size_t n, kn_real *r,
                              kn_error *err);
/* Backward of `below` for its last forward (parameter gradients only). */
int kn_bir_model_backward_below(kn_bir_model *m, const kn_real *dr, kn_error *err);
/* Class logits (n x n_classes) of replay-level inputs r. */
int kn_bir_model_logits(kn_bir_model *m, const kn_real *r, size_t n, kn_real *logits,
                        kn_error *err);
/* Class logits of inputs x. */
int kn_bir_model_predict(kn_bir_model *m, const kn_real *x, size_t n, kn_real *logits,
                         kn_error *err);

/* Generates n replay-level samples: row i of class cls[i], from latent noise eps (n x latent):
 * z from the class's prior mode (or eps itself without conditional replay), decoded with the
 * class's gates (if gating), ReLU at the output with internal replay (hidden activities are
 * non-negative). */
int kn_bir_model_generate(kn_bir_model *m, const int32_t *cls, const kn_real *eps, size_t n,
                          kn_real *r_out, kn_error *err);

/* One batch of the training loss at the replay level, forward and backward: weight * (classifier
 * loss + reconstruction loss + KL to the prior mode of mode_cls[i]), with the decoder gated by
 * mode_cls[i]. eps (n x latent) is the reparameterisation noise. Gradients are ADDED to the
 * nets' gradient vectors and prior_grad; dr (may be NULL) receives d(loss)/d(r) through the
 * classifier and encoder (the reconstruction target r is treated as a constant). */
int kn_bir_model_loss(kn_bir_model *m, const kn_real *r, size_t n, const int32_t *mode_cls,
                      const kn_bir_target *t, const kn_real *eps, double weight, kn_real *dr,
                      kn_bir_losses *losses, kn_error *err);

/* For tests and tools: the model of a `bir` learner (previous != 0: the previous model, NULL
 * before the first task has ended); NULL for other methods. */
struct kn_learner;
kn_bir_model *kn_bir_learner_model(struct kn_learner *l, int previous);
/* Draws a replay batch exactly as a training step does (consuming the learner's random stream):
 * classes (n), replay-level samples (n x r_dim) and the targets, soft (n x n_classes, with
 * distillation) or labels (n, without). Needs a task in progress after a first one; n <= batch. */
int kn_bir_learner_replay(struct kn_learner *l, size_t n, int32_t *cls, kn_real *r,
                          kn_real *soft, int32_t *labels, kn_error *err);

#endif
