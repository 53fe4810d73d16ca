/* The sample store of offline and BI-R; see sample_store.h. */
#include "cl/sample_store.h"

#include <stdlib.h>
#include <string.h>

void kn_sample_store_init(kn_sample_store *s, size_t d, const char *who)
{
    memset(s, 0, sizeof *s);
    s->d = d;
    s->who = who ? who : "sample store";
}

/* Makes room for exactly cap rows. */
static int resize(kn_sample_store *s, size_t cap, kn_error *err)
{
    if (s->d && cap > SIZE_MAX / (s->d * sizeof(float)))
        return kn_fail(err, KN_ENOMEM, "%s: %zu stored samples of %zu features overflow", s->who,
                       cap, s->d);
    float *nx = realloc(s->x, cap * (s->d ? s->d : 1) * sizeof *nx);
    if (!nx)
        return kn_fail(err, KN_ENOMEM, "%s: out of memory storing %zu samples", s->who, cap);
    s->x = nx;
    int32_t *ny = realloc(s->y, cap * sizeof *ny);
    if (!ny)
        return kn_fail(err, KN_ENOMEM, "%s: out of memory storing %zu labels", s->who, cap);
    s->y = ny;
    s->cap = cap;
    return 0;
}

static int grow(kn_sample_store *s, size_t need, kn_error *err)
{
    size_t cap = s->cap ? s->cap : 4096;
    while (cap < need) {
        if (cap > SIZE_MAX / 2)
            return kn_fail(err, KN_ENOMEM, "%s: %zu stored samples overflow", s->who, need);
        cap *= 2;
    }
    return resize(s, cap, err);
}

int kn_sample_store_reserve(kn_sample_store *s, size_t n, kn_error *err)
{
    return n > s->cap ? resize(s, n, err) : 0;
}

int kn_sample_store_append(kn_sample_store *s, const float *x, const int32_t *y, size_t n,
                           kn_error *err)
{
    if (n > SIZE_MAX - s->n)
        return kn_fail(err, KN_ENOMEM, "%s: stored sample count overflows", s->who);
    if (s->n + n > s->cap) {
        int rc = grow(s, s->n + n, err);
        if (rc)
            return rc;
    }
    memcpy(s->x + s->n * s->d, x, n * s->d * sizeof *x);
    memcpy(s->y + s->n, y, n * sizeof *y);
    s->n += n;
    return 0;
}

void kn_sample_store_gather(const kn_sample_store *s, const uint32_t *idx, size_t m, float *x,
                            int32_t *y)
{
    const size_t d = s->d;
    for (size_t r = 0; r < m; r++) {
        memcpy(x + r * d, s->x + (size_t)idx[r] * d, d * sizeof *x);
        y[r] = s->y[idx[r]];
    }
}

void kn_sample_store_clear(kn_sample_store *s) { s->n = 0; }

void kn_sample_store_free(kn_sample_store *s)
{
    free(s->x);
    free(s->y);
    s->x = NULL;
    s->y = NULL;
    s->n = s->cap = 0;
}
