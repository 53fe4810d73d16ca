/* Command-line options for every kenyon command: one table per command gives each option's name,
 * type, destination and help; the destination's value before parsing is the default shown in
 * --help. Errors name the option and the bad value. */
#ifndef KENYON_CLI_OPTS_H
#define KENYON_CLI_OPTS_H

#include <stddef.h>
#include <stdint.h>

#include "kenyon/params.h"

typedef enum {
    KN_OPT_FLAG,   /* int*: set to 1 when present (no value) */
    KN_OPT_INT,    /* int* */
    KN_OPT_U64,    /* uint64_t* (seeds) */
    KN_OPT_DOUBLE, /* double* */
    KN_OPT_STRING, /* const char**: points into argv */
} kn_opt_type;

typedef struct kn_opt {
    const char *name; /* long name without the leading "--"; NULL ends the table */
    kn_opt_type type;
    void *target;
    const char *help; /* KN_OPT_ALIAS: an old spelling of the option before it, kept so old
                         command lines work; not listed in --help */
} kn_opt;

#define KN_OPT_ALIAS NULL

typedef struct kn_command_spec {
    const char *name;        /* full command path, e.g. "data fetch" */
    const char *usage;       /* e.g. "[--dir DIR]" */
    const char *description; /* one paragraph */
    kn_opt *opts;
} kn_command_spec;

enum { KN_OPTS_OK = 0, KN_OPTS_HELP = 1, KN_OPTS_ERROR = 2 };

/* Parses argv[0..argc) (argv[0] is the first argument after the command words). Accepts
 * "--name value" and "--name=value". Non-option arguments are collected in order into
 * positional (at most max_positional; more is an error). On --help prints the help to stdout and
 * returns KN_OPTS_HELP; on a bad option prints an error to stderr and returns KN_OPTS_ERROR. */
int kn_opts_parse(const kn_command_spec *spec, int argc, char **argv, const char **positional,
                  int max_positional, int *n_positional);

/* Like kn_opts_parse without positional arguments, but an option the table does not know is
 * collected into extra as key/value ("--key value" or "--key=value"; the key is NUL-terminated
 * in place in argv for the second form) instead of being an error: `kenyon run` passes these to
 * the method, whose parameter table checks them. --help anywhere prints the help after every
 * other option has been read (so the caller can add to it, e.g. the method's options) and
 * returns KN_OPTS_HELP. */
int kn_opts_parse_extra(const kn_command_spec *spec, int argc, char **argv, kn_kv *extra,
                        size_t max_extra, size_t *n_extra);

void kn_opts_print_help(const kn_command_spec *spec);

/* Exit status for a parse result: 0 for help, 2 for errors; only call when result != OK. */
int kn_opts_exit_code(int result);

/* Sub-command dispatch for commands with verbs ("data fetch", "rl td"). */
typedef struct kn_subcommand {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv); /* argv[0] is the first argument after the verb */
} kn_subcommand;

/* Runs the verb named by argv[0] from table (NULL-terminated); prints the list on --help or
 * no verb; errors on an unknown verb. */
int kn_dispatch(const char *command, const kn_subcommand *table, int argc, char **argv);

#endif
