/* Benchmark (not a test): what summing the ridge Gram matrix G = sum h h^T in float32 (as the
 * published RanPAC and Fly-CL code does) changes against summing it in double (as kenyon does),
 * on class-balanced MNIST-20 pixels. Features: RanPAC's ReLU(x P) with a Gaussian P (d x M), or
 * the fly's KC code (m cells, c 10, k 10% of m). G and B are accumulated over all training
 * samples in blocks of 256 (ssyrk vs dsyrk), both are solved in double at several lambda, and
 * the report gives the relative difference of G, of the weights W, and the test accuracy over
 * all 20 classes of each.
 *
 * usage: bench_ridge_precision ranpac|fly [M (default 3200)] [data dir (default $KENYON_DATA)] */
#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kenyon/data_load.h"
#include "kenyon/fly.h"
#include "kenyon/ridge.h"
#include "kenyon/rng.h"

#define BLK 256

typedef struct featurizer {
    int fly;
    size_t d, M;
    float *proj;       /* ranpac: d x M */
    kn_kc_encoder enc; /* fly */
    kn_kc_codes codes;
} featurizer;

static void features(featurizer *f, const float *x, size_t n, float *h)
{
    if (!f->fly) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)f->M, (int)f->d,
                    1.0f, x, (int)f->d, f->proj, (int)f->M, 0.0f, h, (int)f->M);
        for (size_t q = 0; q < n * f->M; q++)
            h[q] = h[q] > 0 ? h[q] : 0;
        return;
    }
    kn_error err;
    kn_kc_encode(&f->enc, x, n, &f->codes, &err);
    memset(h, 0, n * f->M * sizeof *h);
    const size_t k = (size_t)f->codes.k;
    for (size_t i = 0; i < n; i++)
        for (int j = 0; j < f->codes.nnz[i]; j++)
            h[i * f->M + (size_t)f->codes.cells[i * k + (size_t)j]] =
                f->codes.values[i * k + (size_t)j];
}

static double accuracy(featurizer *f, const kn_dataset *te, const float *w, int C)
{
    float *h = malloc(BLK * f->M * sizeof *h), *sc = malloc(BLK * (size_t)C * sizeof *sc);
    size_t right = 0;
    for (size_t st = 0; st < te->n; st += BLK) {
        size_t b = te->n - st < BLK ? te->n - st : BLK;
        features(f, te->x + st * te->d, b, h);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)b, C, (int)f->M, 1.0f, h,
                    (int)f->M, w, C, 0.0f, sc, C);
        for (size_t i = 0; i < b; i++) {
            int arg = 0;
            for (int c = 1; c < C; c++)
                if (sc[i * (size_t)C + (size_t)c] > sc[i * (size_t)C + (size_t)arg])
                    arg = c;
            right += arg == te->y[st + i];
        }
    }
    free(h);
    free(sc);
    return (double)right / (double)te->n;
}

int main(int argc, char **argv)
{
    if (argc < 2 || (strcmp(argv[1], "ranpac") && strcmp(argv[1], "fly"))) {
        fprintf(stderr, "usage: bench_ridge_precision ranpac|fly [M] [data dir]\n");
        return 2;
    }
    featurizer f = {0};
    f.fly = strcmp(argv[1], "fly") == 0;
    f.M = argc > 2 ? (size_t)atol(argv[2]) : 3200;
    kn_data_options o;
    kn_data_options_default(&o);
    if (argc > 3)
        o.data_dir = argv[3];
    kn_split sp;
    kn_error err;
    if (kn_load_dataset("mnist20", &o, &sp, &err)) {
        fprintf(stderr, "bench_ridge_precision: %s\n", err.msg);
        return 1;
    }
    const size_t d = sp.train.d, M = f.M, N = sp.train.n;
    const int C = sp.train.n_classes;
    f.d = d;
    if (f.fly) {
        int k = (int)(M / 10);
        if (kn_kc_encoder_init(&f.enc, d, (int)M, 10, k, 1, &err) ||
            kn_kc_codes_alloc(&f.codes, BLK, k, &err)) {
            fprintf(stderr, "bench_ridge_precision: %s\n", err.msg);
            return 1;
        }
    } else {
        f.proj = malloc(d * M * sizeof *f.proj);
        kn_rng r;
        kn_rng_stream(&r, 1, 0x72616e70ull);
        for (size_t q = 0; q < d * M; q++)
            f.proj[q] = (float)kn_rng_normal(&r);
    }
    float *gf = calloc(M * M, sizeof *gf), *h = malloc(BLK * M * sizeof *h);
    double *gd = calloc(M * M, sizeof *gd), *hd = malloc(BLK * M * sizeof *hd);
    double *b = calloc(M * (size_t)C, sizeof *b), *factor = malloc(M * M * sizeof *factor);
    double *rhs = malloc(M * (size_t)C * sizeof *rhs);
    float *wd = malloc(M * (size_t)C * sizeof *wd), *wf = malloc(M * (size_t)C * sizeof *wf);
    if (!gf || !h || !gd || !hd || !b || !factor || !rhs || !wd || !wf) {
        fprintf(stderr, "bench_ridge_precision: out of memory\n");
        return 1;
    }
    for (size_t st = 0; st < N; st += BLK) {
        size_t n = N - st < BLK ? N - st : BLK;
        features(&f, sp.train.x + st * d, n, h);
        for (size_t q = 0; q < n * M; q++)
            hd[q] = h[q];
        cblas_ssyrk(CblasColMajor, CblasLower, CblasNoTrans, (int)M, (int)n, 1.0f, h, (int)M,
                    1.0f, gf, (int)M);
        cblas_dsyrk(CblasColMajor, CblasLower, CblasNoTrans, (int)M, (int)n, 1.0, hd, (int)M,
                    1.0, gd, (int)M);
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < M; j++)
                b[j * (size_t)C + (size_t)sp.train.y[st + i]] += hd[i * M + j];
    }
    double gmax = 0, gdiff = 0;
    for (size_t j = 0; j < M; j++)
        for (size_t i = j; i < M; i++) {
            gmax = fmax(gmax, fabs(gd[j * M + i]));
            gdiff = fmax(gdiff, fabs(gd[j * M + i] - (double)gf[j * M + i]));
        }
    printf("%s features, M %zu, %zu training samples, %zu test, %d classes\n",
           f.fly ? "fly KC-code" : "ranpac ReLU(xP)", M, N, sp.test.n, C);
    printf("G: max |G_f32 - G_f64| / max |G_f64| = %.3g\n", gdiff / gmax);
    double *gfd = malloc(M * M * sizeof *gfd);
    for (size_t q = 0; q < M * M; q++)
        gfd[q] = gf[q];
    printf("%10s %14s %12s %12s\n", "lambda", "|dW|/|W|", "acc f64", "acc f32");
    const double lambdas[] = {1e-2, 1, 1e2, 1e4};
    for (int li = 0; li < 4; li++) {
        int r1 = kn_ridge_solve(gd, b, M, (size_t)C, lambdas[li], factor, rhs, wd, &err);
        int r2 = kn_ridge_solve(gfd, b, M, (size_t)C, lambdas[li], factor, rhs, wf, &err);
        if (r1 || r2) {
            printf("%10g   %s\n", lambdas[li], r1 ? "f64 solve failed" : "f32 solve failed");
            continue;
        }
        double num = 0, den = 0;
        for (size_t q = 0; q < M * (size_t)C; q++) {
            num += ((double)wd[q] - wf[q]) * ((double)wd[q] - wf[q]);
            den += (double)wd[q] * wd[q];
        }
        printf("%10g %14.3g %12.4f %12.4f\n", lambdas[li], sqrt(num / den),
               accuracy(&f, &sp.test, wd, C), accuracy(&f, &sp.test, wf, C));
    }
    return 0;
}
