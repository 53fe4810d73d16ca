/* KC code variants on top of the fly's encoder (kenyon/fly.h): APL-like subtractive inhibition
 * and the kind of value each winning Kenyon cell carries.
 *
 * In the fly, the APL neuron feeds back onto all KCs; besides the competition the k-WTA models,
 * its inhibition is subtractive: it lowers every KC's drive by an amount that grows with the
 * total KC activity. Here that is a share `apl` of the mean activity over all m cells: with
 * h = ReLU(R x) the encoder's activity (x min-max scaled per sample), mean = sum_i h_i / m and
 * max = max_i h_i, each winner i of the k-WTA (the encoder's winners: subtracting the same amount
 * from every cell does not change which k are largest) becomes
 *     u_i = (h_i - apl * mean) / (max - apl * mean),
 * i.e. the inhibited activity divided by its largest value, as the encoder divides. Winners
 * with u_i <= 0 fall silent (with apl > 0 the code may hold fewer than k cells; once
 * apl * mean >= max every cell is silent). apl = 0 leaves the encoder's graded code as it is.
 * The value kept for a surviving winner:
 *   graded: u_i;
 *   binary: 1;
 *   rank:   1 - r / k, where r is the winner's place among the survivors in decreasing u (0 for
 *           the largest; equal values keep increasing cell order).
 * Since mean = sum_t n_t xs_t / m, where n_t counts the cells that read input t, the variant
 * costs O(d + c + k) per sample on top of the encoder. */
#ifndef KENYON_KC_RECODE_H
#define KENYON_KC_RECODE_H

#include <stddef.h>

#include "kenyon/error.h"
#include "kenyon/fly.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum kn_kc_value {
    KN_KC_VALUE_GRADED = 0,
    KN_KC_VALUE_BINARY = 1,
    KN_KC_VALUE_RANK = 2,
} kn_kc_value;

typedef struct kn_kc_place {
    float u;
    int at;
} kn_kc_place;

typedef struct kn_kc_recoder {
    const kn_kc_encoder *enc; /* not owned */
    double apl;               /* share of the mean KC activity subtracted, >= 0 */
    kn_kc_value value;
    float *reads;             /* d: n_t / m, the share of cells that read input t (owned) */
    kn_kc_place *places;      /* k: workspace for rank codes */
} kn_kc_recoder;

/* apl must be finite and >= 0. */
int kn_kc_recoder_init(kn_kc_recoder *r, const kn_kc_encoder *enc, double apl, kn_kc_value value,
                       kn_error *err);
void kn_kc_recoder_free(kn_kc_recoder *r);
/* Rewrites codes (the encoder's codes of the n = codes->n samples x, row-major n x d) into the
 * variant, in place: values changed, silenced winners removed (cells stay increasing). Uses the
 * recoder's workspace: one call at a time per recoder. */
void kn_kc_recode(kn_kc_recoder *r, const float *x, kn_kc_codes *codes);

#ifdef __cplusplus
}
#endif
#endif
