/* Benchmark of loading a learner file (not a test): the memory it takes to read a model, next to
 * the file's size and the loaded learner's own size. Prints the resident set before loading, the
 * peak during loading (VmHWM, reset through /proc/self/clear_refs so start-up does not count),
 * the resident set once loaded, and the load time.
 *
 *   peak overhead = (peak during load) - (resident once loaded): what reading costs beyond the
 *                   learner itself; "read once" means it stays well under the file size.
 *
 * usage: bench_model_load FILE.safetensors */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "kenyon/learner.h"
#include "kenyon/progress.h"

/* A "VmXxx:   1234 kB" line of /proc/self/status, in kB (-1 if missing). */
static long status_kb(const char *key)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long v = -1;
    size_t n = strlen(key);
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, key, n) == 0 && line[n] == ':')
            v = strtol(line + n + 1, NULL, 10);
    if (f)
        fclose(f);
    return v;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: bench_model_load FILE.safetensors\n");
        return 2;
    }
    struct stat st;
    if (stat(argv[1], &st) != 0) {
        fprintf(stderr, "bench_model_load: cannot stat %s\n", argv[1]);
        return 1;
    }
    /* Reset the high-water mark so the peak is that of the load alone. */
    FILE *cr = fopen("/proc/self/clear_refs", "w");
    if (cr) {
        fputs("5", cr);
        fclose(cr);
    }
    long before = status_kb("VmRSS");
    double t0 = kn_seconds();
    kn_learner *l = NULL;
    kn_error err;
    if (kn_learner_load(argv[1], &l, &err)) {
        fprintf(stderr, "bench_model_load: %s\n", err.msg);
        return 1;
    }
    double secs = kn_seconds() - t0;
    long after = status_kb("VmRSS"), peak = status_kb("VmHWM");
    double file_mb = (double)st.st_size / 1048576.0;
    printf("model %s: method %s, file %.1f MB\n", argv[1], l->method->name, file_mb);
    printf("resident before %.1f MB, peak during load %.1f MB, resident once loaded %.1f MB\n",
           before / 1024.0, peak / 1024.0, after / 1024.0);
    printf("load: +%.1f MB peak over before (%.2fx the file), overhead beyond the loaded "
           "learner %.1f MB (%.2fx the file); %.3f s\n",
           (peak - before) / 1024.0, (peak - before) / 1024.0 / file_mb, (peak - after) / 1024.0,
           (peak - after) / 1024.0 / file_mb, secs);
    kn_learner_free(l);
    return 0;
}
