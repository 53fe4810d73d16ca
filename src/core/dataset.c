/* Allocation and release of kn_dataset; the readers and assembly live in src/data. */
#include "kenyon/samples.h"
#include "kenyon/fileio.h"

#include <stdlib.h>
#include <string.h>

int kn_dataset_alloc(kn_dataset *ds, size_t n, size_t d, int n_classes, kn_error *err)
{
    memset(ds, 0, sizeof *ds);
    size_t cells, bytes;
    if (kn_size_mul(n, d, &cells) || kn_size_mul(cells, sizeof(float), &bytes))
        return kn_fail(err, KN_ENOMEM, "data set of %zu x %zu values is too large", n, d);
    ds->x = calloc(cells ? cells : 1, sizeof(float));
    ds->y = calloc(n ? n : 1, sizeof(int32_t));
    if (!ds->x || !ds->y) {
        kn_dataset_free(ds);
        return kn_fail(err, KN_ENOMEM, "out of memory for %zu x %zu data set", n, d);
    }
    ds->n = n;
    ds->d = d;
    ds->n_classes = n_classes;
    return KN_OK;
}

void kn_dataset_free(kn_dataset *ds)
{
    if (!ds)
        return;
    free(ds->x);
    free(ds->y);
    memset(ds, 0, sizeof *ds);
}

void kn_split_free(kn_split *sp)
{
    if (!sp)
        return;
    kn_dataset_free(&sp->train);
    kn_dataset_free(&sp->test);
}
