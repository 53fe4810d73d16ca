/* Class balancing and per-class counts of a kn_dataset; see kenyon/data_load.h. */
#include "kenyon/data_load.h"

#include <stdlib.h>
#include <string.h>

#include "kenyon/rng.h"

void kn_dataset_class_counts(const kn_dataset *ds, size_t *counts)
{
    for (int c = 0; c < ds->n_classes; c++)
        counts[c] = 0;
    for (size_t i = 0; i < ds->n; i++)
        if (ds->y[i] >= 0 && ds->y[i] < ds->n_classes)
            counts[ds->y[i]]++;
}

static int cmp_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return (x > y) - (x < y);
}

int kn_balance_select(const int32_t *y, size_t n, int n_classes, uint64_t seed, size_t *keep,
                      size_t *n_keep, kn_error *err)
{
    *n_keep = 0;
    if (n_classes <= 0 || n == 0)
        return KN_OK;
    int C = n_classes;
    size_t *counts = calloc((size_t)C, sizeof *counts);
    size_t *members = malloc(n * sizeof *members);
    int rc = KN_OK;
    if (!counts || !members) {
        rc = kn_fail(err, KN_ENOMEM, "out of memory balancing %zu samples", n);
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        if (y[i] < 0 || y[i] >= C) {
            rc = kn_fail(err, KN_EINVAL, "sample %zu has label %d outside 0..%d", i, (int)y[i],
                         C - 1);
            goto done;
        }
        counts[y[i]]++;
    }
    size_t smallest = (size_t)-1;
    for (int c = 0; c < C; c++)
        if (counts[c] && counts[c] < smallest)
            smallest = counts[c];
    size_t k = 0;
    for (int c = 0; c < C; c++) {
        if (!counts[c])
            continue;
        size_t m = 0;
        for (size_t i = 0; i < n; i++)
            if (y[i] == c)
                members[m++] = i;
        /* A seeded partial Fisher-Yates picks `smallest` of the m rows of class c. */
        kn_rng rng;
        kn_rng_stream(&rng, seed, (uint64_t)c);
        for (size_t j = 0; j < smallest; j++) {
            size_t r = j + (size_t)kn_rng_below(&rng, m - j);
            size_t tmp = members[j];
            members[j] = members[r];
            members[r] = tmp;
        }
        memcpy(keep + k, members, smallest * sizeof *keep);
        k += smallest;
    }
    qsort(keep, k, sizeof *keep, cmp_size); /* back to file order */
    *n_keep = k;
done:
    free(counts);
    free(members);
    return rc;
}

int kn_dataset_balance(kn_dataset *ds, uint64_t seed, kn_error *err)
{
    if (ds->n_classes <= 0 || ds->n == 0)
        return KN_OK;
    size_t *keep = malloc(ds->n * sizeof *keep);
    if (!keep)
        return kn_fail(err, KN_ENOMEM, "out of memory balancing %zu samples", ds->n);
    size_t n_keep;
    int rc = kn_balance_select(ds->y, ds->n, ds->n_classes, seed, keep, &n_keep, err);
    if (rc) {
        free(keep);
        return rc;
    }
    for (size_t k = 0; k < n_keep; k++) {
        size_t i = keep[k];
        if (i != k) {
            memmove(ds->x + k * ds->d, ds->x + i * ds->d, ds->d * sizeof *ds->x);
            ds->y[k] = ds->y[i];
        }
    }
    free(keep);
    ds->n = n_keep;
    /* Give back the memory of the dropped rows (MNIST-20 keeps about a fifth of its rows). */
    if (n_keep && ds->d) {
        float *x = realloc(ds->x, n_keep * ds->d * sizeof *x);
        if (x)
            ds->x = x;
        int32_t *y = realloc(ds->y, n_keep * sizeof *y);
        if (y)
            ds->y = y;
    }
    return KN_OK;
}
