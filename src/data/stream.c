/* Plain/gzip input and output streams for the data readers and writers; see stream.h. */
#include "stream.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* gzerror's message starts with the path; drop it since ours names the file already. */
static const char *gz_message(kn_in *in)
{
    int zerr;
    const char *msg = gzerror(in->gz, &zerr);
    if (!msg)
        return "unknown error";
    size_t n = strlen(in->path);
    if (strncmp(msg, in->path, n) == 0 && msg[n] == ':' && msg[n + 1] == ' ')
        msg += n + 2;
    return msg;
}

int kn_in_open(kn_in *in, const char *path, kn_error *err)
{
    memset(in, 0, sizeof *in);
    in->path = path;
    struct stat st;
    if (stat(path, &st) != 0)
        return kn_fail(err, KN_EIO, "%s: cannot open: %s", path, strerror(errno));
    if (S_ISDIR(st.st_mode))
        return kn_fail(err, KN_EIO, "%s: is a directory, expected a file", path);
    if (S_ISREG(st.st_mode) && st.st_size == 0)
        return kn_fail(err, KN_EFORMAT, "%s: is empty (0 bytes)", path);
    in->file_size = S_ISREG(st.st_mode) ? (long long)st.st_size : -1;
    in->gz = gzopen(path, "rb");
    if (!in->gz)
        return kn_fail(err, KN_EIO, "%s: cannot open: %s", path,
                       errno ? strerror(errno) : "out of memory");
    gzbuffer(in->gz, 1 << 17);
    in->compressed = !gzdirect(in->gz);
    return KN_OK;
}

int kn_in_read(kn_in *in, void *buf, size_t n, size_t *got, kn_error *err)
{
    size_t total = 0;
    while (total < n) {
        size_t chunk = n - total > (1u << 30) ? (1u << 30) : n - total;
        int r = gzread(in->gz, (char *)buf + total, (unsigned)chunk);
        if (r < 0) {
            *got = total;
            return kn_fail(err, KN_EFORMAT, "%s: corrupt gzip data near decompressed byte %zu: %s",
                           in->path, in->offset + total, gz_message(in));
        }
        if (r == 0) {
            /* End of data, or a gzip stream cut short (zlib reports that only via gzerror). */
            int zerr = Z_OK;
            gzerror(in->gz, &zerr);
            if (zerr != Z_OK && zerr != Z_STREAM_END) {
                *got = total;
                return kn_fail(err, KN_EFORMAT,
                               "%s: corrupt or truncated gzip data after %zu decompressed bytes: %s",
                               in->path, in->offset + total, gz_message(in));
            }
            break;
        }
        total += (size_t)r;
    }
    in->offset += total;
    *got = total;
    return KN_OK;
}

int kn_in_read_exact(kn_in *in, void *buf, size_t n, const char *what, kn_error *err)
{
    size_t got;
    size_t start = in->offset;
    int rc = kn_in_read(in, buf, n, &got, err);
    if (rc)
        return rc;
    if (got != n)
        return kn_fail(err, KN_EFORMAT,
                       "%s: truncated: %s needs %zu bytes at %sbyte %zu but only %zu are there",
                       in->path, what, n, in->compressed ? "decompressed " : "", start, got);
    return KN_OK;
}

int kn_in_read_alloc(kn_in *in, size_t n, void **out, const char *what, kn_error *err)
{
    *out = NULL;
    size_t start = in->offset;
    /* A plain file cannot hold more than its size: say so before allocating anything. */
    if (!in->compressed && in->file_size >= 0 && (unsigned long long)n >
                                                     (unsigned long long)in->file_size - start)
        return kn_fail(err, KN_EFORMAT,
                       "%s: truncated: %s needs %zu bytes at byte %zu but the file has only %lld "
                       "bytes after it",
                       in->path, what, n, start, in->file_size - (long long)start);
    size_t cap = n < (1u << 20) ? n : (1u << 20);
    unsigned char *buf = malloc(cap ? cap : 1);
    if (!buf)
        return kn_fail(err, KN_ENOMEM, "%s: out of memory for %s", in->path, what);
    size_t have = 0;
    while (have < n) {
        if (have == cap) {
            size_t ncap = cap > n / 2 ? n : cap * 2;
            unsigned char *nb = realloc(buf, ncap);
            if (!nb) {
                free(buf);
                return kn_fail(err, KN_ENOMEM, "%s: out of memory for %s (%zu bytes)", in->path,
                               what, n);
            }
            buf = nb;
            cap = ncap;
        }
        size_t want = cap - have, got;
        int rc = kn_in_read(in, buf + have, want, &got, err);
        if (rc) {
            free(buf);
            return rc;
        }
        have += got;
        if (got < want)
            break;
    }
    if (have != n) {
        free(buf);
        return kn_fail(err, KN_EFORMAT,
                       "%s: truncated: %s needs %zu bytes at %sbyte %zu but only %zu are there",
                       in->path, what, n, in->compressed ? "decompressed " : "", start, have);
    }
    *out = buf;
    return KN_OK;
}

int kn_in_read_rest(kn_in *in, size_t max, char **out, size_t *len, kn_error *err)
{
    *out = NULL;
    *len = 0;
    size_t cap = 1 << 16, have = 0;
    char *buf = malloc(cap + 1);
    if (!buf)
        return kn_fail(err, KN_ENOMEM, "%s: out of memory", in->path);
    for (;;) {
        if (have == cap) {
            if (cap >= max) {
                free(buf);
                return kn_fail(err, KN_EFORMAT, "%s: larger than the limit of %zu bytes",
                               in->path, max);
            }
            size_t ncap = cap * 2 > max ? max : cap * 2;
            char *nb = realloc(buf, ncap + 1);
            if (!nb) {
                free(buf);
                return kn_fail(err, KN_ENOMEM, "%s: out of memory", in->path);
            }
            buf = nb;
            cap = ncap;
        }
        size_t got;
        int rc = kn_in_read(in, buf + have, cap - have, &got, err);
        if (rc) {
            free(buf);
            return rc;
        }
        have += got;
        if (got == 0 || have < cap)
            break;
    }
    buf[have] = '\0';
    *out = buf;
    *len = have;
    return KN_OK;
}

int kn_in_expect_end(kn_in *in, const char *what, kn_error *err)
{
    unsigned char probe[4096];
    size_t got, extra = 0;
    size_t at = in->offset;
    do {
        int rc = kn_in_read(in, probe, sizeof probe, &got, err);
        if (rc)
            return rc;
        extra += got;
    } while (got == sizeof probe && extra < ((size_t)1 << 26));
    if (extra)
        return kn_fail(err, KN_EFORMAT, "%s: %s%zu trailing bytes after %s (at %sbyte %zu)",
                       in->path, got == sizeof probe ? "at least " : "", extra, what,
                       in->compressed ? "decompressed " : "", at);
    return KN_OK;
}

void kn_in_close(kn_in *in)
{
    if (in->gz)
        gzclose(in->gz);
    in->gz = NULL;
}

int kn_out_open(kn_out *o, const char *path, int gzip, kn_error *err)
{
    memset(o, 0, sizeof *o);
    o->path = path;
    o->gzip = gzip;
    int rc = kn_atomic_open(&o->af, path, err);
    if (rc)
        return rc;
    if (gzip) {
        /* windowBits 15 + 16 = gzip wrapper. */
        if (deflateInit2(&o->zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
            kn_atomic_abort(&o->af);
            return kn_fail(err, KN_ENOMEM, "%s: cannot start gzip compression", path);
        }
        o->zs_ready = 1;
    }
    return KN_OK;
}

static int deflate_out(kn_out *o, const void *data, size_t n, int flush, kn_error *err)
{
    unsigned char buf[1 << 16];
    const unsigned char *p = data;
    size_t left = n;
    for (;;) {
        uInt take = left > (1u << 30) ? (1u << 30) : (uInt)left;
        o->zs.next_in = (Bytef *)p;
        o->zs.avail_in = take;
        int f = (flush && take == left) ? Z_FINISH : Z_NO_FLUSH;
        int zr;
        do {
            o->zs.next_out = buf;
            o->zs.avail_out = sizeof buf;
            zr = deflate(&o->zs, f);
            if (zr == Z_STREAM_ERROR)
                return kn_fail(err, KN_EIO, "%s: gzip compression failed", o->path);
            size_t have = sizeof buf - o->zs.avail_out;
            if (have && fwrite(buf, 1, have, o->af.fp) != have)
                return kn_fail_path(err, KN_EIO, o->path, "write failed", errno);
        } while (o->zs.avail_out == 0 || (f == Z_FINISH && zr != Z_STREAM_END));
        p += take;
        left -= take;
        if (left == 0)
            return KN_OK;
    }
}

int kn_out_write(kn_out *o, const void *data, size_t n, kn_error *err)
{
    if (o->gzip)
        return deflate_out(o, data, n, 0, err);
    if (n && fwrite(data, 1, n, o->af.fp) != n)
        return kn_fail_path(err, KN_EIO, o->path, "write failed", errno);
    return KN_OK;
}

int kn_out_commit(kn_out *o, kn_error *err)
{
    int rc = KN_OK;
    if (o->gzip) {
        rc = deflate_out(o, NULL, 0, 1, err);
        deflateEnd(&o->zs);
        o->zs_ready = 0;
    }
    if (rc) {
        kn_atomic_abort(&o->af);
        return rc;
    }
    return kn_atomic_commit(&o->af, err);
}

void kn_out_abort(kn_out *o)
{
    if (o->zs_ready)
        deflateEnd(&o->zs);
    o->zs_ready = 0;
    kn_atomic_abort(&o->af);
}
