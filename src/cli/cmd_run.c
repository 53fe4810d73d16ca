/* `kenyon run`: one continual learner through the class-incremental protocol on a named data set
 * (MNIST-20, ...) or the user's train/test files. Option parsing into an experiment spec, then
 * one call into the experiment layer (kenyon/experiment.h), which checks the spec before loading
 * anything. Options the command does not know are the method's hyperparameters (`--k 200`),
 * checked against the method's typed parameter table; `kenyon run --method M --help` lists
 * them. */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "kenyon/experiment.h"
#include "kenyon/features.h"
#include "kenyon/peak_memory.h"
#include "opts.h"
#ifdef KENYON_HAVE_MPI
#include "mpi/mpi_driver.h"
#endif

#define MAX_OVERRIDES 64

static void list_methods(FILE *out)
{
    fprintf(out, "\nmethods (kenyon run --method M --help lists M's options):\n");
    for (const kn_method *const *m = kn_method_list(); *m; m++)
        fprintf(out, "  %-12s %s\n", (*m)->name, (*m)->summary ? (*m)->summary : "");
}

static void reset_peak_memory(void *ctx)
{
    (void)ctx;
    kn_peak_memory_reset(); /* the run's peak RSS is the learner's own */
}

static void log_to_stdout(void *ctx, const char *text)
{
    (void)ctx;
    fputs(text, stdout);
}

int kn_cmd_run(int argc, char **argv)
{
    kn_experiment_spec s;
    kn_experiment_spec_default(&s);
    s.lenet = kn_features_lenet_apply;
    int file_order = 0, no_balance = 0, quiet = 0, classes_per_task = s.classes_per_task;
    int batch = (int)s.batch;
    kn_opt opts[] = {
        {"method", KN_OPT_STRING, &s.method, "continual learner (see the list below)"},
        {"dataset", KN_OPT_STRING, &s.dataset, "named data set: mnist20, mnist, fashion, cifar100"},
        {"data-dir", KN_OPT_STRING, &s.data_dir, "data directory (default $KENYON_DATA or ./data)"},
        {"data", KN_OPT_STRING, &s.data_dir, KN_OPT_ALIAS},
        {"features", KN_OPT_STRING, &s.features, "pixels, lenet (cached LeNet5 features) or FILE.npy (rows: unbalanced train then test)"},
        {"seed", KN_OPT_U64, &s.seed, "seed of the run (projection, initialisation, shuffles)"},
        {"out", KN_OPT_OUT_DIR, &s.out_dir, "write DIR/summary.json and DIR/accuracy_matrix.csv"},
        {"save", KN_OPT_OUT_FILE, &s.save_model, "save the trained model (safetensors) to FILE"},
        {"load", KN_OPT_STRING, &s.load_model, "resume a model saved with --save (continues after its last task)"},
        {"classes-per-task", KN_OPT_INT, &classes_per_task, "classes in each task"},
        {"batch", KN_OPT_INT, &batch, "samples per learner update call"},
        {"file-order", KN_OPT_FLAG, &file_order, "train each task in file order (default: seeded shuffle within the task)"},
        {"no-balance", KN_OPT_FLAG, &no_balance, "keep all training samples (default: sub-sample every class to the smallest)"},
        {"balance-seed", KN_OPT_U64, &s.balance_seed, "seed of the class-balancing sub-sample"},
        {"train-x", KN_OPT_STRING, &s.train_x, "user data: training features (npy, IDX or CSV)"},
        {"train-y", KN_OPT_STRING, &s.train_y, "user data: training labels"},
        {"test-x", KN_OPT_STRING, &s.test_x, "user data: test features"},
        {"test-y", KN_OPT_STRING, &s.test_y, "user data: test labels"},
        {"quiet", KN_OPT_FLAG, &quiet, "do not print the per-task table"},
        {NULL, 0, NULL, NULL},
    };
    kn_command_spec spec = {
        "run", "--method M [--dataset mnist20 | --train-x F --train-y F --test-x F --test-y F] "
               "[--seed N] [--out DIR] [method options]",
        "Runs a continual learner through the class-incremental protocol: tasks of "
        "--classes-per-task classes in label order, one pass over each task's training data, "
        "then a test on every task seen so far over all classes seen so far. Prints a table "
        "per task; --out writes summary.json and accuracy_matrix.csv. Any other --key value "
        "is a hyperparameter of the method.",
        opts};
    kn_kv ov[MAX_OVERRIDES];
    size_t n_ov = 0;
    int pr = kn_opts_parse_extra(&spec, argc, argv, ov, MAX_OVERRIDES, &n_ov);
    if (pr == KN_OPTS_HELP) {
        const kn_method *m = s.method ? kn_method_find(s.method) : NULL;
        if (m) {
            printf("\n");
            kn_method_print_params(m, stdout);
        }
        list_methods(stdout);
        return 0;
    }
    if (pr != KN_OPTS_OK)
        return kn_opts_exit_code(pr);
    s.source = s.train_x || s.train_y || s.test_x || s.test_y ? KN_SOURCE_FILES
                                                                : KN_SOURCE_NAMED;
    if (batch < 1) {
        fprintf(stderr, "kenyon run: --batch: %d must be at least 1\n", batch);
        return 2;
    }
    s.classes_per_task = classes_per_task;
    s.batch = (size_t)batch;
    s.shuffle = !file_order;
    s.balance = !no_balance;
    s.params = ov;
    s.n_params = n_ov;

    kn_error err;
    if (kn_experiment_check(&s, &err)) {
        fprintf(stderr, "kenyon run: %s\n", err.msg);
        if (!kn_method_find(s.method ? s.method : ""))
            list_methods(stderr);
        return 2;
    }
    kn_experiment_callbacks cb = {.log = quiet ? NULL : log_to_stdout,
                                  .before_train = reset_peak_memory};
    kn_experiment_result r;
#ifdef KENYON_HAVE_MPI
    if (kn_mpi_active()) { /* data-parallel under mpirun: only rank 0 reports */
        kn_mpi_run mr;
        kn_mpi_run_begin(&mr, &s, &cb);
        int rc = kn_experiment_run(&s, &cb, &r, &err);
        fflush(stdout);
        if (kn_mpi_run_end(&mr, rc, &err))
            return 1;
        if (mr.rank != 0 || mr.idle) {
            if (!rc)
                kn_experiment_result_free(&r);
            return 0;
        }
    } else
#endif
    if (kn_experiment_run(&s, &cb, &r, &err)) {
        fflush(stdout);
        fprintf(stderr, "kenyon run: %s\n", err.msg);
        return 1;
    }
    const kn_run_result *res = &r.run;
    printf("final accuracy %.4f (task-incremental %.4f), memory loss %.4f, forgetting %.4f, "
           "BWT %.4f\n",
           res->final_accuracy, res->final_accuracy_ti, res->memory_loss, res->forgetting,
           res->bwt);
    printf("time: load %.2f s, train %.2f s, evaluate %.2f s, wall %.2f s; peak RSS %.1f MB\n",
           r.load_seconds, res->train_seconds, res->eval_seconds, r.wall_seconds,
           res->peak_rss_kb / 1024.0);
    if (s.out_dir)
        printf("wrote %s/summary.json and %s/accuracy_matrix.csv\n", s.out_dir, s.out_dir);
    if (s.save_model)
        printf("saved the model to %s\n", s.save_model);
    kn_experiment_result_free(&r);
    return 0;
}
