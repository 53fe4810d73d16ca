/* Benchmark of the FlyModel core (not a test): samples per second for encode+learn and
 * encode+predict at the paper's MNIST-20 sizes (d 84, m 3200, c 10, k 160) on random inputs,
 * per core (1 thread) and with all threads, plus the split between encoding and the readout;
 * encoding alone with every encoder kernel the CPU runs (after a first encode has touched the
 * output buffer).
 * Reports wall time and process CPU time (the machine may be shared).
 *
 * The "encode only" lines are the fastest of `repeats` encodes (default 1): on a shared machine
 * the minimum is the least disturbed measurement.
 *
 * usage: bench_fly [n_samples (default 50000)] [d] [m] [c] [k] [repeats] */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kenyon/fly.h"
#include "kenyon/gemm.h"
#include "kenyon/rng.h"

static double wall(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double cpu(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* FNV-1a over the codes' cells and value bits: equal hashes across kernels and builds say the
 * codes are the same. */
static unsigned long long codes_hash(const kn_kc_codes *codes)
{
    unsigned long long h = 1469598103934665603ull;
    for (size_t i = 0; i < codes->n; i++)
        for (int j = 0; j < codes->nnz[i]; j++) {
            uint32_t v;
            memcpy(&v, &codes->values[i * (size_t)codes->k + (size_t)j], sizeof v);
            uint32_t words[2] = {(uint32_t)codes->cells[i * (size_t)codes->k + (size_t)j], v};
            for (int q = 0; q < 2; q++)
                for (int b = 0; b < 4; b++)
                    h = (h ^ ((words[q] >> (8 * b)) & 0xff)) * 1099511628211ull;
        }
    return h;
}

static void report(const char *what, int threads, size_t n, double w, double c)
{
    printf("%-22s threads %d: %9.0f samples/s wall (%.3f s), %9.0f samples/s per CPU-second "
           "(%.3f CPU s), %.2f us/sample/core\n",
           what, threads, n / w, w, n / c, c, 1e6 * c / n);
}

/* fly-ridge's Gram update on the first n_r codes: in calls of 64 samples (the protocol's batch)
 * and in one call, each into a fresh, already touched G; the sum of G says both built the same
 * matrix. */
static void bench_ridge(const kn_kc_codes *all, const int32_t *y, int m, int C, size_t n_r)
{
    const size_t calls[2] = {64, n_r};
    for (int q = 0; q < 2; q++) {
        kn_fly_ridge r;
        kn_error err;
        if (kn_fly_ridge_init(&r, m, C, 10.0, &err)) {
            fprintf(stderr, "bench_fly: %s\n", err.msg);
            return;
        }
        memset(r.g, 0, (size_t)m * (size_t)m * sizeof *r.g); /* page faults outside the timing */
        double a = wall(), b = cpu();
        for (size_t s0 = 0; s0 < n_r; s0 += calls[q]) {
            size_t nb = n_r - s0 < calls[q] ? n_r - s0 : calls[q];
            kn_kc_codes part = *all; /* a view of samples [s0, s0 + nb) */
            part.cells = all->cells + s0 * (size_t)all->k;
            part.values = all->values + s0 * (size_t)all->k;
            part.nnz = all->nnz + s0;
            part.n = nb;
            part.cap = nb;
            if (kn_fly_ridge_accumulate(&r, &part, y + s0, &err)) {
                fprintf(stderr, "bench_fly: %s\n", err.msg);
                break;
            }
        }
        kn_fly_ridge_flush(&r); /* the deferred part of the update is timed too */
        double w = wall() - a, c = cpu() - b;
        double gsum = 0;
        for (size_t i = 0; i < (size_t)m * (size_t)m; i++)
            gsum += r.g[i];
        char what[64];
        snprintf(what, sizeof what, "ridge G, calls of %zu", calls[q]);
        report(what, omp_get_max_threads(), n_r, w, c);
        printf("G sum %.17g\n", gsum);
        kn_fly_ridge_free(&r);
    }
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? (size_t)atol(argv[1]) : 50000;
    size_t d = argc > 2 ? (size_t)atol(argv[2]) : 84;
    int m = argc > 3 ? atoi(argv[3]) : 3200;
    int c = argc > 4 ? atoi(argv[4]) : 10;
    int k = argc > 5 ? atoi(argv[5]) : 160;
    int repeats = argc > 6 ? atoi(argv[6]) : 1;
    if (repeats < 1)
        repeats = 1;
    const int C = 20;
    float *x = malloc(n * d * sizeof *x);
    int32_t *y = malloc(n * sizeof *y);
    float *scores = malloc(n * C * sizeof *scores);
    if (!x || !y || !scores) {
        fprintf(stderr, "bench_fly: out of memory\n");
        return 1;
    }
    kn_rng r;
    kn_rng_seed(&r, 1);
    /* Post-ReLU-like features: a third zeros, the rest uniform. */
    for (size_t i = 0; i < n * d; i++) {
        double u = kn_rng_uniform(&r);
        x[i] = u < 0.33 ? 0.0f : (float)(3 * kn_rng_uniform(&r));
    }
    for (size_t i = 0; i < n; i++)
        y[i] = (int32_t)(i % C);
    char gemm[256];
    printf("bench_fly: n %zu, d %zu, m %d, c %d, k %d, %d classes; max threads %d; encode only: "
           "best of %d\n"
           "encoder kernel %s (best this CPU runs); %s\n",
           n, d, m, c, k, C, omp_get_max_threads(), repeats, kn_kc_kernel_name(kn_kc_kernel_best()),
           kn_gemm_describe(gemm, sizeof gemm));
    int max_threads = omp_get_max_threads();
    for (int pass = 0; pass < 2; pass++) {
        int threads = pass == 0 ? 1 : max_threads;
        if (pass == 1 && max_threads == 1)
            break;
        omp_set_num_threads(threads);
        kn_fly_params p;
        kn_fly_params_default(&p, d);
        p.m = m;
        p.c = c;
        p.k = k;
        p.seed = 1;
        kn_fly_model f;
        kn_error err;
        if (kn_fly_model_init(&f, &p, C, &err)) {
            fprintf(stderr, "bench_fly: %s\n", err.msg);
            return 1;
        }
        /* Encoding alone, then the readouts on the codes. */
        kn_kc_codes codes;
        if (kn_kc_codes_alloc(&codes, n, k, &err)) {
            fprintf(stderr, "bench_fly: %s\n", err.msg);
            return 1;
        }
        /* A first encode touches the output pages (the kernel's page faults are not the
         * encoder's); then every kernel this CPU runs, the best (the default) last. */
        kn_kc_encode(&f.enc, x, n, &codes, &err);
        const kn_kc_kernel kernels[3] = {KN_KC_KERNEL_GENERIC, KN_KC_KERNEL_AVX2,
                                         KN_KC_KERNEL_AVX512};
        for (int q = 0; q < 3; q++) {
            if (!kn_kc_kernel_supported(kernels[q]) || kernels[q] == kn_kc_kernel_best())
                continue;
            char what[64];
            snprintf(what, sizeof what, "encode only (%s)", kn_kc_kernel_name(kernels[q]));
            double bw = 1e300, bc = 1e300;
            for (int rep = 0; rep < repeats; rep++) {
                double a = wall(), b = cpu();
                kn_kc_encode_with(&f.enc, kernels[q], x, n, &codes, &err);
                double ew = wall() - a, ec = cpu() - b;
                bw = ew < bw ? ew : bw;
                bc = ec < bc ? ec : bc;
            }
            report(what, threads, n, bw, bc);
            printf("codes hash %016llx\n", codes_hash(&codes));
        }
        double bw = 1e300, bc = 1e300;
        for (int rep = 0; rep < repeats; rep++) {
            double a = wall(), b = cpu();
            kn_kc_encode(&f.enc, x, n, &codes, &err);
            double ew = wall() - a, ec = cpu() - b;
            bw = ew < bw ? ew : bw;
            bc = ec < bc ? ec : bc;
        }
        char best[64];
        snprintf(best, sizeof best, "encode only (%s)", kn_kc_kernel_name(kn_kc_kernel_best()));
        report(best, threads, n, bw, bc);
        printf("codes hash %016llx\n", codes_hash(&codes));
        double w1 = wall(), c1 = cpu();
        kn_fly_learn_codes(&f, &codes, y, NULL, &err);
        double w2 = wall(), c2 = cpu();
        report("learn only (fly rule)", threads, n, w2 - w1, c2 - c1);
        kn_kc_scores(&codes, f.w, C, scores);
        double w3 = wall(), c3 = cpu();
        report("predict only (W h)", threads, n, w3 - w2, c3 - c2);
        if (pass == 0 && m <= 4096)
            bench_ridge(&codes, y, m, C, n < 14800 ? n : 14800);
        kn_kc_codes_free(&codes);
        /* End to end, as the learner does it (chunks of 4096). */
        double w0 = wall(), c0 = cpu();
        kn_fly_learn(&f, x, y, n, NULL, &err);
        w1 = wall();
        c1 = cpu();
        report("encode+learn", threads, n, w1 - w0, c1 - c0);
        kn_fly_scores(&f, x, n, scores, &err);
        w2 = wall();
        c2 = cpu();
        report("encode+predict", threads, n, w2 - w1, c2 - c1);
        double checksum = 0;
        for (size_t i = 0; i < n * C; i++)
            checksum += scores[i];
        printf("checksum %.6g\n", checksum);
        kn_fly_model_free(&f);
    }
    printf("arithmetic per sample: %zu scale ops, %d adds for the projection (m*c), selection "
           "over %d cells, %d multiply-adds to predict (k*classes), %d updates to learn (k)\n",
           2 * d, m * c, m, k * C, k);
    free(x);
    free(y);
    free(scores);
    return 0;
}
