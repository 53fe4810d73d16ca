/* The assembled-data-set cache (kenyon/dataset_cache.h): exact round trip; every corruption of
 * the file rejected with a message (magic, key, truncation, a label out of range, a non-finite
 * feature); kn_load_dataset writing the cache once, reading it back identical, rebuilding it when
 * a source file changes (never a stale copy), and KENYON_DATA_CACHE=0 turning it off. */
#include "test_support.h"

#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kenyon/dataset_cache.h"
#include "kenyon/data_load.h"
#include "kenyon/fileio.h"
#include "kenyon/formats.h"

static const char *root;

static void make_split(kn_split *sp)
{
    kn_error err;
    memset(sp, 0, sizeof *sp);
    assert_int_equal(kn_dataset_alloc(&sp->train, 7, 5, 3, &err), 0);
    assert_int_equal(kn_dataset_alloc(&sp->test, 4, 5, 3, &err), 0);
    for (int p = 0; p < 2; p++) {
        kn_dataset *ds = p ? &sp->test : &sp->train;
        for (size_t i = 0; i < ds->n * ds->d; i++)
            ds->x[i] = (float)(i * 0.37 + p) / 3.0f;
        for (size_t i = 0; i < ds->n; i++)
            ds->y[i] = (int32_t)(i % 3);
        ds->channels = 1;
        ds->height = 1;
        ds->width = 5;
        snprintf(ds->source, sizeof ds->source, "generated part %d", p);
    }
}

static void assert_same_split(const kn_split *a, const kn_split *b)
{
    const kn_dataset *pa[2] = {&a->train, &a->test}, *pb[2] = {&b->train, &b->test};
    for (int p = 0; p < 2; p++) {
        assert_int_equal(pa[p]->n, pb[p]->n);
        assert_int_equal(pa[p]->d, pb[p]->d);
        assert_int_equal(pa[p]->n_classes, pb[p]->n_classes);
        assert_int_equal(pa[p]->channels, pb[p]->channels);
        assert_int_equal(pa[p]->height, pb[p]->height);
        assert_int_equal(pa[p]->width, pb[p]->width);
        assert_memory_equal(pa[p]->x, pb[p]->x, pa[p]->n * pa[p]->d * sizeof(float));
        assert_memory_equal(pa[p]->y, pb[p]->y, pa[p]->n * sizeof(int32_t));
        assert_string_equal(pa[p]->source, pb[p]->source);
    }
}

static unsigned char *slurp(const char *path, size_t *len)
{
    unsigned char *d;
    kn_error err;
    assert_int_equal(kn_read_file(path, (size_t)1 << 30, &d, len, &err), 0);
    return d;
}

/* Writes bytes to path, reads it as a cache with key, expects failure with `needle` in the
 * message. */
static void expect_rejected(const unsigned char *bytes, size_t len, uint64_t key,
                            const char *needle)
{
    const char *p = kt_path(root, "corrupt.bin");
    kt_write_bytes(p, bytes, len);
    kn_split sp;
    kn_error err;
    assert_int_not_equal(kn_dataset_cache_read(p, key, &sp, &err), 0);
    if (!strstr(err.msg, needle))
        fail_msg("expected '%s' in: %s", needle, err.msg);
    assert_non_null(strstr(err.msg, p)); /* the message names the file */
}

static void test_round_trip_and_corruptions(void **state)
{
    (void)state;
    kn_split a, b;
    kn_error err;
    make_split(&a);
    const char *p = kt_path(root, "sub/dir/c.bin");
    assert_int_equal(kn_dataset_cache_write(p, 42, &a, &err), 0);
    assert_int_equal(kn_dataset_cache_read(p, 42, &b, &err), 0);
    assert_same_split(&a, &b);
    kn_split_free(&b);
    size_t len;
    unsigned char *d = slurp(p, &len);
    assert_int_equal(len, 1024 + 4 * (7 * 5 + 7 + 4 * 5 + 4));
    assert_int_not_equal(kn_dataset_cache_read(p, 43, &b, &err), 0);
    assert_non_null(strstr(err.msg, "other source files"));
    expect_rejected(d, len - 1, 42, "bytes, but the header describes");
    expect_rejected(d, 100, 42, "header");
    unsigned char *c = malloc(len);
    assert_non_null(c);
    memcpy(c, d, len);
    c[0] = 'X';
    expect_rejected(c, len, 42, "not a kenyon data cache file");
    memcpy(c, d, len);
    int32_t bad = 3; /* train label 0 -> 3, outside [0, 3) */
    memcpy(c + 1024 + 4 * 35, &bad, 4);
    expect_rejected(c, len, 42, "label 0 is 3");
    memcpy(c, d, len);
    float nan = NAN;
    memcpy(c + 1024 + 4 * 2, &nan, 4);
    expect_rejected(c, len, 42, "non-finite");
    memcpy(c, d, len);
    uint64_t huge = (uint64_t)1 << 40; /* train n */
    memcpy(c + 24, &huge, 8);
    expect_rejected(c, len, 42, "implausible sizes");
    free(c);
    free(d);
    kn_split_free(&a);
}

static void write_fashion_files(const char *dir, size_t per_class, unsigned char shade)
{
    kn_error err;
    assert_int_equal(kn_mkdirs(dir, &err), 0);
    for (int part = 0; part < 2; part++) {
        size_t n = per_class * 10;
        unsigned char *x = malloc(n * 784), *y = malloc(n);
        assert_non_null(x);
        assert_non_null(y);
        for (size_t i = 0; i < n; i++) {
            y[i] = (unsigned char)(i % 10);
            for (size_t j = 0; j < 784; j++)
                x[i * 784 + j] = (unsigned char)(shade + i * 3 + j);
        }
        kn_array xa = {.dtype = KN_DT_U8, .ndim = 3, .shape = {n, 28, 28}, .count = n * 784,
                       .data = x};
        kn_array ya = {.dtype = KN_DT_U8, .ndim = 1, .shape = {n}, .count = n, .data = y};
        assert_int_equal(kn_idx_write(kt_path(dir, part ? "t10k-images-idx3-ubyte.gz"
                                                        : "train-images-idx3-ubyte.gz"),
                                      &xa, 1, &err),
                         0);
        assert_int_equal(kn_idx_write(kt_path(dir, part ? "t10k-labels-idx1-ubyte.gz"
                                                        : "train-labels-idx1-ubyte.gz"),
                                      &ya, 1, &err),
                         0);
        free(x);
        free(y);
    }
}

static int count_cache_files(const char *dir)
{
    DIR *d = opendir(kt_path(dir, "cache"));
    if (!d)
        return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        n += strncmp(e->d_name, "dataset-", 8) == 0;
    closedir(d);
    return n;
}

static void test_load_through_cache(void **state)
{
    (void)state;
    char dir[600];
    snprintf(dir, sizeof dir, "%s", kt_path(root, "data"));
    char fash[700];
    snprintf(fash, sizeof fash, "%s/fashion-mnist", dir);
    write_fashion_files(fash, 6, 0);
    kn_data_options o;
    kn_data_options_default(&o);
    o.data_dir = dir;
    kn_split a, b, c;
    kn_error err;
    unsetenv("KENYON_DATA_CACHE");
    assert_int_equal(kn_load_dataset("fashion", &o, &a, &err), 0);
    assert_int_equal(count_cache_files(dir), 1);
    assert_int_equal(kn_load_dataset("fashion", &o, &b, &err), 0); /* from the cache */
    assert_same_split(&a, &b);
    setenv("KENYON_DATA_CACHE", "0", 1);
    assert_int_equal(kn_load_dataset("fashion", &o, &c, &err), 0); /* from the sources */
    assert_same_split(&a, &c);
    kn_split_free(&c);
    o.seed = 5; /* another balancing: a cache file only when the cache is on */
    assert_int_equal(kn_load_dataset("fashion", &o, &c, &err), 0);
    assert_int_equal(count_cache_files(dir), 1);
    kn_split_free(&c);
    unsetenv("KENYON_DATA_CACHE");
    o.seed = 0;
    /* A changed source: a new key, the new data, not the stale copy. */
    write_fashion_files(fash, 8, 9);
    assert_int_equal(kn_load_dataset("fashion", &o, &c, &err), 0);
    assert_int_equal(c.train.n, 80);
    assert_true(c.train.x[0] != a.train.x[0] || c.train.n != a.train.n);
    assert_int_equal(count_cache_files(dir), 2);
    kn_split_free(&a);
    kn_split_free(&b);
    kn_split_free(&c);
    /* The key depends on the balancing seed and on the sources only. */
    uint64_t k1, k2, k3;
    assert_int_equal(kn_dataset_cache_key(dir, "fashion", 1, 0, &k1, &err), 0);
    assert_int_equal(kn_dataset_cache_key(dir, "fashion", 1, 0, &k2, &err), 0);
    assert_int_equal(kn_dataset_cache_key(dir, "fashion", 1, 1, &k3, &err), 0);
    assert_true(k1 == k2 && k1 != k3);
}

/* Pixels b / 255 are stored as one byte each and come back bit for bit; a part with any other
 * value (0.5, -0.0) stays float32; a format-1 file (all float32) is still read; a byte file
 * relabelled as format 1 is rejected by its size, never misread. */
static void test_byte_encoding(void **state)
{
    (void)state;
    kn_split a, b;
    kn_error err;
    make_split(&a);
    for (size_t i = 0; i < a.train.n * a.train.d; i++)
        a.train.x[i] = (float)((i * 37) % 256) / 255.0f;
    a.test.x[3] = 0.5f; /* not k/255: the test part stays float32 */
    assert_true(kn_dataset_cache_bytes_exact(a.train.x, a.train.n * a.train.d));
    assert_false(kn_dataset_cache_bytes_exact(a.test.x, a.test.n * a.test.d));
    const float neg_zero = -0.0f, over = 256.0f / 255.0f;
    assert_false(kn_dataset_cache_bytes_exact(&neg_zero, 1));
    assert_false(kn_dataset_cache_bytes_exact(&over, 1));
    const char *p = kt_path(root, "bytes.bin");
    assert_int_equal(kn_dataset_cache_write(p, 7, &a, &err), 0);
    assert_int_equal(kn_dataset_cache_read(p, 7, &b, &err), 0);
    assert_same_split(&a, &b);
    kn_split_free(&b);
    size_t len;
    unsigned char *d = slurp(p, &len);
    assert_int_equal(len, 1024 + (7 * 5 + 4 * 7) + 4 * (4 * 5 + 4));
    uint32_t enc[2];
    memcpy(enc, d + 632, 8);
    assert_int_equal(enc[0], 1);
    assert_int_equal(enc[1], 0);
    unsigned char *c = malloc(len);
    assert_non_null(c);
    memcpy(c, d, len);
    c[632] = 7;
    expect_rejected(c, len, 7, "unknown encoding 7 of the train features");
    memcpy(c, d, len);
    memcpy(c, "KNDSCH01", 8);
    expect_rejected(c, len, 7, "bytes, but the header describes");
    free(c);
    free(d);
    /* Format 1: the same header without encodings, every part float32. */
    kn_split f;
    make_split(&f);
    const char *p1 = kt_path(root, "v1.bin");
    assert_int_equal(kn_dataset_cache_write(p1, 9, &f, &err), 0);
    d = slurp(p1, &len);
    memcpy(d, "KNDSCH01", 8);
    memset(d + 632, 0xff, 8); /* format 1 had zeros here; it must not be read as encodings */
    kt_write_bytes(p1, d, len);
    free(d);
    assert_int_equal(kn_dataset_cache_read(p1, 9, &b, &err), 0);
    assert_same_split(&f, &b);
    kn_split_free(&b);
    kn_split_free(&f);
    kn_split_free(&a);
}

static void set_mtime(const char *path, time_t t)
{
    struct timespec ts[2] = {{.tv_sec = t}, {.tv_sec = t}};
    assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
}

static int exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* The sources' digest kept beside their status: used while the status is unchanged (shown by a
 * doctored index being believed), hashed again when a file's bytes change even with its size and
 * mtime put back (its ctime moved), and not recorded at all for files changed just now. */
static void test_sources_digest_index(void **state)
{
    (void)state;
    char dir[600], fash[700], img[800], idx[800];
    snprintf(dir, sizeof dir, "%s", kt_path(root, "digest"));
    snprintf(fash, sizeof fash, "%s/fashion-mnist", dir);
    snprintf(img, sizeof img, "%s/train-images-idx3-ubyte.gz", fash);
    snprintf(idx, sizeof idx, "%s/cache/sources.stat", dir);
    write_fashion_files(fash, 3, 1);
    kn_error err;
    uint64_t fresh, hashed;
    assert_int_equal(kn_dataset_cache_sources_digest(dir, 1, &fresh, &err), 0);
    assert_false(exists(idx)); /* files written this second: no index */
    const time_t old = time(NULL) - 100;
    static const char *const names[] = {"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                                        "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"};
    for (int i = 0; i < 4; i++)
        set_mtime(kt_path(fash, names[i]), old);
    /* utimensat moved the ctimes to now: still too young for an index. */
    uint64_t d1;
    assert_int_equal(kn_dataset_cache_sources_digest(dir, 1, &d1, &err), 0);
    assert_true(d1 == fresh);
    assert_false(exists(idx));
    sleep(3); /* ctimes now older than the 2 s margin */
    assert_int_equal(kn_dataset_cache_sources_digest(dir, 1, &d1, &err), 0);
    assert_true(exists(idx));
    assert_int_equal(kn_dataset_cache_sources_digest(dir, 0, &hashed, &err), 0);
    assert_true(d1 == hashed && d1 == fresh);
    /* The index is what a second call reads: a doctored digest in it is believed. */
    size_t len;
    unsigned char *b = slurp(idx, &len);
    b[len - 1] ^= 0x5a;
    kt_write_bytes(idx, b, len);
    free(b);
    uint64_t doctored;
    assert_int_equal(kn_dataset_cache_sources_digest(dir, 1, &doctored, &err), 0);
    assert_true(doctored != d1);
    /* Same size, mtime put back, other bytes: the ctime tells, the bytes are hashed again. */
    unsigned char *g = slurp(img, &len);
    g[len / 2] ^= 0xff;
    kt_write_bytes(img, g, len);
    free(g);
    set_mtime(img, old);
    uint64_t d2, h2;
    assert_int_equal(kn_dataset_cache_sources_digest(dir, 1, &d2, &err), 0);
    assert_int_equal(kn_dataset_cache_sources_digest(dir, 0, &h2, &err), 0);
    assert_true(d2 == h2 && d2 != d1 && d2 != doctored);
}

int main(void)
{
    root = kt_scratch_dir("dataset_cache");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_and_corruptions),
        cmocka_unit_test(test_load_through_cache),
        cmocka_unit_test(test_byte_encoding),
        cmocka_unit_test(test_sources_digest_index),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
