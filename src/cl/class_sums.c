/* Per-class sums of ncm and slda (class_sums.h): allocation, the model-file tensors and their
 * checks, and the driver's view of either learner. */
#include <math.h>
#include <stdlib.h>

#include "cl/class_sums.h"
#include "cl/methods.h"

int kn_class_sums_alloc(kn_class_sums *cs, size_t C, size_t d)
{
    cs->n_classes = C;
    cs->d = d;
    cs->sums = calloc(C * d > 0 ? C * d : 1, sizeof *cs->sums);
    cs->counts = calloc(C ? C : 1, sizeof *cs->counts);
    return cs->sums && cs->counts ? 0 : -1;
}

void kn_class_sums_free(kn_class_sums *cs)
{
    free(cs->sums);
    free(cs->counts);
    cs->sums = cs->counts = NULL;
}

int kn_class_sums_write(const kn_class_sums *cs, kn_st_writer *w, kn_error *err)
{
    size_t sh_s[2] = {cs->n_classes, cs->d}, sh_c[1] = {cs->n_classes};
    int rc = kn_st_writer_add(w, "class_sums", KN_ST_F64, 2, sh_s, cs->sums, err);
    if (!rc)
        rc = kn_st_writer_add(w, "class_counts", KN_ST_F64, 1, sh_c, cs->counts, err);
    return rc;
}

int kn_class_sums_expect(const kn_st_file *f, size_t C, size_t d, const kn_st_tensor **sums,
                         const kn_st_tensor **counts, kn_error *err)
{
    size_t sh_s[2] = {C, d}, sh_c[1] = {C};
    int rc = kn_st_expect(f, "class_sums", KN_ST_F64, 2, sh_s, sums, err);
    if (!rc)
        rc = kn_st_expect(f, "class_counts", KN_ST_F64, 1, sh_c, counts, err);
    return rc;
}

int kn_class_sums_read(const kn_st_file *f, const kn_st_tensor *sums, const kn_st_tensor *counts,
                       kn_class_sums *cs, kn_error *err)
{
    int rc;
    if ((rc = kn_st_tensor_read(f, sums, cs->sums, err)) ||
        (rc = kn_st_tensor_read(f, counts, cs->counts, err)))
        return rc;
    const size_t C = cs->n_classes, d = cs->d;
    for (size_t q = 0; q < C * d; q++)
        if (!isfinite(cs->sums[q]))
            return kn_fail(err, KN_EFORMAT, "%s: class_sums[%zu] is not finite", f->source, q);
    for (size_t c = 0; c < C; c++) {
        double n = cs->counts[c];
        if (!(n >= 0 && n <= 1e15 && n == floor(n)))
            return kn_fail(err, KN_EFORMAT, "%s: class_counts[%zu] = %g is not a count",
                           f->source, c, n);
    }
    return 0;
}

int kn_class_learner_parts(kn_learner *l, kn_class_model **model, kn_error *err)
{
    if (l->method != &kn_method_ncm && l->method != &kn_method_slda)
        return kn_fail(err, KN_EINVAL, "method %s keeps no class sums", l->method->name);
    /* Both learners' states begin with a kn_class_model (ncm.c, slda.c). */
    *model = l->impl;
    return 0;
}
