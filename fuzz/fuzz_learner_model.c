/* libFuzzer target for the continual-learner model reader (kn_learner_load: the common part and
 * every method's load, e.g. ncm, slda, ranpac, er, fly-ridge): the input bytes are written to a
 * temporary file (the reader takes a path) and loaded; a learner that loads also predicts one
 * all-zero sample, so whatever passes validation must be usable. Any crash, leak or sanitizer
 * report is a bug. Seeds: fuzz/corpus/learner_model (small models of the one-pass learners). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "kenyon/learner.h"

static const char *scratch_path(void)
{
    static char path[64];
    if (!path[0])
        snprintf(path, sizeof path, "/tmp/kenyon-fuzz-learner-%ld.safetensors", (long)getpid());
    return path;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = scratch_path();
    FILE *f = fopen(path, "wb");
    if (!f)
        return 0;
    if (size)
        fwrite(data, 1, size, f);
    fclose(f);
    kn_error err;
    kn_learner *l = NULL;
    if (kn_learner_load(path, &l, &err) == 0) {
        if (l->info.d <= 4096 && l->info.n_classes <= 4096) {
            float *x = calloc(l->info.d, sizeof *x);
            float *sc = malloc((size_t)l->info.n_classes * sizeof *sc);
            if (x && sc)
                (void)kn_learner_predict_scores(l, x, 1, sc, &err);
            free(x);
            free(sc);
        }
        kn_learner_free(l);
    }
    unlink(path);
    return 0;
}
