/* KC code variants: APL-like subtractive inhibition and graded / binary / rank values applied
 * to the encoder's codes (kenyon/kc_recode.h). Hand-written: a few loops over the winners. */
#include "kenyon/kc_recode.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int kn_kc_recoder_init(kn_kc_recoder *r, const kn_kc_encoder *enc, double apl, kn_kc_value value,
                       kn_error *err)
{
    memset(r, 0, sizeof *r);
    if (!(apl >= 0) || !isfinite(apl))
        return kn_fail(err, KN_EINVAL, "KC recode: apl must be a finite number >= 0 (got %g)",
                       apl);
    if (value != KN_KC_VALUE_GRADED && value != KN_KC_VALUE_BINARY && value != KN_KC_VALUE_RANK)
        return kn_fail(err, KN_EINVAL, "KC recode: unknown value kind %d", (int)value);
    r->reads = calloc(enc->d ? enc->d : 1, sizeof *r->reads);
    r->places = malloc((size_t)(enc->k > 0 ? enc->k : 1) * sizeof *r->places);
    if (!r->reads || !r->places) {
        kn_kc_recoder_free(r);
        return kn_fail(err, KN_ENOMEM, "KC recode: out of memory (d=%zu, k=%d)", enc->d, enc->k);
    }
    for (size_t q = 0; q < (size_t)enc->m * (size_t)enc->c; q++)
        r->reads[enc->inputs[q]] += 1.0f;
    for (size_t t = 0; t < enc->d; t++)
        r->reads[t] /= (float)enc->m;
    r->enc = enc;
    r->apl = apl;
    r->value = value;
    return 0;
}

void kn_kc_recoder_free(kn_kc_recoder *r)
{
    if (!r)
        return;
    free(r->reads);
    free(r->places);
    memset(r, 0, sizeof *r);
}

static int by_decreasing_u(const void *a, const void *b)
{
    const kn_kc_place *x = a, *y = b;
    if (x->u != y->u)
        return x->u > y->u ? -1 : 1;
    return (x->at > y->at) - (x->at < y->at);
}

/* mean / max of the sample's KC activity (0 when the code is empty). */
static double mean_over_max(const kn_kc_recoder *r, const float *x, const int32_t *cells,
                            const float *values, int nnz)
{
    const kn_kc_encoder *e = r->enc;
    int top = -1;
    for (int j = 0; j < nnz; j++)
        if (values[j] == 1.0f) {
            top = cells[j];
            break;
        }
    if (top < 0)
        return 0;
    float lo = x[0], hi = x[0];
    for (size_t t = 0; t < e->d; t++) {
        lo = x[t] < lo ? x[t] : lo;
        hi = x[t] > hi ? x[t] : hi;
    }
    float range = hi - lo;
    if (!(range > 0))
        return 0;
    double mean = 0, mx = 0;
    for (size_t t = 0; t < e->d; t++)
        mean += (double)r->reads[t] * (double)((x[t] - lo) / range);
    const uint32_t *in = e->inputs + (size_t)top * (size_t)e->c;
    for (int t = 0; t < e->c; t++)
        mx += (double)((x[in[t]] - lo) / range);
    return mx > 0 ? mean / mx : 0;
}

void kn_kc_recode(kn_kc_recoder *r, const float *x, kn_kc_codes *codes)
{
    const size_t k = (size_t)codes->k, d = r->enc->d;
    for (size_t i = 0; i < codes->n; i++) {
        int32_t *cl = codes->cells + i * k;
        float *vl = codes->values + i * k;
        int nnz = codes->nnz[i];
        double beta = r->apl > 0 ? r->apl * mean_over_max(r, x + i * d, cl, vl, nnz) : 0;
        int kept = 0;
        if (beta < 1) {
            for (int j = 0; j < nnz; j++) {
                double u = ((double)vl[j] - beta) / (1 - beta);
                if (!(u > 0))
                    continue;
                cl[kept] = cl[j];
                vl[kept++] = r->value == KN_KC_VALUE_BINARY ? 1.0f : (float)u;
            }
        }
        codes->nnz[i] = kept;
        if (r->value != KN_KC_VALUE_RANK)
            continue;
        /* Place of each survivor in decreasing u (ties: increasing cell). */
        kn_kc_place *pl = r->places;
        for (int j = 0; j < kept; j++)
            pl[j].u = vl[j], pl[j].at = j;
        qsort(pl, (size_t)kept, sizeof *pl, by_decreasing_u);
        for (int p = 0; p < kept; p++)
            vl[pl[p].at] = 1.0f - (float)p / (float)k;
    }
}
