/* The sample store of the methods that need a whole task (or everything seen) before they train:
 * `offline` keeps every sample, `bir --iters N` keeps the current task. Samples are appended as
 * they arrive (one copy into the store, rows kept contiguous so the store is also the tensor a
 * model file saves) and read back as mini-batches gathered by an index permutation (one copy into
 * the caller's batch buffer). Private to src/cl. */
#ifndef KENYON_CL_SAMPLE_STORE_H
#define KENYON_CL_SAMPLE_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "kenyon/error.h"

typedef struct kn_sample_store {
    size_t d;     /* features per row */
    size_t n;     /* rows stored */
    size_t cap;   /* rows allocated */
    float *x;     /* n x d, row-major */
    int32_t *y;   /* n */
    const char *who; /* for messages, e.g. "method offline" */
} kn_sample_store;

/* An empty store of d-feature rows; `who` names the owner in error messages. */
void kn_sample_store_init(kn_sample_store *s, size_t d, const char *who);
/* Appends n rows (x: n x d, y: n). Capacity grows geometrically; fails with KN_ENOMEM (the store
 * unchanged) when it cannot. */
int kn_sample_store_append(kn_sample_store *s, const float *x, const int32_t *y, size_t n,
                           kn_error *err);
/* Makes room for n rows in all, exactly (a model file's memory, read straight into x and y). */
int kn_sample_store_reserve(kn_sample_store *s, size_t n, kn_error *err);
/* Copies rows idx[0..m) into x (m x d) and y (m). */
void kn_sample_store_gather(const kn_sample_store *s, const uint32_t *idx, size_t m, float *x,
                            int32_t *y);
/* Forgets the rows, keeps the memory (for the next task). */
void kn_sample_store_clear(kn_sample_store *s);
void kn_sample_store_free(kn_sample_store *s);

#endif
