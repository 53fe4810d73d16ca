/* Shared helpers for kenyon's cmocka tests: scratch directories and running the CLI binary. */
#ifndef KENYON_TEST_SUPPORT_H
#define KENYON_TEST_SUPPORT_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

/* A fresh empty directory for this test program (under $KENYON_TEST_TMP or /tmp); the returned
 * string is static. `tag` distinguishes callers. */
const char *kt_scratch_dir(const char *tag);

/* Joins dir and name into a static rotating buffer (8 slots). */
const char *kt_path(const char *dir, const char *name);

/* Runs `$KENYON args...` through the shell, capturing stdout+stderr into a malloc'd string
 * (*output, may be NULL) and returning the exit status (or -1 if it did not exit normally). */
int kt_run_cli(char **output, const char *args_fmt, ...) __attribute__((format(printf, 2, 3)));

/* Runs fn(ctx, out) in a forked child and copies the len bytes it leaves in out back to the
 * parent's out through a pipe: for what is chosen once per process (the GEMM backend), which
 * then starts fresh in every child. fn returns 0, or the child's exit status on failure. Returns 0
 * when the child exited 0 and sent all len bytes, else -1 (printing the status). */
int kt_run_in_child(int (*fn)(void *ctx, void *out), void *ctx, void *out, size_t len);

/* The whole contents of path, malloc'd and followed by a '\0' (not counted in *len; len may be
 * NULL). Fails the test when the file cannot be read. */
char *kt_read_file(const char *path, size_t *len);

/* Writes len bytes to path (test setup helper; aborts the test on failure). */
void kt_write_bytes(const char *path, const void *data, size_t len);

#endif
