/* The BI-R model (see bir.h): building the classifier-with-feedback network from kn_net stages,
 * its clone, prediction, class-conditional gated generation, and the forward/backward of the
 * joint loss on one batch (classification or distillation + reconstruction + KL to the class's
 * prior mode). The VAE kernels are in src/nn/vae.c. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cl/bir.h"
#include "kenyon/vae.h"

static int dense_net(size_t in, int out, int relu, uint64_t seed, uint64_t stream, kn_net **net,
                     kn_error *err)
{
    int rc = kn_net_create(net, (int)in, 1, 1, err);
    if (rc)
        return rc;
    if (!(rc = kn_net_add_dense(*net, out, err)) && relu)
        rc = kn_net_add_relu(*net, err);
    if (!rc) {
        kn_rng rng;
        kn_rng_stream(&rng, seed, stream);
        rc = kn_net_build(*net, &rng, err);
    }
    return rc;
}

static size_t prior_count(const kn_bir_model *m)
{
    return 2 * (size_t)m->cfg.n_classes * (size_t)m->cfg.latent;
}

static size_t mask_count(const kn_bir_model *m)
{
    return (size_t)(m->n_dec - 1) * (size_t)m->cfg.n_classes * (size_t)m->cfg.hidden;
}

static int alloc_shared(kn_bir_model *m, kn_error *err)
{
    m->prior = calloc(prior_count(m), sizeof *m->prior);
    m->prior_grad = calloc(prior_count(m), sizeof *m->prior_grad);
    m->masks = malloc(mask_count(m) ? mask_count(m) : 1);
    if (!m->prior || !m->prior_grad || !m->masks)
        return kn_fail(err, KN_ENOMEM, "bir: out of memory for the prior and gates");
    return 0;
}

int kn_bir_model_create(const kn_bir_config *cfg, uint64_t seed, kn_bir_model **out,
                        kn_error *err)
{
    *out = NULL;
    if (cfg->d == 0 || cfg->n_classes < 1 || cfg->hidden < 1 || cfg->latent < 1)
        return kn_fail(err, KN_EINVAL, "bir: d %zu, classes %d, hidden %d, latent %d must be "
                       "positive", cfg->d, cfg->n_classes, cfg->hidden, cfg->latent);
    kn_bir_model *m = calloc(1, sizeof *m);
    if (!m)
        return kn_fail(err, KN_ENOMEM, "bir: out of memory");
    m->cfg = *cfg;
    size_t H = (size_t)cfg->hidden;
    int rc = 0;
    if (cfg->internal) {
        m->r_dim = H;
        rc = dense_net(cfg->d, cfg->hidden, 1, seed, 100, &m->below, err);
        if (!rc)
            rc = dense_net(H, cfg->hidden, 1, seed, 101, &m->above, err);
    } else {
        m->r_dim = cfg->d;
        rc = kn_net_create(&m->above, (int)cfg->d, 1, 1, err);
        if (!rc && !(rc = kn_net_add_dense(m->above, cfg->hidden, err)) &&
            !(rc = kn_net_add_relu(m->above, err)) &&
            !(rc = kn_net_add_dense(m->above, cfg->hidden, err)) &&
            !(rc = kn_net_add_relu(m->above, err))) {
            kn_rng rng;
            kn_rng_stream(&rng, seed, 101);
            rc = kn_net_build(m->above, &rng, err);
        }
    }
    if (!rc)
        rc = dense_net(H, cfg->n_classes, 0, seed, 102, &m->cls, err);
    if (!rc)
        rc = dense_net(H, 2 * cfg->latent, 0, seed, 103, &m->lat, err);
    /* Decoder: as many gated hidden layers as the encoder has above the replay level. */
    m->n_dec = cfg->internal ? 2 : 3;
    for (int i = 0; !rc && i < m->n_dec; i++) {
        int last = i == m->n_dec - 1;
        size_t in = i == 0 ? (size_t)cfg->latent : H;
        int outw = last ? (int)m->r_dim : cfg->hidden;
        rc = dense_net(in, outw, !last, seed, 110 + (uint64_t)i, &m->dec[i], err);
    }
    if (!rc)
        rc = alloc_shared(m, err);
    if (!rc) {
        kn_rng rng;
        kn_rng_stream(&rng, seed, 120);
        size_t half = prior_count(m) / 2;
        for (size_t i = 0; i < half; i++)
            m->prior[i] = (kn_real)kn_rng_normal(&rng); /* means N(0,1), log-variances 0 */
        kn_rng_stream(&rng, seed, 130);
        for (int s = 0; !rc && s < m->n_dec - 1; s++)
            rc = kn_gate_masks_make(cfg->n_classes, H, cfg->gate_prop, &rng,
                                    m->masks + (size_t)s * (size_t)cfg->n_classes * H, err);
    }
    if (rc) {
        kn_bir_model_free(m);
        return rc;
    }
    *out = m;
    return 0;
}

int kn_bir_model_nets(kn_bir_model *m, kn_bir_net_slot *slots)
{
    static const char *const dec_names[KN_BIR_MAX_DEC] = {"dec0", "dec1", "dec2"};
    int k = 0;
    if (m->cfg.internal)
        slots[k++] = (kn_bir_net_slot){"below", &m->below};
    slots[k++] = (kn_bir_net_slot){"above", &m->above};
    slots[k++] = (kn_bir_net_slot){"cls", &m->cls};
    slots[k++] = (kn_bir_net_slot){"lat", &m->lat};
    for (int i = 0; i < m->n_dec && i < KN_BIR_MAX_DEC; i++)
        slots[k++] = (kn_bir_net_slot){dec_names[i], &m->dec[i]};
    return k;
}

void kn_bir_model_free(kn_bir_model *m)
{
    if (!m)
        return;
    /* Every decoder slot, not only n_dec: a failed create may have set n_dec after building some. */
    m->n_dec = KN_BIR_MAX_DEC;
    kn_bir_net_slot nets[KN_BIR_MAX_NETS];
    for (int i = 0, n = kn_bir_model_nets(m, nets); i < n; i++)
        kn_net_free(*nets[i].net);
    free(m->prior);
    free(m->prior_grad);
    free(m->masks);
    free(m);
}

int kn_bir_model_clone(const kn_bir_model *src, kn_bir_model **out, kn_error *err)
{
    *out = NULL;
    kn_bir_model *m = calloc(1, sizeof *m);
    if (!m)
        return kn_fail(err, KN_ENOMEM, "bir: out of memory cloning the model");
    m->cfg = src->cfg;
    m->r_dim = src->r_dim;
    m->n_dec = src->n_dec;
    int rc = 0;
    kn_bir_net_slot from[KN_BIR_MAX_NETS], to[KN_BIR_MAX_NETS];
    int n = kn_bir_model_nets((kn_bir_model *)src, from);
    kn_bir_model_nets(m, to);
    for (int i = 0; !rc && i < n; i++)
        rc = kn_net_clone(*from[i].net, to[i].net, err);
    if (!rc)
        rc = alloc_shared(m, err);
    if (rc) {
        kn_bir_model_free(m);
        return rc;
    }
    memcpy(m->prior, src->prior, prior_count(m) * sizeof *m->prior);
    memcpy(m->masks, src->masks, mask_count(m));
    *out = m;
    return 0;
}

void kn_bir_model_zero_grad(kn_bir_model *m)
{
    kn_bir_net_slot nets[KN_BIR_MAX_NETS];
    for (int i = 0, n = kn_bir_model_nets(m, nets); i < n; i++)
        kn_net_zero_grad(*nets[i].net);
    memset(m->prior_grad, 0, prior_count(m) * sizeof *m->prior_grad);
}

int kn_bir_model_encode_below(kn_bir_model *m, const kn_real *x, size_t n, kn_real *r,
                              kn_error *err)
{
    if (!m->below) {
        memcpy(r, x, n * m->cfg.d * sizeof *r);
        return 0;
    }
    const kn_real *y;
    int rc = kn_net_forward(m->below, x, n, &y, err);
    if (!rc)
        memcpy(r, y, n * m->r_dim * sizeof *r);
    return rc;
}

int kn_bir_model_backward_below(kn_bir_model *m, const kn_real *dr, kn_error *err)
{
    if (!m->below)
        return 0;
    return kn_net_backward(m->below, dr, NULL, err);
}

int kn_bir_model_logits(kn_bir_model *m, const kn_real *r, size_t n, kn_real *logits,
                        kn_error *err)
{
    const kn_real *h, *y;
    int rc = kn_net_forward(m->above, r, n, &h, err);
    if (!rc)
        rc = kn_net_forward(m->cls, h, n, &y, err);
    if (!rc)
        memcpy(logits, y, n * (size_t)m->cfg.n_classes * sizeof *logits);
    return rc;
}

/* Prediction in chunks so the hidden buffers stay small. */
#define BIR_PREDICT_CHUNK 1024

int kn_bir_model_predict(kn_bir_model *m, const kn_real *x, size_t n, kn_real *logits,
                         kn_error *err)
{
    size_t chunk = n < BIR_PREDICT_CHUNK ? n : BIR_PREDICT_CHUNK;
    if (chunk == 0)
        return 0;
    kn_real *r = malloc(chunk * m->r_dim * sizeof *r);
    if (!r)
        return kn_fail(err, KN_ENOMEM, "bir: out of memory predicting %zu samples", n);
    int rc = 0;
    for (size_t s = 0; !rc && s < n; s += chunk) {
        size_t b = n - s < chunk ? n - s : chunk;
        rc = kn_bir_model_encode_below(m, x + s * m->cfg.d, b, r, err);
        if (!rc)
            rc = kn_bir_model_logits(m, r, b, logits + s * (size_t)m->cfg.n_classes, err);
    }
    free(r);
    return rc;
}

static const uint8_t *stage_masks(const kn_bir_model *m, int stage)
{
    return m->masks + (size_t)stage * (size_t)m->cfg.n_classes * (size_t)m->cfg.hidden;
}

/* Decoder forward from z; with gates per row class. Keeps every stage's gated output in
 * gated[stage] (n x hidden) for the backward; returns the output stage's buffer. */
static int decode(kn_bir_model *m, const kn_real *z, size_t n, const int32_t *cls,
                  kn_real **gated, const kn_real **out, kn_error *err)
{
    const kn_real *cur = z;
    size_t H = (size_t)m->cfg.hidden;
    for (int i = 0; i < m->n_dec; i++) {
        const kn_real *y;
        int rc = kn_net_forward(m->dec[i], cur, n, &y, err);
        if (rc)
            return rc;
        if (i == m->n_dec - 1) {
            *out = y;
            return 0;
        }
        memcpy(gated[i], y, n * H * sizeof(kn_real));
        if (m->cfg.gating)
            kn_gate_apply(gated[i], n, H, stage_masks(m, i), cls);
        cur = gated[i];
    }
    return 0;
}

int kn_bir_model_generate(kn_bir_model *m, const int32_t *cls, const kn_real *eps, size_t n,
                          kn_real *r_out, kn_error *err)
{
    if (n == 0)
        return 0;
    size_t K = (size_t)m->cfg.latent, H = (size_t)m->cfg.hidden;
    for (size_t i = 0; i < n; i++)
        if (cls[i] < 0 || cls[i] >= m->cfg.n_classes)
            return kn_fail(err, KN_EINVAL, "bir: generate: class %d of row %zu is outside [0, %d)",
                           (int)cls[i], i, m->cfg.n_classes);
    kn_real *z = malloc(n * K * sizeof *z);
    kn_real *g = malloc((size_t)(m->n_dec - 1) * n * H * sizeof *g);
    if (!z || !g) {
        free(z);
        free(g);
        return kn_fail(err, KN_ENOMEM, "bir: out of memory generating %zu samples", n);
    }
    kn_real *gated[KN_BIR_MAX_DEC];
    for (int i = 0; i < m->n_dec - 1; i++)
        gated[i] = g + (size_t)i * n * H;
    size_t C = (size_t)m->cfg.n_classes;
    kn_vae_sample_modes(m->cfg.conditional ? m->prior : NULL,
                        m->cfg.conditional ? m->prior + C * K : NULL, cls, eps, n, K, z);
    const kn_real *y;
    int rc = decode(m, z, n, cls, gated, &y, err);
    if (!rc) {
        size_t cnt = n * m->r_dim;
        for (size_t i = 0; i < cnt; i++)
            r_out[i] = (m->cfg.internal && y[i] < 0) ? 0 : y[i];
    }
    free(z);
    free(g);
    return rc;
}

int kn_bir_model_loss(kn_bir_model *m, const kn_real *r, size_t n, const int32_t *mode_cls,
                      const kn_bir_target *t, const kn_real *eps, double weight, kn_real *dr,
                      kn_bir_losses *losses, kn_error *err)
{
    if (n == 0)
        return kn_fail(err, KN_EINVAL, "bir: empty batch");
    const size_t K = (size_t)m->cfg.latent, H = (size_t)m->cfg.hidden;
    const size_t C = (size_t)m->cfg.n_classes, R = m->r_dim;
    for (size_t i = 0; i < n; i++)
        if (mode_cls[i] < 0 || mode_cls[i] >= (int32_t)C)
            return kn_fail(err, KN_EINVAL, "bir: class %d of row %zu is outside [0, %zu)",
                           (int)mode_cls[i], i, C);
    /* One scratch block: logits grad, mu, logvar, z, lat grad, dz, two dh, recon grad, gated
     * decoder activations and their gradients. */
    size_t nd = (size_t)(m->n_dec - 1);
    size_t need = n * (C + 8 * K + 2 * H + R + 2 * nd * H);
    kn_real *buf = malloc(need * sizeof *buf);
    if (!buf)
        return kn_fail(err, KN_ENOMEM, "bir: out of memory for a batch of %zu", n);
    kn_real *dlogits = buf, *mu = dlogits + n * C, *lv = mu + n * K, *z = lv + n * K;
    kn_real *dmu = z + n * K, *dlv = dmu + n * K, *dlat = dlv + n * K, *dz = dlat + 2 * n * K;
    kn_real *dh1 = dz + n * K, *dh2 = dh1 + n * H, *drec = dh2 + n * H;
    kn_real *gated[KN_BIR_MAX_DEC], *dgated = drec + n * R;
    for (size_t i = 0; i < nd; i++)
        gated[i] = dgated + n * H * nd + i * n * H;
    double l_cls = 0, l_rec = 0, l_kl = 0;

    const kn_real *h, *logits, *latout, *rec;
    int rc = kn_net_forward(m->above, r, n, &h, err);
    if (rc)
        goto done;
    /* Classifier head. */
    if ((rc = kn_net_forward(m->cls, h, n, &logits, err)))
        goto done;
    if (t->soft) {
        rc = kn_loss_soft_cross_entropy(logits, t->soft, n, (int)C, t->temperature, t->active,
                                        &l_cls, dlogits, err);
        /* Multiplied by T^2 (Hinton et al.) so its gradient scale does not depend on T. */
        double t2 = t->temperature * t->temperature;
        l_cls *= t2;
        for (size_t i = 0; i < n * C; i++)
            dlogits[i] = (kn_real)(dlogits[i] * t2 * weight);
    } else {
        rc = kn_loss_cross_entropy(logits, n, (int)C, t->labels, t->active, &l_cls, dlogits, err);
        for (size_t i = 0; i < n * C; i++)
            dlogits[i] = (kn_real)(dlogits[i] * weight);
    }
    if (rc || (rc = kn_net_backward(m->cls, dlogits, dh1, err)))
        goto done;
    /* Latent head and reparameterisation. */
    if ((rc = kn_net_forward(m->lat, h, n, &latout, err)))
        goto done;
    for (size_t i = 0; i < n; i++) {
        memcpy(mu + i * K, latout + i * 2 * K, K * sizeof *mu);
        memcpy(lv + i * K, latout + i * 2 * K + K, K * sizeof *lv);
    }
    kn_vae_reparam(mu, lv, eps, n, K, z);
    /* Decoder and reconstruction of r (a constant target). */
    if ((rc = decode(m, z, n, mode_cls, gated, &rec, err)))
        goto done;
    l_rec = kn_vae_recon_loss(rec, r, n, R, weight, drec);
    const kn_real *dcur = drec;
    for (int i = m->n_dec - 1; i >= 0; i--) {
        kn_real *dx = i == 0 ? dz : dgated + (size_t)(i - 1) * n * H;
        if ((rc = kn_net_backward(m->dec[i], dcur, dx, err)))
            goto done;
        if (i > 0 && m->cfg.gating)
            kn_gate_apply(dx, n, H, stage_masks(m, i - 1), mode_cls);
        dcur = dx;
    }
    /* KL to the class's prior mode (or N(0, I)), per replay-level unit as the original (its
     * reconstruction term is averaged over units, the KL divided by their number). */
    memset(dmu, 0, 2 * n * K * sizeof *dmu); /* dmu and dlv */
    l_kl = kn_vae_kl_gaussian(mu, lv, n, K, m->cfg.conditional ? m->prior : NULL,
                              m->cfg.conditional ? m->prior + C * K : NULL, mode_cls,
                              weight / (double)R, dmu, dlv,
                              m->cfg.conditional ? m->prior_grad : NULL,
                              m->cfg.conditional ? m->prior_grad + C * K : NULL);
    kn_vae_reparam_backward(dz, lv, eps, n, K, dmu, dlv);
    for (size_t i = 0; i < n; i++) {
        memcpy(dlat + i * 2 * K, dmu + i * K, K * sizeof *dlat);
        memcpy(dlat + i * 2 * K + K, dlv + i * K, K * sizeof *dlat);
    }
    if ((rc = kn_net_backward(m->lat, dlat, dh2, err)))
        goto done;
    for (size_t i = 0; i < n * H; i++)
        dh1[i] += dh2[i];
    rc = kn_net_backward(m->above, dh1, dr, err);
done:
    if (!rc && losses) {
        losses->cls = l_cls * weight;
        losses->recon = l_rec;
        losses->kl = l_kl;
    }
    free(buf);
    return rc;
}
