/* The assembled-data-set cache (kenyon/dataset_cache.h): the reader and writer of the flat cache
 * file (its key: dataset_cache_key.c).
 *
 * File layout (all integers in this machine's byte order; the byte-order mark rejects a file
 * from another machine):
 *   0     8   magic "KNDSCH02" ("KNDSCH01": the format before, still read: every part float32)
 *   8     4   byte-order mark 0x01020304
 *   12    4   header size (1024)
 *   16    8   key
 *   24  304   train: n, d, channels, height, width, n_classes (6 x u64), source (256 bytes)
 *   328 304   test: the same
 *   632   8   train, test encoding of x (2 x u32): 0 float32, 1 one byte b per value b / 255
 *   ...       zeros up to 1024
 *   1024      train x (n d values), train y (n int32), test x, test y
 * Image sets hold pixels b / 255 exactly, so a byte per value carries them in a quarter of the
 * bytes (82 MB of float32 for MNIST-20 read through `read` was a quarter of a FlyModel run). The
 * writer picks bytes only when every value of the part comes back bit for bit; any other part is
 * float32. */
#include "kenyon/dataset_cache.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "kenyon/fileio.h"

#define CACHE_MAGIC "KNDSCH02"
#define CACHE_MAGIC_V1 "KNDSCH01"
#define CACHE_BOM 0x01020304u
#define CACHE_HEADER 1024
#define PART_BYTES (6 * 8 + 256)
#define ENCODING_AT (24 + 2 * PART_BYTES)
#define MAX_ROWS ((size_t)1 << 32)
#define MAX_DIM ((size_t)1 << 24)
#define CHUNK ((size_t)1 << 20)

enum { ENC_F32 = 0, ENC_BYTES = 1 };

int kn_dataset_cache_enabled(void)
{
    const char *v = getenv("KENYON_DATA_CACHE");
    return !(v && strcmp(v, "0") == 0);
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

static uint32_t get_u32(const unsigned char *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

/* The value a stored byte stands for; the same expression as the image readers'. */
static float byte_value(unsigned b)
{
    return (float)b / 255.0f;
}

/* 1 when every value is some byte_value(b), bit for bit (so -0.0, NaN and 0.5 are not). */
int kn_dataset_cache_bytes_exact(const float *x, size_t count)
{
    float table[256];
    for (unsigned b = 0; b < 256; b++)
        table[b] = byte_value(b);
    for (size_t i = 0; i < count; i++) {
        const float r = x[i] * 255.0f;
        if (!(r >= 0.0f && r <= 255.0f))
            return 0;
        if (memcmp(&table[(unsigned)lrintf(r)], &x[i], sizeof(float)) != 0)
            return 0;
    }
    return 1;
}

static int write_bytes(FILE *fp, const float *x, size_t count)
{
    unsigned char buf[4096];
    for (size_t s = 0; s < count; s += sizeof buf) {
        size_t b = count - s < sizeof buf ? count - s : sizeof buf;
        for (size_t i = 0; i < b; i++)
            buf[i] = (unsigned char)lrintf(x[s + i] * 255.0f);
        if (fwrite(buf, 1, b, fp) != b)
            return 0;
    }
    return 1;
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
    uint32_t enc[2];
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
        enc[p] = kn_dataset_cache_bytes_exact(ds->x, ds->n * ds->d) ? ENC_BYTES : ENC_F32;
        memcpy(hdr + ENCODING_AT + 4 * p, &enc[p], 4);
    }
    kn_atomic_file af;
    int rc = kn_atomic_open(&af, path, err);
    if (rc)
        return rc;
    int ok = fwrite(hdr, 1, sizeof hdr, af.fp) == sizeof hdr;
    for (int p = 0; p < 2 && ok; p++) {
        const kn_dataset *ds = parts[p];
        ok = (enc[p] == ENC_BYTES
                  ? write_bytes(af.fp, ds->x, ds->n * ds->d)
                  : fwrite(ds->x, sizeof *ds->x, ds->n * ds->d, af.fp) == ds->n * ds->d) &&
             fwrite(ds->y, sizeof *ds->y, ds->n, af.fp) == ds->n;
    }
    if (!ok) {
        kn_atomic_abort(&af);
        return kn_fail(err, KN_EIO, "data cache: cannot write %s", path);
    }
    return kn_atomic_commit(&af, err);
}

/* Sizes of one part from its header; *bytes = its arrays' size. Allocates nothing. */
static int part_sizes(const unsigned char *q, uint32_t enc, const char *path, size_t *bytes,
                      kn_error *err)
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
    if (kn_size_mul((size_t)n, (size_t)d, &cells) ||
        kn_size_mul(cells, enc == ENC_BYTES ? 1 : 4, &xb) ||
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

/* Reads count bytes b from f into x as byte_value(b), through a small buffer. */
static int read_bytes(FILE *f, float *x, size_t count, unsigned char *buf)
{
    for (size_t s = 0; s < count; s += CHUNK) {
        size_t b = count - s < CHUNK ? count - s : CHUNK;
        if (fread(buf, 1, b, f) != b)
            return 0;
        float *dst = x + s;
        for (size_t i = 0; i < b; i++) /* vectorises: convert, divide */
            dst[i] = byte_value(buf[i]);
    }
    return 1;
}

static int read_part(FILE *f, const char *path, int p, uint32_t enc, kn_dataset *ds,
                     unsigned char *buf, kn_error *err)
{
    size_t cells = ds->n * ds->d;
    int ok = enc == ENC_BYTES ? read_bytes(f, ds->x, cells, buf)
                              : fread(ds->x, sizeof *ds->x, cells, f) == cells;
    if (!ok || fread(ds->y, sizeof *ds->y, ds->n, f) != ds->n)
        return kn_fail(err, KN_EIO, "%s: read failed", path);
    if (enc == ENC_F32) { /* bytes always give finite values */
        int finite = 1;
        for (size_t i = 0; i < cells; i++) /* vectorises */
            finite &= isfinite(ds->x[i]) != 0;
        if (!finite)
            return kn_fail(err, KN_EFORMAT, "%s: %s features contain a non-finite value", path,
                           p ? "test" : "train");
    }
    for (size_t i = 0; i < ds->n; i++)
        if (ds->y[i] < 0 || ds->y[i] >= ds->n_classes)
            return kn_fail(err, KN_EFORMAT, "%s: %s label %zu is %d, outside [0, %d)", path,
                           p ? "test" : "train", i, (int)ds->y[i], ds->n_classes);
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
    unsigned char *buf = NULL;
    int rc = 0;
    if (fstat(fileno(f), &st) != 0 || fread(hdr, 1, sizeof hdr, f) != sizeof hdr) {
        rc = kn_fail(err, KN_EFORMAT, "%s: shorter than its %d-byte header", path, CACHE_HEADER);
        goto fail;
    }
    uint32_t bom = get_u32(hdr + 8), hs = get_u32(hdr + 12);
    const int v1 = memcmp(hdr, CACHE_MAGIC_V1, 8) == 0;
    if ((!v1 && memcmp(hdr, CACHE_MAGIC, 8) != 0) || bom != CACHE_BOM || hs != CACHE_HEADER) {
        rc = kn_fail(err, KN_EFORMAT, "%s: not a kenyon data cache file of this version and "
                     "byte order (offset 0)", path);
        goto fail;
    }
    if (get_u64(hdr + 16) != key) {
        rc = kn_fail(err, KN_EFORMAT, "%s: written for other source files (key at offset 16)",
                     path);
        goto fail;
    }
    uint32_t enc[2] = {ENC_F32, ENC_F32};
    for (int p = 0; p < 2 && !v1; p++) {
        enc[p] = get_u32(hdr + ENCODING_AT + 4 * p);
        if (enc[p] != ENC_F32 && enc[p] != ENC_BYTES) {
            rc = kn_fail(err, KN_EFORMAT, "%s: unknown encoding %" PRIu32 " of the %s features "
                         "(offset %d)", path, enc[p], p ? "test" : "train", ENCODING_AT + 4 * p);
            goto fail;
        }
    }
    size_t bytes[2], want = CACHE_HEADER;
    kn_dataset *parts[2] = {&sp->train, &sp->test};
    for (int p = 0; p < 2; p++) {
        rc = part_sizes(hdr + 24 + p * PART_BYTES, enc[p], path, &bytes[p], err);
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
    if ((enc[0] == ENC_BYTES || enc[1] == ENC_BYTES) && !(buf = malloc(CHUNK))) {
        rc = kn_fail(err, KN_ENOMEM, "%s: out of memory", path);
        goto fail;
    }
    for (int p = 0; p < 2; p++)
        if ((rc = part_alloc(hdr + 24 + p * PART_BYTES, parts[p], err)))
            goto fail;
    for (int p = 0; p < 2; p++)
        if ((rc = read_part(f, path, p, enc[p], parts[p], buf, err)))
            goto fail;
    free(buf);
    fclose(f);
    return 0;
fail:
    free(buf);
    fclose(f);
    kn_split_free(sp);
    return rc;
}
