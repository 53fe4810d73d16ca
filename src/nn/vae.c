/* VAE pieces (kenyon/vae.h): reparameterisation with given noise, KL to a Gaussian prior mode,
 * reconstruction loss, per-class decoder gating masks, tempered softmax. Hand-written: they are a
 * few lines each and must share the network core's kn_real so the double-precision gradient
 * checks (tests/nn/test_vae.c) exercise this very code. */
#include "kenyon/vae.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void kn_vae_reparam(const kn_real *mu, const kn_real *logvar, const kn_real *eps, size_t n,
                    size_t k, kn_real *z)
{
    size_t m = n * k;
    for (size_t i = 0; i < m; i++)
        z[i] = (kn_real)((double)mu[i] + exp(0.5 * (double)logvar[i]) * (double)eps[i]);
}

void kn_vae_reparam_backward(const kn_real *dz, const kn_real *logvar, const kn_real *eps,
                             size_t n, size_t k, kn_real *dmu, kn_real *dlogvar)
{
    size_t m = n * k;
    for (size_t i = 0; i < m; i++) {
        if (dmu)
            dmu[i] += dz[i];
        if (dlogvar)
            dlogvar[i] +=
                (kn_real)((double)dz[i] * (double)eps[i] * 0.5 * exp(0.5 * (double)logvar[i]));
    }
}

void kn_vae_sample_modes(const kn_real *prior_mu, const kn_real *prior_logvar,
                         const int32_t *mode, const kn_real *eps, size_t n, size_t k, kn_real *z)
{
    for (size_t r = 0; r < n; r++) {
        const kn_real *e = eps + r * k;
        kn_real *zr = z + r * k;
        if (!prior_mu) {
            memcpy(zr, e, k * sizeof *zr);
            continue;
        }
        kn_vae_reparam(prior_mu + (size_t)mode[r] * k, prior_logvar + (size_t)mode[r] * k, e, 1,
                       k, zr);
    }
}

double kn_vae_kl_gaussian(const kn_real *mu, const kn_real *logvar, size_t n, size_t k,
                          const kn_real *prior_mu, const kn_real *prior_logvar,
                          const int32_t *mode, double scale, kn_real *dmu, kn_real *dlogvar,
                          kn_real *dprior_mu, kn_real *dprior_logvar)
{
    if (n == 0)
        return 0;
    const double w = scale / (double)n;
    double total = 0;
    for (size_t r = 0; r < n; r++) {
        const kn_real *pm = prior_mu ? prior_mu + (size_t)mode[r] * k : NULL;
        const kn_real *ps = prior_mu ? prior_logvar + (size_t)mode[r] * k : NULL;
        for (size_t j = 0; j < k; j++) {
            size_t i = r * k + j;
            double m = pm ? pm[j] : 0.0, s = ps ? ps[j] : 0.0;
            double inv_ps = exp(-s), var = exp((double)logvar[i]);
            double diff = (double)mu[i] - m;
            total += 0.5 * (s - (double)logvar[i] + (var + diff * diff) * inv_ps - 1.0);
            if (dmu)
                dmu[i] += (kn_real)(w * diff * inv_ps);
            if (dlogvar)
                dlogvar[i] += (kn_real)(w * 0.5 * (var * inv_ps - 1.0));
            if (pm && dprior_mu)
                dprior_mu[(size_t)mode[r] * k + j] += (kn_real)(-w * diff * inv_ps);
            if (pm && dprior_logvar)
                dprior_logvar[(size_t)mode[r] * k + j] +=
                    (kn_real)(w * 0.5 * (1.0 - (var + diff * diff) * inv_ps));
        }
    }
    return total * w;
}

double kn_vae_recon_loss(const kn_real *pred, const kn_real *target, size_t n, size_t d,
                         double scale, kn_real *dpred)
{
    if (n == 0 || d == 0)
        return 0;
    const double w = scale / ((double)n * (double)d);
    double total = 0;
    size_t m = n * d;
    for (size_t i = 0; i < m; i++) {
        double diff = (double)pred[i] - (double)target[i];
        total += 0.5 * diff * diff;
        if (dpred)
            dpred[i] = (kn_real)(w * diff);
    }
    return total * w;
}

int kn_gate_masks_make(int n_classes, size_t units, double proportion_off, kn_rng *rng,
                       uint8_t *masks, kn_error *err)
{
    if (n_classes < 1 || units == 0)
        return kn_fail(err, KN_EINVAL, "kn_gate_masks_make: %d classes x %zu units must be "
                       "positive", n_classes, units);
    if (!(proportion_off >= 0 && proportion_off < 1))
        return kn_fail(err, KN_EINVAL, "kn_gate_masks_make: gate proportion %g must be in "
                       "[0, 1)", proportion_off);
    size_t off = (size_t)floor(proportion_off * (double)units + 0.5);
    if (off >= units)
        off = units - 1; /* at least one unit stays on */
    uint32_t *perm = malloc(units * sizeof *perm);
    if (!perm)
        return kn_fail(err, KN_ENOMEM, "kn_gate_masks_make: out of memory for %zu units", units);
    for (int c = 0; c < n_classes; c++) {
        uint8_t *m = masks + (size_t)c * units;
        kn_rng_permutation(rng, perm, units);
        memset(m, 1, units);
        for (size_t i = 0; i < off; i++)
            m[perm[i]] = 0;
    }
    free(perm);
    return 0;
}

void kn_gate_apply(kn_real *h, size_t n, size_t units, const uint8_t *masks, const int32_t *cls)
{
    for (size_t r = 0; r < n; r++) {
        const uint8_t *m = masks + (size_t)cls[r] * units;
        kn_real *row = h + r * units;
        for (size_t j = 0; j < units; j++)
            if (!m[j])
                row[j] = 0;
    }
}

void kn_softmax_temperature(const kn_real *logits, size_t n, int n_out, double temperature,
                            const uint8_t *active, kn_real *out)
{
    const double inv_t = 1.0 / temperature;
    for (size_t r = 0; r < n; r++) {
        const kn_real *z = logits + r * (size_t)n_out;
        kn_real *o = out + r * (size_t)n_out;
        double mx = -INFINITY;
        for (int c = 0; c < n_out; c++)
            if ((!active || active[c]) && z[c] * inv_t > mx)
                mx = z[c] * inv_t;
        double s = 0;
        for (int c = 0; c < n_out; c++)
            if (!active || active[c])
                s += exp(z[c] * inv_t - mx);
        for (int c = 0; c < n_out; c++)
            o[c] = (!active || active[c]) ? (kn_real)(exp(z[c] * inv_t - mx) / s) : 0;
    }
}
