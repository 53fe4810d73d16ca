/* KENYON_MEMORY_LIMIT, the share of the machine kenyon's memory checks may assume (the learner
 * checks in cl/memory_estimate.c and the ridge check in fly/ridge_select.c read it here, so they
 * refuse the same sizes). */
#ifndef KENYON_CORE_MEMORY_LIMIT_H
#define KENYON_CORE_MEMORY_LIMIT_H

#include "kenyon/error.h"

/* The limit in bytes (a number, or one with K, M or G): 0 with *bytes when it is set and valid,
 * 1 when unset or empty, -1 (KN_EINVAL in err, naming the variable and its text) when it is not
 * a size. */
int kn_memory_limit(double *bytes, kn_error *err);

#endif
