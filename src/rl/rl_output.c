/* Shared output helpers for the TD and distributional-TD writers (see rl_output.h). */
#include "rl/rl_output.h"

#include <errno.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

int kn_rl_path(char *buf, size_t cap, const char *dir, const char *name, kn_error *err)
{
    int n = snprintf(buf, cap, "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= cap)
        return kn_fail(err, KN_EINVAL, "%s: output path too long", dir);
    return 0;
}

int kn_rl_csv_open(kn_atomic_file *af, const char *dir, const char *name, kn_error *err)
{
    char path[4096];
    int rc = kn_rl_path(path, sizeof path, dir, name, err);
    if (rc)
        return rc;
    return kn_atomic_open(af, path, err);
}

int kn_rl_csv_commit(kn_atomic_file *af, kn_error *err)
{
    if (ferror(af->fp)) {
        int rc = kn_fail_path(err, KN_EIO, af->final_path, "write failed", errno ? errno : EIO);
        kn_atomic_abort(af);
        return rc;
    }
    return kn_atomic_commit(af, err);
}

void kn_rl_check_set(kn_rl_check *c, const char *what, double measured, double target,
                     const char *criterion, int pass)
{
    memset(c, 0, sizeof *c);
    snprintf(c->what, sizeof c->what, "%s", what);
    snprintf(c->criterion, sizeof c->criterion, "%s", criterion);
    c->measured = measured;
    c->target = target;
    c->pass = pass;
}

cJSON *kn_rl_json_number(double x)
{
    return isfinite(x) ? cJSON_CreateNumber(x) : cJSON_CreateNull();
}

int kn_rl_checks_json(cJSON *obj, const kn_rl_check *checks, int n)
{
    cJSON *arr = cJSON_AddArrayToObject(obj, "checks");
    if (!arr)
        return -1;
    int all = 1;
    for (int i = 0; i < n; i++) {
        cJSON *c = cJSON_CreateObject();
        if (!c)
            return -1;
        cJSON_AddItemToArray(arr, c);
        cJSON_AddStringToObject(c, "what", checks[i].what);
        cJSON_AddItemToObject(c, "measured", kn_rl_json_number(checks[i].measured));
        cJSON_AddItemToObject(c, "target", kn_rl_json_number(checks[i].target));
        cJSON_AddStringToObject(c, "criterion", checks[i].criterion);
        cJSON_AddBoolToObject(c, "pass", checks[i].pass);
        all &= checks[i].pass != 0;
    }
    return cJSON_AddBoolToObject(obj, "all_pass", all) ? 0 : -1;
}

void kn_rl_checks_print(FILE *out, const kn_rl_check *checks, int n)
{
    for (int i = 0; i < n; i++)
        fprintf(out, "  %s  %s: measured %.6g, target %s %.6g\n", checks[i].pass ? "PASS" : "FAIL",
                checks[i].what, checks[i].measured, checks[i].criterion, checks[i].target);
}

int kn_rl_json_write(const char *dir, const cJSON *obj, kn_error *err)
{
    char path[4096];
    int rc = kn_rl_path(path, sizeof path, dir, "summary.json", err);
    if (rc)
        return rc;
    char *text = cJSON_Print(obj);
    if (!text)
        return kn_fail(err, KN_ENOMEM, "%s: out of memory while formatting JSON", path);
    size_t len = strlen(text);
    text[len] = '\n'; /* the file ends with a newline instead of the terminator */
    rc = kn_write_file_atomic(path, text, len + 1, err);
    cJSON_free(text);
    return rc;
}
