/* `kenyon dynamics`: the limiting dynamics of SGD. Verbs:
 *   linreg  exact theory vs simulation on synthetic linear regression (six checks, verdicts)
 *   train   displacement tracking of an MLP after pretraining (kn_dyn_train_*, part 3 of kenyon/dynamics.h)
 * A thin layer over src/dynamics. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/opts.h"
#include "commands.h"
#include "kenyon/samples.h"
#include "kenyon/data_load.h"
#include "kenyon/dynamics.h"
#include "kenyon/progress.h"

static int cmd_train(int argc, char **argv);

/* "all" or a comma-separated list of check numbers -> mask bits 1..6 */
static int parse_checks(const char *s, int *mask)
{
    if (strcmp(s, "all") == 0) {
        *mask = 0x7e;
        return 0;
    }
    *mask = 0;
    const char *p = s;
    while (*p) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p || v < 1 || v > 6)
            return -1;
        *mask |= 1 << v;
        p = end;
        if (*p == ',')
            p++;
        else if (*p)
            return -1;
    }
    return *mask ? 0 : -1;
}

static int cmd_linreg(int argc, char **argv)
{
    kn_dyn_config c;
    kn_dyn_config_default(&c);
    const char *checks = "all", *spectrum = "loguniform", *out = NULL;
    int non_commuting = 0, no_plots = 0, quiet = 0, dim = c.problem.dim, replicas = c.replicas;
    double steps = (double)c.steps, transient = 0;
    uint64_t seed = c.seed;
    kn_opt opts[] = {
        {"check", KN_OPT_STRING, &checks, "checks to run: all or a list such as 1,2,5"},
        {"dim", KN_OPT_INT, &dim, "dimension d of the regression"},
        {"spectrum", KN_OPT_STRING, &spectrum, "Hessian spectrum: loguniform, powerlaw, linear"},
        {"h-min", KN_OPT_DOUBLE, &c.problem.h_min, "smallest Hessian eigenvalue"},
        {"h-max", KN_OPT_DOUBLE, &c.problem.h_max, "largest Hessian eigenvalue"},
        {"noise", KN_OPT_DOUBLE, &c.problem.noise, "label-noise variance sigma^2 (Sigma = sigma^2 H)"},
        {"non-commuting", KN_OPT_FLAG, &non_commuting,
         "rotate Sigma by a random rotation so it does not commute with H"},
        {"lr", KN_OPT_DOUBLE, &c.hp.lr, "learning rate eta"},
        {"momentum", KN_OPT_DOUBLE, &c.hp.momentum, "momentum beta (PyTorch form)"},
        {"wd", KN_OPT_DOUBLE, &c.hp.wd, "weight decay lambda"},
        {"batch", KN_OPT_DOUBLE, &c.hp.batch, "batch size S (noise covariance Sigma/S)"},
        {"steps", KN_OPT_DOUBLE, &steps,
         "stationary run length: check 2; check 1 runs steps/4 per sweep point; checks 4 and 5 "
         "run at least 65536 and 4e6 steps"},
        {"replicas", KN_OPT_INT, &replicas, "independent runs for checks 3 and 6"},
        {"transient-steps", KN_OPT_DOUBLE, &transient,
         "length of each run in checks 3 and 6 (0: from the slowest mode)"},
        {"seed", KN_OPT_U64, &seed, "random seed"},
        {"out", KN_OPT_STRING, &out, "directory for CSV, summary.json and figures (none: no files)"},
        {"no-plots", KN_OPT_FLAG, &no_plots, "write CSV and JSON but no figures"},
        {"quiet", KN_OPT_FLAG, &quiet, "no progress display"},
        {NULL, 0, NULL, NULL},
    };
    kn_command_spec spec = {
        "dynamics linreg", "[options]",
        "Simulates SGD with momentum and weight decay (PyTorch form) on synthetic linear "
        "regression with anisotropic inputs and label noise, and checks the exact theory: "
        "1 stationary speed law, 2 per-mode stationary covariances, 3 mean and variance band from "
        "an off-minimum start, 4 oscillation frequencies and onset, 5 the 2-D non-commuting toy "
        "(modified loss Psi, probability current), 6 mean squared displacement and exponent c. "
        "Prints measured vs predicted numbers and PASS/FAIL; exits 1 if a check fails.",
        opts};
    int pr = kn_opts_parse(&spec, argc, argv, NULL, 0, NULL);
    if (pr != KN_OPTS_OK)
        return kn_opts_exit_code(pr);
    int mask;
    if (parse_checks(checks, &mask)) {
        fprintf(stderr, "kenyon dynamics linreg: --check '%s': expected all or numbers 1..6 "
                        "separated by commas\n", checks);
        return 2;
    }
    kn_error err = {0};
    if (kn_spectrum_parse(spectrum, &c.problem.spectrum, &err)) {
        fprintf(stderr, "kenyon dynamics linreg: %s\n", err.msg);
        return 2;
    }
    if (!(steps >= 1000 && steps <= 1e10) || !(transient >= 0 && transient <= 1e8)) {
        fprintf(stderr, "kenyon dynamics linreg: --steps must be in [1000, 1e10] and "
                        "--transient-steps in [0, 1e8]\n");
        return 2;
    }
    if (replicas < 10 || replicas > 1000000) {
        fprintf(stderr, "kenyon dynamics linreg: --replicas %d out of range 10..1000000\n",
                replicas);
        return 2;
    }
    c.problem.dim = dim;
    c.problem.commute = !non_commuting;
    c.problem.seed = seed;
    c.seed = seed;
    c.steps = (size_t)steps;
    c.transient_steps = (size_t)transient;
    c.replicas = replicas;
    c.quiet = quiet;
    const char *bad = kn_linreg_spec_check(&c.problem);
    if (!bad)
        bad = kn_sgd_hparams_check(&c.hp);
    if (bad) {
        fprintf(stderr, "kenyon dynamics linreg: %s\n", bad);
        return 2;
    }
    kn_dyn_result results[6];
    size_t n = 0;
    int failed = 0;
    printf("kenyon dynamics linreg: d=%d spectrum=%s h=[%g, %g] noise=%g Sigma %s H; lr=%g "
           "momentum=%g wd=%g batch=%g seed=%llu\n",
           dim, spectrum, c.problem.h_min, c.problem.h_max, c.problem.noise,
           non_commuting ? "not commuting with" : "commuting with", c.hp.lr, c.hp.momentum,
           c.hp.wd, c.hp.batch, (unsigned long long)seed);
    for (int k = 1; k <= 6; k++) {
        if (!(mask & (1 << k)))
            continue;
        if (kn_dyn_check_run(k, &c, &results[n], &err)) {
            fprintf(stderr, "kenyon dynamics linreg: check %d: %s\n", k, err.msg);
            kn_dyn_result_free(&results[n]);
            for (size_t i = 0; i < n; i++)
                kn_dyn_result_free(&results[i]);
            return 1;
        }
        kn_dyn_result *r = &results[n++];
        char dur[32];
        kn_format_duration(r->seconds, dur, sizeof dur);
        printf("\n[check %d] %s  (%s)\n%s  verdict: %s\n", k, r->title, dur, r->verdict,
               r->pass == 1 ? "PASS" : r->pass == 0 ? "FAIL" : "REPORT");
        fflush(stdout);
        failed |= r->pass == 0;
    }
    int rc = failed ? 1 : 0;
    if (out) {
        if (kn_dyn_write_outputs(out, &c, results, n, !no_plots, &err)) {
            fprintf(stderr, "kenyon dynamics linreg: %s\n", err.msg);
            rc = 1;
        } else {
            printf("\nwrote %s/summary.json, CSV series%s\n", out, no_plots ? "" : " and figures");
        }
    }
    for (size_t i = 0; i < n; i++)
        kn_dyn_result_free(&results[i]);
    return rc;
}

static const kn_subcommand verbs[] = {
    {"linreg", "exact theory vs simulation on linear regression (six checks)", cmd_linreg},
    {"train", "pretrain an MLP, keep training, track displacement and exponent c",
     cmd_train},
    {NULL, NULL, NULL},
};

int kn_cmd_dynamics(int argc, char **argv) { return kn_dispatch("dynamics", verbs, argc, argv); }

/* "lr=0.01,0.005" -> name and values */
static int parse_sweep(const char *s, kn_dyn_train_config *c, char *name, size_t name_size)
{
    const char *eq = strchr(s, '=');
    if (!eq || eq == s || (size_t)(eq - s) >= name_size)
        return -1;
    memcpy(name, s, (size_t)(eq - s));
    name[eq - s] = 0;
    c->sweep_name = name;
    c->n_sweep = 0;
    const char *p = eq + 1;
    while (*p) {
        char *end;
        double v = strtod(p, &end);
        if (end == p || c->n_sweep >= KN_DYN_MAX_RUNS)
            return -1;
        c->sweep[c->n_sweep++] = v;
        p = end;
        if (*p == ',')
            p++;
        else if (*p)
            return -1;
    }
    return c->n_sweep ? 0 : -1;
}

static int cmd_train(int argc, char **argv)
{
    kn_dyn_train_config c;
    kn_dyn_train_config_default(&c);
    const char *data = "fashion", *data_dir = NULL, *out = NULL, *sweep = NULL;
    const char *train_x = NULL, *train_y = NULL, *test_x = NULL, *test_y = NULL;
    double n_train = (double)c.n_train, steps = (double)c.steps;
    double hessian_batch = (double)c.hessian_batch;
    int no_plots = 0, quiet = 0;
    uint64_t seed = c.seed;
    kn_opt opts[] = {
        {"data", KN_OPT_STRING, &data, "data set: mnist20, mnist, fashion, cifar100"},
        {"data-dir", KN_OPT_STRING, &data_dir, "data directory (default $KENYON_DATA or ./data)"},
        {"train-x", KN_OPT_STRING, &train_x, "your own training inputs (.npy, IDX, CSV)"},
        {"train-y", KN_OPT_STRING, &train_y, "your own training labels"},
        {"test-x", KN_OPT_STRING, &test_x, "your own test inputs"},
        {"test-y", KN_OPT_STRING, &test_y, "your own test labels"},
        {"n-train", KN_OPT_DOUBLE, &n_train, "random training subset size (0: all)"},
        {"hidden", KN_OPT_INT, &c.hidden, "width of each hidden layer"},
        {"depth", KN_OPT_INT, &c.depth, "number of hidden ReLU layers"},
        {"pre-epochs", KN_OPT_INT, &c.pre_epochs, "pretraining epochs"},
        {"pre-lr", KN_OPT_DOUBLE, &c.pre.lr, "pretraining learning rate"},
        {"pre-momentum", KN_OPT_DOUBLE, &c.pre.momentum, "pretraining momentum"},
        {"pre-wd", KN_OPT_DOUBLE, &c.pre.wd, "pretraining weight decay"},
        {"pre-batch", KN_OPT_DOUBLE, &c.pre.batch, "pretraining batch size"},
        {"lr", KN_OPT_DOUBLE, &c.hp.lr, "continuation learning rate eta"},
        {"momentum", KN_OPT_DOUBLE, &c.hp.momentum, "continuation momentum beta"},
        {"wd", KN_OPT_DOUBLE, &c.hp.wd, "continuation weight decay lambda"},
        {"batch", KN_OPT_DOUBLE, &c.hp.batch, "continuation batch size S"},
        {"steps", KN_OPT_DOUBLE, &steps, "continuation steps per run"},
        {"sweep", KN_OPT_STRING, &sweep,
         "runs over one hyperparameter, e.g. lr=0.02,0.01,0.005 (default: lr and lr/2)"},
        {"hessian", KN_OPT_INT, &c.hessian_k,
         "project the trajectory onto this many top Hessian eigenvectors at theta_0 (0..8)"},
        {"hessian-batch", KN_OPT_DOUBLE, &hessian_batch, "training rows for the Hessian"},
        {"hessian-iters", KN_OPT_INT, &c.hessian_iters, "subspace iterations for the Hessian"},
        {"burn-in", KN_OPT_DOUBLE, &c.burn_in, "fraction of each run dropped before CV and fit"},
        {"windows", KN_OPT_INT, &c.windows, "windows for the coefficient of variation"},
        {"seed", KN_OPT_U64, &seed, "random seed"},
        {"out", KN_OPT_STRING, &out, "directory for CSV, summary.json and figures"},
        {"no-plots", KN_OPT_FLAG, &no_plots, "no figures"},
        {"quiet", KN_OPT_FLAG, &quiet, "no progress display"},
        {NULL, 0, NULL, NULL},
    };
    kn_command_spec spec = {
        "dynamics train", "[options]",
        "Pretrains an MLP with SGD (momentum, weight decay; PyTorch form), then keeps training "
        "from the pretrained parameters theta_0 at fixed hyperparameters and records every step "
        "|delta_k|^2, |theta_k - theta_0|^2, |theta_k| and theta_k . theta_0. Checks that "
        "|delta|^2 is flat (CV of window means < 10%) and scales as eta^2/(S(1-beta^2)) between "
        "runs (10%), and fits the exponent c of |theta_k - theta_0|^2 ~ k^c with a 95% interval. "
        "Exits 1 if a check fails.",
        opts};
    int pr = kn_opts_parse(&spec, argc, argv, NULL, 0, NULL);
    if (pr != KN_OPTS_OK)
        return kn_opts_exit_code(pr);
    char sweep_name[16];
    if (sweep && parse_sweep(sweep, &c, sweep_name, sizeof sweep_name)) {
        fprintf(stderr, "kenyon dynamics train: --sweep '%s': expected NAME=V1,V2,... with at "
                        "most %d values\n", sweep, KN_DYN_MAX_RUNS);
        return 2;
    }
    if (!(n_train >= 0 && n_train <= 1e9) || !(steps >= 20 && steps <= 1e9)) {
        fprintf(stderr, "kenyon dynamics train: --n-train must be in [0, 1e9] and --steps in "
                        "[20, 1e9]\n");
        return 2;
    }
    int own = train_x || train_y || test_x || test_y;
    if (own && !(train_x && train_y && test_x && test_y)) {
        fprintf(stderr, "kenyon dynamics train: --train-x, --train-y, --test-x and --test-y go "
                        "together\n");
        return 2;
    }
    if (!(hessian_batch >= 1 && hessian_batch <= 1e7)) {
        fprintf(stderr, "kenyon dynamics train: --hessian-batch must be in [1, 1e7]\n");
        return 2;
    }
    c.hessian_batch = (size_t)hessian_batch;
    c.n_train = (size_t)n_train;
    c.steps = (size_t)steps;
    c.seed = seed;
    c.quiet = quiet;
    kn_error err = {0};
    kn_data_options o;
    kn_data_options_default(&o);
    o.data_dir = data_dir;
    o.seed = seed;
    kn_split sp;
    memset(&sp, 0, sizeof sp);
    int rc = own ? kn_load_user_split(train_x, train_y, test_x, test_y, &o, &sp, &err)
                 : kn_load_dataset(data, &o, &sp, &err);
    if (rc) {
        fprintf(stderr, "kenyon dynamics train: %s\n", err.msg);
        return 1;
    }
    printf("kenyon dynamics train: %s (%zu train, %zu test rows, %d classes)\n",
           own ? train_x : data, sp.train.n, sp.test.n, sp.train.n_classes);
    fflush(stdout);
    kn_dyn_train_result r;
    double t0 = kn_seconds();
    rc = kn_dyn_train(&c, &sp, &r, &err);
    if (rc) {
        fprintf(stderr, "kenyon dynamics train: %s\n", err.msg);
        kn_dyn_train_result_free(&r);
        kn_split_free(&sp);
        return rc == KN_EINVAL ? 2 : 1;
    }
    char dur[32];
    kn_format_duration(kn_seconds() - t0, dur, sizeof dur);
    printf("%s  verdict: %s  (%s)\n", r.verdict, r.pass ? "PASS" : "FAIL", dur);
    int status = r.pass ? 0 : 1;
    if (out) {
        if (kn_dyn_train_write_outputs(out, &c, &r, !no_plots, &err)) {
            fprintf(stderr, "kenyon dynamics train: %s\n", err.msg);
            status = 1;
        } else {
            printf("wrote %s/summary.json, train_run*.csv%s\n", out,
                   no_plots ? "" : ", msd_train.png, speed_train.png (+ Hessian portraits)");
        }
    }
    kn_dyn_train_result_free(&r);
    kn_split_free(&sp);
    return status;
}
