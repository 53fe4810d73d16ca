/* The method registry: the NULL-terminated table of every continual learner kenyon can run.
 * One row per method; the method itself lives in its own file (see methods.h). */
#include <string.h>

#include "cl/methods.h"

static const kn_method *const methods[] = {
    &kn_method_fly,
    &kn_method_v1,
    &kn_method_v2,
    &kn_method_v3,
    &kn_method_fly_ridge,
    &kn_method_fly_apl,
    /* Back-prop baselines: one row each below (vanilla, offline, ewc, gem, ...). */
    &kn_method_vanilla,
    &kn_method_offline,
    &kn_method_ewc,
    &kn_method_gem,
    &kn_method_bir,
    /* One-pass learners from later work: nearest class mean, streaming LDA, RanPAC, replay. */
    &kn_method_ncm,
    &kn_method_slda,
    &kn_method_ranpac,
    &kn_method_er,
    NULL,
};

const kn_method *kn_method_find(const char *name)
{
    for (const kn_method *const *m = methods; *m; m++)
        if (strcmp((*m)->name, name) == 0)
            return *m;
    return NULL;
}

const kn_method *const *kn_method_list(void) { return methods; }
