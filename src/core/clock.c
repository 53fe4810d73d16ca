/* Monotonic seconds for timings; see kenyon/clock.h. */
#include "kenyon/clock.h"

#include <time.h>

double kn_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
