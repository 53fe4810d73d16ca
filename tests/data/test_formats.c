/* Readers and writers of IDX, npy, CIFAR binary and CSV: round-trips through our own writers,
 * known bytes of the written files, and every kind of bad input with a message naming the file. */
#include "test_support.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "kenyon/formats.h"

static const char *dir;

static void expect_error(int rc, const kn_error *err, const char *path, const char *what)
{
    if (rc == 0)
        fail_msg("expected an error mentioning '%s' for %s", what, path);
    if (!strstr(err->msg, path))
        fail_msg("message does not name the file %s: %s", path, err->msg);
    if (!strstr(err->msg, what))
        fail_msg("message lacks '%s': %s", what, err->msg);
}

static void write_gz(const char *path, const void *data, size_t len)
{
    gzFile g = gzopen(path, "wb");
    assert_non_null(g);
    if (len)
        assert_int_equal(gzwrite(g, data, (unsigned)len), (int)len);
    gzclose(g);
}

/* ---------------- IDX ---------------- */

static void fill_array(kn_array *a, kn_dtype t, int ndim, const size_t *shape)
{
    memset(a, 0, sizeof *a);
    a->dtype = t;
    a->ndim = ndim;
    a->count = 1;
    for (int i = 0; i < ndim; i++) {
        a->shape[i] = shape[i];
        a->count *= shape[i];
    }
    size_t es = kn_dtype_size(t);
    unsigned char *p = malloc(a->count * es);
    for (size_t i = 0; i < a->count; i++) {
        double v = (double)i * 3.25 - 7.0;
        switch (t) {
        case KN_DT_U8: p[i] = (unsigned char)(i * 37); break;
        case KN_DT_I8: { int8_t x = (int8_t)((int)(i * 37) - 128); memcpy(p + i, &x, 1); } break;
        case KN_DT_I16: { int16_t x = (int16_t)(i * 1031 - 20000); memcpy(p + 2 * i, &x, 2); } break;
        case KN_DT_I32: { int32_t x = (int32_t)(i * 100003) - 1000000; memcpy(p + 4 * i, &x, 4); } break;
        case KN_DT_I64: { int64_t x = (int64_t)i * 10000000007LL; memcpy(p + 8 * i, &x, 8); } break;
        case KN_DT_F32: { float x = (float)v; memcpy(p + 4 * i, &x, 4); } break;
        case KN_DT_F64: memcpy(p + 8 * i, &v, 8); break;
        }
    }
    a->data = p;
}

static void test_idx_roundtrip_all_types(void **state)
{
    (void)state;
    kn_dtype types[] = {KN_DT_U8, KN_DT_I8, KN_DT_I16, KN_DT_I32, KN_DT_F32, KN_DT_F64};
    size_t shape[3] = {4, 3, 5};
    for (size_t t = 0; t < sizeof types / sizeof *types; t++)
        for (int gz = 0; gz < 2; gz++) {
            kn_array a, b;
            fill_array(&a, types[t], 3, shape);
            char name[64];
            snprintf(name, sizeof name, "rt_%s%s.idx", kn_dtype_name(types[t]), gz ? ".gz" : "");
            const char *p = kt_path(dir, name);
            kn_error err;
            assert_int_equal(kn_idx_write(p, &a, gz, &err), 0);
            int rc = kn_idx_read(p, &b, &err);
            if (rc)
                fail_msg("%s", err.msg);
            assert_int_equal(b.dtype, a.dtype);
            assert_int_equal(b.ndim, 3);
            assert_int_equal(b.shape[0], 4);
            assert_int_equal(b.shape[1], 3);
            assert_int_equal(b.shape[2], 5);
            assert_int_equal(b.count, 60);
            assert_memory_equal(a.data, b.data, 60 * kn_dtype_size(a.dtype));
            kn_array_free(&a);
            kn_array_free(&b);
        }
}

static void test_idx_known_bytes(void **state)
{
    (void)state;
    /* int16 values 0x0102, -2 as a 2-vector: header 00 00 0B 01, dim 00 00 00 02, data BE. */
    int16_t vals[2] = {0x0102, -2};
    kn_array a = {.dtype = KN_DT_I16, .ndim = 1, .shape = {2}, .count = 2, .data = vals};
    const char *p = kt_path(dir, "known.idx");
    kn_error err;
    assert_int_equal(kn_idx_write(p, &a, 0, &err), 0);
    size_t len;
    unsigned char *b = (unsigned char *)kt_read_file(p, &len);
    const unsigned char want[] = {0, 0, 0x0B, 1, 0, 0, 0, 2, 0x01, 0x02, 0xFF, 0xFE};
    assert_int_equal(len, sizeof want);
    assert_memory_equal(b, want, sizeof want);
    free(b);
    /* A hand-made big-endian float32 IDX: 1.5 = 0x3FC00000. */
    const unsigned char f32[] = {0, 0, 0x0D, 2, 0, 0, 0, 1, 0, 0, 0, 1, 0x3F, 0xC0, 0, 0};
    p = kt_path(dir, "f32.idx");
    kt_write_bytes(p, f32, sizeof f32);
    kn_array r;
    assert_int_equal(kn_idx_read(p, &r, &err), 0);
    assert_int_equal(r.dtype, KN_DT_F32);
    assert_true(kn_array_get(&r, 0) == 1.5);
    kn_array_free(&r);
    /* I64 cannot be stored in IDX. */
    int64_t big[1] = {1};
    kn_array c = {.dtype = KN_DT_I64, .ndim = 1, .shape = {1}, .count = 1, .data = big};
    p = kt_path(dir, "i64.idx");
    expect_error(kn_idx_write(p, &c, 0, &err), &err, p, "cannot store int64");
}

static void test_idx_bad_inputs(void **state)
{
    (void)state;
    kn_error err;
    kn_array a;
    const char *p;

    p = kt_path(dir, "bad_magic.idx");
    const unsigned char magic[] = {1, 0, 8, 1, 0, 0, 0, 1, 5};
    kt_write_bytes(p, magic, sizeof magic);
    expect_error(kn_idx_read(p, &a, &err), &err, p, "magic bytes are 0x01 0x00");

    p = kt_path(dir, "bad_type.idx");
    const unsigned char type[] = {0, 0, 0x0A, 1, 0, 0, 0, 1, 5};
    kt_write_bytes(p, type, sizeof type);
    expect_error(kn_idx_read(p, &a, &err), &err, p, "unknown IDX type code 0x0a");

    p = kt_path(dir, "short.idx");
    kt_write_bytes(p, magic, 3);
    expect_error(kn_idx_read(p, &a, &err), &err, p, "too short");

    p = kt_path(dir, "trunc_dims.idx");
    const unsigned char td[] = {0, 0, 8, 3, 0, 0, 0, 1, 0, 0};
    kt_write_bytes(p, td, sizeof td);
    expect_error(kn_idx_read(p, &a, &err), &err, p, "truncated: the IDX dimension list");

    p = kt_path(dir, "trunc_data.idx");
    const unsigned char tdata[] = {0, 0, 8, 2, 0, 0, 0, 2, 0, 0, 0, 2, 1, 2, 3};
    kt_write_bytes(p, tdata, sizeof tdata);
    expect_error(kn_idx_read(p, &a, &err), &err, p, "truncated");
    assert_non_null(strstr(err.msg, "needs 4 bytes"));

    p = kt_path(dir, "trunc_data.idx.gz");
    write_gz(p, tdata, sizeof tdata);
    expect_error(kn_idx_read(p, &a, &err), &err, p, "truncated");

    p = kt_path(dir, "trailing.idx");
    const unsigned char trail[] = {0, 0, 8, 1, 0, 0, 0, 2, 1, 2, 3};
    kt_write_bytes(p, trail, sizeof trail);
    expect_error(kn_idx_read(p, &a, &err), &err, p, "1 trailing bytes");

    p = kt_path(dir, "overflow.idx");
    const unsigned char ov[] = {0, 0, 0x0E, 3, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
                                0xFF, 0xFF, 0xFF, 0xFF, 0};
    kt_write_bytes(p, ov, sizeof ov);
    expect_error(kn_idx_read(p, &a, &err), &err, p, "overflow");
    assert_non_null(strstr(err.msg, "4294967295 x 4294967295"));

    /* Big but not overflowing: rejected from the file size before any allocation. */
    p = kt_path(dir, "huge.idx");
    const unsigned char huge[] = {0, 0, 8, 2, 0, 1, 0, 0, 0, 1, 0, 0, 7};
    kt_write_bytes(p, huge, sizeof huge);
    expect_error(kn_idx_read(p, &a, &err), &err, p, "truncated");

    p = kt_path(dir, "huge.idx.gz");
    write_gz(p, huge, sizeof huge);
    expect_error(kn_idx_read(p, &a, &err), &err, p, "truncated");

    p = kt_path(dir, "zero_dims.idx");
    const unsigned char z[] = {0, 0, 8, 0};
    kt_write_bytes(p, z, sizeof z);
    expect_error(kn_idx_read(p, &a, &err), &err, p, "0 dimensions");

    p = kt_path(dir, "empty.idx");
    kt_write_bytes(p, "", 0);
    expect_error(kn_idx_read(p, &a, &err), &err, p, "is empty");

    p = dir;
    expect_error(kn_idx_read(p, &a, &err), &err, p, "is a directory");

    p = kt_path(dir, "missing.idx");
    expect_error(kn_idx_read(p, &a, &err), &err, p, "cannot open");

    /* A gzip stream cut in half. */
    kn_array good;
    size_t shape[2] = {50, 40};
    fill_array(&good, KN_DT_F32, 2, shape);
    p = kt_path(dir, "cut.idx.gz");
    assert_int_equal(kn_idx_write(p, &good, 1, &err), 0);
    kn_array_free(&good);
    size_t len;
    unsigned char *b = (unsigned char *)kt_read_file(p, &len);
    kt_write_bytes(p, b, len / 2);
    free(b);
    expect_error(kn_idx_read(p, &a, &err), &err, p, "truncated");
    assert_null(a.data);
}

/* ---------------- npy ---------------- */

static void test_npy_roundtrip(void **state)
{
    (void)state;
    kn_dtype types[] = {KN_DT_U8, KN_DT_I8, KN_DT_I16, KN_DT_I32, KN_DT_I64, KN_DT_F32, KN_DT_F64};
    size_t shape[2] = {7, 3};
    kn_error err;
    for (size_t t = 0; t < sizeof types / sizeof *types; t++) {
        kn_array a, b;
        fill_array(&a, types[t], 2, shape);
        const char *p = kt_path(dir, "rt.npy");
        assert_int_equal(kn_npy_write(p, a.dtype, a.data, a.shape, 2, &err), 0);
        if (kn_npy_read(p, &b, &err))
            fail_msg("%s", err.msg);
        assert_int_equal(b.dtype, a.dtype);
        assert_int_equal(b.ndim, 2);
        assert_int_equal(b.shape[0], 7);
        assert_int_equal(b.shape[1], 3);
        assert_memory_equal(a.data, b.data, 21 * kn_dtype_size(a.dtype));
        kn_array_free(&a);
        kn_array_free(&b);
    }
    /* 1-D and 0-D shapes. */
    float v[3] = {1, 2, 3};
    size_t s1[1] = {3};
    const char *p = kt_path(dir, "v.npy");
    kn_array b;
    assert_int_equal(kn_npy_write_f32(p, v, s1, 1, &err), 0);
    assert_int_equal(kn_npy_read(p, &b, &err), 0);
    assert_int_equal(b.ndim, 1);
    assert_int_equal(b.count, 3);
    kn_array_free(&b);
    assert_int_equal(kn_npy_write_f32(p, v, NULL, 0, &err), 0);
    assert_int_equal(kn_npy_read(p, &b, &err), 0);
    assert_int_equal(b.ndim, 0);
    assert_int_equal(b.count, 1);
    assert_true(kn_array_get(&b, 0) == 1.0);
    kn_array_free(&b);
}

static void test_npy_known_header(void **state)
{
    (void)state;
    float v[6] = {0};
    size_t s[2] = {2, 3};
    const char *p = kt_path(dir, "h.npy");
    kn_error err;
    assert_int_equal(kn_npy_write_f32(p, v, s, 2, &err), 0);
    size_t len;
    unsigned char *b = (unsigned char *)kt_read_file(p, &len);
    const char dict[] = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
    assert_memory_equal(b, "\x93NUMPY\x01\x00", 8);
    size_t hlen = b[8] | (b[9] << 8);
    assert_int_equal((10 + hlen) % 64, 0);
    assert_memory_equal(b + 10, dict, strlen(dict));
    assert_int_equal(b[10 + hlen - 1], '\n');
    assert_int_equal(len, 10 + hlen + 24);
    free(b);
    /* 1-D shapes are written with a trailing comma, as Python tuples need. */
    size_t s1[1] = {5};
    int32_t iv[5] = {0};
    assert_int_equal(kn_npy_write_i32(p, iv, s1, 1, &err), 0);
    b = (unsigned char *)kt_read_file(p, &len);
    assert_non_null(strstr((char *)b + 10, "'shape': (5,)"));
    assert_non_null(strstr((char *)b + 10, "'<i4'"));
    free(b);
}

/* Builds an npy file by hand: version major, dict text, data. */
static void write_npy_raw(const char *path, int major, const char *dict, const void *data,
                          size_t dlen)
{
    unsigned char buf[1024];
    size_t pre = major == 1 ? 10 : 12;
    size_t k = strlen(dict);
    size_t total = (pre + k + 1 + 63) / 64 * 64;
    size_t hlen = total - pre;
    memcpy(buf, "\x93NUMPY", 6);
    buf[6] = (unsigned char)major;
    buf[7] = 0;
    buf[8] = (unsigned char)hlen;
    buf[9] = (unsigned char)(hlen >> 8);
    if (major > 1) {
        buf[10] = 0;
        buf[11] = 0;
    }
    memcpy(buf + pre, dict, k);
    memset(buf + pre + k, ' ', hlen - k - 1);
    buf[total - 1] = '\n';
    memcpy(buf + total, data, dlen);
    kt_write_bytes(path, buf, total + dlen);
}

static void test_npy_versions_and_endianness(void **state)
{
    (void)state;
    kn_error err;
    kn_array a;
    const unsigned char be[8] = {0, 0, 1, 2, 0xFF, 0xFF, 0xFF, 0xFE}; /* 258, -2 big-endian */
    const char *p = kt_path(dir, "v2.npy");
    write_npy_raw(p, 2, "{\"descr\": \">i4\", \"fortran_order\": False, \"shape\": (2,)}", be, 8);
    if (kn_npy_read(p, &a, &err))
        fail_msg("%s", err.msg);
    assert_int_equal(a.dtype, KN_DT_I32);
    assert_true(kn_array_get(&a, 0) == 258);
    assert_true(kn_array_get(&a, 1) == -2);
    kn_array_free(&a);
    p = kt_path(dir, "v3.npy");
    const double d2[2] = {0.5, -4};
    write_npy_raw(p, 3, "{'shape': (1, 2), 'fortran_order': False, 'descr': '<f8', }", d2, 16);
    if (kn_npy_read(p, &a, &err))
        fail_msg("%s", err.msg);
    assert_int_equal(a.ndim, 2);
    assert_true(kn_array_get(&a, 1) == -4);
    kn_array_free(&a);
    p = kt_path(dir, "b1.npy");
    write_npy_raw(p, 1, "{'descr': '|b1', 'fortran_order': False, 'shape': (2,), }", "\1\0", 2);
    assert_int_equal(kn_npy_read(p, &a, &err), 0);
    assert_int_equal(a.dtype, KN_DT_U8);
    kn_array_free(&a);
}

static void test_npy_bad_inputs(void **state)
{
    (void)state;
    kn_error err;
    kn_array a;
    const char *p;
    const float data[4] = {1, 2, 3, 4};

    p = kt_path(dir, "fortran.npy");
    write_npy_raw(p, 1, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", data, 16);
    expect_error(kn_npy_read(p, &a, &err), &err, p, "Fortran-order");

    p = kt_path(dir, "complex.npy");
    write_npy_raw(p, 1, "{'descr': '<c8', 'fortran_order': False, 'shape': (2,), }", data, 16);
    expect_error(kn_npy_read(p, &a, &err), &err, p, "'<c8' is not supported");

    p = kt_path(dir, "struct.npy");
    write_npy_raw(p, 1, "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }",
                  data, 8);
    expect_error(kn_npy_read(p, &a, &err), &err, p, "structured");

    p = kt_path(dir, "noshape.npy");
    write_npy_raw(p, 1, "{'descr': '<f4', 'fortran_order': False}", data, 16);
    expect_error(kn_npy_read(p, &a, &err), &err, p, "lacks 'shape'");

    p = kt_path(dir, "badshape.npy");
    write_npy_raw(p, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, x), }", data, 16);
    expect_error(kn_npy_read(p, &a, &err), &err, p, "non-integer");

    p = kt_path(dir, "trunc.npy");
    write_npy_raw(p, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }", data, 12);
    expect_error(kn_npy_read(p, &a, &err), &err, p, "truncated");

    p = kt_path(dir, "trail.npy");
    write_npy_raw(p, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", data, 16);
    expect_error(kn_npy_read(p, &a, &err), &err, p, "4 trailing bytes");

    p = kt_path(dir, "overflow.npy");
    write_npy_raw(p, 1, "{'descr': '<f8', 'fortran_order': False, 'shape': "
                  "(4294967296, 4294967296, 4294967296), }", data, 16);
    expect_error(kn_npy_read(p, &a, &err), &err, p, "overflows");

    p = kt_path(dir, "bigshape.npy");
    write_npy_raw(p, 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (99999999999999999999,)}",
                  data, 16);
    expect_error(kn_npy_read(p, &a, &err), &err, p, "too large");

    p = kt_path(dir, "v9.npy");
    write_npy_raw(p, 9, "{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }", data, 16);
    expect_error(kn_npy_read(p, &a, &err), &err, p, "version 9.0");

    p = kt_path(dir, "magic.npy");
    kt_write_bytes(p, "\x93NUMPX\x01\x00\x10\x00", 10);
    expect_error(kn_npy_read(p, &a, &err), &err, p, "not a .npy file");

    p = kt_path(dir, "hdrtrunc.npy");
    kt_write_bytes(p, "\x93NUMPY\x01\x00\x40\x00{'descr'", 18);
    expect_error(kn_npy_read(p, &a, &err), &err, p, "truncated: the npy header");

    p = kt_path(dir, "empty.npy");
    kt_write_bytes(p, "", 0);
    expect_error(kn_npy_read(p, &a, &err), &err, p, "is empty");

    expect_error(kn_npy_read(dir, &a, &err), &err, dir, "is a directory");
}

/* ---------------- CIFAR ---------------- */

static void make_images(kn_dataset *ds, size_t n, int n_classes)
{
    kn_error err;
    assert_int_equal(kn_dataset_alloc(ds, n, 3072, n_classes, &err), 0);
    for (size_t i = 0; i < n; i++) {
        ds->y[i] = (int32_t)((i * 7) % (size_t)n_classes);
        for (size_t j = 0; j < 3072; j++)
            ds->x[i * 3072 + j] = (float)((i + j) % 256) / 255.0f;
    }
}

static void test_cifar_roundtrip(void **state)
{
    (void)state;
    kn_error err;
    for (int c100 = 0; c100 < 2; c100++) {
        kn_dataset a, b;
        make_images(&a, 5, c100 ? 100 : 10);
        const char *p = kt_path(dir, c100 ? "c100.bin" : "c10.bin");
        assert_int_equal(kn_cifar_write(p, c100, &a, &err), 0);
        if (kn_cifar_read(p, c100, &b, &err))
            fail_msg("%s", err.msg);
        assert_int_equal(b.n, 5);
        assert_int_equal(b.d, 3072);
        assert_int_equal(b.n_classes, c100 ? 100 : 10);
        assert_int_equal(b.channels, 3);
        assert_int_equal(b.height, 32);
        assert_memory_equal(a.y, b.y, 5 * sizeof(int32_t));
        assert_memory_equal(a.x, b.x, 5 * 3072 * sizeof(float));
        kn_file_kind k;
        assert_int_equal(kn_file_kind_detect(p, &k, &err), 0);
        assert_int_equal(k, c100 ? KN_FILE_CIFAR100 : KN_FILE_CIFAR10);
        /* Record layout: CIFAR-100 = coarse, fine, pixels. */
        size_t len;
        unsigned char *raw = (unsigned char *)kt_read_file(p, &len);
        assert_int_equal(len, 5 * (c100 ? 3074 : 3073));
        if (c100) {
            assert_int_equal(raw[3074 + 1], 7);
            assert_int_equal(raw[3074 + 0], 1);
            assert_int_equal(raw[3074 + 2], 1); /* pixel 0 of image 1 = 1 */
        } else {
            assert_int_equal(raw[3073], 7);
        }
        free(raw);
        kn_dataset_free(&a);
        kn_dataset_free(&b);
    }
}

static void test_cifar_bad_inputs(void **state)
{
    (void)state;
    kn_error err;
    kn_dataset a, ds;
    make_images(&a, 2, 10);
    const char *p = kt_path(dir, "c10.bin");
    assert_int_equal(kn_cifar_write(p, 0, &a, &err), 0);
    kn_dataset_free(&a);
    size_t len;
    unsigned char *raw = (unsigned char *)kt_read_file(p, &len);

    const char *q = kt_path(dir, "c10_trunc.bin");
    kt_write_bytes(q, raw, len - 100);
    expect_error(kn_cifar_read(q, 0, &ds, &err), &err, q, "the last record has 2973 bytes");
    kn_file_kind k;
    expect_error(kn_file_kind_detect(q, &k, &err), &err, q, "truncated?");

    expect_error(kn_cifar_read(p, 1, &ds, &err), &err, p, "wrong flavour");

    raw[3073] = 10;
    q = kt_path(dir, "c10_label.bin");
    kt_write_bytes(q, raw, len);
    expect_error(kn_cifar_read(q, 0, &ds, &err), &err, q, "record 1 (byte 3073)");
    assert_non_null(strstr(err.msg, "label 10 is out of range"));
    free(raw);

    make_images(&a, 1, 100);
    a.y[0] = 42;
    q = kt_path(dir, "c100_fine.bin");
    assert_int_equal(kn_cifar_write(q, 1, &a, &err), 0);
    raw = (unsigned char *)kt_read_file(q, &len);
    raw[1] = 100;
    kt_write_bytes(q, raw, len);
    expect_error(kn_cifar_read(q, 1, &ds, &err), &err, q, "fine label 100");
    raw[1] = 3;
    raw[0] = 20;
    kt_write_bytes(q, raw, len);
    expect_error(kn_cifar_read(q, 1, &ds, &err), &err, q, "coarse label 20");
    free(raw);
    kn_dataset_free(&a);

    q = kt_path(dir, "empty.bin");
    kt_write_bytes(q, "", 0);
    expect_error(kn_cifar_read(q, 0, &ds, &err), &err, q, "is empty");
    expect_error(kn_cifar_read(dir, 0, &ds, &err), &err, dir, "is a directory");
}

/* ---------------- CSV ---------------- */

static void test_csv_roundtrip_and_header(void **state)
{
    (void)state;
    kn_error err;
    kn_dataset a, b;
    assert_int_equal(kn_dataset_alloc(&a, 4, 3, 3, &err), 0);
    for (size_t i = 0; i < 12; i++)
        a.x[i] = (float)i / 7.0f - 0.3f;
    for (size_t i = 0; i < 4; i++)
        a.y[i] = (int32_t)(i % 3);
    const char *p = kt_path(dir, "rt.csv");
    assert_int_equal(kn_csv_write(p, &a, &err), 0);
    if (kn_csv_read(p, 3, &b, &err))
        fail_msg("%s", err.msg);
    assert_int_equal(b.n, 4);
    assert_int_equal(b.d, 3);
    assert_int_equal(b.n_classes, 3);
    assert_memory_equal(a.x, b.x, 12 * sizeof(float)); /* %.9g round-trips float32 exactly */
    assert_memory_equal(a.y, b.y, 4 * sizeof(int32_t));
    kn_dataset_free(&a);
    kn_dataset_free(&b);

    p = kt_path(dir, "header.csv");
    const char *text = "label;f1;f2\r\n# a comment\n\n2;0.5;-1e3\r\n0; 1 ;2\n";
    kt_write_bytes(p, text, strlen(text));
    if (kn_csv_read(p, 0, &b, &err))
        fail_msg("%s", err.msg);
    assert_int_equal(b.n, 2);
    assert_int_equal(b.d, 2);
    assert_int_equal(b.n_classes, 3);
    assert_int_equal(b.y[0], 2);
    assert_true(b.x[1] == -1000.0f);
    assert_true(b.x[2] == 1.0f);
    kn_dataset_free(&b);
    assert_int_equal(kn_csv_read(p, -1, &b, &err), 0); /* no label: all columns are x */
    assert_int_equal(b.d, 3);
    assert_int_equal(b.n_classes, 0);
    kn_dataset_free(&b);
}

static void test_csv_bad_inputs(void **state)
{
    (void)state;
    kn_error err;
    kn_dataset ds;
    struct {
        const char *name, *text, *what;
        int label;
    } cases[] = {
        {"ragged.csv", "1,2,0\n3,4\n", "line 2 has 2 columns, expected 3", 2},
        {"nan.csv", "1,2,0\n3,abc,1\n", "line 2 column 2: 'abc' is not a finite number", 2},
        {"inf.csv", "1,2,0\n3,inf,1\n", "line 2 column 2: 'inf'", 2},
        {"neglabel.csv", "1,2,0\n3,4,-1\n", "data row 2: label -1 is not an integer", 2},
        {"fraclabel.csv", "1,2,0.5\n", "label 0.5 is not an integer", 2},
        {"biglabel.csv", "1,2,70000\n", "label 70000", 2},
        {"nocol.csv", "1,2,0\n", "label column 5 does not exist", 5},
        {"onlyheader.csv", "a,b,c\n", "only a header line", 2},
        {"blank.csv", "\n\n# nothing\n", "no numeric rows", 2},
        {"binary.csv", "1,2\0,3\n", "NUL bytes", 2},
        {"onlylabel.csv", "1\n2\n", "only the label column", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const char *p = kt_path(dir, cases[i].name);
        size_t n = strcmp(cases[i].name, "binary.csv") ? strlen(cases[i].text) : 7;
        kt_write_bytes(p, cases[i].text, n);
        expect_error(kn_csv_read(p, cases[i].label, &ds, &err), &err, p, cases[i].what);
    }
    const char *p = kt_path(dir, "empty.csv");
    kt_write_bytes(p, "", 0);
    expect_error(kn_csv_read(p, 0, &ds, &err), &err, p, "is empty");
    expect_error(kn_csv_read(dir, 0, &ds, &err), &err, dir, "is a directory");
}

/* ---------------- any format / x+y ---------------- */

static void test_load_xy(void **state)
{
    (void)state;
    kn_error err;
    kn_dataset ds;
    /* uint8 images in IDX.gz + int32 labels in npy. */
    unsigned char px[3 * 2 * 2] = {0, 255, 51, 102, 1, 2, 3, 4, 5, 6, 7, 8};
    kn_array xa = {.dtype = KN_DT_U8, .ndim = 3, .shape = {3, 2, 2}, .count = 12, .data = px};
    const char *xp = kt_path(dir, "x-images-idx3-ubyte.gz");
    assert_int_equal(kn_idx_write(xp, &xa, 1, &err), 0);
    int32_t lab[3] = {4, 0, 2};
    size_t s1[1] = {3};
    const char *yp = kt_path(dir, "y.npy");
    assert_int_equal(kn_npy_write_i32(yp, lab, s1, 1, &err), 0);
    if (kn_load_xy(xp, yp, &ds, &err))
        fail_msg("%s", err.msg);
    assert_int_equal(ds.n, 3);
    assert_int_equal(ds.d, 4);
    assert_int_equal(ds.n_classes, 5);
    assert_int_equal(ds.channels, 1);
    assert_int_equal(ds.height, 2);
    assert_int_equal(ds.width, 2);
    assert_true(ds.x[1] == 1.0f);
    assert_true(fabsf(ds.x[2] - 0.2f) < 1e-7f);
    assert_int_equal(ds.y[0], 4);
    kn_dataset_free(&ds);
    kn_file_kind k;
    assert_int_equal(kn_file_kind_detect(xp, &k, &err), 0);
    assert_int_equal(k, KN_FILE_IDX_GZ);
    assert_int_equal(kn_file_kind_detect(yp, &k, &err), 0);
    assert_int_equal(k, KN_FILE_NPY);

    /* CSV x (float) + CSV y (n x 1). */
    const char *cx = kt_path(dir, "x.csv"), *cy = kt_path(dir, "y.csv");
    kt_write_bytes(cx, "0.5,1.5\n2,3\n-1,0\n", 17);
    kt_write_bytes(cy, "1\n1\n0\n", 6);
    assert_int_equal(kn_load_xy(cx, cy, &ds, &err), 0);
    assert_int_equal(ds.d, 2);
    assert_int_equal(ds.n_classes, 2);
    assert_true(ds.x[4] == -1.0f);
    assert_int_equal(ds.channels, 0);
    kn_dataset_free(&ds);

    /* Length mismatch names both files. */
    kt_write_bytes(cy, "1\n1\n", 4);
    expect_error(kn_load_xy(cx, cy, &ds, &err), &err, cy, "length mismatch");
    assert_non_null(strstr(err.msg, cx));
    /* Labels out of range / not integers. */
    int32_t neg[3] = {1, -1, 0};
    assert_int_equal(kn_npy_write_i32(yp, neg, s1, 1, &err), 0);
    expect_error(kn_load_xy(cx, yp, &ds, &err), &err, yp, "label 1 is -1");
    float frac[3] = {1, 0.5f, 0};
    assert_int_equal(kn_npy_write_f32(yp, frac, s1, 1, &err), 0);
    expect_error(kn_load_xy(cx, yp, &ds, &err), &err, yp, "label 1 is 0.5");
    /* y with two columns. */
    size_t s2[2] = {3, 2};
    float two[6] = {0};
    assert_int_equal(kn_npy_write_f32(yp, two, s2, 2, &err), 0);
    expect_error(kn_load_xy(cx, yp, &ds, &err), &err, yp, "shape (n) or (n, 1)");
    /* Non-finite x. */
    float nanx[6] = {0, 1, 2, NAN, 4, 5};
    const char *xn = kt_path(dir, "xnan.npy");
    assert_int_equal(kn_npy_write_f32(xn, nanx, s2, 2, &err), 0);
    kt_write_bytes(cy, "1\n1\n0\n", 6);
    expect_error(kn_load_xy(xn, cy, &ds, &err), &err, xn, "value 3 (sample 1) is not finite");
    /* Empty x; a directory; a CIFAR file as x. */
    const char *e = kt_path(dir, "empty.npy");
    kt_write_bytes(e, "", 0);
    expect_error(kn_load_xy(e, cy, &ds, &err), &err, e, "is empty");
    expect_error(kn_load_xy(cx, dir, &ds, &err), &err, dir, "is a directory");
    make_images(&ds, 1, 10);
    const char *cb = kt_path(dir, "data_batch_1.bin");
    assert_int_equal(kn_cifar_write(cb, 0, &ds, &err), 0);
    kn_dataset_free(&ds);
    expect_error(kn_load_xy(cb, cy, &ds, &err), &err, cb, "holds x and y together");
}

int main(void)
{
    dir = kt_scratch_dir("formats");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_idx_roundtrip_all_types),
        cmocka_unit_test(test_idx_known_bytes),
        cmocka_unit_test(test_idx_bad_inputs),
        cmocka_unit_test(test_npy_roundtrip),
        cmocka_unit_test(test_npy_known_header),
        cmocka_unit_test(test_npy_versions_and_endianness),
        cmocka_unit_test(test_npy_bad_inputs),
        cmocka_unit_test(test_cifar_roundtrip),
        cmocka_unit_test(test_cifar_bad_inputs),
        cmocka_unit_test(test_csv_roundtrip_and_header),
        cmocka_unit_test(test_csv_bad_inputs),
        cmocka_unit_test(test_load_xy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
