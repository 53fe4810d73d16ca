/* Benchmark of check 2's full second-moment accumulation (src/dynamics/cov_blocks.c): the
 * (a, v) state of dimension 2d, one row per step, folded in with one dsyrk per 256 rows, against
 * the peer measured in the same run: the direct double loop over the upper triangle per step.
 * Both fill the same matrix; the largest difference is printed as a checksum.
 * Usage: bench_cov_blocks [steps] [dim] */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "dynamics/dynamics_internal.h"
#include "kenyon/progress.h"

static double cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int main(int argc, char **argv)
{
    size_t steps = argc > 1 ? (size_t)strtod(argv[1], NULL) : 100000;
    int dim = argc > 2 ? atoi(argv[2]) : 100;
    if (steps < 1 || dim < 1 || dim > 2048) {
        fprintf(stderr, "usage: bench_cov_blocks [steps >= 1] [dim in 1..2048]\n");
        return 2;
    }
    int n = 2 * dim;
    double *rows = malloc((size_t)n * 1024 * sizeof(double));
    double *naive = calloc((size_t)n * (size_t)n, sizeof(double));
    kn_cov_blocks cb;
    kn_error err = {0};
    if (!rows || !naive || kn_cov_blocks_init(&cb, n, dim, &err)) {
        fprintf(stderr, "bench_cov_blocks: out of memory\n");
        return 1;
    }
    kn_rng rng;
    kn_rng_seed(&rng, 1);
    for (size_t i = 0; i < (size_t)n * 1024; i++)
        rows[i] = kn_rng_normal(&rng);
    double w0 = kn_seconds(), c0 = cpu_seconds();
    for (size_t t = 0; t < steps; t++)
        kn_cov_blocks_add(&cb, rows + (t % 1024) * (size_t)n);
    kn_cov_blocks_end_block(&cb);
    double w1 = kn_seconds(), c1 = cpu_seconds();
    for (size_t t = 0; t < steps; t++) {
        const double *x = rows + (t % 1024) * (size_t)n;
        for (int i = 0; i < n; i++)
            for (int j = i; j < n; j++)
                naive[(size_t)i * n + j] += x[i] * x[j];
    }
    double w2 = kn_seconds(), c2 = cpu_seconds();
    double worst = 0;
    for (int i = 0; i < n; i++)
        for (int j = i; j < n; j++) {
            double m, se;
            kn_cov_blocks_get(&cb, i, j, &m, &se);
            worst = fmax(worst, fabs(m - naive[(size_t)i * n + j] / (double)steps));
        }
    printf("second moments of a %d-dimensional state, %zu steps:\n", n, steps);
    printf("  dsyrk per 256 rows: %.3f s wall, %.3f s CPU (%.1f ns CPU per step)\n", w1 - w0,
           c1 - c0, 1e9 * (c1 - c0) / (double)steps);
    printf("  direct loop (peer): %.3f s wall, %.3f s CPU (%.1f ns CPU per step)\n", w2 - w1,
           c2 - c1, 1e9 * (c2 - c1) / (double)steps);
    printf("  CPU ratio peer / dsyrk %.2f; max difference %.3g\n", (c2 - c1) / (c1 - c0), worst);
    kn_cov_blocks_free(&cb);
    free(rows);
    free(naive);
    return 0;
}
