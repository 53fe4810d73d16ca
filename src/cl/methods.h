/* Every continual-learning method kenyon knows: one `extern const kn_method` per method, defined
 * in its own file (src/cl/fly_methods.c, the baselines' files) and listed in src/cl/registry.c.
 * Adding a method = one file + one line here + one row in registry.c. */
#ifndef KENYON_CL_METHODS_H
#define KENYON_CL_METHODS_H

#include "kenyon/learner.h"

/* FlyModel and its variants (src/cl/fly_methods.c). */
extern const kn_method kn_method_fly;
extern const kn_method kn_method_v1;
extern const kn_method kn_method_v2;
extern const kn_method kn_method_v3;
extern const kn_method kn_method_fly_ridge;
/* fly-ridge on an APL-inhibited KC code (src/cl/fly_apl.c). */
extern const kn_method kn_method_fly_apl;

/* Back-prop baselines. */
extern const kn_method kn_method_vanilla;
extern const kn_method kn_method_offline;
extern const kn_method kn_method_ewc;
extern const kn_method kn_method_gem;
extern const kn_method kn_method_bir;

/* One-pass learners that followed the fly paper (src/cl/ncm.c, slda.c, ranpac.c, er.c). */
extern const kn_method kn_method_ncm;
extern const kn_method kn_method_slda;
extern const kn_method kn_method_ranpac;
extern const kn_method kn_method_er;

#endif
