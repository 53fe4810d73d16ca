/* Reading KENYON_MEMORY_LIMIT; see core/memory_limit.h. */
#include "core/memory_limit.h"

#include <math.h>
#include <stdlib.h>

int kn_memory_limit(double *bytes, kn_error *err)
{
    const char *v = getenv("KENYON_MEMORY_LIMIT");
    if (!v || !*v)
        return 1;
    char *end;
    double x = strtod(v, &end);
    double unit = 1;
    if (*end == 'K' || *end == 'k')
        unit = 1024.0, end++;
    else if (*end == 'M' || *end == 'm')
        unit = 1024.0 * 1024.0, end++;
    else if (*end == 'G' || *end == 'g')
        unit = 1024.0 * 1024.0 * 1024.0, end++;
    if (end == v || *end != '\0' || !(x > 0) || !isfinite(x * unit)) {
        kn_fail(err, KN_EINVAL, "KENYON_MEMORY_LIMIT=%.100s is not a size (a positive number of "
                "bytes, or a number with K, M or G)", v);
        return -1;
    }
    *bytes = x * unit;
    return 0;
}
