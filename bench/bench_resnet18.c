/* Benchmark of ResNet-18 feature extraction (not a test): images per second of the paper's
 * pipeline (CIFAR 3 x 32 x 32 -> resize 299, centre crop, ImageNet normalisation -> ResNet-18 ->
 * 512 features) on random images, the minimum over repeats, and the peak resident set (VmHWM).
 * The peer, torchvision on the same weights and image count, is bench/peers/resnet18_torch.py.
 *
 * usage: bench_resnet18 MODEL.safetensors [images 16] [batch 8] [repeats 3] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kenyon/clock.h"
#include "kenyon/gemm.h"
#include "kenyon/resnet18.h"

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
    if (argc < 2 || argc > 5) {
        fprintf(stderr, "usage: bench_resnet18 MODEL.safetensors [images] [batch] [repeats]\n");
        return 2;
    }
    kn_blas_fix_kernel(argv);
    int n = argc > 2 ? atoi(argv[2]) : 16, batch = argc > 3 ? atoi(argv[3]) : 8;
    int repeats = argc > 4 ? atoi(argv[4]) : 3;
    if (n < 1 || batch < 1 || repeats < 1) {
        fprintf(stderr, "bench_resnet18: images, batch and repeats must be positive\n");
        return 2;
    }
    kn_error err;
    kn_resnet18 *net = NULL;
    if (kn_resnet18_load(argv[1], &net, &err)) {
        fprintf(stderr, "bench_resnet18: %s\n", err.msg);
        return 1;
    }
    const size_t per = 3 * 32 * 32;
    float *img = malloc((size_t)n * per * sizeof *img);
    float *feats = malloc((size_t)n * KN_RESNET18_FEATURES * sizeof *feats);
    if (!img || !feats) {
        fprintf(stderr, "bench_resnet18: out of memory\n");
        return 1;
    }
    unsigned s = 1;
    for (size_t i = 0; i < (size_t)n * per; i++) {
        s = s * 1664525u + 1013904223u;
        img[i] = (float)(s >> 24) / 255.0f;
    }
    char desc[256];
    printf("%s\n", kn_gemm_describe(desc, sizeof desc));
    double best = 1e300;
    for (int r = 0; r < repeats; r++) {
        double t0 = kn_seconds();
        if (kn_resnet18_features_images(net, img, (size_t)n, 3, 32, 32, batch, feats, NULL, NULL,
                                        &err)) {
            fprintf(stderr, "bench_resnet18: %s\n", err.msg);
            return 1;
        }
        double t = kn_seconds() - t0;
        printf("repeat %d: %d images in %.3f s (%.3f images/s)\n", r + 1, n, t, n / t);
        if (t < best)
            best = t;
    }
    printf("kenyon resnet18: %d images, batch %d: best %.3f s = %.3f images/s; peak RSS %.0f MB\n",
           n, batch, best, n / best, status_kb("VmHWM") / 1024.0);
    printf("first features: %.6g %.6g %.6g\n", feats[0], feats[1], feats[2]);
    free(img);
    free(feats);
    kn_resnet18_free(net);
    return 0;
}
