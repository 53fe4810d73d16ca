/* Scratch buffers of the network code: grow-only, contents not kept. Used by net.c and by every
 * layer kernel, so it sits below both (see nn_internal.h). */
#include <stdint.h>
#include <stdlib.h>

#include "nn/nn_internal.h"

int kn_nn_reserve(kn_real **buf, size_t *cap, size_t count)
{
    if (count <= *cap && *buf)
        return 0;
    if (count == 0)
        count = 1;
    if (count > SIZE_MAX / sizeof(kn_real))
        return -1;
    kn_real *p = malloc(count * sizeof(kn_real));
    if (!p)
        return -1;
    free(*buf);
    *buf = p;
    *cap = count;
    return 0;
}
