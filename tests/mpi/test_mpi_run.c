/* Data-parallel `kenyon run` under mpirun (src/mpi/): for fly, fly-ridge, ncm and slda, 1, 2
 * and 4 ranks give the same accuracy matrix and the same test predictions, fly bit-identical
 * weights, fly-ridge weights within 1e-6, ncm's and slda's class sums, counts and scatter within
 * 1e-6 relative of the single-process learner's; MPI fly agrees with the single-process rule
 * within the float rounding of its per-sample sums; a method that cannot be split runs on rank 0
 * alone with the single-process result; a rank that fails (its copy of the data is bad) fails
 * the whole job with its rank and reason and leaves nothing in the output directory; commands
 * other than run and bench are refused under more than one rank; the memory check counts every
 * rank on the machine with its reduction buffers. Skipped, with a message, when kenyon has no MPI. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "test_support.h"

#include "cl/class_sums.h"
#include "cl/fly_parts.h"
#include "kenyon/formats.h"
#include "kenyon/learner.h"
#include "kenyon/rng.h"

#define D 24
#define N_CLASSES 6
#define N_TRAIN 240
#define N_TEST 90

/* Under ASan, the processes mpirun starts run without leak detection: Open MPI's plugins keep
 * allocations until exit and are unloaded at MPI_Finalize, so LeakSanitizer can neither free nor
 * attribute them (their stacks end in an unknown module). Every other sanitizer check stays on,
 * and the runs without mpirun below keep leak detection. */
#define MPIRUN_ENV                                                                            \
    "OMP_NUM_THREADS=1 ASAN_OPTIONS=\"${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0\" "
/* mpirun (its path is the first %s) with the options every test uses. */
#define MPIRUN MPIRUN_ENV "%s --oversubscribe --allow-run-as-root --timeout 300 "

static const char *g_dir;
static char g_mpirun[512];
static float g_test_x[N_TEST * D];

static const char *mpi_missing(void)
{
    char *out = NULL;
    int rc = kt_run_cli(&out, "--version");
    int has = rc == 0 && out && strstr(out, "MPI:");
    free(out);
    if (!has)
        return "this kenyon was built without MPI (KENYON_MPI=OFF or no libopenmpi-dev)";
    FILE *p = popen("command -v mpirun", "r");
    if (!p || !fgets(g_mpirun, sizeof g_mpirun, p)) {
        if (p)
            pclose(p);
        return "mpirun is not installed (Debian package openmpi-bin)";
    }
    pclose(p);
    g_mpirun[strcspn(g_mpirun, "\n")] = '\0';
    return NULL;
}

/* Class q: a bump on features 4q..4q+3 over noise; all rows drawn from one seeded generator. */
static void make_rows(kn_rng *rng, float *x, int32_t *y, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        y[i] = (int32_t)(i % N_CLASSES);
        for (int j = 0; j < D; j++)
            x[i * D + j] = (float)(kn_rng_uniform(rng) + (j / 4 == y[i] ? 0.35 : 0.0));
    }
}

static int setup(void **state)
{
    (void)state;
    const char *why = mpi_missing();
    if (why) {
        g_dir = NULL;
        fprintf(stderr, "mpi tests skipped: %s\n", why);
        return 0;
    }
    g_dir = kt_scratch_dir("mpi-run");
    static float xtr[N_TRAIN * D];
    static int32_t ytr[N_TRAIN], yte[N_TEST];
    kn_rng rng;
    kn_rng_seed(&rng, 11);
    make_rows(&rng, xtr, ytr, N_TRAIN);
    make_rows(&rng, g_test_x, yte, N_TEST);
    kn_error err;
    size_t shx[2] = {N_TRAIN, D}, shy[1] = {N_TRAIN}, sex[2] = {N_TEST, D}, sey[1] = {N_TEST};
    if (kn_npy_write_f32(kt_path(g_dir, "xtr.npy"), xtr, shx, 2, &err) ||
        kn_npy_write_i32(kt_path(g_dir, "ytr.npy"), ytr, shy, 1, &err) ||
        kn_npy_write_f32(kt_path(g_dir, "xte.npy"), g_test_x, sex, 2, &err) ||
        kn_npy_write_i32(kt_path(g_dir, "yte.npy"), yte, sey, 1, &err)) {
        fprintf(stderr, "setup: %s\n", err.msg);
        return -1;
    }
    /* A copy of the training features with one non-finite value, as CSV. */
    FILE *f = fopen(kt_path(g_dir, "bad.csv"), "w");
    if (!f)
        return -1;
    for (size_t i = 0; i < N_TRAIN; i++)
        for (int j = 0; j < D; j++)
            fprintf(f, "%s%s", i == 7 && j == 3 ? "nan" : "0.5", j + 1 < D ? "," : "\n");
    fclose(f);
    return 0;
}

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return strdup(buf);
}

/* Runs the command line through the shell with stdout+stderr captured; returns the exit code. */
static int shell(char **out, const char *cmd)
{
    char full[4096];
    snprintf(full, sizeof full, "%s 2>&1", cmd);
    FILE *p = popen(full, "r");
    assert_non_null(p);
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    assert_non_null(buf);
    size_t got;
    while ((got = fread(buf + n, 1, cap - 1 - n, p)) > 0)
        n += got;
    buf[n] = '\0';
    int st = pclose(p);
    if (out)
        *out = buf;
    else
        free(buf);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static const char *data_args(void)
{
    static char a[2048];
    snprintf(a, sizeof a, "--train-x %s --train-y %s --test-x %s --test-y %s",
             kt_path(g_dir, "xtr.npy"), kt_path(g_dir, "ytr.npy"), kt_path(g_dir, "xte.npy"),
             kt_path(g_dir, "yte.npy"));
    return a;
}

/* `kenyon run` of method (+ opts) on ranks ranks (0: without mpirun) into DIR tag. */
static void run(const char *method, const char *opts, int ranks, const char *tag)
{
    char cmd[8192], *out = NULL, outdir[1024];
    snprintf(outdir, sizeof outdir, "%s", kt_path(g_dir, tag));
    char prefix[700] = "";
    if (ranks > 0)
        snprintf(prefix, sizeof prefix, MPIRUN
                 "-n %d ", g_mpirun, ranks);
    snprintf(cmd, sizeof cmd, "%s%s run --method %s %s %s --seed 3 --quiet --out %s --save %s.st",
             prefix, getenv("KENYON"), method, opts, data_args(), outdir, outdir);
    int rc = shell(&out, cmd);
    if (rc != 0)
        fail_msg("%s exited %d: %s", cmd, rc, out);
    free(out);
}

typedef struct model {
    kn_learner *l;
    const float *w;              /* fly family */
    const kn_class_model *class; /* ncm, slda */
    int32_t labels[N_TEST];
} model;

static void load_model(const char *tag, model *m)
{
    char path[1024];
    snprintf(path, sizeof path, "%s.st", kt_path(g_dir, tag));
    kn_error err;
    if (kn_learner_load(path, &m->l, &err))
        fail_msg("%s", err.msg);
    kn_fly_model *fly;
    kn_fly_ridge *ridge;
    kn_class_model *cm;
    m->w = NULL;
    m->class = NULL;
    if (kn_class_learner_parts(m->l, &cm, &err) == 0)
        m->class = cm;
    else {
        assert_int_equal(kn_fly_learner_parts(m->l, &fly, &ridge, &err), 0);
        m->w = ridge ? ridge->w : fly->w;
    }
    uint8_t all[N_CLASSES];
    memset(all, 1, sizeof all);
    assert_int_equal(kn_learner_predict_labels(m->l, g_test_x, N_TEST, all, m->labels, &err), 0);
}

static void assert_same_matrix(const char *a, const char *b)
{
    char pa[1024], pb[1024];
    snprintf(pa, sizeof pa, "%s/accuracy_matrix.csv", kt_path(g_dir, a));
    snprintf(pb, sizeof pb, "%s/accuracy_matrix.csv", kt_path(g_dir, b));
    char *ta = read_text(pa), *tb = read_text(pb);
    assert_non_null(ta);
    assert_non_null(tb);
    assert_string_equal(ta, tb);
    free(ta);
    free(tb);
}

#define FLY_OPTS "--m 300 --c 4 --k 15"

static void test_rank_count_independent(void **state, const char *method, double tol)
{
    (void)state;
    if (!g_dir)
        skip();
    const int ranks[3] = {1, 2, 4};
    model m[3];
    char tag[3][64];
    for (int r = 0; r < 3; r++) {
        snprintf(tag[r], sizeof tag[r], "%s-n%d", method, ranks[r]);
        run(method, FLY_OPTS, ranks[r], tag[r]);
        load_model(tag[r], &m[r]);
    }
    const size_t nw = 300 * N_CLASSES;
    for (int r = 1; r < 3; r++) {
        assert_same_matrix(tag[0], tag[r]);
        assert_memory_equal(m[0].labels, m[r].labels, sizeof m[0].labels);
        double worst = 0;
        for (size_t q = 0; q < nw; q++)
            worst = fmax(worst, fabs((double)m[0].w[q] - (double)m[r].w[q]));
        if (worst > tol)
            fail_msg("%s: weights of 1 and %d ranks differ by %g (tolerance %g)", method,
                     ranks[r], worst, tol);
    }
    if (strcmp(method, "fly") == 0) {
        /* Against the single-process rule: its per-sample float additions round each weight
         * by at most (samples added) * 2^-24 * ceiling; a task has N_TRAIN / 3 samples. */
        run(method, FLY_OPTS, 0, "fly-single");
        model s;
        load_model("fly-single", &s);
        const double bound = (N_TRAIN / 3.0) * ldexp(1.0, -24);
        for (size_t q = 0; q < nw; q++) {
            double dq = fabs((double)s.w[q] - (double)m[0].w[q]);
            if (dq > bound)
                fail_msg("fly: MPI and single-process weight %zu differ by %g > %g", q, dq, bound);
        }
        kn_learner_free(s.l);
    }
    for (int r = 0; r < 3; r++)
        kn_learner_free(m[r].l);
}

/* max |a - b| / max |b| over n values: a relative distance that near-zero entries cannot blow up
 * (and exactly 0 when the arrays are equal). */
static double rel_dist(const double *a, const double *b, size_t n)
{
    double worst = 0, scale = 0;
    for (size_t q = 0; q < n; q++) {
        worst = fmax(worst, fabs(a[q] - b[q]));
        scale = fmax(scale, fabs(b[q]));
    }
    return scale > 0 ? worst / scale : worst;
}

/* ncm and slda: the same accuracy matrix and predictions at 1, 2 and 4 ranks, and the state
 * (class sums, counts, slda's scatter) within 1e-6 relative of the single-process learner's.
 * Double sums grouped differently round differently by about 1e-16 per addition; 1e-6 leaves a
 * margin of many orders for the 240 samples here, while a sample dropped or counted twice moves
 * a class sum by about 1/40 of itself. */
static void test_class_rank_count_independent(const char *method)
{
    if (!g_dir)
        skip();
    const int ranks[3] = {1, 2, 4};
    model m[3], single;
    char tag[3][64], stag[64];
    snprintf(stag, sizeof stag, "%s-single", method);
    run(method, "", 0, stag);
    load_model(stag, &single);
    assert_non_null(single.class);
    const kn_class_model *ref = single.class;
    const size_t C = N_CLASSES;
    for (int r = 0; r < 3; r++) {
        snprintf(tag[r], sizeof tag[r], "%s-n%d", method, ranks[r]);
        run(method, "", ranks[r], tag[r]);
        load_model(tag[r], &m[r]);
        if (r > 0) {
            assert_same_matrix(tag[0], tag[r]);
            assert_memory_equal(m[0].labels, m[r].labels, sizeof m[0].labels);
        }
        const kn_class_model *got = m[r].class;
        assert_memory_equal(got->cs.counts, ref->cs.counts, C * sizeof *ref->cs.counts);
        double ds = rel_dist(got->cs.sums, ref->cs.sums, C * D), dg = 0;
        if (ref->scatter) {
            assert_non_null(got->scatter);
            double g[D * D], h[D * D]; /* the upper triangles (the lower is not maintained) */
            size_t q = 0;
            for (size_t i = 0; i < D; i++)
                for (size_t j = i; j < D; j++, q++) {
                    g[q] = got->scatter[i * D + j];
                    h[q] = ref->scatter[i * D + j];
                }
            dg = rel_dist(g, h, q);
        }
    if (ds > 1e-6 || dg > 1e-6)
            fail_msg("%s at %d ranks: class sums %g, scatter %g relative from the "
                     "single-process learner (tolerance 1e-6)", method, ranks[r], ds, dg);
    }
    for (int r = 0; r < 3; r++)
        kn_learner_free(m[r].l);
    kn_learner_free(single.l);
}

static void test_ncm(void **state)
{
    (void)state;
    test_class_rank_count_independent("ncm");
}

static void test_slda(void **state)
{
    (void)state;
    test_class_rank_count_independent("slda");
}

static void test_fly(void **state) { test_rank_count_independent(state, "fly", 0.0); }
static void test_fly_ridge(void **state) { test_rank_count_independent(state, "fly-ridge", 1e-6); }

/* The perceptron V1 depends on the order of the samples: rank 0 runs it alone, as without MPI. */
static void test_unsplittable_runs_on_rank0(void **state)
{
    (void)state;
    if (!g_dir)
        skip();
    char cmd[4096], *out = NULL;
    snprintf(cmd, sizeof cmd, MPIRUN "-n 2 %s "
             "run --method v1 " FLY_OPTS " %s --seed 3 --quiet --out %s", g_mpirun,
             getenv("KENYON"), data_args(), kt_path(g_dir, "v1-n2"));
    assert_int_equal(shell(&out, cmd), 0);
    assert_non_null(strstr(out, "runs on rank 0 alone"));
    /* one summary, from rank 0 */
    const char *first = strstr(out, "final accuracy");
    assert_non_null(first);
    assert_null(strstr(first + 1, "final accuracy"));
    free(out);
    run("v1", FLY_OPTS, 0, "v1-single");
    assert_same_matrix("v1-single", "v1-n2");
}

/* Rank 1's copy of the training features holds a NaN (MPMD: each rank its own arguments). */
static void test_failing_rank(void **state)
{
    (void)state;
    if (!g_dir)
        skip();
    char outdir[1024];
    snprintf(outdir, sizeof outdir, "%s", kt_path(g_dir, "fail-out"));
    char good[4096], bad[4096], cmd[9000], *out = NULL;
    snprintf(good, sizeof good, "%s run --method fly " FLY_OPTS " %s --quiet --out %s",
             getenv("KENYON"), data_args(), outdir);
    snprintf(bad, sizeof bad, "%s run --method fly " FLY_OPTS " --train-x %s --train-y %s "
             "--test-x %s --test-y %s --quiet --out %s", getenv("KENYON"),
             kt_path(g_dir, "bad.csv"), kt_path(g_dir, "ytr.npy"), kt_path(g_dir, "xte.npy"),
             kt_path(g_dir, "yte.npy"), outdir);
    snprintf(cmd, sizeof cmd, MPIRUN "-n 1 %s "
             ": -n 1 %s", g_mpirun, good, bad);
    int rc = shell(&out, cmd);
    assert_int_not_equal(rc, 0);
    if (!strstr(out, "rank 1 of 2") || !strstr(out, "bad.csv") || !strstr(out, "not a finite"))
        fail_msg("the message does not name rank 1 and its reason: %s", out);
    assert_null(strstr(out, "final accuracy"));
    free(out);
    char p[1200];
    struct stat sb;
    snprintf(p, sizeof p, "%s/summary.json", outdir);
    assert_int_not_equal(stat(p, &sb), 0);
    snprintf(p, sizeof p, "%s/accuracy_matrix.csv", outdir);
    assert_int_not_equal(stat(p, &sb), 0);
}

/* fly-ridge at m 2000 (a 32 MB Gram matrix and its factor) fits a 200 MB limit as one process,
 * but 4 ranks each holding the model and about 1.5 m^2 doubles of reduction buffers do not: the
 * job is refused before training, with the sizes, and writes nothing. */
static void test_memory_check_counts_ranks(void **state)
{
    (void)state;
    if (!g_dir)
        skip();
    kn_learner_info info = {.d = D, .n_classes = N_CLASSES, .seed = 3};
    kn_kv big[] = {{"m", "2000"}};
    kn_error err;
    assert_int_equal(setenv("KENYON_MEMORY_LIMIT", "200M", 1), 0);
    assert_int_equal(kn_learner_check_memory("fly-ridge", &info, big, 1, N_TRAIN, &err), 0);
    assert_int_equal(setenv("KENYON_MEMORY_LIMIT", "40M", 1), 0); /* the limit is read */
    assert_int_equal(kn_learner_check_memory("fly-ridge", &info, big, 1, N_TRAIN, &err),
                     KN_ENOMEM);
    assert_int_equal(setenv("KENYON_MEMORY_LIMIT", "lots", 1), 0);
    assert_int_equal(kn_learner_check_memory("fly-ridge", &info, big, 1, N_TRAIN, &err),
                     KN_EINVAL);
    assert_non_null(strstr(err.msg, "KENYON_MEMORY_LIMIT=lots"));
    unsetenv("KENYON_MEMORY_LIMIT");

    char outdir[1024], cmd[8192], *out = NULL;
    snprintf(outdir, sizeof outdir, "%s", kt_path(g_dir, "mem-n4"));
    for (int ranks = 1; ranks <= 4; ranks += 3) {
        snprintf(cmd, sizeof cmd, "KENYON_MEMORY_LIMIT=200M " MPIRUN "-n %d %s run --method "
                 "fly-ridge --m 2000 --c 4 %s --quiet --out %s-%d", g_mpirun, ranks,
                 getenv("KENYON"), data_args(), outdir, ranks);
        int rc = shell(&out, cmd);
        if (ranks == 1 && rc != 0)
            fail_msg("one rank should fit in 200 MB: %s", out);
        if (ranks == 4 && (rc == 0 || !strstr(out, "in 4 processes on this machine") ||
                           !strstr(out, "MPI reduction buffers") ||
                           !strstr(out, "memory available") || strstr(out, "final accuracy")))
            fail_msg("4 ranks should be refused up front with the sizes (exit %d): %s", rc, out);
        free(out);
    }
    char p[1200];
    struct stat sb;
    snprintf(p, sizeof p, "%s-4", outdir);
    assert_int_not_equal(stat(p, &sb), 0);
}

static void test_other_commands_refused(void **state)
{
    (void)state;
    if (!g_dir)
        skip();
    char cmd[2048], *out = NULL;
    snprintf(cmd, sizeof cmd, MPIRUN "-n 2 %s dynamics --help", g_mpirun, getenv("KENYON"));
    assert_int_not_equal(shell(&out, cmd), 0);
    assert_non_null(strstr(out, "only `kenyon run` and `kenyon bench` are spread over MPI "
                                "ranks"));
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fly),
        cmocka_unit_test(test_fly_ridge),
        cmocka_unit_test(test_ncm),
        cmocka_unit_test(test_slda),
        cmocka_unit_test(test_unsplittable_runs_on_rank0),
        cmocka_unit_test(test_failing_rank),
        cmocka_unit_test(test_memory_check_counts_ranks),
        cmocka_unit_test(test_other_commands_refused),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
