/* The FlyModel readout and its perceptron variants (kenyon/fly.h): W starts at zero; for a sample
 * of class y only the synapses from its active KCs change. The fly rule (V4) touches only row y;
 * V1-V3 also lower the wrongly predicted row. Learning is sequential over samples (each update
 * depends on the previous ones for V1-V3); encoding is the batched, threaded part. */
#include "kenyon/fly.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kenyon/argmax.h"

/* Samples encoded per chunk inside kn_fly_learn / kn_fly_scores. */
#define FLY_CHUNK 4096

void kn_fly_params_default(kn_fly_params *p, size_t d)
{
    memset(p, 0, sizeof *p);
    p->d = d;
    p->m = 3200;
    p->c = 10;
    p->k = 160;
    p->rule = KN_FLY_RULE_FLY;
    p->lr = 0.01f;
    p->beta = 0.0f;
    p->ceiling = 1.0f;
    p->seed = 0;
}

double kn_fly_rule_default_lr(kn_fly_rule rule)
{
    switch (rule) {
    case KN_FLY_RULE_V1: return 0.1;
    case KN_FLY_RULE_V2: return 2.0;
    case KN_FLY_RULE_V3: return 0.001;
    default: return 0.01;
    }
}

const char *kn_fly_params_check(const kn_fly_params *p)
{
    const char *why = kn_kc_encoder_check(p->d, p->m, p->c, p->k);
    if (why)
        return why;
    if ((unsigned)p->rule > KN_FLY_RULE_V3)
        return "rule must be fly, v1, v2 or v3";
    if (!(p->lr > 0) || !isfinite(p->lr))
        return "lr (learning rate) must be positive";
    if (!(p->beta >= 0 && p->beta < 1))
        return "beta (decay) must be in [0, 1)";
    if (!(p->ceiling > 0) || !isfinite(p->ceiling))
        return "ceiling (weight clip) must be positive";
    return NULL;
}

int kn_fly_model_init(kn_fly_model *f, const kn_fly_params *p, int n_classes, kn_error *err)
{
    memset(f, 0, sizeof *f);
    const char *why = kn_fly_params_check(p);
    if (why)
        return kn_fail(err, KN_EINVAL, "FlyModel: %s (d=%zu, m=%d, c=%d, k=%d, lr=%g, beta=%g)",
                       why, p->d, p->m, p->c, p->k, (double)p->lr, (double)p->beta);
    if (n_classes < 1)
        return kn_fail(err, KN_EINVAL, "FlyModel: number of classes must be positive");
    f->p = *p;
    f->n_classes = n_classes;
    int rc = kn_kc_encoder_init(&f->enc, p->d, p->m, p->c, p->k, p->seed, err);
    if (rc)
        return rc;
    f->w = calloc((size_t)p->m * (size_t)n_classes, sizeof *f->w);
    if (!f->w) {
        kn_fly_model_free(f);
        return kn_fail(err, KN_ENOMEM, "FlyModel: out of memory for %d x %d weights", p->m,
                       n_classes);
    }
    return 0;
}

void kn_fly_model_free(kn_fly_model *f)
{
    if (!f)
        return;
    kn_kc_encoder_free(&f->enc);
    kn_kc_codes_free(&f->scratch);
    free(f->w);
    memset(f, 0, sizeof *f);
}

/* Argmax of W h over allowed classes (first maximum wins). */
static int predict_one(const float *w, int C, const int32_t *cells, const float *values, int nnz,
                       const uint8_t *allowed, float *sc)
{
    for (int q = 0; q < C; q++)
        sc[q] = 0.0f;
    for (int j = 0; j < nnz; j++) {
        const float *wr = w + (size_t)cells[j] * (size_t)C;
        for (int q = 0; q < C; q++)
            sc[q] += values[j] * wr[q];
    }
    return kn_argmax_allowed(sc, C, allowed);
}

int kn_fly_learn_codes(kn_fly_model *f, const kn_kc_codes *codes, const int32_t *y,
                       const uint8_t *allowed, kn_error *err)
{
    const int C = f->n_classes, k = codes->k;
    const float lr = f->p.lr, ceil = f->p.ceiling, keep = 1.0f - f->p.beta;
    const int m = f->p.m;
    float *sc = malloc((size_t)C * sizeof *sc);
    if (!sc)
        return kn_fail(err, KN_ENOMEM, "FlyModel: out of memory");
    for (size_t i = 0; i < codes->n; i++) {
        int t = y[i];
        if (t < 0 || t >= C) {
            free(sc);
            return kn_fail(err, KN_EINVAL, "FlyModel: label %d of sample %zu outside [0, %d)", t,
                           i, C);
        }
        const int32_t *cells = codes->cells + i * (size_t)k;
        const float *vals = codes->values + i * (size_t)k;
        const int nnz = codes->nnz[i];
        int raise = 1, lower = -1;
        if (f->p.rule != KN_FLY_RULE_FLY) {
            int pred = predict_one(f->w, C, cells, vals, nnz, allowed, sc);
            int mistake = pred != t;
            switch (f->p.rule) {
            case KN_FLY_RULE_V1: raise = mistake; lower = mistake ? pred : -1; break;
            case KN_FLY_RULE_V2: raise = mistake; break;
            case KN_FLY_RULE_V3: lower = mistake ? pred : -1; break;
            default: break;
            }
        }
        if (raise) {
            if (keep != 1.0f) /* decay applies to the whole target row */
                for (int cell = 0; cell < m; cell++)
                    f->w[(size_t)cell * (size_t)C + (size_t)t] *= keep;
            for (int j = 0; j < nnz; j++) {
                float *wp = f->w + (size_t)cells[j] * (size_t)C + (size_t)t;
                float v = *wp + lr * vals[j];
                *wp = v > ceil ? ceil : v;
            }
        }
        if (lower >= 0)
            for (int j = 0; j < nnz; j++) {
                float *wp = f->w + (size_t)cells[j] * (size_t)C + (size_t)lower;
                float v = *wp - lr * vals[j];
                *wp = v < 0.0f ? 0.0f : v;
            }
    }
    free(sc);
    return 0;
}

static int ensure_scratch(kn_fly_model *f, size_t n, kn_error *err)
{
    size_t want = n < FLY_CHUNK ? n : FLY_CHUNK;
    if (f->scratch.cap >= want && f->scratch.k == f->p.k)
        return 0;
    kn_kc_codes_free(&f->scratch);
    return kn_kc_codes_alloc(&f->scratch, FLY_CHUNK, f->p.k, err);
}

int kn_fly_learn(kn_fly_model *f, const float *x, const int32_t *y, size_t n,
                 const uint8_t *allowed, kn_error *err)
{
    int rc = ensure_scratch(f, n, err);
    for (size_t s = 0; !rc && s < n; s += FLY_CHUNK) {
        size_t b = n - s < FLY_CHUNK ? n - s : FLY_CHUNK;
        rc = kn_kc_encode(&f->enc, x + s * f->p.d, b, &f->scratch, err);
        if (!rc)
            rc = kn_fly_learn_codes(f, &f->scratch, y + s, allowed, err);
    }
    return rc;
}

int kn_fly_scores(kn_fly_model *f, const float *x, size_t n, float *scores, kn_error *err)
{
    int rc = ensure_scratch(f, n, err);
    for (size_t s = 0; !rc && s < n; s += FLY_CHUNK) {
        size_t b = n - s < FLY_CHUNK ? n - s : FLY_CHUNK;
        rc = kn_kc_encode(&f->enc, x + s * f->p.d, b, &f->scratch, err);
        if (!rc)
            kn_kc_scores(&f->scratch, f->w, f->n_classes, scores + s * (size_t)f->n_classes);
    }
    return rc;
}
