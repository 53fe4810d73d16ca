/* Bookkeeping for the dynamics checks' results: named series for CSV and figures, named numbers
 * for summary.json, and the verdict text. */
#include "dynamics_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void kn_dyn_result_free(kn_dyn_result *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n_series; i++) {
        free(r->series[i].x);
        free(r->series[i].y);
        free(r->series[i].y2);
        free(r->series[i].y3);
        free(r->series[i].y4);
    }
    free(r->series);
    memset(r, 0, sizeof *r);
}

void kn_dyn_result_init(kn_dyn_result *r, int check, const char *title)
{
    memset(r, 0, sizeof *r);
    r->check = check;
    r->pass = -1;
    snprintf(r->title, sizeof r->title, "%s", title);
}

kn_dyn_series *kn_dyn_add_series(kn_dyn_result *r, const char *name, const char *header,
                                 size_t n, int columns, kn_error *err)
{
    /* Fixed capacity so pointers to earlier series stay valid while later ones are added. */
    if (!r->series) {
        r->series = calloc(KN_DYN_MAX_SERIES, sizeof *r->series);
        if (!r->series) {
            kn_fail(err, KN_ENOMEM, "check %d: out of memory for series %s", r->check, name);
            return NULL;
        }
    }
    if (r->n_series >= KN_DYN_MAX_SERIES) {
        kn_fail(err, KN_ESTATE, "check %d: more than %d series (adding %s)", r->check,
                KN_DYN_MAX_SERIES, name);
        return NULL;
    }
    kn_dyn_series *s = &r->series[r->n_series];
    memset(s, 0, sizeof *s);
    snprintf(s->name, sizeof s->name, "%s", name);
    snprintf(s->header, sizeof s->header, "%s", header);
    s->n = n;
    size_t bytes = (n ? n : 1) * sizeof(double);
    s->x = calloc(1, bytes);
    s->y = calloc(1, bytes);
    if (columns >= 3)
        s->y2 = calloc(1, bytes);
    if (columns >= 4)
        s->y3 = calloc(1, bytes);
    if (columns >= 5)
        s->y4 = calloc(1, bytes);
    r->n_series++; /* counted even on failure so kn_dyn_result_free releases what was allocated */
    if (!s->x || !s->y || (columns >= 3 && !s->y2) || (columns >= 4 && !s->y3) ||
        (columns >= 5 && !s->y4)) {
        kn_fail(err, KN_ENOMEM, "check %d: out of memory for series %s (%zu points)", r->check,
                name, n);
        return NULL;
    }
    return s;
}

void kn_dyn_set_value(kn_dyn_result *r, const char *key, double value)
{
    for (int i = 0; i < r->n_values; i++)
        if (strcmp(r->keys[i], key) == 0) {
            r->values[i] = value;
            return;
        }
    if (r->n_values >= (int)(sizeof r->values / sizeof r->values[0]))
        return;
    snprintf(r->keys[r->n_values], sizeof r->keys[0], "%s", key);
    r->values[r->n_values++] = value;
}

void kn_dyn_verdict(kn_dyn_result *r, const char *fmt, ...)
{
    size_t used = strlen(r->verdict);
    if (used + 1 >= sizeof r->verdict)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->verdict + used, sizeof r->verdict - used, fmt, ap);
    va_end(ap);
}
