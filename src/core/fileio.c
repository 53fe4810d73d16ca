/* Whole-file reads and atomic writes; see kenyon/fileio.h. */
#include "kenyon/fileio.h"

#include <errno.h>
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

int kn_atomic_open(kn_atomic_file *af, const char *path, kn_error *err)
{
    memset(af, 0, sizeof *af);
    size_t n = strlen(path);
    af->final_path = malloc(n + 1);
    af->temp_path = malloc(n + 32);
    if (!af->final_path || !af->temp_path) {
        kn_atomic_abort(af);
        return kn_fail(err, KN_ENOMEM, "%s: out of memory", path);
    }
    memcpy(af->final_path, path, n + 1);
    snprintf(af->temp_path, n + 32, "%s.tmp.%ld", path, (long)getpid());
    int fd = open(af->temp_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        int e = errno;
        kn_atomic_abort(af);
        return kn_fail(err, KN_EIO, "%s: cannot create: %s", path, strerror(e));
    }
    af->fp = fdopen(fd, "wb");
    if (!af->fp) {
        close(fd);
        unlink(af->temp_path);
        kn_atomic_abort(af);
        return kn_fail(err, KN_EIO, "%s: cannot open for writing", path);
    }
    return KN_OK;
}

int kn_atomic_commit(kn_atomic_file *af, kn_error *err)
{
    int rc = KN_OK;
    if (!af->fp)
        return kn_fail(err, KN_ESTATE, "atomic file not open");
    if (fflush(af->fp) != 0 || ferror(af->fp) || fsync(fileno(af->fp)) != 0)
        rc = kn_fail(err, KN_EIO, "%s: write failed: %s", af->final_path, strerror(errno));
    if (fclose(af->fp) != 0 && rc == KN_OK)
        rc = kn_fail(err, KN_EIO, "%s: close failed: %s", af->final_path, strerror(errno));
    af->fp = NULL;
    if (rc == KN_OK && rename(af->temp_path, af->final_path) != 0)
        rc = kn_fail(err, KN_EIO, "%s: rename failed: %s", af->final_path, strerror(errno));
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
        kn_atomic_abort(&af);
        return kn_fail(err, KN_EIO, "%s: write failed", path);
    }
    return kn_atomic_commit(&af, err);
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
