/* `kenyon bench`: benchmarks that reproduce a paper's comparison in one command. For now the
 * MNIST-20 comparison of the fly paper (kenyon/bench.h does the work). */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "kenyon/bench.h"
#include "opts.h"

static int bench_mnist20(int argc, char **argv)
{
    kn_bench_options o;
    kn_bench_options_default(&o);
    int quiet = 0, no_progress = 0;
    const char *seeds = NULL;
    kn_opt opts[] = {
        {"features", KN_OPT_STRING, &o.features,
         "pixels, lenet (cached LeNet5 features), or FILE.npy (unbalanced train rows then test)"},
        {"methods", KN_OPT_STRING, &o.methods,
         "comma-separated methods; M:key=value[:key=value] sets a method option, e.g. "
         "bir:iters=188 (missing methods are skipped)"},
        {"seeds", KN_OPT_STRING, &seeds, "comma-separated seeds (default 1,12,21,35,78; --quick 1,12)"},
        {"out", KN_OPT_STRING, &o.out_dir, "output directory (results, report, plots, cache)"},
        {"data-dir", KN_OPT_STRING, &o.data_dir, "data directory (default $KENYON_DATA or ./data)"},
        {"data", KN_OPT_STRING, &o.data_dir, KN_OPT_ALIAS},
        {"quick", KN_OPT_FLAG, &o.quick,
         "96 training and 50 test samples per class, seeds 1 and 12: a look in under two minutes"},
        {"no-progress", KN_OPT_FLAG, &no_progress, "no progress display on stderr"},
        {"quiet", KN_OPT_FLAG, &quiet, "print only errors"},
        {NULL, 0, NULL, NULL},
    };
    kn_command_spec spec = {
        "bench mnist20", "[--features pixels|lenet|FILE.npy] [--methods LIST] [--seeds LIST] "
                         "[--out DIR] [--quick]",
        "Runs every method over every seed under the class-incremental protocol of `kenyon run` "
        "on class-balanced MNIST-20 (10 tasks of 2 classes) and writes results.csv, "
        "summary.json, report.md (with the paper's numbers beside ours) and PNG/SVG plots into "
        "the output directory. Finished runs are cached there, keyed by everything that affects "
        "them, so an interrupted or extended benchmark resumes. Run `kenyon data fetch` first.",
        opts};
    int pr = kn_opts_parse(&spec, argc, argv, NULL, 0, NULL);
    if (pr != KN_OPTS_OK)
        return kn_opts_exit_code(pr);
    o.seeds = seeds;
    o.log = quiet ? NULL : stdout;
    o.progress = !quiet && !no_progress;
    kn_error err;
    kn_error_clear(&err);
    int rc = kn_bench_mnist20(&o, &err);
    if (rc) {
        fprintf(stderr, "kenyon bench mnist20: %s\n", err.msg);
        return rc == -1 ? 2 : 1;
    }
    if (!quiet)
        printf("wrote %s/report.md, results.csv, summary.json and plots\n", o.out_dir);
    return 0;
}

int kn_cmd_bench(int argc, char **argv)
{
    static const kn_subcommand verbs[] = {
        {"mnist20", "the fly paper's MNIST-20 comparison (Fig. 2A/2B) over methods and seeds",
         bench_mnist20},
        {NULL, NULL, NULL},
    };
    return kn_dispatch("bench", verbs, argc, argv);
}
