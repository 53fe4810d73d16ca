/* CLI tests of the BLAS kernel check (kenyon/gemm.h) through `kenyon --version` and `kenyon run`:
 * an OpenBLAS forced to its SSE3 "Prescott" kernel (OPENBLAS_CORETYPE, set for the child process
 * only) is detected and re-run with the kernel the CPU supports; KENYON_BLAS_FIX=0 keeps it and
 * says so; a model trained after the re-run is bit-identical to one trained with that kernel
 * chosen by hand (vanilla and GEM, whose products all go through the backend layer); each
 * backend repeats bit for bit; a bad KENYON_GEMM is a clear error. */
#include "test_support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "kenyon/formats.h"
#include "kenyon/gemm.h"
#include "kenyon/rng.h"

static const char *dir;
static char data_args[2048];

/* 4 classes in 2 tasks, d = 8, a class-specific mean plus noise. */
static void write_user_data(void)
{
    const size_t d = 8, ntr = 256, nte = 64;
    float *x = malloc(ntr * d * sizeof *x);
    int32_t *y = malloc(ntr * sizeof *y);
    assert_non_null(x);
    assert_non_null(y);
    kn_rng r;
    kn_rng_seed(&r, 7);
    kn_error err;
    for (int part = 0; part < 2; part++) {
        size_t n = part ? nte : ntr;
        for (size_t i = 0; i < n; i++) {
            y[i] = (int32_t)(i % 4);
            for (size_t j = 0; j < d; j++)
                x[i * d + j] = ((size_t)y[i] == j % 4 ? 2.0f : 0.0f) + (float)kn_rng_normal(&r);
        }
        size_t sx[2] = {n, d}, sy[1] = {n};
        if (kn_npy_write_f32(kt_path(dir, part ? "test_x.npy" : "train_x.npy"), x, sx, 2, &err) ||
            kn_npy_write_i32(kt_path(dir, part ? "test_y.npy" : "train_y.npy"), y, sy, 1, &err))
            fail_msg("writing test data: %s", err.msg);
    }
    free(x);
    free(y);
}

static int setup(void **state)
{
    (void)state;
    dir = kt_scratch_dir("blaskernel");
    write_user_data();
    snprintf(data_args, sizeof data_args,
             "--train-x '%s/train_x.npy' --train-y '%s/train_y.npy' --test-x '%s/test_x.npy' "
             "--test-y '%s/test_y.npy' --classes-per-task 2 --quiet",
             dir, dir, dir, dir);
    return 0;
}

/* Runs `env <envs> $KENYON <args>`, output (stdout + stderr) into a malloc'd string. */
static int run_env(char **output, const char *envs, const char *args)
{
    const char *bin = getenv("KENYON");
    if (!bin || !*bin)
        bin = "./kenyon";
    size_t len = strlen(envs) + strlen(bin) + strlen(args) + 32;
    char *cmd = malloc(len);
    assert_non_null(cmd);
    snprintf(cmd, len, "env %s '%s' %s 2>&1", envs, bin, args);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t cap = 1 << 16, n = 0, got;
    char *buf = malloc(cap);
    assert_non_null(buf);
    while ((got = fread(buf + n, 1, cap - n - 1, p)) > 0)
        n += got;
    buf[n] = '\0';
    int st = pclose(p);
    free(cmd);
    *output = buf;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The word after "kernel " in a --version line. */
static void kernel_of(const char *version, char *core, size_t size)
{
    const char *k = strstr(version, " kernel ");
    assert_non_null(k);
    k += strlen(" kernel ");
    size_t n = strcspn(k, " (");
    assert_true(n > 0 && n < size);
    memcpy(core, k, n);
    core[n] = '\0';
}

static void assert_same_file(const char *a, const char *b)
{
    size_t na, nb;
    char *x = kt_read_file(a, &na), *y = kt_read_file(b, &nb);
    if (na != nb || memcmp(x, y, na) != 0)
        fail_msg("%s and %s differ (%zu and %zu bytes)", a, b, na, nb);
    free(x);
    free(y);
}

/* 1 if the CPU runs AVX or wider, i.e. if a Prescott kernel is below it. */
static int cpu_above_sse(void)
{
    return kn_cpu_isa() >= KN_ISA_AVX;
}

static void test_version_names_backend_and_kernel(void **state)
{
    (void)state;
    char *out;
    assert_int_equal(run_env(&out, "", "--version"), 0);
    assert_non_null(strstr(out, "gemm "));
    assert_non_null(strstr(out, " kernel "));
    assert_non_null(strstr(out, "CPU "));
    free(out);
    assert_int_equal(run_env(&out, "KENYON_GEMM=blas9", "--version"), 2);
    assert_non_null(strstr(out, "KENYON_GEMM=blas9"));
    free(out);
}

static void test_prescott_is_detected_and_fixed(void **state)
{
    (void)state;
    if (!cpu_above_sse())
        skip(); /* Prescott is the right kernel for this CPU: nothing to fix */
    char *out, core[64];
    assert_int_equal(run_env(&out, "OPENBLAS_CORETYPE=Prescott KENYON_GEMM=openblas", "--version"),
                     0);
    if (!strstr(out, "re-run from Prescott"))
        fail_msg("no re-run in: %s", out);
    assert_null(strstr(out, "below the CPU"));
    kernel_of(out, core, sizeof core);
    assert_true(kn_blas_core_isa(core) == kn_cpu_isa());
    free(out);
    /* Opting out keeps the slow kernel and says so. */
    assert_int_equal(run_env(&out, "OPENBLAS_CORETYPE=Prescott KENYON_BLAS_FIX=0 "
                                   "KENYON_GEMM=openblas",
                             "--version"),
                     0);
    if (!strstr(out, "kernel Prescott") || !strstr(out, "below the CPU"))
        fail_msg("Prescott kept but not reported: %s", out);
    free(out);
    /* Without the opt-out, auto mode with a slow kernel and oneDNN built in uses oneDNN. */
    assert_int_equal(run_env(&out, "OPENBLAS_CORETYPE=Prescott KENYON_BLAS_FIX=0", "--version"),
                     0);
    assert_non_null(strstr(out, kn_gemm_have_onednn() ? "gemm onednn" : "gemm openblas"));
    free(out);
}

/* Trains `method` with the given environment, saving the model to dir/name. */
static void train(const char *envs, const char *method, const char *name)
{
    char args[4096], *out;
    snprintf(args, sizeof args, "run --method %s --hidden 64 %s --save '%s'", method, data_args,
             kt_path(dir, name));
    int rc = run_env(&out, envs, args);
    if (rc != 0)
        fail_msg("%s run with [%s] exited %d: %s", method, envs, rc, out);
    free(out);
}

static void test_fixed_run_equals_right_kernel_run(void **state)
{
    (void)state;
    if (!cpu_above_sse())
        skip();
    char *out, core[64], envs[160];
    assert_int_equal(run_env(&out, "OPENBLAS_CORETYPE=Prescott KENYON_GEMM=openblas", "--version"),
                     0);
    kernel_of(out, core, sizeof core);
    free(out);
    snprintf(envs, sizeof envs, "OPENBLAS_CORETYPE=%s KENYON_GEMM=openblas", core);
    const char *methods[2] = {"vanilla", "gem"};
    for (int i = 0; i < 2; i++) {
        char a[64], b[64];
        snprintf(a, sizeof a, "%s_fixed.safetensors", methods[i]);
        snprintf(b, sizeof b, "%s_right.safetensors", methods[i]);
        train("OPENBLAS_CORETYPE=Prescott KENYON_GEMM=openblas", methods[i], a);
        train(envs, methods[i], b);
        assert_same_file(kt_path(dir, a), kt_path(dir, b));
    }
}

static void test_each_backend_repeats(void **state)
{
    (void)state;
    const char *backends[2] = {"openblas", "onednn"};
    for (int i = 0; i < 1 + kn_gemm_have_onednn(); i++) {
        char envs[64], a[64], b[64];
        snprintf(envs, sizeof envs, "KENYON_GEMM=%s", backends[i]);
        snprintf(a, sizeof a, "gem_%s_1.safetensors", backends[i]);
        snprintf(b, sizeof b, "gem_%s_2.safetensors", backends[i]);
        train(envs, "gem", a);
        train(envs, "gem", b);
        assert_same_file(kt_path(dir, a), kt_path(dir, b));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_version_names_backend_and_kernel),
        cmocka_unit_test(test_prescott_is_detected_and_fixed),
        cmocka_unit_test(test_fixed_run_equals_right_kernel_run),
        cmocka_unit_test(test_each_backend_repeats),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
