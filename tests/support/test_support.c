/* Test helpers; see test_support.h. */
#include "test_support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

const char *kt_scratch_dir(const char *tag)
{
    static char dir[512];
    const char *base = getenv("KENYON_TEST_TMP");
    if (!base || !*base)
        base = "/tmp";
    mkdir(base, 0755);
    snprintf(dir, sizeof dir, "%s/kt-%s-%ld", base, tag, (long)getpid());
    char cmd[1100];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s'", dir, dir);
    if (system(cmd) != 0)
        fail_msg("cannot create scratch dir %s", dir);
    return dir;
}

const char *kt_path(const char *dir, const char *name)
{
    static char buf[8][512];
    static int slot;
    char *p = buf[slot++ & 7];
    snprintf(p, 512, "%s/%s", dir, name);
    return p;
}

int kt_run_cli(char **output, const char *args_fmt, ...)
{
    const char *bin = getenv("KENYON");
    if (!bin || !*bin)
        bin = "./kenyon";
    char args[4096];
    va_list ap;
    va_start(ap, args_fmt);
    vsnprintf(args, sizeof args, args_fmt, ap);
    va_end(ap);
    char cmd[4400];
    snprintf(cmd, sizeof cmd, "'%s' %s 2>&1", bin, args);
    FILE *p = popen(cmd, "r");
    if (!p)
        fail_msg("popen failed for %s", cmd);
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    size_t got;
    while ((got = fread(buf + n, 1, cap - n - 1, p)) > 0) {
        n += got;
        if (cap - n < 1024) {
            cap *= 2;
            buf = realloc(buf, cap);
        }
    }
    buf[n] = '\0';
    int st = pclose(p);
    if (output)
        *output = buf;
    else
        free(buf);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

char *kt_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s", path);
    long n = -1;
    if (fseek(f, 0, SEEK_END) == 0)
        n = ftell(f);
    if (n < 0 || fseek(f, 0, SEEK_SET) != 0)
        fail_msg("cannot find the size of %s", path);
    char *b = malloc((size_t)n + 1);
    if (!b)
        fail_msg("out of memory reading %s (%ld bytes)", path, n);
    if (fread(b, 1, (size_t)n, f) != (size_t)n)
        fail_msg("short read of %s", path);
    fclose(f);
    b[n] = '\0';
    if (len)
        *len = (size_t)n;
    return b;
}

void kt_write_bytes(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        fail_msg("cannot write %s", path);
    if (len && fwrite(data, 1, len, f) != len)
        fail_msg("short write to %s", path);
    fclose(f);
}

int kt_run_in_child(int (*fn)(void *ctx, void *out), void *ctx, void *out, size_t len)
{
    int fd[2];
    assert_int_equal(pipe(fd), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fd[0]);
        void *buf = malloc(len ? len : 1);
        if (!buf)
            _exit(5);
        int rc = fn(ctx, buf);
        if (rc)
            _exit(rc);
        for (size_t done = 0; done < len;) {
            ssize_t w = write(fd[1], (char *)buf + done, len - done);
            if (w <= 0)
                _exit(6);
            done += (size_t)w;
        }
        _exit(0);
    }
    close(fd[1]);
    size_t done = 0;
    while (done < len) {
        ssize_t r = read(fd[0], (char *)out + done, len - done);
        if (r <= 0)
            break;
        done += (size_t)r;
    }
    close(fd[0]);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && done == len)
        return 0;
    print_message("child: status %d, %zu of %zu bytes\n", status, done, len);
    return -1;
}
