/* Benchmark of the GEMM backend layer (not a test): single-precision GEMM rate (GFLOP/s) of the
 * MLP's shapes, through kn_sgemm_tuned (what the dense layers call), for every backend and kernel
 * in the same run:
 *   openblas as the library detected it, openblas forced to its SSE3 "Prescott" kernel (what
 *   Debian 12's OpenBLAS picks on CPUs newer than itself), the same with kenyon's fix (re-run
 *   with the right OPENBLAS_CORETYPE) on openblas alone and with the default backend choice
 *   (auto: per shape when oneDNN is built in), and oneDNN (when built in);
 * each at 1 and 2 threads. Every configuration runs in a child process (the kernel is chosen
 * when OpenBLAS loads, the backend once per process); each rate is the best of several timed
 * repeats over interleaved rounds (the machine may be shared), and the table gives each as a
 * percentage of the best.
 *
 * usage: bench_gemm [seconds per shape and child (default 0.25)] [rounds (default 3)] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kenyon/gemm.h"
#include "kenyon/rng.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* The MLP's products at batch 64, hidden 3200, inputs 784 (pixels), 20 classes: forward
 * (x W^T), the weight gradient (dy^T x) and the input gradient (dy W) of each layer. The Vanilla /
 * Offline / EWC MLP is 784 -> 3200 -> 20 (no input gradient for its first layer); GEM and BI-R
 * add a 3200 -> 3200 layer. */
static const struct {
    const char *what;
    int m, n, k, ta, tb;
} shapes[] = {
    {"fwd 64x3200x784 NT", 64, 3200, 784, 0, 1},
    {"dW 3200x784x64 TN", 3200, 784, 64, 1, 0},
    {"fwd 64x20x3200 NT", 64, 20, 3200, 0, 1},
    {"dW 20x3200x64 TN", 20, 3200, 64, 1, 0},
    {"dx 64x3200x20 NN", 64, 3200, 20, 0, 0},
    {"fwd 64x3200x3200 NT", 64, 3200, 3200, 0, 1},
    {"dW 3200x3200x64 TN", 3200, 3200, 64, 1, 0},
    {"dx 64x3200x3200 NN", 64, 3200, 3200, 0, 0},
};
#define N_SHAPES (int)(sizeof shapes / sizeof shapes[0])

static int child(double secs)
{
    char line[512];
    printf("%s\n", kn_gemm_describe(line, sizeof line));
    size_t big = 3200 * 3200;
    float *a = malloc(big * sizeof *a), *b = malloc(big * sizeof *b), *c = malloc(big * sizeof *c);
    if (!a || !b || !c) {
        fprintf(stderr, "bench_gemm: out of memory\n");
        return 1;
    }
    kn_rng r;
    kn_rng_seed(&r, 1);
    for (size_t i = 0; i < big; i++) {
        a[i] = (float)kn_rng_uniform(&r) - 0.5f;
        b[i] = (float)kn_rng_uniform(&r) - 0.5f;
        c[i] = 0;
    }
    for (int s = 0; s < N_SHAPES; s++) {
        int m = shapes[s].m, n = shapes[s].n, k = shapes[s].k;
        int lda = shapes[s].ta ? m : k, ldb = shapes[s].tb ? k : n;
        int ta = shapes[s].ta ? KN_GEMM_TRANS : KN_GEMM_NO_TRANS;
        int tb = shapes[s].tb ? KN_GEMM_TRANS : KN_GEMM_NO_TRANS;
        kn_sgemm_tuned(KN_GEMM_ROW_MAJOR, ta, tb, m, n, k, 1, a, lda, b, ldb, 0, c, n); /* warm */
        double best = 1e30;
        for (int rep = 0; rep < 5; rep++) {
            double t0 = now(), t;
            int calls = 0;
            do {
                kn_sgemm_tuned(KN_GEMM_ROW_MAJOR, ta, tb, m, n, k, 1, a, lda, b, ldb, 0, c, n);
                calls++;
                t = now() - t0;
            } while (t < secs / 5);
            if (t / calls < best)
                best = t / calls;
        }
        printf("%.2f\n", 2.0 * m * n * (double)k / best / 1e9);
    }
    free(a);
    free(b);
    free(c);
    return 0;
}

int main(int argc, char **argv)
{
    (void)kn_blas_fix_kernel(argv);
    if (argc > 2 && strcmp(argv[1], "--child") == 0)
        return child(atof(argv[2]));
    double secs = argc > 1 ? atof(argv[1]) : 0.25;
    int rounds = argc > 2 ? atoi(argv[2]) : 3;
    if (!(secs > 0))
        secs = 0.25;
    if (rounds < 1)
        rounds = 1;
    static const struct {
        const char *label, *name, *env;
    } configs[] = {
        {"detected", "openblas as detected", "KENYON_GEMM=openblas"},
        {"Prescott", "openblas Prescott (forced)",
         "KENYON_GEMM=openblas KENYON_BLAS_FIX=0 OPENBLAS_CORETYPE=Prescott"},
        {"Prescott+fix", "openblas Prescott + kenyon fix",
         "KENYON_GEMM=openblas OPENBLAS_CORETYPE=Prescott"},
        {"Prescott+fix auto", "openblas Prescott + kenyon fix, default backend choice",
         "OPENBLAS_CORETYPE=Prescott"},
        {"onednn", "onednn", "KENYON_GEMM=onednn"},
    };
    const int n_configs = kn_gemm_have_onednn() ? 5 : 3;
    double rate[5][2][N_SHAPES] = {{{0}}};
    char desc[5][2][512];
    char self[512];
    ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
    if (len <= 0) {
        fprintf(stderr, "bench_gemm: cannot find its own path\n");
        return 1;
    }
    self[len] = '\0';
    /* Rounds that visit every configuration in turn, keeping each one's best: a burst of load
     * from other programs then hits all configurations alike rather than one. */
    for (int round = 0; round < rounds; round++)
        for (int th = 1; th <= 2; th++)
            for (int cfg = 0; cfg < n_configs; cfg++) {
                char cmd[1024];
                snprintf(cmd, sizeof cmd,
                         "env %s OPENBLAS_NUM_THREADS=%d OMP_NUM_THREADS=%d '%s' --child %g",
                         configs[cfg].env, th, th, self, secs);
                FILE *p = popen(cmd, "r");
                if (!p || !fgets(desc[cfg][th - 1], sizeof desc[cfg][th - 1], p)) {
                    fprintf(stderr, "bench_gemm: child failed: %s\n", cmd);
                    return 1;
                }
                desc[cfg][th - 1][strcspn(desc[cfg][th - 1], "\n")] = '\0';
                for (int s = 0; s < N_SHAPES; s++) {
                    double r;
                    if (fscanf(p, "%lf", &r) != 1) {
                        fprintf(stderr, "bench_gemm: child gave no rate: %s\n", cmd);
                        return 1;
                    }
                    if (r > rate[cfg][th - 1][s])
                        rate[cfg][th - 1][s] = r;
                }
                pclose(p);
            }
    printf("bench_gemm: sgemm GFLOP/s through kn_sgemm_tuned, best of %d rounds x 5 repeats of "
           "%.2f s each; %% of the best configuration at the same shape and thread count\n",
           rounds, secs / 5);
    for (int th = 1; th <= 2; th++) {
        printf("\n%d thread%s: GFLOP/s (%% of the best at this shape)\n", th, th > 1 ? "s" : "");
        printf("%-22s", "shape (m x n x k)");
        for (int cfg = 0; cfg < n_configs; cfg++)
            printf(" %18s", configs[cfg].label);
        printf("\n");
        for (int s = 0; s < N_SHAPES; s++) {
            double best = 0;
            for (int q = 0; q < n_configs; q++)
                best = rate[q][th - 1][s] > best ? rate[q][th - 1][s] : best;
            printf("%-22s", shapes[s].what);
            for (int cfg = 0; cfg < n_configs; cfg++)
                printf(" %10.1f (%4.0f%%)", rate[cfg][th - 1][s],
                       100 * rate[cfg][th - 1][s] / best);
            printf("\n");
        }
        for (int cfg = 0; cfg < n_configs; cfg++)
            printf("  %s = %s: %s\n", configs[cfg].label, configs[cfg].name, desc[cfg][th - 1]);
    }
    return 0;
}
