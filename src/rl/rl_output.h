/* Private helpers shared by the TD and distributional-TD result writers: paths, atomic CSV files,
 * summary.json from cJSON, and the verdict list. */
#ifndef KENYON_RL_OUTPUT_H
#define KENYON_RL_OUTPUT_H

#include <cjson/cJSON.h>
#include <stdio.h>

#include "kenyon/error.h"
#include "kenyon/fileio.h"
#include "kenyon/td.h"

/* dir/name into buf (size cap); fails with a message when it does not fit. */
int kn_rl_path(char *buf, size_t cap, const char *dir, const char *name, kn_error *err);

/* Opens dir/name for an atomic write. */
int kn_rl_csv_open(kn_atomic_file *af, const char *dir, const char *name, kn_error *err);

/* Commits af after checking the stream for write errors (aborts it on failure). */
int kn_rl_csv_commit(kn_atomic_file *af, kn_error *err);

/* Adds "checks": [{what, measured, target, criterion, pass}] and "all_pass" to obj. */
int kn_rl_checks_json(cJSON *obj, const kn_rl_check *checks, int n);

/* Prints the verdict lines ("PASS  what: measured X, target criterion Y"). */
void kn_rl_checks_print(FILE *out, const kn_rl_check *checks, int n);

/* Fills one check. */
void kn_rl_check_set(kn_rl_check *c, const char *what, double measured, double target,
                     const char *criterion, int pass);

/* A number for JSON: NaN and infinities become null. */
cJSON *kn_rl_json_number(double x);

/* Serialises obj to dir/summary.json atomically. */
int kn_rl_json_write(const char *dir, const cJSON *obj, kn_error *err);

#endif
