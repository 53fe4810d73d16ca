/* Tests for the output-safety half of src/core/fileio.c: temporaries that never follow a planted
 * symlink, stale temporaries of dead processes removed, write errors that name the file and the
 * reason even for long paths, output-path checks, and output sets that appear all or nothing. */
#include "test_support.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kenyon/error.h"
#include "kenyon/fileio.h"

static int exists(const char *p)
{
    struct stat st;
    return lstat(p, &st) == 0;
}

static char *slurp(const char *p)
{
    unsigned char *d;
    size_t n;
    kn_error err;
    if (kn_read_file(p, 1 << 20, &d, &n, &err))
        return NULL;
    return (char *)d;
}

/* A pid that belonged to a process which has exited and been reaped. */
static long dead_pid(void)
{
    pid_t c = fork();
    if (c == 0)
        _exit(0);
    assert_true(c > 0);
    waitpid(c, NULL, 0);
    return (long)c;
}

static void test_planted_symlink_is_not_followed(void **state)
{
    (void)state;
    const char *dir = kt_scratch_dir("symlink");
    char victim[512], target[512], link[600];
    snprintf(victim, sizeof victim, "%s/victim", dir);
    snprintf(target, sizeof target, "%s/out.json", dir);
    kt_write_bytes(victim, "precious", 8);
    /* The name older versions used for their temporary, and a few guesses around it. */
    snprintf(link, sizeof link, "%s.tmp.%ld", target, (long)getpid());
    assert_int_equal(symlink(victim, link), 0);
    kn_error err;
    assert_int_equal(kn_write_file_atomic(target, "new", 3, &err), KN_OK);
    char *v = slurp(victim);
    assert_non_null(v);
    assert_string_equal(v, "precious");
    free(v);
    struct stat st;
    assert_int_equal(lstat(target, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    char *t = slurp(target);
    assert_string_equal(t, "new");
    free(t);
    /* The output is readable like an ordinary file (mkstemp's 0600 is widened by the umask). */
    mode_t mask = umask(0);
    umask(mask);
    assert_int_equal(st.st_mode & 0777, 0666 & ~mask);
}

static void test_stale_temporaries_of_dead_processes_are_removed(void **state)
{
    (void)state;
    const char *dir = kt_scratch_dir("stale");
    char target[512], a[600], b[600], live[600], other[600], notours[600];
    snprintf(target, sizeof target, "%s/model.st", dir);
    long dead = dead_pid();
    snprintf(a, sizeof a, "%s.tmp.%ld", target, dead);
    snprintf(b, sizeof b, "%s.tmp.%ld.Ab12zZ", target, dead);
    snprintf(live, sizeof live, "%s.tmp.%ld.xxxxxx", target, (long)getpid());
    snprintf(other, sizeof other, "%s/summary.json.tmp.%ld.Ab12zZ", dir, dead);
    snprintf(notours, sizeof notours, "%s.tmp.%ld.notkenyon", target, dead);
    const char *all[] = {a, b, live, other, notours};
    for (int i = 0; i < 5; i++)
        kt_write_bytes(all[i], "partial", 7);
    kn_error err;
    assert_int_equal(kn_write_file_atomic(target, "m", 1, &err), KN_OK);
    assert_false(exists(a));
    assert_false(exists(b));
    assert_true(exists(live));    /* its process (this one) is running */
    assert_true(exists(other));   /* another output's temporary: left to its own writer */
    assert_true(exists(notours)); /* not kenyon's pattern */
    assert_true(exists(target));
    /* Earlier versions' plot temporaries ("<name>.tmp<pid>.png") go too. */
    char plot[512], oldplot[600];
    snprintf(plot, sizeof plot, "%s/curve.png", dir);
    snprintf(oldplot, sizeof oldplot, "%s.tmp%ld.png", plot, dead);
    kt_write_bytes(oldplot, "partial", 7);
    assert_int_equal(kn_remove_stale_temporaries(plot), 1);
    assert_false(exists(oldplot));
    /* No temporary of this write is left behind. */
    assert_int_equal(kn_remove_stale_temporaries(target), 0);
}

static void test_write_error_names_file_and_reason(void **state)
{
    (void)state;
    const char *dir = kt_scratch_dir("efbig");
    /* A long path: two long directory names, then the file. */
    char sub[1200], target[1400];
    char longname[201];
    memset(longname, 'd', 200);
    longname[200] = '\0';
    snprintf(sub, sizeof sub, "%s/%s/%s", dir, longname, longname);
    kn_error err;
    assert_int_equal(kn_mkdirs(sub, &err), KN_OK);
    snprintf(target, sizeof target, "%s/big.bin", sub);
    size_t n = 1 << 20;
    char *buf = calloc(n, 1);
    assert_non_null(buf);
    /* A file-size limit stands in for a full disk: writes past it fail with EFBIG. */
    struct rlimit old, lim;
    getrlimit(RLIMIT_FSIZE, &old);
    lim = old;
    lim.rlim_cur = 65536;
    void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
    int rc = kn_write_file_atomic(target, buf, n, &err);
    setrlimit(RLIMIT_FSIZE, &old);
    signal(SIGXFSZ, prev);
    free(buf);
    assert_int_equal(rc, KN_EIO);
    assert_non_null(strstr(err.msg, strerror(EFBIG)));
    assert_non_null(strstr(err.msg, "big.bin"));
    assert_non_null(strstr(err.msg, "write failed"));
    assert_false(exists(target));
    assert_int_equal(kn_remove_stale_temporaries(target), 0);
}

static void test_unusable_output_paths(void **state)
{
    (void)state;
    const char *dir = kt_scratch_dir("outcheck");
    char file[512], sub[600], fresh[600];
    snprintf(file, sizeof file, "%s/afile", dir);
    snprintf(sub, sizeof sub, "%s/sub", file);
    snprintf(fresh, sizeof fresh, "%s/new/deeper", dir);
    kt_write_bytes(file, "x", 1);
    kn_error err;
    assert_int_equal(kn_check_output_dir("", "--out", &err), KN_EINVAL);
    assert_non_null(strstr(err.msg, "--out"));
    assert_int_equal(kn_check_output_dir(file, "--out", &err), KN_EINVAL);
    assert_non_null(strstr(err.msg, "not a directory"));
    assert_int_not_equal(kn_check_output_dir(sub, "--out", &err), KN_OK);
    assert_int_equal(kn_check_output_dir(dir, "--out", &err), KN_OK);
    assert_int_equal(kn_check_output_dir(fresh, "--out", &err), KN_OK);
    assert_false(exists(fresh)); /* a check creates nothing */
    assert_int_equal(kn_check_output_file("", "--save", &err), KN_EINVAL);
    assert_int_equal(kn_check_output_file(dir, "--save", &err), KN_EINVAL);
    assert_non_null(strstr(err.msg, "directory"));
    assert_int_not_equal(kn_check_output_file(sub, "--save", &err), KN_OK);
    assert_int_equal(kn_check_output_file(file, "--save", &err), KN_OK);
    assert_int_equal(kn_check_output_file(fresh, "--save", &err), KN_EINVAL); /* no such dir */
    assert_non_null(strstr(err.msg, "does not exist"));
    assert_int_equal(kn_write_file_atomic("", "x", 1, &err), KN_EINVAL);
    assert_null(strstr(err.msg, "rename"));
}

static void test_output_set_all_or_nothing(void **state)
{
    (void)state;
    const char *dir = kt_scratch_dir("set");
    char a[512], b[512], c[512];
    snprintf(a, sizeof a, "%s/summary.json", dir);
    snprintf(b, sizeof b, "%s/accuracy_matrix.csv", dir);
    char blocker[512];
    snprintf(blocker, sizeof blocker, "%s/afile", dir);
    kt_write_bytes(blocker, "x", 1);
    snprintf(c, sizeof c, "%s/afile/model.st", dir); /* under a file: cannot be created */
    kn_error err;
    /* The third write fails: none of the set may appear. */
    assert_int_equal(kn_output_set_begin(&err), KN_OK);
    assert_int_equal(kn_write_file_atomic(a, "a", 1, &err), KN_OK);
    assert_false(exists(a)); /* deferred until the set commits */
    assert_int_equal(kn_write_file_atomic(b, "b", 1, &err), KN_OK);
    assert_int_not_equal(kn_write_file_atomic(c, "c", 1, &err), KN_OK);
    kn_output_set_abort();
    assert_false(exists(a));
    assert_false(exists(b));
    assert_int_equal(kn_remove_stale_temporaries(a) + kn_remove_stale_temporaries(b), 0);
    /* And a set whose writes all succeed appears whole. */
    assert_int_equal(kn_output_set_begin(&err), KN_OK);
    assert_int_equal(kn_write_file_atomic(a, "a", 1, &err), KN_OK);
    assert_int_equal(kn_write_file_atomic(b, "b", 1, &err), KN_OK);
    assert_int_equal(kn_output_set_commit(&err), KN_OK);
    assert_true(exists(a));
    assert_true(exists(b));
    /* Outside a set, writes land at once again. */
    unlink(a);
    assert_int_equal(kn_write_file_atomic(a, "a", 1, &err), KN_OK);
    assert_true(exists(a));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_planted_symlink_is_not_followed),
        cmocka_unit_test(test_stale_temporaries_of_dead_processes_are_removed),
        cmocka_unit_test(test_write_error_names_file_and_reason),
        cmocka_unit_test(test_unusable_output_paths),
        cmocka_unit_test(test_output_set_all_or_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
