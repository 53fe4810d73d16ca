/* The one rule every classifier in kenyon predicts with: the class of highest score among the
 * classes allowed (the classes seen so far in class-incremental testing, a task's own classes in
 * task-incremental testing). */
#ifndef KENYON_ARGMAX_H
#define KENYON_ARGMAX_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Index of the largest of scores[0..n) with allowed[c] != 0 (allowed NULL: every class). The
 * first maximum wins ties (the lowest index, as numpy's argmax); a NaN never beats an earlier
 * score. Returns -1 when no class is allowed. */
int kn_argmax_allowed(const float *scores, int n, const uint8_t *allowed);

#ifdef __cplusplus
}
#endif
#endif
