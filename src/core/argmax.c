/* Argmax over allowed classes; see kenyon/argmax.h. */
#include "kenyon/argmax.h"

#include <stddef.h>

int kn_argmax_allowed(const float *scores, int n, const uint8_t *allowed)
{
    int best = -1;
    for (int c = 0; c < n; c++)
        if ((!allowed || allowed[c]) && (best < 0 || scores[c] > scores[best]))
            best = c;
    return best;
}
