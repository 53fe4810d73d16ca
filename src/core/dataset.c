/* Allocation and release of kn_dataset; the readers and assembly live in src/data. MADV_HUGEPAGE
 * is a Linux extension of <sys/mman.h>, hence _DEFAULT_SOURCE in this file only. */
#define _DEFAULT_SOURCE
#include "kenyon/samples.h"
#include "kenyon/fileio.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#ifdef __linux__
#include <sys/mman.h>
#endif

/* Large feature arrays are filled once, row after row (a data cache of 82 MB for MNIST-20): with
 * 4 KB pages that is 20,000 page faults. Asking for transparent huge pages (Linux, where the
 * system's policy is "madvise") makes it 40. Only whole 2 MB pages inside the block are advised;
 * calloc's memory stays calloc's, freed by free. */
#define HUGE_PAGE ((uintptr_t)2 << 20)

static void advise_huge_pages(void *p, size_t bytes)
{
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    uintptr_t lo = ((uintptr_t)p + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
    uintptr_t hi = ((uintptr_t)p + bytes) & ~(HUGE_PAGE - 1);
    if (hi > lo)
        (void)madvise((void *)lo, hi - lo, MADV_HUGEPAGE); /* a hint: failure changes nothing */
#else
    (void)p;
    (void)bytes;
#endif
}

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
    advise_huge_pages(ds->x, bytes);
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
