/* Embedding kenyon: a FlyModel learns two tasks of a toy stream on a device-sized budget, through
 * the same learner interface the CLI uses, then saves itself. It needs only the embeddable core
 * (kenyon/core.h, libkenyon_core). Built with the project against the shared core and run by the
 * test suite, and built again against an installed kenyon by tests/install, so it cannot rot:
 *
 *   cc embed_fly.c $(pkg-config --cflags --libs kenyon-core)
 *   or, in CMake: find_package(kenyon) and target_link_libraries(app PRIVATE kenyon::core) */
#include <stdio.h>
#include <stdlib.h>

#include "kenyon/core.h"

#define D 16
#define PER_CLASS 50

/* Four classes, each a bump over its own quarter of the input. */
static void sample(kn_rng *rng, int label, float *x)
{
    for (int j = 0; j < D; j++)
        x[j] = (float)((j / 4 == label ? 1.0 : 0.1) + 0.05 * kn_rng_normal(rng));
}

int main(int argc, char **argv)
{
    const char *model_path = argc > 1 ? argv[1] : "embed_fly.safetensors";
    kn_error err;
    kn_learner *fly = NULL;
    kn_learner_info info = {.d = D, .n_classes = 4, .seed = 1};
    /* Hyperparameters are key=value overrides of the method's documented defaults. */
    kn_kv params[] = {{"m", "400"}, {"k", "20"}, {"c", "4"}};
    if (kn_learner_create("fly", &info, params, 3, &fly, &err)) {
        fprintf(stderr, "create: %s\n", err.msg);
        return 1;
    }
    kn_rng rng;
    kn_rng_seed(&rng, 7);
    float x[PER_CLASS * 2 * D];
    int32_t y[PER_CLASS * 2];
    for (int task = 0; task < 2; task++) {
        int32_t classes[2] = {2 * task, 2 * task + 1};
        for (int i = 0; i < PER_CLASS * 2; i++) {
            y[i] = classes[i % 2];
            sample(&rng, y[i], x + i * D);
        }
        if (kn_learner_begin_task(fly, task, classes, 2, &err) ||
            kn_learner_observe(fly, x, y, PER_CLASS * 2, &err) || kn_learner_end_task(fly, &err)) {
            fprintf(stderr, "task %d: %s\n", task, err.msg);
            kn_learner_free(fly);
            return 1;
        }
    }
    /* Class-incremental test: no task id, argmax over the four classes seen. */
    uint8_t allowed[4] = {1, 1, 1, 1};
    int correct = 0;
    for (int i = 0; i < 200; i++) {
        float xi[D];
        int32_t label = i % 4, pred;
        sample(&rng, label, xi);
        if (kn_learner_predict_labels(fly, xi, 1, allowed, &pred, &err)) {
            fprintf(stderr, "predict: %s\n", err.msg);
            kn_learner_free(fly);
            return 1;
        }
        correct += pred == label;
    }
    int rc = kn_learner_save(fly, model_path, &err);
    if (rc)
        fprintf(stderr, "save: %s\n", err.msg);
    kn_learner_free(fly);
    printf("accuracy %.3f on 4 classes learned in 2 tasks; model saved to %s\n", correct / 200.0,
           model_path);
    return rc ? 1 : correct >= 180 ? 0 : 1;
}
