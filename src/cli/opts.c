/* Table-driven option parsing shared by every command; see opts.h. Written here because getopt_long
 * gives neither typed values with range errors nor generated help with defaults. Numbers are read
 * by the library's one number parser (kenyon/params.h). */
#include "opts.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void print_default(const kn_opt *o)
{
    switch (o->type) {
    case KN_OPT_FLAG: break;
    case KN_OPT_INT: printf(" (default %d)", *(int *)o->target); break;
    case KN_OPT_U64: printf(" (default %llu)", (unsigned long long)*(uint64_t *)o->target); break;
    case KN_OPT_DOUBLE: printf(" (default %g)", *(double *)o->target); break;
    case KN_OPT_STRING: {
        const char *s = *(const char **)o->target;
        if (s)
            printf(" (default %s)", s);
        break;
    }
    }
}

static const char *metavar(kn_opt_type t)
{
    switch (t) {
    case KN_OPT_INT: return " N";
    case KN_OPT_U64: return " N";
    case KN_OPT_DOUBLE: return " X";
    case KN_OPT_STRING: return " S";
    default: return "";
    }
}

void kn_opts_print_help(const kn_command_spec *spec)
{
    printf("usage: kenyon %s %s\n\n", spec->name, spec->usage ? spec->usage : "");
    if (spec->description)
        printf("%s\n\n", spec->description);
    printf("options:\n");
    for (const kn_opt *o = spec->opts; o && o->name; o++) {
        if (o->help == KN_OPT_ALIAS)
            continue;
        char left[64];
        snprintf(left, sizeof left, "--%s%s", o->name, metavar(o->type));
        printf("  %-24s %s", left, o->help ? o->help : "");
        print_default(o);
        printf("\n");
    }
    printf("  %-24s %s\n", "--help", "show this help");
}

static int set_value(const kn_command_spec *spec, const kn_opt *o, const char *v)
{
    kn_num_status st = KN_NUM_OK;
    const char *what = "";
    switch (o->type) {
    case KN_OPT_FLAG: *(int *)o->target = 1; return 0;
    case KN_OPT_INT: {
        int64_t x;
        what = "an integer";
        st = kn_parse_i64(v, &x);
        if (st == KN_NUM_OK && (x < INT_MIN || x > INT_MAX))
            st = KN_NUM_RANGE;
        if (st == KN_NUM_OK)
            *(int *)o->target = (int)x;
        break;
    }
    case KN_OPT_U64: {
        uint64_t x;
        what = "a non-negative integer";
        st = kn_parse_u64(v, &x);
        if (st == KN_NUM_OK)
            *(uint64_t *)o->target = x;
        break;
    }
    case KN_OPT_DOUBLE: {
        double x;
        what = "a number";
        st = kn_parse_f64(v, &x);
        if (st == KN_NUM_OK)
            *(double *)o->target = x;
        break;
    }
    case KN_OPT_STRING: *(const char **)o->target = v; return 0;
    }
    if (st == KN_NUM_OK)
        return 0;
    if (st == KN_NUM_RANGE)
        fprintf(stderr, "kenyon %s: --%s: %s is out of range (%s%s)\n", spec->name, o->name, v,
                what, o->type == KN_OPT_U64 ? " below 2^64" : o->type == KN_OPT_INT ? " of 32 bits" : "");
    else
        fprintf(stderr, "kenyon %s: --%s: '%s' is not a valid %s\n", spec->name, o->name, v,
                o->type == KN_OPT_DOUBLE ? "number" : o->type == KN_OPT_U64 ? "non-negative integer"
                                                                            : "integer");
    return -1;
}

static const kn_opt *find_opt(const kn_command_spec *spec, const char *name, size_t len)
{
    for (const kn_opt *p = spec->opts; p && p->name; p++)
        if (strlen(p->name) == len && strncmp(p->name, name, len) == 0)
            return p;
    return NULL;
}

/* Reads the value of option o at argv[*i] (advancing *i past a separate value). */
static int take_value(const kn_command_spec *spec, const kn_opt *o, const char *eq, int argc,
                      char **argv, int *i)
{
    const char *value = NULL;
    if (o->type == KN_OPT_FLAG) {
        if (eq) {
            fprintf(stderr, "kenyon %s: --%s takes no value\n", spec->name, o->name);
            return KN_OPTS_ERROR;
        }
    } else if (eq) {
        value = eq + 1;
    } else if (*i + 1 < argc) {
        value = argv[++*i];
    } else {
        fprintf(stderr, "kenyon %s: --%s needs a value\n", spec->name, o->name);
        return KN_OPTS_ERROR;
    }
    return set_value(spec, o, value) != 0 ? KN_OPTS_ERROR : KN_OPTS_OK;
}

int kn_opts_parse_extra(const kn_command_spec *spec, int argc, char **argv, kn_kv *extra,
                        size_t max_extra, size_t *n_extra)
{
    int help = 0;
    *n_extra = 0;
    for (int i = 0; i < argc; i++) {
        char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            help = 1;
            continue;
        }
        if (strncmp(a, "--", 2) != 0 || a[2] == '\0') {
            if (help)
                continue;
            fprintf(stderr, "kenyon %s: unexpected argument '%s' (see kenyon %s --help)\n",
                    spec->name, a, spec->name);
            return KN_OPTS_ERROR;
        }
        char *name = a + 2, *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        const kn_opt *o = find_opt(spec, name, len);
        if (o) {
            int rc = take_value(spec, o, eq, argc, argv, &i);
            if (rc != KN_OPTS_OK && !help)
                return rc;
            continue;
        }
        if (*n_extra == max_extra) {
            fprintf(stderr, "kenyon %s: more than %zu extra options\n", spec->name, max_extra);
            return KN_OPTS_ERROR;
        }
        if (!eq && i + 1 >= argc) {
            if (help)
                continue;
            fprintf(stderr, "kenyon %s: --%s needs a value\n", spec->name, name);
            return KN_OPTS_ERROR;
        }
        kn_kv *kv = &extra[(*n_extra)++];
        if (eq) {
            *eq = '\0';
            kv->key = name;
            kv->value = eq + 1;
        } else {
            kv->key = name;
            kv->value = argv[++i];
        }
    }
    if (help) {
        kn_opts_print_help(spec);
        return KN_OPTS_HELP;
    }
    return KN_OPTS_OK;
}

int kn_opts_parse(const kn_command_spec *spec, int argc, char **argv, const char **positional,
                  int max_positional, int *n_positional)
{
    int npos = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            kn_opts_print_help(spec);
            return KN_OPTS_HELP;
        }
        if (strncmp(a, "--", 2) != 0 || a[2] == '\0') {
            if (npos >= max_positional) {
                fprintf(stderr, "kenyon %s: unexpected argument '%s' (see kenyon %s --help)\n",
                        spec->name, a, spec->name);
                return KN_OPTS_ERROR;
            }
            positional[npos++] = a;
            continue;
        }
        const char *name = a + 2;
        const char *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        const kn_opt *o = find_opt(spec, name, len);
        if (!o) {
            fprintf(stderr, "kenyon %s: unknown option '--%.*s' (see kenyon %s --help)\n",
                    spec->name, (int)len, name, spec->name);
            return KN_OPTS_ERROR;
        }
        int rc = take_value(spec, o, eq, argc, argv, &i);
        if (rc != KN_OPTS_OK)
            return rc;
    }
    if (n_positional)
        *n_positional = npos;
    return KN_OPTS_OK;
}

int kn_opts_exit_code(int result) { return result == KN_OPTS_HELP ? 0 : 2; }

int kn_dispatch(const char *command, const kn_subcommand *table, int argc, char **argv)
{
    if (argc < 1 || strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0) {
        FILE *out = argc < 1 ? stderr : stdout;
        fprintf(out, "usage: kenyon %s <verb> [options]\n\nverbs:\n", command);
        for (const kn_subcommand *s = table; s->name; s++)
            fprintf(out, "  %-12s %s\n", s->name, s->summary);
        fprintf(out, "\nkenyon %s <verb> --help shows a verb's options.\n", command);
        return argc < 1 ? 2 : 0;
    }
    for (const kn_subcommand *s = table; s->name; s++)
        if (strcmp(s->name, argv[0]) == 0)
            return s->run(argc - 1, argv + 1);
    fprintf(stderr, "kenyon %s: unknown verb '%s' (see kenyon %s --help)\n", command, argv[0],
            command);
    return 2;
}
