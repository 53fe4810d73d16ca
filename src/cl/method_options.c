/* Checks a method's options (the --key value pairs of `kenyon run`) before any data are loaded:
 * every key is one of the method's parameters, given once, and its value reads as the
 * parameter's type. kn_learner_create makes the same checks (and the method's range checks) when
 * the learner is built; this lets a command refuse a usage error before it does any work. */
#include "kenyon/learner.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

int kn_method_check_options(const kn_method *m, const kn_kv *options, size_t n, kn_error *err)
{
    for (size_t i = 0; i < n; i++) {
        const char *key = options[i].key, *v = options[i].value;
        if (!key || !v)
            return kn_fail(err, KN_EINVAL, "method %s: option %zu has no key or value", m->name,
                           i);
        const kn_param_spec *p = m->params;
        while (p && p->name && strcmp(p->name, key) != 0)
            p++;
        if (!p || !p->name)
            return kn_fail(err, KN_EINVAL, "method %s has no option '--%s'", m->name, key);
        for (size_t j = 0; j < i; j++)
            if (strcmp(options[j].key, key) == 0)
                return kn_fail(err, KN_EINVAL, "method %s: option --%s given twice", m->name,
                               key);
        char *end = NULL;
        errno = 0;
        if (p->type == KN_PARAM_INT) {
            long x = strtol(v, &end, 10);
            if (errno || end == v || *end || x < INT_MIN || x > INT_MAX)
                return kn_fail(err, KN_EINVAL, "method %s: --%s: '%s' is not an integer",
                               m->name, key, v);
        } else if (p->type == KN_PARAM_DOUBLE) {
            double x = strtod(v, &end);
            if (errno || end == v || *end || !isfinite(x))
                return kn_fail(err, KN_EINVAL, "method %s: --%s: '%s' is not a number", m->name,
                               key, v);
        }
    }
    return 0;
}
