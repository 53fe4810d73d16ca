/* libFuzzer target for every kenyon model file: the input bytes are written to a temporary file
 * (the loaders take a path) and loaded as a learner of any method (kn_learner_load dispatches on
 * kenyon.method: the common part and every method's own load) and as a LeNet5 feature extractor.
 * A learner that loads is then used: scores for an all-zero and a non-zero input, and one more
 * task of training, so tampered state that passed the checks (GEM's and offline's memories,
 * fly-ridge's and ranpac's Gram matrices, slda's covariance, er's reservoir, ...) is exercised
 * too. Any crash, leak or sanitizer report is a bug. Seeds: fuzz/corpus/model_file (a small model
 * of each method: the paper's methods, the one-pass learners and a LeNet5 part). */
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "kenyon/features.h"
#include "kenyon/learner.h"
#include "scratch_file.h"

static void exercise(kn_learner *l)
{
    const size_t d = l->info.d;
    const int C = l->info.n_classes;
    if (d > 4096 || C > 1024)
        return; /* large but valid models: loading them was the test */
    kn_error err;
    float *x = calloc(2 * d, sizeof *x), *scores = calloc(2 * (size_t)C, sizeof *scores);
    if (x && scores) {
        for (size_t j = 0; j < d; j++)
            x[j] = (float)(j % 3); /* sample 1 stays all zero */
        (void)kn_learner_predict_scores(l, x, 2, scores, &err);
        int32_t cls[1] = {C - 1}, y[2] = {C - 1, C - 1};
        if (kn_learner_begin_task(l, l->task + 1, cls, 1, &err) == 0) {
            (void)kn_learner_observe(l, x, y, 2, &err);
            (void)kn_learner_end_task(l, &err);
            (void)kn_learner_predict_scores(l, x, 2, scores, &err);
        }
    }
    free(x);
    free(scores);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_scratch_write("model", ".safetensors", data, size);
    if (!path)
        return 0;
    kn_error err;
    kn_learner *l = NULL;
    if (kn_learner_load(path, &l, &err) == 0) {
        exercise(l);
        kn_learner_free(l);
    }
    kn_net *net = NULL;
    if (kn_lenet5_load(path, &net, &err) == 0)
        kn_net_free(net);
    unlink(path);
    return 0;
}
