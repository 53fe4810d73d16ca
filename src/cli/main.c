/* kenyon: the command-line entry point. Dispatches to one command per file (commands.h). */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "kenyon/error.h"
#include "kenyon/gemm.h"
#ifdef KENYON_HAVE_MPI
#include "mpi/mpi_driver.h"
#endif

#ifndef KENYON_VERSION
#define KENYON_VERSION "unknown"
#endif

typedef struct command {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv);
} command;

/* One line per command. A command appears here once its file exists. */
static const command commands[] = {
    {"data", "fetch and describe data (MNIST-20 sources, IDX, npy, CIFAR, CSV)", kn_cmd_data},
    {"run", "run a continual learner through the class-incremental protocol", kn_cmd_run},
    {"bench", "reproduce a paper's comparison in one command (bench mnist20)", kn_cmd_bench},
    {"features", "train the LeNet5 feature extractor, extract features", kn_cmd_features},
    {"dynamics", "limiting dynamics of SGD: exact linear-regression theory, MLP tracking", kn_cmd_dynamics},
    {"rl", "RL and the brain: TD prediction error, distributional TD, meta-RL", kn_cmd_rl},
    {NULL, NULL, NULL},
};

static void print_usage(FILE *out)
{
    fprintf(out,
            "usage: kenyon <command> [options]\n\n"
            "kenyon %s: brain-inspired learning in C (FlyModel continual learning, SGD limiting\n"
            "dynamics, dopamine and meta-RL models).\n\ncommands:\n",
            KENYON_VERSION);
    for (const command *c = commands; c->name; c++)
        fprintf(out, "  %-10s %s\n", c->name, c->summary);
    fprintf(out, "\nkenyon <command> --help shows a command's options and defaults.\n"
                 "kenyon --version prints the version and the GEMM backend and kernel in use.\n"
                 "Environment: KENYON_GEMM=openblas|onednn|auto chooses the GEMM backend;\n"
                 "KENYON_BLAS_FIX=0 keeps a too-narrow OpenBLAS kernel (no re-run).\n");
}

#ifdef KENYON_HAVE_MPI
static int dispatch(int argc, char **argv);
#endif

int main(int argc, char **argv)
{
    /* First of all: if OpenBLAS loaded kernels narrower than this CPU runs, start again with the
     * right ones (kenyon/gemm.h). Returns here when nothing needs fixing. */
    (void)kn_blas_fix_kernel(argv);
#ifdef KENYON_HAVE_MPI
    if (kn_mpi_init(&argc, &argv))
        return 2;
    int code = dispatch(argc, argv);
    kn_mpi_finalize();
    return code;
}

static int dispatch(int argc, char **argv)
{
#endif
    kn_error err = {0};
    if (kn_gemm_init(&err)) {
        fprintf(stderr, "kenyon: %s\n", err.msg);
        return 2;
    }
    if (argc < 2) {
        print_usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        print_usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        char gemm[256];
        printf("kenyon %s\n%s\n", KENYON_VERSION, kn_gemm_describe(gemm, sizeof gemm));
#ifdef KENYON_HAVE_MPI
        printf("%s\n", kn_mpi_describe(gemm, sizeof gemm));
#endif
        return 0;
    }
#ifdef KENYON_HAVE_MPI
    if (kn_mpi_size() > 1 && strcmp(argv[1], "run") != 0 && strcmp(argv[1], "bench") != 0) {
        if (kn_mpi_rank() == 0)
            fprintf(stderr, "kenyon %s: only `kenyon run` and `kenyon bench` are spread over "
                    "MPI ranks; start it without mpirun (or with -n 1)\n", argv[1]);
        return 2;
    }
#endif
    for (const command *c = commands; c->name; c++)
        if (strcmp(c->name, argv[1]) == 0) {
#ifdef KENYON_HAVE_MPI
            return kn_mpi_settle(c->name, c->run(argc - 2, argv + 2));
#else
            return c->run(argc - 2, argv + 2);
#endif
        }
    fprintf(stderr, "kenyon: unknown command '%s' (see kenyon --help)\n", argv[1]);
    return 2;
}
