/* `kenyon bench`: a class-incremental comparison of methods over seeds in one command, on a named
 * data set (`kenyon bench mnist20` is the fly paper's MNIST-20 table; mnist, fashion, cifar100
 * when fetched) or on the user's own files (`kenyon bench --train-x F --train-y F --test-x F
 * --test-y F`). kenyon/bench.h does the work. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "kenyon/bench.h"
#include "opts.h"
#ifdef KENYON_HAVE_MPI
#include "mpi/mpi_driver.h"
#endif

static int bench_on(const char *dataset, int argc, char **argv)
{
    kn_bench_options o;
    kn_bench_options_default(&o);
    o.dataset = dataset;
    kn_bench_options_preset(&o); /* the set's own defaults (cifar100: the paper's settings) */
    char default_out[64];
    snprintf(default_out, sizeof default_out, "runs/%s", dataset ? dataset : "bench");
    o.out_dir = default_out;
    int quiet = 0, no_progress = 0, no_balance = 0, classes_per_task = o.classes_per_task;
    int batch = (int)o.batch;
    int jobs = 0, threads_per_run = o.threads_per_run, pool_worker = 0;
    const char *seeds = NULL;
    /* Each verb's own default: cifar100's preset leaves o.features unset (ResNet-18). */
    const char *features_help =
        !dataset ? "a named set's features (your own files are used as given)"
        : strcmp(dataset, "cifar100") == 0
            ? "pixels or FILE.npy (its train rows then test rows) instead of the ResNet-18 "
              "features (default: ResNet-18 features, from --model or --features-train/"
              "--features-test)"
            : "pixels, lenet (cached LeNet5 features), or FILE.npy (unbalanced train rows then "
              "test)";
    kn_opt opts[] = {
        {"train-x", KN_OPT_STRING, &o.train_x, "your data: training features (npy, IDX or CSV)"},
        {"train-y", KN_OPT_STRING, &o.train_y, "your data: training labels"},
        {"test-x", KN_OPT_STRING, &o.test_x, "your data: test features"},
        {"test-y", KN_OPT_STRING, &o.test_y, "your data: test labels"},
        {"features", KN_OPT_STRING, &o.features, features_help},
        {"cifar", KN_OPT_STRING, &o.cifar_dir,
         "cifar100: the folder of CIFAR-100's train.bin and test.bin (binary version; default "
         "<data dir>/cifar-100-binary)"},
        {"model", KN_OPT_STRING, &o.model,
         "cifar100: ResNet-18 weights (safetensors; scripts/pth_to_safetensors.py makes them "
         "from torchvision's .pth) to extract the features with, cached in <data dir>/cache "
         "(default <data dir>/resnet18.safetensors)"},
        {"features-train", KN_OPT_STRING, &o.features_train,
         "cifar100: or your own features of train.bin's images (.npy, one row per image in "
         "file order)"},
        {"features-test", KN_OPT_STRING, &o.features_test,
         "cifar100: and of test.bin's images"},
        {"methods", KN_OPT_STRING, &o.methods,
         "comma-separated methods; M:key=value[:key=value] sets a method option, e.g. "
         "bir:iters=188 (missing methods are skipped)"},
        {"seeds", KN_OPT_STRING, &seeds, "comma-separated seeds (default 1,12,21,35,78; --quick 1,12)"},
        {"classes-per-task", KN_OPT_INT, &classes_per_task, "classes in each task"},
        {"class-order", KN_OPT_STRING, &o.class_order,
         "label (tasks take the classes in label order) or random (a permutation drawn from "
         "each seed)"},
        {"batch", KN_OPT_INT, &batch, "samples per learner update call"},
        {"no-balance", KN_OPT_FLAG, &no_balance,
         "keep all training samples (default: sub-sample every class to the smallest)"},
        {"out", KN_OPT_OUT_DIR, &o.out_dir,
         "output directory (results, reports, plots, cache)"},
        {"data-dir", KN_OPT_STRING, &o.data_dir, "data directory (default $KENYON_DATA or ./data)"},
        {"data", KN_OPT_STRING, &o.data_dir, KN_OPT_ALIAS},
        {"quick", KN_OPT_FLAG, &o.quick,
         "96 training and 50 test samples per class (cifar100: 16 and 10, without offline, "
         "fly-ridge, gem and bir unless named), seeds 1 and 12: a look in under two minutes"},
        {"jobs", KN_OPT_INT, &jobs,
         "runs at once, each in a worker process of its own (0: one per CPU this process may "
         "use; 1: one after another in this process); the numbers do not depend on it"},
        {"threads-per-run", KN_OPT_INT, &threads_per_run,
         "BLAS/OpenMP threads of every run, whatever --jobs is (the back-prop methods' numbers "
         "depend on it at float-rounding level; part of the cache key and the report)"},
        {"pool-worker", KN_OPT_FLAG, &pool_worker, NULL /* hidden: a worker of --jobs */},
        {"no-progress", KN_OPT_FLAG, &no_progress, "no progress display on stderr"},
        {"quiet", KN_OPT_FLAG, &quiet, "print only errors"},
        {NULL, 0, NULL, NULL},
    };
    char name[64];
    snprintf(name, sizeof name, "bench%s%s", dataset ? " " : "", dataset ? dataset : "");
    kn_command_spec spec = {
        name,
        dataset && strcmp(dataset, "cifar100") == 0
            ? "[--cifar DIR] [--model resnet18.safetensors | --features-train F.npy "
              "--features-test F.npy | --features pixels|FILE.npy] [--methods LIST] [--seeds "
              "LIST] [--out DIR] [--quick]"
        : dataset ? "[--features pixels|lenet|FILE.npy] [--methods LIST] [--seeds LIST] "
                  "[--classes-per-task N] [--class-order label|random] [--out DIR] [--quick]"
                : "--train-x F --train-y F --test-x F --test-y F [--methods LIST] "
                  "[--seeds LIST] [--classes-per-task N] [--class-order label|random] "
                  "[--out DIR] [--quick]",
        "Runs every method over every seed under the class-incremental protocol of `kenyon run` "
        "(tasks of --classes-per-task classes, one pass each, no task id at test time) and "
        "writes results.csv, summary.json, report.md, report.html (one self-contained page with "
        "the figures inline) and PNG/SVG plots into the output directory. The paper's numbers "
        "appear beside ours only for its settings (mnist20, 2 classes per task in label order; "
        "cifar100 on ResNet-18 features, 4 classes per task in label order, where every method "
        "takes the paper's settings unless M:key=value says otherwise). "
        "Finished runs are cached there, keyed by everything that affects them, so an "
        "interrupted or extended benchmark resumes. For a named set run `kenyon data fetch` "
        "first. The runs go to --jobs worker processes at once, most expensive first, each "
        "at --threads-per-run threads, so the numbers do not depend on --jobs. A run that "
        "fails (training diverged) is listed in report.md and summary.json and the others go "
        "on; the exit status is then 3, with every output written. Under `mpirun -n N` the "
        "runs are spread over the ranks instead: rank 0 hands out the uncached ones and writes "
        "the reports (the same as one process writes, apart from timings); it only "
        "dispatches, so start one rank more than cores. Any other failure stops the job with "
        "\"rank R of N: reason\" and no report; finished runs stay cached for the next start.",
        opts};
    int pr = kn_opts_parse(&spec, argc, argv, NULL, 0, NULL);
    if (pr != KN_OPTS_OK)
        return kn_opts_exit_code(pr);
    if (classes_per_task < 1) {
        fprintf(stderr, "kenyon %s: --classes-per-task: %d must be at least 1\n", name,
                classes_per_task);
        return 2;
    }
    if (batch < 1) {
        fprintf(stderr, "kenyon %s: --batch: %d must be at least 1\n", name, batch);
        return 2;
    }
    if (jobs < 0 || threads_per_run < 1) {
        fprintf(stderr, "kenyon %s: --%s: %d must be at least %d\n", name,
                jobs < 0 ? "jobs" : "threads-per-run", jobs < 0 ? jobs : threads_per_run,
                jobs < 0 ? 0 : 1);
        return 2;
    }
    /* A worker is this program started again with the same options and --pool-worker. */
    const char **worker_argv = malloc(sizeof *worker_argv * ((size_t)argc + 5));
    if (!worker_argv) {
        fprintf(stderr, "kenyon %s: out of memory\n", name);
        return 1;
    }
    worker_argv[0] = "/proc/self/exe";
    worker_argv[1] = "bench";
    worker_argv[2] = dataset ? dataset : "files";
    for (int i = 0; i < argc; i++)
        worker_argv[3 + i] = argv[i];
    worker_argv[3 + argc] = "--pool-worker";
    worker_argv[4 + argc] = NULL;
    o.worker_argv = worker_argv;
    o.jobs = jobs;
    o.threads_per_run = threads_per_run;
    o.pool_worker = pool_worker;
    if (pool_worker)
        quiet = 1; /* the parent logs and reports */
    int n_failed = 0;
    o.n_failed = &n_failed;
#ifdef KENYON_HAVE_MPI
    if (kn_mpi_active())
        o.jobs = 1; /* under mpirun the ranks are the workers */
    if (kn_mpi_size() > 1) { /* a sweep over the ranks: rank 0 alone logs and reports */
        o.driver = kn_mpi_sweep_driver();
        if (kn_mpi_rank() != 0)
            quiet = 1;
    }
#endif
    o.classes_per_task = classes_per_task;
    o.batch = (size_t)batch;
    o.balance = !no_balance;
    o.seeds = seeds;
    o.log = quiet ? NULL : stdout;
    o.progress = !quiet && !no_progress;
    kn_error err;
    kn_error_clear(&err);
    int rc = kn_bench_run(&o, &err);
    free(worker_argv);
    if (rc) {
        fprintf(stderr, "kenyon %s: %s\n", name, err.msg);
        /* 3: some runs failed, every output is written; 2: bad options; 1: no report. */
        return n_failed > 0 && rc == KN_ESTATE ? 3 : rc == -1 ? 2 : 1;
    }
    if (!quiet)
        printf("wrote %s/report.md, report.html, results.csv, summary.json and plots\n",
               o.out_dir);
    return 0;
}

static int bench_mnist20(int argc, char **argv) { return bench_on("mnist20", argc, argv); }
static int bench_mnist(int argc, char **argv) { return bench_on("mnist", argc, argv); }
static int bench_fashion(int argc, char **argv) { return bench_on("fashion", argc, argv); }
static int bench_cifar100(int argc, char **argv) { return bench_on("cifar100", argc, argv); }
static int bench_files(int argc, char **argv) { return bench_on(NULL, argc, argv); }

int kn_cmd_bench(int argc, char **argv)
{
    static const kn_subcommand verbs[] = {
        {"mnist20", "the fly paper's MNIST-20 comparison (Fig. 2A/2B) over methods and seeds",
         bench_mnist20},
        {"mnist", "split MNIST (digits 0-9)", bench_mnist},
        {"fashion", "split Fashion-MNIST (10 classes)", bench_fashion},
        {"cifar100", "split CIFAR-100 (100 classes)", bench_cifar100},
        {"files", "your own data: --train-x F --train-y F --test-x F --test-y F (the verb may be "
                  "left out)",
         bench_files},
        {NULL, NULL, NULL},
    };
    /* `kenyon bench --train-x ...`: options straight after the command mean the user's files. */
    if (argc >= 1 && strncmp(argv[0], "--", 2) == 0 && strcmp(argv[0], "--help") != 0)
        return bench_files(argc, argv);
    return kn_dispatch("bench", verbs, argc, argv);
}
