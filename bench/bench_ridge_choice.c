/* Benchmark (not a test): the time of one lambda choice of the streaming ridge readouts
 * (kenyon/ridge.h: hold-out as RanPAC, GCV as Fly-CL) at a given size M, the cost every task
 * of ranpac and fly-ridge --lambda auto|gcv pays. The Gram matrix comes from n_fit synthetic
 * ReLU random features of 20-class data (h = ReLU(x P), x = a class centre plus noise, P
 * Gaussian), so it has the structure of ranpac's; n_hold more rows are the held-out samples.
 * Prints the chosen lambda, the score, and the wall and CPU time of each choice (best of
 * `repeat`).
 *
 * Each grid evaluation named in `searches` is timed in turn (b band, t tridiagonal, c a
 * Cholesky per grid value; kenyon/ridge.h), so they can be compared in one run.
 *
 * usage: bench_ridge_choice [M (3200)] [n_fit (4000)] [n_hold (300)] [repeat (1)] [searches (bt)] */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kenyon/ridge.h"
#include "kenyon/rng.h"

#include <time.h>

/* CPU seconds of the whole process (all threads): less sensitive to a shared machine's load than
 * wall time when run with one thread. */
static double cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

#define D 64
#define C 20

/* n rows of ReLU(x P) into h (n x M, row-major), labels into y. */
static void make_features(kn_rng *r, const float *proj, const float *centre, size_t M, size_t n,
                          float *h, int32_t *y)
{
    float x[D];
    for (size_t s = 0; s < n; s++) {
        y[s] = (int32_t)kn_rng_below(r, C);
        for (int j = 0; j < D; j++)
            x[j] = centre[y[s] * D + j] + (float)kn_rng_normal(r);
        cblas_sgemv(CblasRowMajor, CblasTrans, D, (int)M, 1.0f, proj, (int)M, x, 1, 0.0f,
                    h + s * M, 1);
        for (size_t j = 0; j < M; j++)
            if (!(h[s * M + j] > 0))
                h[s * M + j] = 0;
    }
}

int main(int argc, char **argv)
{
    size_t M = argc > 1 ? strtoul(argv[1], NULL, 10) : 3200;
    size_t n_fit = argc > 2 ? strtoul(argv[2], NULL, 10) : 4000;
    size_t n_hold = argc > 3 ? strtoul(argv[3], NULL, 10) : 300;
    int repeat = argc > 4 ? atoi(argv[4]) : 1;
    const char *searches = argc > 5 ? argv[5] : "bt";
    if (M < 1 || n_fit < 1 || n_hold < 1 || repeat < 1 ||
        strspn(searches, "btc") != strlen(searches) || !*searches) {
        fprintf(stderr, "usage: bench_ridge_choice [M] [n_fit] [n_hold] [repeat] [searches: "
                        "letters of b (band), t (tridiagonal), c (Cholesky)]\n");
        return 2;
    }
    float *proj = malloc(D * M * sizeof *proj), *centre = malloc(C * D * sizeof *centre);
    float *hf = malloc(n_fit * M * sizeof *hf), *hh = malloc(n_hold * M * sizeof *hh);
    double *hd = malloc(n_fit * M * sizeof *hd), *g = calloc(M * M, sizeof *g);
    double *b = calloc(M * C, sizeof *b), *factor = malloc(M * M * sizeof *factor);
    int32_t *y = malloc(n_fit * sizeof *y), *yh = malloc(n_hold * sizeof *yh);
    if (!proj || !centre || !hf || !hh || !hd || !g || !b || !factor || !y || !yh) {
        fprintf(stderr, "bench_ridge_choice: out of memory for M=%zu\n", M);
        return 1;
    }
    kn_rng r;
    kn_rng_seed(&r, 1);
    for (size_t q = 0; q < D * M; q++)
        proj[q] = (float)kn_rng_normal(&r) / 8;
    for (size_t q = 0; q < C * D; q++)
        centre[q] = (float)kn_rng_normal(&r);
    make_features(&r, proj, centre, M, n_fit, hf, y);
    make_features(&r, proj, centre, M, n_hold, hh, yh);
    for (size_t q = 0; q < n_fit * M; q++)
        hd[q] = hf[q];
    /* Lower column-major = upper row-major, as the learners keep it. */
    cblas_dsyrk(CblasColMajor, CblasLower, CblasNoTrans, (int)M, (int)n_fit, 1.0, hd, (int)M, 0.0,
                g, (int)M);
    for (size_t s = 0; s < n_fit; s++)
        for (size_t j = 0; j < M; j++)
            b[j * C + (size_t)y[s]] += hd[s * M + j];
    free(hd);
    uint8_t allowed[C];
    memset(allowed, 1, sizeof allowed);
    printf("M %zu, n_fit %zu, n_hold %zu, %d classes\n", M, n_fit, n_hold, C);
    for (const char *sp = searches; *sp; sp++) {
        kn_ridge_search how = *sp == 'b'   ? KN_RIDGE_SEARCH_BAND
                              : *sp == 't' ? KN_RIDGE_SEARCH_TRIDIAGONAL
                                           : KN_RIDGE_SEARCH_CHOLESKY;
        const char *name = *sp == 'b' ? "band" : *sp == 't' ? "tridiagonal" : "cholesky";
        for (int mode = 0; mode < 2; mode++) {
            double best = INFINITY, best_cpu = INFINITY;
            kn_ridge_choice ch = {0};
            for (int rep = 0; rep < repeat; rep++) {
                kn_error err;
                double c0 = cpu_seconds();
                int rc = mode == 0 ? kn_ridge_choose_holdout_with(how, g, b, M, C, hh, yh, n_hold,
                                                                  allowed, factor, &ch, &err)
                                   : kn_ridge_choose_gcv_with(how, g, b, M, C, (double)n_fit,
                                                              factor, &ch, &err);
                if (rc) {
                    fprintf(stderr, "bench_ridge_choice: %s\n", err.msg);
                    return 1;
                }
                if (ch.seconds < best)
                    best = ch.seconds;
                if (cpu_seconds() - c0 < best_cpu)
                    best_cpu = cpu_seconds() - c0;
            }
            printf("%-11s %-8s lambda %g  score %.9g  tried %d  wall s %.3f  cpu s %.3f\n", name,
                   mode == 0 ? "holdout" : "gcv", ch.lambda, ch.score, ch.n_tried, best,
                   best_cpu);
        }
    }
    free(proj), free(centre), free(hf), free(hh), free(g), free(b), free(factor), free(y), free(yh);
    return 0;
}
