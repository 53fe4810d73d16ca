/* Smaller copies of a data set for quick runs: the first rows of every class (kenyon/tasks.h).
 * Shared by the experiment loader (--train-per-class) and the CIFAR-100 bench's --quick. */
#include <stdlib.h>

#include "kenyon/tasks.h"

int kn_dataset_keep_first_per_class(kn_dataset *ds, size_t per_class, kn_error *err)
{
    size_t *idx = malloc((ds->n ? ds->n : 1) * sizeof *idx);
    size_t *count = calloc((size_t)ds->n_classes + 1, sizeof *count);
    int rc = idx && count ? KN_OK : kn_fail(err, KN_ENOMEM, "out of memory");
    size_t n = 0;
    for (size_t i = 0; !rc && i < ds->n; i++) {
        if (ds->y[i] < 0 || ds->y[i] >= ds->n_classes) {
            rc = kn_fail(err, KN_EINVAL, "row %zu: label %d outside [0, %d)", i, (int)ds->y[i],
                         ds->n_classes);
            break;
        }
        if (count[ds->y[i]]++ < per_class)
            idx[n++] = i;
    }
    kn_dataset sub;
    if (!rc)
        rc = kn_dataset_subset(ds, idx, n, &sub, err);
    free(idx);
    free(count);
    if (rc)
        return rc;
    kn_dataset_free(ds);
    *ds = sub;
    return KN_OK;
}
