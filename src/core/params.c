/* Typed parameters (kenyon/params.h): the one number parser every entry point uses, the check of
 * a value against its table row, and resolving a table against key=value overrides without
 * allocating. Hand-written: strtoll/strtod are the parsers; what is added here is telling a
 * malformed value from an out-of-range one and the messages that say what is accepted. */
#include "kenyon/params.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* strtoll/strtod skip leading white space; a parameter value must not have any. */
static int starts_clean(const char *text)
{
    return text && text[0] && !isspace((unsigned char)text[0]);
}

kn_num_status kn_parse_i64(const char *text, int64_t *out)
{
    if (!starts_clean(text))
        return KN_NUM_SYNTAX;
    const char *p = text;
    if (*p == '+' || *p == '-')
        p++;
    if (!isdigit((unsigned char)*p))
        return KN_NUM_SYNTAX;
    for (const char *q = p; *q; q++)
        if (!isdigit((unsigned char)*q))
            return KN_NUM_SYNTAX;
    errno = 0;
    char *end = NULL;
    long long v = strtoll(text, &end, 10);
    if (end == text || *end)
        return KN_NUM_SYNTAX;
    if (errno == ERANGE || v < INT64_MIN || v > INT64_MAX)
        return KN_NUM_RANGE;
    *out = (int64_t)v;
    return KN_NUM_OK;
}

kn_num_status kn_parse_u64(const char *text, uint64_t *out)
{
    if (!starts_clean(text))
        return KN_NUM_SYNTAX;
    const char *p = text;
    int negative = *p == '-';
    if (*p == '+' || *p == '-')
        p++;
    if (!isdigit((unsigned char)*p))
        return KN_NUM_SYNTAX;
    for (const char *q = p; *q; q++)
        if (!isdigit((unsigned char)*q))
            return KN_NUM_SYNTAX;
    if (negative) {
        /* "-0" is zero; any other negative number is out of range */
        for (const char *q = p; *q; q++)
            if (*q != '0')
                return KN_NUM_RANGE;
        *out = 0;
        return KN_NUM_OK;
    }
    errno = 0;
    char *end = NULL;
    unsigned long long v = strtoull(p, &end, 10);
    if (end == p || *end)
        return KN_NUM_SYNTAX;
    if (errno == ERANGE || v > UINT64_MAX)
        return KN_NUM_RANGE;
    *out = (uint64_t)v;
    return KN_NUM_OK;
}

kn_num_status kn_parse_f64(const char *text, double *out)
{
    if (!starts_clean(text))
        return KN_NUM_SYNTAX;
    /* strtod also reads "nan", "inf" and hexadecimal floats; only decimal numbers are values */
    for (const char *q = text; *q; q++)
        if (!(isdigit((unsigned char)*q) || *q == '.' || *q == 'e' || *q == 'E' || *q == '+' ||
              *q == '-'))
            return KN_NUM_SYNTAX;
    errno = 0;
    char *end = NULL;
    double v = strtod(text, &end);
    if (end == text || *end)
        return KN_NUM_SYNTAX;
    if (errno == ERANGE && isinf(v))
        return KN_NUM_RANGE;
    if (!isfinite(v))
        return KN_NUM_SYNTAX;
    *out = v;
    return KN_NUM_OK;
}

size_t kn_param_count(const kn_param_spec *table)
{
    size_t n = 0;
    while (table && table[n].name)
        n++;
    return n;
}

const kn_param_spec *kn_param_find(const kn_param_spec *table, const char *name)
{
    for (const kn_param_spec *p = table; p && p->name; p++)
        if (strcmp(p->name, name) == 0)
            return p;
    return NULL;
}

/* Is text one of the '|'-separated words? Returns its index or -1. */
static int choice_index(const char *choices, const char *text)
{
    size_t len = strlen(text);
    int i = 0;
    for (const char *w = choices; w && *w; i++) {
        const char *bar = strchr(w, '|');
        size_t wl = bar ? (size_t)(bar - w) : strlen(w);
        if (wl == len && strncmp(w, text, len) == 0)
            return i;
        if (!bar)
            break;
        w = bar + 1;
    }
    return -1;
}

/* 0/1 and the usual words; returns 0, 1, or -1 for anything else. */
static int bool_value(const char *text)
{
    static const char *const yes[] = {"1", "true", "yes", "on", NULL};
    static const char *const no[] = {"0", "false", "no", "off", NULL};
    for (int i = 0; yes[i]; i++) {
        if (strcmp(text, yes[i]) == 0)
            return 1;
        if (strcmp(text, no[i]) == 0)
            return 0;
    }
    return -1;
}

void kn_param_describe(const kn_param_spec *p, char *buf, size_t size)
{
    switch (p->type) {
    case KN_PARAM_INT:
        snprintf(buf, size, "an integer in [%.17g, %.17g]", p->min, p->max);
        return;
    case KN_PARAM_DOUBLE: {
        const int lo_open = (p->flags & KN_PARAM_MIN_OPEN) != 0;
        const int hi_open = (p->flags & KN_PARAM_MAX_OPEN) != 0 || isinf(p->max);
        char hi[32];
        if (isinf(p->max))
            snprintf(hi, sizeof hi, "inf");
        else
            snprintf(hi, sizeof hi, "%g", p->max);
        int w = snprintf(buf, size, "a number in %c%g, %s%c", lo_open ? '(' : '[', p->min, hi,
                         hi_open ? ')' : ']');
        /* The words a KN_PARAM_ROW_REAL_OR row also accepts. */
        if (p->choices && w > 0 && (size_t)w < size)
            snprintf(buf + w, size - (size_t)w, " or %s", p->choices);
        return;
    }
    case KN_PARAM_BOOL: snprintf(buf, size, "0 or 1"); return;
    case KN_PARAM_CHOICE: {
        size_t used = (size_t)snprintf(buf, size, "one of ");
        for (const char *c = p->choices; c && *c && used + 3 < size; c++) {
            if (*c == '|') {
                buf[used++] = ',';
                buf[used++] = ' ';
            } else {
                buf[used++] = *c;
            }
        }
        buf[used < size ? used : size - 1] = '\0';
        return;
    }
    }
    snprintf(buf, size, "?");
}

/* The parameter's name as the caller's users write it: "--k-fraction" (a command-line option)
 * or "k_fraction" (a Python keyword argument). */
static const char *spelled(const char *name, kn_param_spelling sp, char *buf, size_t cap)
{
    if (sp != KN_PARAM_SPELL_KEYWORD) {
        snprintf(buf, cap, "--%s", name ? name : "");
        return buf;
    }
    snprintf(buf, cap, "%s", name ? name : "");
    for (char *c = buf; *c; c++)
        if (*c == '-')
            *c = '_';
    return buf;
}

/* "<owner>: --<name>: '<text>' <problem>; accepted: <range>", or with the keyword spelling
 * "<owner>: <name>='<text>' <problem>; accepted: <range>". A well-formed number out of range is
 * shown without quotes (it is a number; the problem is its size). */
static int fail_value(const kn_param_spec *p, const char *owner, const char *text,
                      const char *problem, int quote, kn_param_spelling sp, kn_error *err)
{
    char accepted[160], name[80];
    kn_param_describe(p, accepted, sizeof accepted);
    spelled(p->name, sp, name, sizeof name);
    return kn_fail(err, KN_EINVAL, "%s%s%s%s%s%.60s%s %s; accepted: %s", owner ? owner : "",
                   owner ? ": " : "", name, sp == KN_PARAM_SPELL_KEYWORD ? "=" : ": ",
                   quote ? "'" : "", text, quote ? "'" : "", problem, accepted);
}

int kn_param_check(const kn_param_spec *p, const char *owner, const char *text, kn_error *err)
{
    return kn_param_check_spelled(p, owner, text, KN_PARAM_SPELL_OPTION, err);
}

int kn_param_check_spelled(const kn_param_spec *p, const char *owner, const char *text,
                           kn_param_spelling sp, kn_error *err)
{
    if (!text)
        return fail_value(p, owner, "", "has no value", 0, sp, err);
    switch (p->type) {
    case KN_PARAM_INT: {
        int64_t v;
        kn_num_status st = kn_parse_i64(text, &v);
        if (st == KN_NUM_SYNTAX)
            return fail_value(p, owner, text, "is not an integer", 1, sp, err);
        if (st == KN_NUM_RANGE || (double)v < p->min || (double)v > p->max)
            return fail_value(p, owner, text, "is out of range", 0, sp, err);
        return KN_OK;
    }
    case KN_PARAM_DOUBLE: {
        double v;
        if (p->choices && choice_index(p->choices, text) >= 0)
            return KN_OK;
        kn_num_status st = kn_parse_f64(text, &v);
        if (st == KN_NUM_SYNTAX)
            return fail_value(p, owner, text, "is not a number", 1, sp, err);
        const int lo_open = (p->flags & KN_PARAM_MIN_OPEN) != 0;
        const int hi_open = (p->flags & KN_PARAM_MAX_OPEN) != 0;
        if (st == KN_NUM_RANGE || (lo_open ? !(v > p->min) : !(v >= p->min)) ||
            (hi_open ? !(v < p->max) : !(v <= p->max)))
            return fail_value(p, owner, text, "is out of range", 0, sp, err);
        return KN_OK;
    }
    case KN_PARAM_BOOL:
        if (bool_value(text) < 0)
            return fail_value(p, owner, text, "is not a yes/no value", 1, sp, err);
        return KN_OK;
    case KN_PARAM_CHOICE:
        if (choice_index(p->choices, text) < 0)
            return fail_value(p, owner, text, "is not a known value", 1, sp, err);
        return KN_OK;
    }
    char name[80];
    return kn_fail(err, KN_EINVAL, "%s%s%s: unknown parameter type", owner ? owner : "",
                   owner ? ": " : "", spelled(p->name, sp, name, sizeof name));
}

static void list_names(const kn_param_spec *table, kn_param_spelling sp, char *buf, size_t cap)
{
    size_t used = 0;
    buf[0] = '\0';
    for (const kn_param_spec *p = table; p && p->name; p++) {
        char name[80];
        int w = snprintf(buf + used, cap - used, "%s%s", used ? ", " : "",
                         spelled(p->name, sp, name, sizeof name));
        if (w < 0 || (size_t)w >= cap - used)
            break;
        used += (size_t)w;
    }
    if (!used)
        snprintf(buf, cap, "none");
}

int kn_params_resolve(kn_params *out, const kn_param_spec *table, const char *owner,
                      const kn_kv *overrides, size_t n_overrides, kn_error *err)
{
    return kn_params_resolve_spelled(out, table, owner, overrides, n_overrides,
                                     KN_PARAM_SPELL_OPTION, err);
}

int kn_params_resolve_spelled(kn_params *out, const kn_param_spec *table, const char *owner,
                              const kn_kv *overrides, size_t n_overrides, kn_param_spelling sp,
                              kn_error *err)
{
    memset(out, 0, sizeof *out);
    const char *o = owner ? owner : "";
    const char *sep = owner ? ": " : "";
    size_t n = kn_param_count(table);
    if (n > KN_PARAMS_MAX)
        return kn_fail(err, KN_EINVAL, "%s%stable has %zu parameters (at most %d)", o, sep, n,
                       KN_PARAMS_MAX);
    out->table = table;
    out->n = n;
    for (size_t i = 0; i < n; i++)
        out->value[i] = table[i].default_value ? table[i].default_value : "";
    for (size_t k = 0; k < n_overrides; k++) {
        const kn_kv *kv = &overrides[k];
        if (!kv->key || !kv->value)
            return kn_fail(err, KN_EINVAL, "%s%soverride %zu has no key or value", o, sep, k);
        const int keyword = sp == KN_PARAM_SPELL_KEYWORD;
        char key[256]; /* as long as a key the option spelling printed before */
        spelled(kv->key, sp, key, sizeof key);
        for (size_t j = 0; j < k; j++)
            if (strcmp(kv->key, overrides[j].key) == 0)
                return kn_fail(err, KN_EINVAL, "%s%s%s %s given twice", o, sep,
                               keyword ? "parameter" : "option", key);
        size_t i = 0;
        while (i < n && strcmp(table[i].name, kv->key) != 0)
            i++;
        if (i == n) {
            char names[1024];
            list_names(table, sp, names, sizeof names);
            const char *what = keyword ? "parameter" : "option";
            if (owner)
                return kn_fail(err, KN_EINVAL, "unknown %s '%s' for %s (its %ss: %s)", what, key,
                               owner, what, names);
            return kn_fail(err, KN_EINVAL, "unknown %s '%s' (%ss: %s)", what, key, what, names);
        }
        out->value[i] = kv->value;
    }
    for (size_t i = 0; i < n; i++) {
        int rc = kn_param_check_spelled(&table[i], owner, out->value[i], sp, err);
        if (rc)
            return rc;
    }
    return KN_OK;
}

static const kn_param_spec *row_of(const kn_params *p, const char *name, kn_param_type type,
                                   const char **text, kn_error *err)
{
    for (size_t i = 0; i < p->n; i++)
        if (strcmp(p->table[i].name, name) == 0) {
            if (p->table[i].type != type) {
                kn_fail(err, KN_EINVAL, "parameter --%s read with the wrong type", name);
                return NULL;
            }
            *text = p->value[i];
            return &p->table[i];
        }
    kn_fail(err, KN_EINVAL, "no parameter --%s", name);
    return NULL;
}

int kn_params_int(const kn_params *p, const char *name, int *out, kn_error *err)
{
    const char *t;
    const kn_param_spec *r = row_of(p, name, KN_PARAM_INT, &t, err);
    int64_t v;
    if (!r)
        return KN_EINVAL;
    if (kn_parse_i64(t, &v) != KN_NUM_OK || v < INT_MIN || v > INT_MAX)
        return kn_fail(err, KN_EINVAL, "--%s: '%s' does not fit an int", name, t);
    *out = (int)v;
    return KN_OK;
}

int kn_params_double(const kn_params *p, const char *name, double *out, kn_error *err)
{
    const char *t;
    if (!row_of(p, name, KN_PARAM_DOUBLE, &t, err))
        return KN_EINVAL;
    if (kn_parse_f64(t, out) != KN_NUM_OK)
        return kn_fail(err, KN_EINVAL, "--%s: '%s' is not a number", name, t);
    return KN_OK;
}

int kn_params_bool(const kn_params *p, const char *name, int *out, kn_error *err)
{
    const char *t;
    if (!row_of(p, name, KN_PARAM_BOOL, &t, err))
        return KN_EINVAL;
    int b = bool_value(t);
    if (b < 0)
        return kn_fail(err, KN_EINVAL, "--%s: '%s' is not 0 or 1", name, t);
    *out = b;
    return KN_OK;
}

int kn_params_choice(const kn_params *p, const char *name, int *out, kn_error *err)
{
    const char *t;
    const kn_param_spec *r = row_of(p, name, KN_PARAM_CHOICE, &t, err);
    if (!r)
        return KN_EINVAL;
    int i = choice_index(r->choices, t);
    if (i < 0)
        return kn_fail(err, KN_EINVAL, "--%s: '%s' is not one of %s", name, t, r->choices);
    *out = i;
    return KN_OK;
}

const char *kn_params_text(const kn_params *p, const char *name)
{
    for (size_t i = 0; i < p->n; i++)
        if (strcmp(p->table[i].name, name) == 0)
            return p->value[i];
    return NULL;
}
