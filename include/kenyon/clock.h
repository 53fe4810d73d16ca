/* The one clock kenyon times itself with: monotonic seconds, unaffected by changes to the wall
 * clock, for run timings (protocol, training, benchmarks). */
#ifndef KENYON_CLOCK_H
#define KENYON_CLOCK_H

#ifdef __cplusplus
extern "C" {
#endif

/* Seconds since an arbitrary fixed point (CLOCK_MONOTONIC); only differences mean anything. */
double kn_seconds(void);

#ifdef __cplusplus
}
#endif
#endif
