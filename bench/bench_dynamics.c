/* Benchmark of the SGD-dynamics simulator: 10^6 steps of SGD + momentum + weight decay in
 * dimension 100 with Gaussian gradient noise (Sigma commuting with H: diagonal noise; and not
 * commuting: dense Cholesky noise, O(d^2) per step), plus the exact theory's Lyapunov solves.
 * Usage: bench_dynamics [steps] [dim] */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "kenyon/dynamics.h"
#include "kenyon/gemm.h"
#include "kenyon/progress.h"

static double cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int run(int commute, size_t steps, int dim)
{
    kn_linreg_spec s;
    kn_linreg_spec_default(&s);
    s.dim = dim;
    s.commute = commute;
    kn_linreg p;
    kn_error err = {0};
    kn_sgd_hparams hp = {0.01, 0.9, 0.01, 8};
    if (kn_linreg_create(&s, &p, &err)) {
        fprintf(stderr, "bench_dynamics: %s\n", err.msg);
        return 1;
    }
    kn_sgd_sim sim;
    if (kn_sgd_sim_create(&p, &hp, &sim, &err)) {
        fprintf(stderr, "bench_dynamics: %s\n", err.msg);
        kn_linreg_free(&p);
        return 1;
    }
    kn_rng rng;
    kn_rng_seed(&rng, 1);
    double t0 = kn_seconds(), c0 = cpu_seconds(), speed = 0;
    for (size_t t = 0; t < steps; t++) {
        kn_sgd_sim_step(&sim, &rng);
        speed += sim.b[0] * sim.b[0]; /* keep the work observable */
    }
    double dt = kn_seconds() - t0, cpu = cpu_seconds() - c0;
    printf("SGD simulation, d=%d, Sigma %s H: %zu steps in %.3f s wall, %.3f s CPU (%.1f ns "
           "CPU per step, %.2f ns per coordinate)  [checksum %.6g]\n",
           dim, commute ? "commuting with" : "not commuting with", steps, dt, cpu,
           1e9 * cpu / steps, 1e9 * cpu / steps / dim, speed / steps);
    size_t n2 = 2 * (size_t)dim;
    double *C = malloc(n2 * n2 * sizeof(double));
    if (C) {
        t0 = kn_seconds();
        int rc = kn_lyap_discrete(&p, &hp, C, &err);
        double t1 = kn_seconds();
        rc |= kn_lyap_continuous(&p, &hp, C, &err);
        double t2 = kn_seconds();
        printf("  Lyapunov block solvers, d=%d: discrete %.4f s, continuous %.4f s%s\n", dim,
               t1 - t0, t2 - t1, rc ? " (failed)" : "");
    }
    free(C);
    kn_sgd_sim_free(&sim);
    kn_linreg_free(&p);
    return 0;
}

int main(int argc, char **argv)
{
    (void)kn_blas_fix_kernel(argv); /* the right OpenBLAS kernel, as the CLI does */
    char gemm[256];
    printf("%s\n", kn_gemm_describe(gemm, sizeof gemm));
    size_t steps = argc > 1 ? (size_t)strtod(argv[1], NULL) : 1000000;
    int dim = argc > 2 ? atoi(argv[2]) : 100;
    if (steps < 1 || dim < 1 || dim > 4096) {
        fprintf(stderr, "usage: bench_dynamics [steps >= 1] [dim in 1..4096]\n");
        return 2;
    }
    return run(1, steps, dim) || run(0, steps, dim);
}
