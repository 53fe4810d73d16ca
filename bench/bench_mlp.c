/* Benchmark: one training pass of the Vanilla MLP (784 -> 3200 ReLU -> 20, SGD lr 1e-3, momentum
 * 0.9, batch 64, cross-entropy) over an MNIST-20-sized training set, timed with the given thread
 * count, next to the machine's sgemm rate (a square sgemm with the same threads), so the result
 * reads as GFLOP/s achieved against the sgemm peak. bench/peers/torch_mlp.py does the same job in
 * PyTorch; compare them in the same run with the same --threads. Each pass reports its wall
 * time and the process's CPU time (on a shared machine the CPU time of a one-thread pass is the
 * steadier number; at two threads wall time is what counts, CPU time shows the spinning).
 *
 *   bench_mlp [--threads N] [--n SAMPLES] [--hidden H] [--repeats R]
 *
 * Data are synthetic (uniform [0,1) pixels, labels cycling over 20 classes): the speed of the
 * dense products does not depend on the values. FLOPs counted per sample: forward
 * 2 (d H + H C), backward 2 (d H + 2 H C) (no input gradient is needed for the first layer,
 * neither here nor in PyTorch), i.e. 4 d H + 6 H C. */
#include <cblas.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kenyon/gemm.h"
#include "kenyon/nn.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double sgemm_rate(int size, int reps)
{
    size_t n = (size_t)size;
    float *a = malloc(n * n * sizeof *a), *b = malloc(n * n * sizeof *b), *c = malloc(n * n * sizeof *c);
    if (!a || !b || !c)
        return 0;
    for (size_t i = 0; i < n * n; i++) {
        a[i] = (float)(i % 7) * 0.1f;
        b[i] = (float)(i % 5) * 0.1f;
    }
    double best = 1e30;
    for (int r = 0; r < reps; r++) {
        double t0 = now();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, size, size, size, 1, a, size, b, size,
                    0, c, size);
        double dt = now() - t0;
        if (dt < best)
            best = dt;
    }
    free(a);
    free(b);
    free(c);
    return 2.0 * (double)n * (double)n * (double)n / best / 1e9;
}

int main(int argc, char **argv)
{
    (void)kn_blas_fix_kernel(argv); /* the right OpenBLAS kernel, as the CLI does */
    int threads = 2, hidden = 3200, repeats = 3;
    size_t n = 14800;
    const int d = 784, C = 20, batch = 64;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--threads"))
            threads = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--n"))
            n = (size_t)strtoull(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--hidden"))
            hidden = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--repeats"))
            repeats = atoi(argv[i + 1]);
        else {
            fprintf(stderr, "usage: bench_mlp [--threads N] [--n SAMPLES] [--hidden H] [--repeats R]\n");
            return 2;
        }
    }
    if (threads < 1 || hidden < 1 || repeats < 1 || n < 1) {
        fprintf(stderr, "bench_mlp: arguments must be positive\n");
        return 2;
    }
    openblas_set_num_threads(threads);
    omp_set_num_threads(threads);
    float *x = malloc(n * (size_t)d * sizeof *x);
    int32_t *y = malloc(n * sizeof *y);
    if (!x || !y) {
        fprintf(stderr, "bench_mlp: out of memory\n");
        return 1;
    }
    kn_rng rng;
    kn_rng_seed(&rng, 1);
    for (size_t i = 0; i < n * (size_t)d; i++)
        x[i] = (float)kn_rng_uniform(&rng);
    for (size_t i = 0; i < n; i++)
        y[i] = (int32_t)(i % (size_t)C);

    kn_error err;
    double best = 1e30, best_cpu = 1e30;
    for (int r = 0; r < repeats; r++) {
        kn_net *net;
        kn_optim *opt;
        kn_rng init;
        kn_rng_seed(&init, 2);
        if (kn_net_create(&net, d, 1, 1, &err) || kn_net_add_dense(net, hidden, &err) ||
            kn_net_add_relu(net, &err) || kn_net_add_dense(net, C, &err) ||
            kn_net_build(net, &init, &err)) {
            fprintf(stderr, "bench_mlp: %s\n", err.msg);
            return 1;
        }
        kn_optim_config oc = kn_optim_sgd(1e-3, 0.9);
        if (kn_optim_create(&oc, kn_net_n_params(net), &opt, &err)) {
            fprintf(stderr, "bench_mlp: %s\n", err.msg);
            return 1;
        }
        double t0 = now(), c0 = cpu_now(), loss = 0;
        for (size_t i = 0; i < n; i += batch) {
            size_t m = n - i < (size_t)batch ? n - i : (size_t)batch;
            if (kn_net_train_step(net, opt, x + i * d, y + i, m, NULL, &loss, &err)) {
                fprintf(stderr, "bench_mlp: %s\n", err.msg);
                return 1;
            }
        }
        double dt = now() - t0, dc = cpu_now() - c0;
        if (dt < best)
            best = dt;
        if (dc < best_cpu)
            best_cpu = dc;
        printf("kenyon pass %d: %.3f s, %.3f CPU s (last loss %.4f)\n", r + 1, dt, dc, loss);
        kn_optim_free(opt);
        kn_net_free(net);
    }
    double flops = (double)n * (4.0 * d * hidden + 6.0 * hidden * C);
    double peak = sgemm_rate(2048, 3);
    char gemm[256];
    printf("{\"impl\": \"kenyon\", \"threads\": %d, \"n\": %zu, \"hidden\": %d, \"seconds\": %.4f, "
           "\"cpu_seconds\": %.4f, \"gflops\": %.2f, \"sgemm_2048_gflops\": %.2f, \"fraction_of_sgemm\": %.3f, "
           "\"gemm\": \"%s\"}\n",
           threads, n, hidden, best, best_cpu, flops / best / 1e9, peak, flops / best / 1e9 / peak,
           kn_gemm_describe(gemm, sizeof gemm));
    free(x);
    free(y);
    return 0;
}
