/* How much memory will a learner need? Estimated from the method's parameters and the data's
 * shape before anything is allocated, so that `--m 500000000` is refused with the estimate
 * instead of being left to the kernel's OOM killer. The estimate counts the large buffers of
 * each family (projection, readout, Gram matrix and its factor, code cache; network weights with
 * their gradients and optimiser state, replay memories, stored data) and is meant to be right
 * within a small factor, which is all a refusal needs. Available memory is MemAvailable from
 * /proc/meminfo (a Linux interface; elsewhere the check is skipped), capped by the environment
 * variable KENYON_MEMORY_LIMIT when it is set (bytes, or a number with K, M or G: a share of the
 * machine for kenyon, and how the tests set a limit that does not depend on the machine).
 *
 * A driver that runs several copies of the learner on one machine (the MPI data-parallel run:
 * a copy per rank, each with its reduction buffers) checks all of them at once with
 * kn_learner_check_memory_copies (cl/memory_check.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cl/memory_check.h"
#include "core/memory_limit.h"
#include "kenyon/fly.h"
#include "kenyon/learner.h"

/* The value of parameter `name`: the override if given, else the method's default; NAN when the
 * method has no such parameter or the text is not a number. */
static double param(const kn_method *m, const kn_kv *ov, size_t n, const char *name)
{
    const char *v = NULL;
    for (const kn_param_spec *p = m->params; p && p->name; p++)
        if (strcmp(p->name, name) == 0)
            v = p->default_value;
    for (size_t i = 0; i < n; i++)
        if (ov[i].key && strcmp(ov[i].key, name) == 0)
            v = ov[i].value;
    if (!v)
        return NAN;
    char *end;
    double x = strtod(v, &end);
    return end != v && *end == '\0' ? x : NAN;
}

/* Adds `bytes` under `what` to the running total and the description. */
static void add(double *total, char *detail, size_t cap, const char *what, double bytes)
{
    *total += bytes;
    size_t used = strlen(detail);
    if (bytes >= 1e6 && used + 1 < cap)
        snprintf(detail + used, cap - used, "%s%s %.3g GB", used ? ", " : "", what, bytes / 1e9);
}

int kn_method_memory_estimate(const kn_method *m, const kn_learner_info *info,
                              const kn_kv *overrides, size_t n_overrides, size_t n_train,
                              double *bytes, char *detail, size_t detail_cap)
{
    double d = (double)info->d, C = (double)info->n_classes, N = (double)n_train, total = 0;
    detail[0] = '\0';
    double mk = param(m, overrides, n_overrides, "m");
    double hidden = param(m, overrides, n_overrides, "hidden");
    if (!isnan(mk)) { /* the fly family */
        double c = param(m, overrides, n_overrides, "c");
        double k = param(m, overrides, n_overrides, "k");
        if (!(k > 0))
            k = mk * param(m, overrides, n_overrides, "k-fraction");
        if (isnan(c) || isnan(k))
            return -1;
        add(&total, detail, detail_cap, "projection", mk * c * 4);
        add(&total, detail, detail_cap, "readout", mk * C * 4);
        add(&total, detail, detail_cap, "encoder buffers", mk * 64 * 4);
        double codes = N * k * 8;
        add(&total, detail, detail_cap, "code cache", codes < 256e6 ? codes : 256e6);
        if (kn_param_find(m->params, "lambda")) { /* a ridge readout (lambda may be a word) */
            add(&total, detail, detail_cap, "Gram matrix and its factor", 2 * mk * mk * 8);
            add(&total, detail, detail_cap, "ridge targets", 2 * mk * C * 8);
            add(&total, detail, detail_cap, "Gram update buffer",
                kn_fly_ridge_buffer_bytes((size_t)mk));
        }
    } else if (strcmp(m->name, "ncm") == 0 || strcmp(m->name, "slda") == 0) {
        add(&total, detail, detail_cap, "class sums and means", 2 * C * d * 8);
        if (strcmp(m->name, "slda") == 0)
            add(&total, detail, detail_cap, "scatter matrix and its factor", 2 * d * d * 8);
    } else if (!isnan(hidden)) { /* the back-prop family */
        double h = hidden, latent = param(m, overrides, n_overrides, "latent");
        double weights = d * h + h * h + h * C + 3 * h + C;
        if (!isnan(latent)) /* BI-R: encoder, latent layer, decoder, and the previous model */
            weights = 2 * (2 * (d * h + h * h) + h * 2 * latent + latent * h + h * C);
        /* weights, gradients, optimiser state (momentum / Adam moments), EWC/GEM copies */
        add(&total, detail, detail_cap, "network weights, gradients and optimiser state",
            weights * 4 * 5);
        double mem = param(m, overrides, n_overrides, "n-memories");
        if (!isnan(mem))
            add(&total, detail, detail_cap, "replay memories", mem * C * (d + 1) * 4);
        if (!isnan(param(m, overrides, n_overrides, "epochs"))) /* offline keeps all data */
            add(&total, detail, detail_cap, "stored training data", N * (d + 1) * 4);
        add(&total, detail, detail_cap, "activations", 4096 * (d + 4 * h + C) * 4);
    }
    *bytes = total;
    return 0;
}

/* The memory the checks may use: MemAvailable capped by KENYON_MEMORY_LIMIT. 0 with *bytes,
 * 1 when unknown (the check is skipped), -1 with err when the limit is malformed. */
static int memory_for_checks(double *bytes, kn_error *err)
{
    double limit = 0;
    int lim = kn_memory_limit(&limit, err);
    if (lim < 0)
        return -1;
    int have = kn_memory_available(bytes);
    if (lim == 0 && (have != 0 || limit < *bytes))
        *bytes = limit;
    return lim == 0 || have == 0 ? 0 : 1;
}

int kn_memory_available(double *bytes)
{
    FILE *f = fopen("/proc/meminfo", "r");
    if (!f)
        return -1;
    char line[256];
    int found = -1;
    while (fgets(line, sizeof line, f)) {
        unsigned long long kb;
        if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1) {
            *bytes = (double)kb * 1024.0;
            found = 0;
            break;
        }
    }
    fclose(f);
    return found;
}

int kn_learner_check_memory(const char *method, const kn_learner_info *info,
                            const kn_kv *overrides, size_t n_overrides, size_t n_train,
                            kn_error *err)
{
    const kn_method *m = kn_method_find(method);
    double need, avail;
    char detail[384];
    if (!m || kn_method_memory_estimate(m, info, overrides, n_overrides, n_train, &need, detail,
                                        sizeof detail) != 0)
        return 0; /* kn_learner_create reports what is wrong with the parameters */
    int have = memory_for_checks(&avail, err);
    if (have < 0)
        return KN_EINVAL;
    if (have > 0 || need <= avail)
        return 0;
    return kn_fail(err, KN_ENOMEM,
                   "method %s would need about %.3g GB (%s), more than the %.3g GB of memory "
                   "available; use smaller settings", m->name, need / 1e9, detail, avail / 1e9);
}

int kn_learner_check_memory_copies(const kn_learner *l, int copies, double extra_bytes,
                                   const char *extra_what, kn_error *err)
{
    double need, avail;
    char detail[384];
    /* The training-set size is not known to the caller: the fly family's code cache (at most
     * 256 MB) is left out, so the refusal errs on the side of running. */
    if (kn_method_memory_estimate(l->method, &l->info, l->params, l->n_params, 0, &need, detail,
                                  sizeof detail) != 0)
        return 0;
    int have = memory_for_checks(&avail, err);
    if (have < 0)
        return KN_EINVAL;
    const double total = (double)copies * (need + extra_bytes);
    if (have > 0 || total <= avail)
        return 0;
    return kn_fail(err, KN_ENOMEM,
                   "method %s in %d processes on this machine would need about %.3g GB: %d x "
                   "(the learner %.3g GB%s%s, %s %.3g GB), more than the %.3g GB of memory "
                   "available; use fewer processes per machine or smaller settings",
                   l->method->name, copies, total / 1e9, copies, need / 1e9, detail[0] ? ": " : "",
                   detail, extra_what, extra_bytes / 1e9, avail / 1e9);
}
