/* `kenyon run`: one continual learner through the class-incremental protocol on a named data set
 * (MNIST-20, ...) or the user's train/test files. Options the command does not know are the
 * method's hyperparameters (`--k 200`), checked against the method's parameter table;
 * `kenyon run --method M --help` lists them. A thin layer over kenyon/protocol.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "kenyon/clock.h"
#include "kenyon/data_load.h"
#include "kenyon/features.h"
#include "kenyon/learner.h"
#include "kenyon/peak_memory.h"
#include "kenyon/protocol.h"
#include "kenyon/tasks.h"
#include "opts.h"

#define MAX_OVERRIDES 64

typedef struct run_args {
    const char *method, *dataset, *data_dir, *out, *save, *load, *features;
    const char *train_x, *train_y, *test_x, *test_y;
    uint64_t seed, balance_seed;
    int classes_per_task, batch, file_order, no_balance, quiet;
} run_args;

static void list_methods(FILE *out)
{
    fprintf(out, "\nmethods (kenyon run --method M --help lists M's options):\n");
    for (const kn_method *const *m = kn_method_list(); *m; m++)
        fprintf(out, "  %-12s %s\n", (*m)->name, (*m)->summary ? (*m)->summary : "");
}

/* Is --name one of the command's own options? */
static const kn_opt *find_opt(const kn_opt *opts, const char *name, size_t len)
{
    for (const kn_opt *o = opts; o->name; o++)
        if (strlen(o->name) == len && strncmp(o->name, name, len) == 0)
            return o;
    return NULL;
}

int kn_cmd_run(int argc, char **argv)
{
    run_args a = {.method = "fly", .dataset = "mnist20", .seed = 1, .classes_per_task = 2,
                  .batch = 64, .features = "pixels"};
    kn_opt opts[] = {
        {"method", KN_OPT_STRING, &a.method, "continual learner (see the list below)"},
        {"dataset", KN_OPT_STRING, &a.dataset, "named data set: mnist20, mnist, fashion, cifar100"},
        {"data", KN_OPT_STRING, &a.data_dir, "data directory (default $KENYON_DATA or ./data)"},
        {"features", KN_OPT_STRING, &a.features, "pixels, lenet (cached LeNet5 features) or FILE.npy (rows: unbalanced train then test)"},
        {"seed", KN_OPT_U64, &a.seed, "seed of the run (projection, initialisation, shuffles)"},
        {"out", KN_OPT_STRING, &a.out, "write DIR/summary.json and DIR/accuracy_matrix.csv"},
        {"save", KN_OPT_STRING, &a.save, "save the trained model (safetensors) to FILE"},
        {"load", KN_OPT_STRING, &a.load, "resume a model saved with --save (continues after its last task)"},
        {"classes-per-task", KN_OPT_INT, &a.classes_per_task, "classes in each task"},
        {"batch", KN_OPT_INT, &a.batch, "samples per learner update call"},
        {"file-order", KN_OPT_FLAG, &a.file_order, "train each task in file order (default: seeded shuffle within the task)"},
        {"no-balance", KN_OPT_FLAG, &a.no_balance, "keep all training samples (default: sub-sample every class to the smallest)"},
        {"balance-seed", KN_OPT_U64, &a.balance_seed, "seed of the class-balancing sub-sample"},
        {"train-x", KN_OPT_STRING, &a.train_x, "user data: training features (npy, IDX or CSV)"},
        {"train-y", KN_OPT_STRING, &a.train_y, "user data: training labels"},
        {"test-x", KN_OPT_STRING, &a.test_x, "user data: test features"},
        {"test-y", KN_OPT_STRING, &a.test_y, "user data: test labels"},
        {"quiet", KN_OPT_FLAG, &a.quiet, "do not print the per-task table"},
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

    /* Split argv: the command's own options vs. the method's (--key value or --key=value). */
    char **own = malloc(((size_t)argc + 1) * sizeof *own);
    kn_kv ov[MAX_OVERRIDES];
    size_t n_ov = 0;
    int n_own = 0, help = 0;
    if (!own) {
        fprintf(stderr, "kenyon run: out of memory\n");
        return 1;
    }
    for (int i = 0; i < argc; i++) {
        const char *s = argv[i];
        if (strcmp(s, "--help") == 0 || strcmp(s, "-h") == 0) {
            help = 1;
            continue;
        }
        if (strncmp(s, "--", 2) != 0 || s[2] == '\0') {
            own[n_own++] = argv[i];
            continue;
        }
        const char *name = s + 2, *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        const kn_opt *o = find_opt(opts, name, len);
        if (o) {
            own[n_own++] = argv[i];
            if (o->type != KN_OPT_FLAG && !eq && i + 1 < argc)
                own[n_own++] = argv[++i];
            continue;
        }
        if (n_ov == MAX_OVERRIDES) {
            fprintf(stderr, "kenyon run: too many method options\n");
            free(own);
            return 2;
        }
        if (!eq && i + 1 >= argc) {
            fprintf(stderr, "kenyon run: --%s needs a value\n", name);
            free(own);
            return 2;
        }
        /* The key is NUL-terminated in place for --key=value (argv strings are writable). */
        if (eq) {
            argv[i][2 + len] = '\0';
            ov[n_ov].key = argv[i] + 2;
            ov[n_ov].value = argv[i] + 3 + len;
        } else {
            ov[n_ov].key = name;
            ov[n_ov].value = argv[++i];
        }
        n_ov++;
    }
    if (help) {
        /* Parse quietly to learn --method, then show the command's and the method's options. */
        kn_opts_parse(&spec, n_own, own, NULL, 0, NULL);
        kn_opts_print_help(&spec);
        const kn_method *m = kn_method_find(a.method);
        if (m && a.method) {
            printf("\n");
            kn_method_print_params(m, stdout);
        }
        list_methods(stdout);
        free(own);
        return 0;
    }
    int pr = kn_opts_parse(&spec, n_own, own, NULL, 0, NULL);
    free(own);
    if (pr != KN_OPTS_OK)
        return kn_opts_exit_code(pr);

    const kn_method *m = kn_method_find(a.method);
    if (!m) {
        fprintf(stderr, "kenyon run: unknown method '%s'\n", a.method);
        list_methods(stderr);
        return 2;
    }
    if (a.classes_per_task < 1 || a.batch < 1) {
        fprintf(stderr, "kenyon run: --classes-per-task and --batch must be at least 1\n");
        return 2;
    }
    int user = a.train_x || a.train_y || a.test_x || a.test_y;
    if (user && !(a.train_x && a.train_y && a.test_x && a.test_y)) {
        fprintf(stderr, "kenyon run: user data need all of --train-x, --train-y, --test-x, "
                        "--test-y\n");
        return 2;
    }
    /* Check the method's options before loading any data. */
    kn_error err;
    kn_error_clear(&err);
    for (size_t i = 0; i < n_ov; i++) {
        int known = 0;
        for (const kn_param_spec *p = m->params; p && p->name; p++)
            known |= strcmp(p->name, ov[i].key) == 0;
        if (!known) {
            fprintf(stderr, "kenyon run: unknown option '--%s' for method %s\n", ov[i].key,
                    m->name);
            kn_method_print_params(m, stderr);
            fprintf(stderr, "(kenyon run --help lists the command's own options)\n");
            return 2;
        }
    }

    double t0 = kn_seconds();
    kn_data_options dopt;
    kn_data_options_default(&dopt);
    dopt.data_dir = a.data_dir;
    dopt.balance = !a.no_balance;
    dopt.seed = a.balance_seed;
    kn_split sp;
    memset(&sp, 0, sizeof sp);
    char features_label[600] = "user files as given";
    if (user && strcmp(a.features, "pixels") != 0) {
        fprintf(stderr, "kenyon run: --features applies to named data sets; give user data as "
                        "feature files with --train-x/--test-x instead\n");
        return 2;
    }
    int rc = user ? kn_load_user_split(a.train_x, a.train_y, a.test_x, a.test_y, &dopt, &sp, &err)
                  : kn_load_dataset_features(a.dataset, &dopt, a.features,
                                             a.quiet ? NULL : stdout, &sp, features_label,
                                             sizeof features_label, &err);
    if (rc) {
        fprintf(stderr, "kenyon run: %s\n", err.msg);
        return 1;
    }
    double load_seconds = kn_seconds() - t0;
    kn_task_stream ts;
    memset(&ts, 0, sizeof ts);
    kn_learner *l = NULL;
    kn_run_result res;
    memset(&res, 0, sizeof res);
    rc = kn_task_stream_build(&sp, a.classes_per_task, NULL, &ts, &err);
    int n_classes = sp.train.n_classes > sp.test.n_classes ? sp.train.n_classes
                                                            : sp.test.n_classes;
    kn_learner_info info = {.d = sp.train.d, .n_classes = n_classes, .seed = a.seed};
    if (!rc && a.load) {
        if (n_ov) {
            fprintf(stderr, "kenyon run: method options cannot be changed when resuming with "
                            "--load (they come from the model file)\n");
            rc = 2;
            goto out;
        }
        rc = kn_learner_load(a.load, &l, &err);
        if (!rc && (l->info.d != info.d || l->info.n_classes != info.n_classes)) {
            rc = kn_fail(&err, KN_EINVAL,
                         "%s: the model expects %zu features and %d classes, the data have %zu "
                         "and %d",
                         a.load, l->info.d, l->info.n_classes, info.d, info.n_classes);
        }
        if (!rc && strcmp(l->method->name, m->name) != 0)
            fprintf(stderr, "kenyon run: note: %s holds method %s (not %s); using it\n", a.load,
                    l->method->name, m->name);
    } else if (!rc) {
        rc = kn_learner_create(m->name, &info, ov, n_ov, &l, &err);
    }
    if (rc)
        goto out;
    if (!a.quiet) {
        printf("kenyon run: method %s, %s (%zu train / %zu test samples, %zu features, %d "
               "classes, %d tasks), seed %llu, data loaded in %.2f s\n",
               l->method->name, user ? "user data" : a.dataset, sp.train.n, sp.test.n,
               sp.train.d, n_classes, ts.n_tasks, (unsigned long long)a.seed, load_seconds);
        printf("features: %s\n", features_label);
        printf("parameters:");
        for (size_t i = 0; i < l->n_params; i++)
            printf(" %s=%s", l->params[i].key, l->params[i].value);
        printf("\n");
    }
    kn_protocol_options po;
    kn_protocol_options_default(&po);
    po.batch = (size_t)a.batch;
    po.shuffle = !a.file_order;
    po.seed = a.seed;
    po.log = a.quiet ? NULL : stdout;
    kn_peak_memory_reset(); /* peak_rss_kb is this run's own */
    rc = kn_protocol_run(l, &sp, &ts, &po, &res, &err);
    if (rc)
        goto out;
    double wall = kn_seconds() - t0;
    printf("final accuracy %.4f (task-incremental %.4f), memory loss %.4f, forgetting %.4f, "
           "BWT %.4f\n",
           res.final_accuracy, res.final_accuracy_ti, res.memory_loss, res.forgetting, res.bwt);
    printf("time: load %.2f s, train %.2f s, evaluate %.2f s, wall %.2f s; peak RSS %.1f MB\n",
           load_seconds, res.train_seconds, res.eval_seconds, wall, res.peak_rss_kb / 1024.0);
    char data_source[sizeof sp.train.source + sizeof features_label + 16];
    snprintf(data_source, sizeof data_source, "%s; features: %s", sp.train.source,
             features_label);
    kn_run_info ri = {.method = l->method->name,
                      .dataset = user ? "user" : a.dataset,
                      .data_source = data_source,
                      .seed = a.seed,
                      .learner = l,
                      .stream = &ts,
                      .batch = (size_t)a.batch,
                      .shuffle = !a.file_order,
                      .load_seconds = load_seconds};
    if (a.out) {
        rc = kn_results_write(a.out, &ri, &res, &err);
        if (!rc)
            printf("wrote %s/summary.json and %s/accuracy_matrix.csv\n", a.out, a.out);
    }
    if (!rc && a.save) {
        rc = kn_learner_save(l, a.save, &err);
        if (!rc)
            printf("saved the model to %s\n", a.save);
    }
out:
    if (rc && rc != 2)
        fprintf(stderr, "kenyon run: %s\n", err.msg);
    kn_run_result_free(&res);
    kn_learner_free(l);
    kn_task_stream_free(&ts);
    kn_split_free(&sp);
    return rc == 2 ? 2 : rc ? 1 : 0;
}
