/* Typed parameters that check themselves.
 *
 * A parameter is a row of a table (kn_param_spec): a name, a type (integer, real number, yes/no
 * switch, or one of a list of words), the accepted range, a default and a line of help. Values
 * arrive as text (a command-line option, a `key=value` item of a benchmark list, the metadata of
 * a model file) and are read by one number parser, so every entry point accepts and refuses the
 * same things with the same messages. A message always names the parameter, the value and what
 * is accepted, e.g.
 *
 *     method vanilla: --lr: 1e308 is out of range; accepted: a number in (0, 1e+06]
 *     method fly: --m: 99999999999 is out of range; accepted: an integer in [1, 1048576]
 *     method fly: --m: '12x' is not an integer; accepted: an integer in [1, 1048576]
 *
 * and, for the Python package (kn_param_spelling), method fly: m=99999999999 is out of range.
 *
 * Resolving a table against overrides (kn_params_resolve) allocates nothing: the resolved set
 * holds pointers to the default texts and to the caller's override texts, so it is valid as long
 * as both are. A method may add a check across its parameters that needs no data (see
 * kn_method.check in kenyon/learner.h).
 *
 * The liblinear idea: check everything before any work starts, and say exactly what is wrong. */
#ifndef KENYON_PARAMS_H
#define KENYON_PARAMS_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "kenyon/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- One number parser ------------------------------------------------------------------ */

typedef enum {
    KN_NUM_OK = 0,
    KN_NUM_SYNTAX = 1, /* not a number of the asked kind (empty, trailing text, "1.5" for int) */
    KN_NUM_RANGE = 2,  /* well formed, but does not fit the type (overflow, "-1" for unsigned) */
} kn_num_status;

/* Decimal integers with an optional sign ("-12", "+7"); no spaces, no trailing text. A value
 * too large for int64_t is KN_NUM_RANGE (not a syntax error). */
kn_num_status kn_parse_i64(const char *text, int64_t *out);
/* Non-negative decimal integers; a leading '-' is KN_NUM_RANGE. */
kn_num_status kn_parse_u64(const char *text, uint64_t *out);
/* Finite real numbers in C syntax ("0.01", "1e-3", "-2"). NaN and infinity are KN_NUM_SYNTAX;
 * a value beyond double's range ("1e999") is KN_NUM_RANGE; one that underflows becomes 0 or a
 * subnormal and is KN_NUM_OK. */
kn_num_status kn_parse_f64(const char *text, double *out);

/* ---- Parameter tables ------------------------------------------------------------------- */

typedef enum {
    KN_PARAM_INT,    /* an integer in [min, max] (limits as doubles, so at most 2^53) */
    KN_PARAM_DOUBLE, /* a finite real number between min and max (ends open or closed) */
    KN_PARAM_BOOL,   /* 0/1 (also true/false, yes/no, on/off) */
    KN_PARAM_CHOICE, /* one word of `choices` ("offline|online") */
} kn_param_type;

/* Flags of a row. */
enum {
    KN_PARAM_MIN_OPEN = 1u << 0, /* DOUBLE: min itself is refused: (min, ... */
    KN_PARAM_MAX_OPEN = 1u << 1, /* DOUBLE: max itself is refused: ..., max) */
    KN_PARAM_RUN_ONLY = 1u << 2, /* affects how a run is shown, not what it computes (e.g. a
                                    verbose switch): not stored in model files; a loaded model
                                    takes the default */
};

typedef struct kn_param_spec {
    const char *name;          /* the option without "--" ("k-fraction"); NULL ends a table */
    kn_param_type type;
    const char *default_value; /* as text; must itself pass the checks (tests verify) */
    const char *help;          /* one line */
    double min, max;           /* INT and DOUBLE: the accepted range (see the flags) */
    unsigned flags;
    const char *choices;       /* CHOICE: the words, separated by '|'; DOUBLE: words accepted
                                  besides numbers (KN_PARAM_ROW_REAL_OR), or NULL */
} kn_param_spec;

/* Table rows, so the tables read as a list of declarations. */
#define KN_PARAM_ROW_INT(name, def, lo, hi, help) {name, KN_PARAM_INT, def, help, lo, hi, 0, NULL}
#define KN_PARAM_ROW_REAL(name, def, lo, hi, flags, help)                                        \
    {name, KN_PARAM_DOUBLE, def, help, lo, hi, flags, NULL}
/* A real parameter that also accepts the '|'-separated words (e.g. "auto|gcv" for a penalty
 * chosen from the data); read it with kn_params_text, or kn_params_double when not a word. */
#define KN_PARAM_ROW_REAL_OR(name, def, lo, hi, flags, words, help)                              \
    {name, KN_PARAM_DOUBLE, def, help, lo, hi, flags, words}
#define KN_PARAM_ROW_BOOL(name, def, help) {name, KN_PARAM_BOOL, def, help, 0, 1, 0, NULL}
#define KN_PARAM_ROW_CHOICE(name, def, choices, help)                                            \
    {name, KN_PARAM_CHOICE, def, help, 0, 0, 0, choices}
#define KN_PARAM_ROW_END {NULL, KN_PARAM_INT, NULL, NULL, 0, 0, 0, NULL}
/* No upper limit for a real parameter. */
#define KN_PARAM_UNBOUNDED INFINITY

/* How a message names a parameter: as the command line spells it ("--k-fraction: 2 is out of
 * range", the default of every function without _spelled) or as a keyword argument of the
 * Python package ("k_fraction=2 is out of range"; unknown names are then "parameters", not
 * "options"). The check itself is the same. */
typedef enum {
    KN_PARAM_SPELL_OPTION = 0,
    KN_PARAM_SPELL_KEYWORD = 1,
} kn_param_spelling;

/* Checks one value text against its row: parsed by the parser above, then the range / the
 * words. `owner` prefixes the message ("method fly", "kenyon run"); may be NULL. */
int kn_param_check(const kn_param_spec *p, const char *owner, const char *text, kn_error *err);
/* The same, with the message's spelling of the parameter chosen by the caller. */
int kn_param_check_spelled(const kn_param_spec *p, const char *owner, const char *text,
                           kn_param_spelling sp, kn_error *err);

/* Writes what the row accepts ("an integer in [1, 1048576]", "a number in (0, 1]", "0 or 1",
 * "one of offline, online") into buf. */
void kn_param_describe(const kn_param_spec *p, char *buf, size_t size);

/* Number of rows of a table (up to the NULL name). */
size_t kn_param_count(const kn_param_spec *table);
/* The row called name, or NULL. */
const kn_param_spec *kn_param_find(const kn_param_spec *table, const char *name);

/* ---- Resolved sets ---------------------------------------------------------------------- */

/* A key=value pair (overrides given by a caller, or a learner's resolved parameters). */
typedef struct kn_kv {
    const char *key;
    const char *value;
} kn_kv;

/* The most rows a table may have. */
#define KN_PARAMS_MAX 32

/* A table resolved against overrides: value[i] is the text of row i (an override's text if one
 * was given, else the row's default). Holds pointers only; see the top comment. */
typedef struct kn_params {
    const kn_param_spec *table;
    size_t n;
    const char *value[KN_PARAMS_MAX];
} kn_params;

/* Resolves table against overrides: an unknown key (message lists the table's options), a key
 * given twice, or a value that fails its row's check is an error naming it. owner as above. */
int kn_params_resolve(kn_params *out, const kn_param_spec *table, const char *owner,
                      const kn_kv *overrides, size_t n_overrides, kn_error *err);
/* The same, with the messages' spelling chosen by the caller (the keys of `overrides` are the
 * table's names, with '-', whatever the spelling). */
int kn_params_resolve_spelled(kn_params *out, const kn_param_spec *table, const char *owner,
                              const kn_kv *overrides, size_t n_overrides, kn_param_spelling sp,
                              kn_error *err);

/* Typed reads of a resolved set. The values were checked when resolved, so these cannot fail
 * for a row of the right type; asking for a name the table lacks, or with the wrong type,
 * returns KN_EINVAL (a programming error, reported rather than aborted). */
int kn_params_int(const kn_params *p, const char *name, int *out, kn_error *err);
int kn_params_double(const kn_params *p, const char *name, double *out, kn_error *err);
int kn_params_bool(const kn_params *p, const char *name, int *out, kn_error *err);
/* CHOICE: the index of the value in the row's words. */
int kn_params_choice(const kn_params *p, const char *name, int *out, kn_error *err);
/* The text of any row, or NULL if the table has no such row. */
const char *kn_params_text(const kn_params *p, const char *name);

#ifdef __cplusplus
}
#endif
#endif
