/* kenyon VAE pieces: the parts of a variational auto-encoder that the sequential network core
 * (kenyon/nn.h) does not have, as batched kernels on caller-owned storage, each with its exact
 * gradient. Used by BI-R (src/cl/bir*.c), which builds its encoder and decoder from kn_net stages
 * and puts these between them:
 *   - reparameterised sampling with caller-given noise: z = mu + exp(logvar / 2) * eps;
 *   - KL divergence of N(mu, diag exp(logvar)) to a Gaussian prior mode (one mode per class from
 *     a table of means and log-variances, the conditional prior), or to N(0, I);
 *   - reconstruction loss 0.5 * mean over units of (pred - target)^2 (the negative log-likelihood
 *     of a unit-variance Gaussian without its constant), averaged over the batch;
 *   - decoder gating: a fixed random binary mask per class that silences a proportion of hidden
 *     units (context-dependent gating);
 *   - softmax with a temperature over active outputs (distillation targets).
 * All kernels work in kn_real, so the gradient-check tests compile this file in double precision
 * (KN_NN_DOUBLE) like the rest of the core. Losses accumulate in double. */
#ifndef KENYON_VAE_H
#define KENYON_VAE_H

#include <stddef.h>
#include <stdint.h>

#include "kenyon/error.h"
#include "kenyon/nn.h"
#include "kenyon/rng.h"

#ifdef __cplusplus
extern "C" {
#endif

/* z (n x k) = mu + exp(logvar / 2) * eps; all n x k row-major. */
void kn_vae_reparam(const kn_real *mu, const kn_real *logvar, const kn_real *eps, size_t n,
                    size_t k, kn_real *z);
/* Backward of kn_vae_reparam: ADDS dz into dmu and dz * eps * exp(logvar / 2) / 2 into dlogvar
 * (either may be NULL). */
void kn_vae_reparam_backward(const kn_real *dz, const kn_real *logvar, const kn_real *eps,
                             size_t n, size_t k, kn_real *dmu, kn_real *dlogvar);

/* Samples z (n x k) from prior modes: row r uses mode[r] of the n_modes x k tables prior_mu /
 * prior_logvar (z = prior_mu + exp(prior_logvar / 2) eps). With prior_mu == NULL, z = eps
 * (standard normal prior). */
void kn_vae_sample_modes(const kn_real *prior_mu, const kn_real *prior_logvar,
                         const int32_t *mode, const kn_real *eps, size_t n, size_t k,
                         kn_real *z);

/* scale * (1/n) sum_r KL( N(mu_r, exp(logvar_r)) || N(m, exp(s)) ), summed over the k latent
 * units, where (m, s) = (prior_mu[mode[r]], prior_logvar[mode[r]]) or (0, 0) when prior_mu is
 * NULL. Closed form per unit: 0.5 (s - logvar + (exp(logvar) + (mu - m)^2) / exp(s) - 1).
 * Gradients of the returned value are ADDED into dmu, dlogvar (n x k) and dprior_mu,
 * dprior_logvar (n_modes x k); each may be NULL. Modes are not range-checked here (the caller
 * validates labels). */
double kn_vae_kl_gaussian(const kn_real *mu, const kn_real *logvar, size_t n, size_t k,
                          const kn_real *prior_mu, const kn_real *prior_logvar,
                          const int32_t *mode, double scale, kn_real *dmu, kn_real *dlogvar,
                          kn_real *dprior_mu, kn_real *dprior_logvar);

/* scale * (1/n) sum_r 0.5 * (1/d) sum_j (pred - target)^2 over n x d. dpred (may be NULL) is
 * WRITTEN with the gradient of the returned value. */
double kn_vae_recon_loss(const kn_real *pred, const kn_real *target, size_t n, size_t d,
                         double scale, kn_real *dpred);

/* Gating masks: n_classes x units bytes; for every class exactly round(proportion_off * units)
 * units, chosen uniformly at random from rng (class by class, in order), are 0 and the rest 1.
 * Fails naming the parameter when proportion_off is outside [0, 1) or sizes are zero. */
int kn_gate_masks_make(int n_classes, size_t units, double proportion_off, kn_rng *rng,
                       uint8_t *masks, kn_error *err);
/* h (n x units) *= masks[cls[r]] row by row, in place. The same call is its own backward (the
 * gradient of a masked unit is 0). */
void kn_gate_apply(kn_real *h, size_t n, size_t units, const uint8_t *masks, const int32_t *cls);

/* out (n x n_out) = softmax(logits / temperature) over the active outputs (active NULL = all),
 * 0 elsewhere; computed in double. */
void kn_softmax_temperature(const kn_real *logits, size_t n, int n_out, double temperature,
                            const uint8_t *active, kn_real *out);

#ifdef __cplusplus
}
#endif
#endif
