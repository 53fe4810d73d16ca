/* Class balancing and per-class counts of a kn_dataset; see kenyon/datasets.h. */
#include "kenyon/datasets.h"

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

int kn_dataset_balance(kn_dataset *ds, uint64_t seed, kn_error *err)
{
    if (ds->n_classes <= 0 || ds->n == 0)
        return KN_OK;
    int C = ds->n_classes;
    size_t *counts = calloc((size_t)C, sizeof *counts);
    size_t *keep = malloc(ds->n * sizeof *keep);
    size_t *members = malloc(ds->n * sizeof *members);
    int rc = KN_OK;
    if (!counts || !keep || !members) {
        rc = kn_fail(err, KN_ENOMEM, "out of memory balancing %zu samples", ds->n);
        goto done;
    }
    for (size_t i = 0; i < ds->n; i++) {
        if (ds->y[i] < 0 || ds->y[i] >= C) {
            rc = kn_fail(err, KN_EINVAL, "sample %zu has label %d outside 0..%d", i, (int)ds->y[i],
                         C - 1);
            goto done;
        }
        counts[ds->y[i]]++;
    }
    size_t smallest = (size_t)-1;
    for (int c = 0; c < C; c++)
        if (counts[c] && counts[c] < smallest)
            smallest = counts[c];
    size_t n_keep = 0;
    for (int c = 0; c < C; c++) {
        if (!counts[c])
            continue;
        size_t m = 0;
        for (size_t i = 0; i < ds->n; i++)
            if (ds->y[i] == c)
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
        memcpy(keep + n_keep, members, smallest * sizeof *keep);
        n_keep += smallest;
    }
    qsort(keep, n_keep, sizeof *keep, cmp_size); /* back to file order */
    for (size_t k = 0; k < n_keep; k++) {
        size_t i = keep[k];
        if (i != k) {
            memmove(ds->x + k * ds->d, ds->x + i * ds->d, ds->d * sizeof *ds->x);
            ds->y[k] = ds->y[i];
        }
    }
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
done:
    free(counts);
    free(keep);
    free(members);
    return rc;
}
