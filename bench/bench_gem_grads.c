/* Benchmark: GEM's memory gradients, the gradient of the loss on n memories of each of P past
 * tasks through GEM's net (784 -> H ReLU -> H BatchNorm ReLU -> 20, training mode), done three
 * ways, interleaved, best of the repeats (wall and process CPU seconds):
 *   per-task  one kn_net_zero_grad + kn_net_loss_grad + copy of the gradient per task (what GEM
 *             did before kn_net_group_grads);
 *   grouped   kn_net_group_grads (the gradients straight into the rows, no copies).
 * It also checks that the two give bit-identical gradient rows and running statistics.
 *
 *   bench_gem_grads [--threads N] [--tasks P] [--rows n] [--hidden H] [--repeats R]
 *
 * Defaults: 2 threads, P 9 (the last task of MNIST-20), n 256, H 3200, 3 repeats. Data are
 * synthetic (uniform pixels, cycling labels): the speed does not depend on the values. FLOPs per
 * task: 2 n (2 d H + 3 H^2 + 3 H C) (forward, weight gradients, input gradients but the first
 * layer's). */
#include <cblas.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kenyon/gemm.h"
#include "kenyon/nn.h"

static double clock_s(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static kn_net *gem_net(int d, int H, int C, kn_error *err)
{
    kn_net *net;
    if (kn_net_create(&net, d, 1, 1, err))
        return NULL;
    kn_rng rng;
    kn_rng_seed(&rng, 1);
    if (kn_net_add_dense(net, H, err) || kn_net_add_relu(net, err) ||
        kn_net_add_dense(net, H, err) || kn_net_add_batchnorm(net, err) ||
        kn_net_add_relu(net, err) || kn_net_add_dense(net, C, err) ||
        kn_net_build(net, &rng, err)) {
        kn_net_free(net);
        return NULL;
    }
    return net;
}

int main(int argc, char **argv)
{
    (void)kn_blas_fix_kernel(argv); /* the right OpenBLAS kernel, as the CLI does */
    int threads = 2, P = 9, n = 256, H = 3200, R = 3;
    const int d = 784, C = 20;
    for (int i = 1; i + 1 < argc; i += 2) {
        int v = atoi(argv[i + 1]);
        if (v <= 0) {
            fprintf(stderr, "bench_gem_grads: %s needs a positive integer\n", argv[i]);
            return 2;
        }
        if (!strcmp(argv[i], "--threads"))
            threads = v;
        else if (!strcmp(argv[i], "--tasks"))
            P = v;
        else if (!strcmp(argv[i], "--rows"))
            n = v;
        else if (!strcmp(argv[i], "--hidden"))
            H = v;
        else if (!strcmp(argv[i], "--repeats"))
            R = v;
        else {
            fprintf(stderr, "bench_gem_grads: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    openblas_set_num_threads(threads);
    omp_set_num_threads(threads);
    kn_error err;
    kn_net *net[2] = {gem_net(d, H, C, &err), gem_net(d, H, C, &err)};
    if (!net[0] || !net[1]) {
        fprintf(stderr, "bench_gem_grads: %s\n", err.msg);
        return 1;
    }
    const size_t np = kn_net_n_params(net[0]), nb = kn_net_n_buffers(net[0]);
    float **x = malloc((size_t)P * sizeof *x);
    int32_t **y = malloc((size_t)P * sizeof *y);
    size_t *rows = malloc((size_t)P * sizeof *rows);
    float *G[2];
    for (int m = 0; m < 2; m++)
        G[m] = malloc((size_t)P * np * sizeof(float));
    if (!x || !y || !rows || !G[0] || !G[1]) {
        fprintf(stderr, "bench_gem_grads: out of memory\n");
        return 1;
    }
    kn_rng rng;
    kn_rng_seed(&rng, 2);
    for (int k = 0; k < P; k++) {
        rows[k] = (size_t)n;
        x[k] = malloc((size_t)n * d * sizeof(float));
        y[k] = malloc((size_t)n * sizeof(int32_t));
        if (!x[k] || !y[k]) {
            fprintf(stderr, "bench_gem_grads: out of memory\n");
            return 1;
        }
        for (size_t i = 0; i < (size_t)n * d; i++)
            x[k][i] = (float)kn_rng_uniform(&rng);
        for (int i = 0; i < n; i++)
            y[k][i] = (int32_t)((i + k) % C);
    }
    kn_net_group_ws *ws = kn_net_group_ws_create();
    if (!ws) {
        fprintf(stderr, "bench_gem_grads: out of memory\n");
        return 1;
    }
    char desc[256];
    printf("%s\n", kn_gemm_describe(desc, sizeof desc));
    printf("GEM memory gradients: %d tasks x %d rows, 784-%d-%d-20, %d threads, best of %d\n", P,
           n, H, H, threads, R);
    static const char *names[2] = {"per-task", "grouped"};
    double best_wall[2] = {1e30, 1e30}, best_cpu[2] = {1e30, 1e30};
    for (int r = 0; r < R; r++) {
        for (int m = 0; m < 2; m++) {
            double w0 = clock_s(CLOCK_MONOTONIC), c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
            int rc = 0;
            if (m == 0) {
                for (int k = 0; k < P && !rc; k++) {
                    kn_net_zero_grad(net[0]);
                    rc = kn_net_loss_grad(net[0], x[k], y[k], rows[k], NULL, NULL, &err);
                    memcpy(G[0] + (size_t)k * np, kn_net_grads(net[0]), np * sizeof(float));
                }
            } else {
                rc = kn_net_group_grads(net[1], ws, (const float *const *)x,
                                        (const int32_t *const *)y, rows, P, G[1], np, &err);
            }
            double dw = clock_s(CLOCK_MONOTONIC) - w0, dc = clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
            if (rc) {
                fprintf(stderr, "bench_gem_grads: %s\n", err.msg);
                return 1;
            }
            if (dw < best_wall[m])
                best_wall[m] = dw;
            if (dc < best_cpu[m])
                best_cpu[m] = dc;
        }
    }
    const double flops = 2.0 * n * P * (2.0 * d * H + 3.0 * H * H + 3.0 * H * C);
    for (int m = 0; m < 2; m++)
        printf("%-9s wall %.3f s  cpu %.3f s  %.1f GFLOP/s (wall)\n", names[m], best_wall[m],
               best_cpu[m], flops / best_wall[m] / 1e9);
    int same = 1;
    for (int m = 1; m < 2; m++) {
        int s = memcmp(G[0], G[m], (size_t)P * np * sizeof(float)) == 0 &&
                memcmp(kn_net_buffers(net[0]), kn_net_buffers(net[m]), nb * sizeof(float)) == 0;
        printf("%s against per-task: gradients and running statistics %s\n", names[m],
               s ? "bit-identical" : "DIFFER");
        same &= s;
    }
    for (int k = 0; k < P; k++) {
        free(x[k]);
        free(y[k]);
    }
    free(x);
    free(y);
    free(rows);
    for (int m = 0; m < 2; m++) {
        free(G[m]);
        kn_net_free(net[m]);
    }
    kn_net_group_ws_free(ws);
    return same ? 0 : 1;
}
