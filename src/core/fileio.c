/* Whole-file reads, atomic writes, output sets and output-path checks; see kenyon/fileio.h. */
#include "kenyon/fileio.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int kn_size_mul(size_t a, size_t b, size_t *out)
{
    if (a != 0 && b > (size_t)-1 / a)
        return -1;
    *out = a * b;
    return 0;
}

int kn_size_add(size_t a, size_t b, size_t *out)
{
    if (b > (size_t)-1 - a)
        return -1;
    *out = a + b;
    return 0;
}

int kn_read_file(const char *path, size_t max_bytes, unsigned char **data, size_t *len,
                 kn_error *err)
{
    *data = NULL;
    *len = 0;
    struct stat st;
    if (stat(path, &st) != 0)
        return kn_fail(err, KN_EIO, "%s: cannot open: %s", path, strerror(errno));
    if (S_ISDIR(st.st_mode))
        return kn_fail(err, KN_EIO, "%s: is a directory, expected a file", path);
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return kn_fail(err, KN_EIO, "%s: cannot open: %s", path, strerror(errno));
    size_t cap = 1 << 16, n = 0;
    unsigned char *buf = malloc(cap + 1);
    if (!buf) {
        fclose(fp);
        return kn_fail(err, KN_ENOMEM, "%s: out of memory", path);
    }
    for (;;) {
        if (n == cap) {
            if (cap >= max_bytes) {
                free(buf);
                fclose(fp);
                return kn_fail(err, KN_EFORMAT, "%s: larger than the limit of %zu bytes", path,
                               max_bytes);
            }
            size_t ncap = cap * 2 > max_bytes ? max_bytes : cap * 2;
            unsigned char *nb = realloc(buf, ncap + 1);
            if (!nb) {
                free(buf);
                fclose(fp);
                return kn_fail(err, KN_ENOMEM, "%s: out of memory", path);
            }
            buf = nb;
            cap = ncap;
        }
        size_t got = fread(buf + n, 1, cap - n, fp);
        n += got;
        if (got == 0) {
            if (ferror(fp)) {
                free(buf);
                fclose(fp);
                return kn_fail(err, KN_EIO, "%s: read error at byte %zu", path, n);
            }
            break;
        }
    }
    fclose(fp);
    buf[n] = '\0';
    *data = buf;
    *len = n;
    return KN_OK;
}

/* The directory part of path ("." when there is none), malloc'd. */
static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    size_t n = slash ? (slash == path ? 1 : (size_t)(slash - path)) : 1;
    char *d = malloc(n + 1);
    if (!d)
        return NULL;
    if (slash)
        memcpy(d, path, n);
    else
        d[0] = '.';
    d[n] = '\0';
    return d;
}

int kn_fail_path(kn_error *err, int code, const char *path, const char *what, int errnum)
{
    /* Keep the head and the tail (the file name) of a long path; the reason comes last and must
     * survive the KN_ERROR_MSG_MAX cut. */
    enum { KEEP = 200, HEAD = 60 };
    size_t n = strlen(path);
    const char *reason = errnum ? strerror(errnum) : "";
    const char *sep = errnum ? ": " : "";
    if (n <= KEEP)
        return kn_fail(err, code, "%s: %s%s%s", path, what, sep, reason);
    return kn_fail(err, code, "%.*s...%s: %s%s%s", (int)HEAD, path, path + n - (KEEP - HEAD - 3),
                   what, sep, reason);
}

/* Fsyncs a directory so a rename in it survives a crash. File systems that cannot (EINVAL) are
 * not an error. */
static int sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return errno;
    int e = fsync(fd) != 0 && errno != EINVAL && errno != EROFS ? errno : 0;
    close(fd);
    return e;
}

/* Is name "<base>.tmp.<pid>" or "<base>.tmp.<pid>.XXXXXX", or "<base>.tmp<pid><ext>" (the plot
 * temporaries of earlier versions)? Sets *pid. */
static int is_temporary_of(const char *name, const char *base, long *pid)
{
    size_t bl = strlen(base);
    if (strncmp(name, base, bl) != 0 || strncmp(name + bl, ".tmp", 4) != 0)
        return 0;
    if (name[bl + 4] >= '1' && name[bl + 4] <= '9') {
        const char *q = name + bl + 4, *ext = strrchr(base, '.');
        long v = 0;
        int digits = 0;
        while (*q >= '0' && *q <= '9' && digits < 10) {
            v = v * 10 + (*q++ - '0');
            digits++;
        }
        if (!ext || strcmp(q, ext) != 0)
            return 0;
        *pid = v;
        return 1;
    }
    if (name[bl + 4] != '.')
        return 0;
    const char *p = name + bl + 5;
    long v = 0;
    int digits = 0;
    while (*p >= '0' && *p <= '9' && digits < 10) {
        v = v * 10 + (*p++ - '0');
        digits++;
    }
    if (!digits || v <= 0)
        return 0;
    if (*p == '.') {
        size_t k = 0;
        for (p++; p[k]; k++)
            if (!((p[k] >= '0' && p[k] <= '9') || (p[k] >= 'a' && p[k] <= 'z') ||
                  (p[k] >= 'A' && p[k] <= 'Z')))
                return 0;
        if (k != 6)
            return 0;
    } else if (*p != '\0') {
        return 0;
    }
    *pid = v;
    return 1;
}

int kn_remove_stale_temporaries(const char *path)
{
    char *dir = dir_of(path);
    if (!dir)
        return 0;
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    int removed = 0;
    DIR *d = *base ? opendir(dir) : NULL;
    if (d) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            long pid;
            if (!is_temporary_of(e->d_name, base, &pid))
                continue;
            /* ESRCH: no such process. EPERM means it exists (another user's): keep it. */
            if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
                continue;
            struct stat st;
            if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
                !(S_ISREG(st.st_mode) || S_ISLNK(st.st_mode)))
                continue;
            removed += unlinkat(dirfd(d), e->d_name, 0) == 0;
        }
        closedir(d);
    }
    free(dir);
    return removed;
}

/* The output set in progress (see kn_output_set_begin): temporaries awaiting their rename. */
static struct {
    int active;
    size_t n, cap;
    char **temp, **final;
} pending;

static void pending_clear(void)
{
    for (size_t i = 0; i < pending.n; i++) {
        free(pending.temp[i]);
        free(pending.final[i]);
    }
    free(pending.temp);
    free(pending.final);
    memset(&pending, 0, sizeof pending);
}

int kn_output_set_begin(kn_error *err)
{
    if (pending.active)
        return kn_fail(err, KN_ESTATE, "an output set is already open");
    pending_clear();
    pending.active = 1;
    return KN_OK;
}

void kn_output_set_abort(void)
{
    for (size_t i = 0; i < pending.n; i++)
        unlink(pending.temp[i]);
    pending_clear();
}

int kn_output_set_commit(kn_error *err)
{
    if (!pending.active)
        return kn_fail(err, KN_ESTATE, "no output set is open");
    int rc = KN_OK;
    size_t done = 0;
    for (; done < pending.n; done++) {
        if (rename(pending.temp[done], pending.final[done]) != 0) {
            rc = kn_fail_path(err, KN_EIO, pending.final[done], "cannot rename into place",
                              errno);
            break;
        }
    }
    if (rc) {
        /* Roll back: the files already renamed go, the rest of the temporaries too. */
        for (size_t i = 0; i < done; i++)
            unlink(pending.final[i]);
        for (size_t i = done; i < pending.n; i++)
            unlink(pending.temp[i]);
    } else {
        for (size_t i = 0; i < pending.n; i++) {
            char *dir = dir_of(pending.final[i]);
            if (dir)
                sync_dir(dir);
            free(dir);
        }
    }
    pending_clear();
    return rc;
}

static int pending_add(const char *temp, const char *final, kn_error *err)
{
    if (pending.n == pending.cap) {
        size_t nc = pending.cap ? 2 * pending.cap : 8;
        char **t = realloc(pending.temp, nc * sizeof *t);
        if (!t)
            return kn_fail(err, KN_ENOMEM, "%s: out of memory", final);
        pending.temp = t;
        char **f = realloc(pending.final, nc * sizeof *f);
        if (!f)
            return kn_fail(err, KN_ENOMEM, "%s: out of memory", final);
        pending.final = f;
        pending.cap = nc;
    }
    size_t tl = strlen(temp) + 1, fl = strlen(final) + 1;
    char *t = malloc(tl), *f = malloc(fl);
    if (!t || !f) {
        free(t);
        free(f);
        return kn_fail(err, KN_ENOMEM, "%s: out of memory", final);
    }
    memcpy(t, temp, tl);
    memcpy(f, final, fl);
    pending.temp[pending.n] = t;
    pending.final[pending.n] = f;
    pending.n++;
    return KN_OK;
}

int kn_atomic_open(kn_atomic_file *af, const char *path, kn_error *err)
{
    memset(af, 0, sizeof *af);
    if (!path || !*path)
        return kn_fail(err, KN_EINVAL, "empty output file name");
    size_t n = strlen(path);
    if (path[n - 1] == '/')
        return kn_fail(err, KN_EINVAL, "%s: output file name ends with '/'", path);
    af->final_path = malloc(n + 1);
    af->temp_path = malloc(n + 40);
    if (!af->final_path || !af->temp_path) {
        kn_atomic_abort(af);
        return kn_fail(err, KN_ENOMEM, "%s: out of memory", path);
    }
    memcpy(af->final_path, path, n + 1);
    kn_remove_stale_temporaries(path);
    snprintf(af->temp_path, n + 40, "%s.tmp.%ld.XXXXXX", path, (long)getpid());
    /* mkstemp opens with O_CREAT|O_EXCL: an existing name, a symlink included, is never reused. */
    int fd = mkstemp(af->temp_path);
    if (fd < 0) {
        int e = errno;
        free(af->temp_path);
        af->temp_path = NULL;
        kn_atomic_abort(af);
        return kn_fail_path(err, KN_EIO, path, "cannot create", e);
    }
    /* mkstemp gives 0600; outputs are ordinary files, readable like any other. */
    mode_t mask = umask(0);
    umask(mask);
    if (fchmod(fd, 0666 & ~mask) != 0) {
        int e = errno;
        close(fd);
        unlink(af->temp_path);
        kn_atomic_abort(af);
        return kn_fail_path(err, KN_EIO, path, "cannot set permissions", e);
    }
    af->fp = fdopen(fd, "wb");
    if (!af->fp) {
        int e = errno;
        close(fd);
        unlink(af->temp_path);
        kn_atomic_abort(af);
        return kn_fail_path(err, KN_EIO, path, "cannot open for writing", e);
    }
    return KN_OK;
}

int kn_atomic_commit(kn_atomic_file *af, kn_error *err)
{
    int rc = KN_OK;
    if (!af->fp)
        return kn_fail(err, KN_ESTATE, "atomic file not open");
    errno = 0;
    if (fflush(af->fp) != 0 || ferror(af->fp))
        rc = kn_fail_path(err, KN_EIO, af->final_path, "write failed", errno ? errno : EIO);
    else if (fsync(fileno(af->fp)) != 0)
        rc = kn_fail_path(err, KN_EIO, af->final_path, "fsync failed", errno);
    if (fclose(af->fp) != 0 && rc == KN_OK)
        rc = kn_fail_path(err, KN_EIO, af->final_path, "close failed", errno);
    af->fp = NULL;
    if (rc == KN_OK && pending.active) {
        rc = pending_add(af->temp_path, af->final_path, err);
    } else if (rc == KN_OK) {
        if (rename(af->temp_path, af->final_path) != 0)
            rc = kn_fail_path(err, KN_EIO, af->final_path, "cannot rename into place", errno);
        char *dir = rc == KN_OK ? dir_of(af->final_path) : NULL;
        int e = dir ? sync_dir(dir) : 0;
        if (rc == KN_OK && e)
            rc = kn_fail_path(err, KN_EIO, dir, "cannot sync directory", e);
        free(dir);
    }
    if (rc != KN_OK)
        unlink(af->temp_path);
    free(af->final_path);
    free(af->temp_path);
    af->final_path = af->temp_path = NULL;
    return rc;
}

void kn_atomic_abort(kn_atomic_file *af)
{
    if (af->fp) {
        fclose(af->fp);
        af->fp = NULL;
        if (af->temp_path)
            unlink(af->temp_path);
    }
    free(af->final_path);
    free(af->temp_path);
    af->final_path = af->temp_path = NULL;
}

int kn_write_file_atomic(const char *path, const void *data, size_t len, kn_error *err)
{
    kn_atomic_file af;
    int rc = kn_atomic_open(&af, path, err);
    if (rc)
        return rc;
    if (len && fwrite(data, 1, len, af.fp) != len) {
        int e = errno ? errno : EIO;
        kn_fail_path(err, KN_EIO, path, "write failed", e);
        kn_atomic_abort(&af);
        return KN_EIO;
    }
    return kn_atomic_commit(&af, err);
}

/* "<option> <path>: <what>[: reason]", the path shortened like kn_fail_path's. */
static int fail_option(kn_error *err, int code, const char *option, const char *path,
                       const char *what, int errnum)
{
    size_t n = strlen(option) + strlen(path) + 2;
    char *label = malloc(n);
    if (!label)
        return kn_fail(err, KN_ENOMEM, "out of memory");
    snprintf(label, n, "%s %s", option, path);
    int rc = kn_fail_path(err, code, label, what, errnum);
    free(label);
    return rc;
}

/* Can files be created in dir? Tries it: access() says yes to root on a read-only mount. */
static int probe_dir(const char *dir, const char *option, const char *shown, kn_error *err)
{
    size_t n = strlen(dir);
    char *p = malloc(n + 32);
    if (!p)
        return kn_fail(err, KN_ENOMEM, "out of memory");
    snprintf(p, n + 32, "%s/.kenyon-probe.XXXXXX", dir);
    int fd = mkstemp(p);
    if (fd < 0) {
        int e = errno;
        free(p);
        return fail_option(err, KN_EIO, option, shown, "cannot write there", e);
    }
    close(fd);
    unlink(p);
    free(p);
    return KN_OK;
}

/* The deepest existing ancestor of path (path itself when it exists), malloc'd; fails when it is
 * not a directory. */
static int existing_ancestor(const char *path, const char *option, char **out, kn_error *err)
{
    size_t n = strlen(path);
    char *p = malloc(n + 2);
    if (!p)
        return kn_fail(err, KN_ENOMEM, "out of memory");
    memcpy(p, path, n + 1);
    for (;;) {
        struct stat st;
        if (stat(p, &st) == 0) {
            if (!S_ISDIR(st.st_mode)) {
                fail_option(err, KN_EINVAL, option, p, "exists and is not a directory", 0);
                free(p);
                return KN_EINVAL;
            }
            *out = p;
            return KN_OK;
        }
        if (errno != ENOENT) {
            int e = errno;
            fail_option(err, KN_EINVAL, option, p, "cannot use", e);
            free(p);
            return KN_EINVAL;
        }
        char *slash = strrchr(p, '/');
        while (slash && slash > p && slash[1] == '\0') { /* trailing slashes */
            *slash = '\0';
            slash = strrchr(p, '/');
        }
        if (!slash) {
            p[0] = '.';
            p[1] = '\0';
        } else if (slash == p) {
            p[1] = '\0';
        } else {
            *slash = '\0';
        }
    }
}

int kn_check_output_dir(const char *dir, const char *option, kn_error *err)
{
    if (!dir || !*dir)
        return kn_fail(err, KN_EINVAL, "%s: empty directory name", option);
    char *anc = NULL;
    int rc = existing_ancestor(dir, option, &anc, err);
    if (rc)
        return rc;
    rc = probe_dir(anc, option, strcmp(anc, dir) == 0 ? dir : anc, err);
    free(anc);
    return rc;
}

int kn_check_output_file(const char *path, const char *option, kn_error *err)
{
    if (!path || !*path)
        return kn_fail(err, KN_EINVAL, "%s: empty file name", option);
    size_t n = strlen(path);
    struct stat st;
    if (path[n - 1] == '/' || (stat(path, &st) == 0 && S_ISDIR(st.st_mode))) {
        return fail_option(err, KN_EINVAL, option, path, "is a directory, expected a file name",
                           0);
    }
    char *dir = dir_of(path);
    if (!dir)
        return kn_fail(err, KN_ENOMEM, "out of memory");
    /* Files are written into an existing directory (only --out directories are created). */
    int rc = KN_OK;
    if (stat(dir, &st) != 0)
        rc = fail_option(err, KN_EINVAL, option, path, "its directory does not exist", errno);
    else
        rc = kn_check_output_dir(dir, option, err);
    free(dir);
    return rc;
}

int kn_mkdirs(const char *path, kn_error *err)
{
    size_t n = strlen(path);
    char *p = malloc(n + 1);
    if (!p)
        return kn_fail(err, KN_ENOMEM, "out of memory");
    memcpy(p, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (p[i] == '/' || p[i] == '\0') {
            char c = p[i];
            p[i] = '\0';
            struct stat st;
            if (stat(p, &st) == 0) {
                if (!S_ISDIR(st.st_mode)) {
                    kn_fail(err, KN_EIO, "%s: exists and is not a directory", p);
                    free(p);
                    return KN_EIO;
                }
            } else if (mkdir(p, 0755) != 0 && errno != EEXIST) {
                kn_fail(err, KN_EIO, "%s: cannot create directory: %s", p, strerror(errno));
                free(p);
                return KN_EIO;
            }
            p[i] = c;
        }
    }
    free(p);
    return KN_OK;
}
