/* Tests for src/io/safetensors.c: exact bytes of a small file, round trips of every dtype with
 * metadata, and rejection (with a message naming the culprit) of malformed headers, bad offsets,
 * truncation and trailing bytes. */
#include "test_support.h"

#include <stdlib.h>
#include <string.h>

#include "kenyon/safetensors.h"

/* Builds a file from a header text and a data buffer. */
static unsigned char *make_file(const char *header, const void *data, size_t dlen, size_t *len)
{
    size_t hl = strlen(header);
    *len = 8 + hl + dlen;
    unsigned char *b = malloc(*len);
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)((uint64_t)hl >> (8 * i));
    memcpy(b + 8, header, hl);
    if (dlen)
        memcpy(b + 8 + hl, data, dlen);
    return b;
}

static void expect_reject(const char *header, const void *data, size_t dlen, const char *needle)
{
    size_t len;
    unsigned char *b = make_file(header, data, dlen, &len);
    kn_st_file f;
    kn_error err;
    kn_error_clear(&err);
    int rc = kn_st_parse(b, len, "x.safetensors", &f, &err);
    if (rc == 0 || !strstr(err.msg, needle))
        fail_msg("header %s: rc %d, message '%s' lacks '%s'", header, rc, err.msg, needle);
    assert_int_equal(rc, KN_EFORMAT);
    assert_non_null(strstr(err.msg, "x.safetensors"));
    kn_st_free(&f);
    free(b);
}

/* The exact bytes kenyon writes for one U8 tensor with metadata: JSON padded with spaces to a
 * multiple of 8, then the data. */
static void test_exact_bytes(void **state)
{
    (void)state;
    kn_st_writer w;
    kn_error err;
    kn_st_writer_init(&w);
    const uint8_t v[3] = {7, 8, 9};
    size_t shape[1] = {3};
    assert_int_equal(kn_st_writer_add(&w, "a", KN_ST_U8, 1, shape, v, &err), 0);
    assert_int_equal(kn_st_writer_meta(&w, "k", "v", &err), 0);
    unsigned char *b;
    size_t len;
    assert_int_equal(kn_st_writer_serialize(&w, &b, &len, &err), 0);
    const char *json = "{\"__metadata__\":{\"k\":\"v\"},\"a\":{\"shape\":[3],\"data_offsets\":[0,3],"
                       "\"dtype\":\"U8\"}}";
    size_t jl = strlen(json), hl = (jl + 7) / 8 * 8;
    assert_int_equal(len, 8 + hl + 3);
    assert_int_equal(b[0], hl);
    for (int i = 1; i < 8; i++)
        assert_int_equal(b[i], 0);
    assert_memory_equal(b + 8, json, jl);
    for (size_t i = jl; i < hl; i++)
        assert_int_equal(b[8 + i], ' ');
    assert_memory_equal(b + 8 + hl, v, 3);
    free(b);
    kn_st_writer_free(&w);
}

static void test_round_trip_all_dtypes(void **state)
{
    (void)state;
    const char *dir = kt_scratch_dir("st");
    const char *path = kt_path(dir, "m.safetensors");
    float f32[6] = {1.5f, -2, 3e-38f, 0, 1e30f, -0.0f};
    double f64[2] = {3.141592653589793, -1e300};
    int32_t i32[3] = {-7, 0, 2147483647};
    int64_t i64[2] = {-4611686018427387904LL, 12345678901234LL};
    uint8_t u8[1] = {255};
    kn_st_writer w;
    kn_error err;
    kn_st_writer_init(&w);
    size_t s23[2] = {2, 3}, s2[1] = {2}, s3[1] = {3}, s0[1] = {0};
    assert_int_equal(kn_st_writer_add(&w, "weights", KN_ST_F32, 2, s23, f32, &err), 0);
    assert_int_equal(kn_st_writer_add(&w, "d", KN_ST_F64, 1, s2, f64, &err), 0);
    assert_int_equal(kn_st_writer_add(&w, "i", KN_ST_I32, 1, s3, i32, &err), 0);
    assert_int_equal(kn_st_writer_add(&w, "l", KN_ST_I64, 1, s2, i64, &err), 0);
    assert_int_equal(kn_st_writer_add(&w, "scalar", KN_ST_U8, 0, NULL, u8, &err), 0);
    assert_int_equal(kn_st_writer_add(&w, "empty", KN_ST_F32, 1, s0, NULL, &err), 0);
    assert_int_equal(kn_st_writer_meta(&w, "kenyon.method", "fly", &err), 0);
    assert_int_equal(kn_st_writer_meta_fmt(&w, "n", &err, "%d", 42), 0);
    /* Duplicates are refused and poison the writer. */
    assert_int_equal(kn_st_writer_add(&w, "d", KN_ST_F64, 1, s2, f64, &err), KN_EINVAL);
    assert_non_null(strstr(err.msg, "'d' added twice"));
    assert_int_equal(kn_st_writer_write(&w, path, &err), KN_ESTATE);
    kn_st_writer_free(&w);

    kn_st_writer_init(&w);
    assert_int_equal(kn_st_writer_add(&w, "weights", KN_ST_F32, 2, s23, f32, &err), 0);
    assert_int_equal(kn_st_writer_add(&w, "d", KN_ST_F64, 1, s2, f64, &err), 0);
    assert_int_equal(kn_st_writer_add(&w, "i", KN_ST_I32, 1, s3, i32, &err), 0);
    assert_int_equal(kn_st_writer_add(&w, "l", KN_ST_I64, 1, s2, i64, &err), 0);
    assert_int_equal(kn_st_writer_add(&w, "scalar", KN_ST_U8, 0, NULL, u8, &err), 0);
    assert_int_equal(kn_st_writer_add(&w, "empty", KN_ST_F32, 1, s0, NULL, &err), 0);
    assert_int_equal(kn_st_writer_meta(&w, "kenyon.method", "fly", &err), 0);
    assert_int_equal(kn_st_writer_meta_fmt(&w, "n", &err, "%d", 42), 0);
    assert_int_equal(kn_st_writer_write(&w, path, &err), 0);
    kn_st_writer_free(&w);

    kn_st_file f;
    assert_int_equal(kn_st_read(path, &f, &err), 0);
    assert_int_equal(f.n_tensors, 6);
    const kn_st_tensor *t;
    assert_int_equal(kn_st_expect(&f, "weights", KN_ST_F32, 2, s23, &t, &err), 0);
    assert_memory_equal(t->data, f32, sizeof f32);
    assert_int_equal(kn_st_expect(&f, "d", KN_ST_F64, 1, s2, &t, &err), 0);
    assert_memory_equal(t->data, f64, sizeof f64);
    assert_int_equal(kn_st_expect(&f, "i", KN_ST_I32, 1, s3, &t, &err), 0);
    assert_memory_equal(t->data, i32, sizeof i32);
    assert_int_equal(kn_st_expect(&f, "l", KN_ST_I64, 1, s2, &t, &err), 0);
    assert_memory_equal(t->data, i64, sizeof i64);
    assert_int_equal(kn_st_expect(&f, "scalar", KN_ST_U8, 0, NULL, &t, &err), 0);
    assert_int_equal(*(const uint8_t *)t->data, 255);
    /* Every tensor's copy is aligned for its dtype, whatever its offset in the file. */
    for (size_t i = 0; i < f.n_tensors; i++)
        assert_int_equal((uintptr_t)f.tensors[i].data % 8, 0);
    assert_int_equal(kn_st_expect(&f, "empty", KN_ST_F32, 1, s0, &t, &err), 0);
    assert_int_equal(t->count, 0);
    assert_string_equal(kn_st_meta(&f, "kenyon.method"), "fly");
    int64_t n;
    assert_int_equal(kn_st_meta_int64(&f, "n", &n, &err), 0);
    assert_int_equal(n, 42);
    assert_null(kn_st_meta(&f, "missing"));
    assert_int_equal(kn_st_meta_int64(&f, "kenyon.method", &n, &err), KN_EFORMAT);
    assert_non_null(strstr(err.msg, "'kenyon.method'"));
    /* Wrong expectations name the tensor. */
    assert_int_equal(kn_st_expect(&f, "d", KN_ST_F32, 1, s2, &t, &err), KN_EFORMAT);
    assert_non_null(strstr(err.msg, "'d' has dtype F64, expected F32"));
    assert_int_equal(kn_st_expect(&f, "weights", KN_ST_F32, 2, (size_t[]){3, 2}, &t, &err),
                     KN_EFORMAT);
    assert_non_null(strstr(err.msg, "shape [2, 3], expected [3, 2]"));
    assert_int_equal(kn_st_expect(&f, "nope", KN_ST_F32, 1, NULL, &t, &err), KN_EFORMAT);
    assert_non_null(strstr(err.msg, "'nope' is missing"));
    kn_st_free(&f);
}

static void test_rejects_bad_headers(void **state)
{
    (void)state;
    const float four[1] = {1};
    expect_reject("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", four, 3,
                  "outside the 3-byte data buffer");
    expect_reject("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}", four, 4,
                  "spans 4 bytes but shape x F32 needs 8");
    expect_reject("{\"a\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,4]}}", four, 4,
                  "dtype 'F16'");
    expect_reject("{\"a\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,2]},"
                  "\"b\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[1,3]}}",
                  four, 4, "overlap");
    expect_reject("{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1,2]}}", four, 2,
                  "gap");
    expect_reject("{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}", four, 2,
                  "1 trailing bytes");
    expect_reject("{\"a\":{\"dtype\":\"U8\",\"shape\":[-1],\"data_offsets\":[0,1]}}", four, 1,
                  "shape[0] is not a non-negative integer");
    expect_reject("{\"a\":{\"dtype\":\"U8\",\"shape\":[1.5],\"data_offsets\":[0,1]}}", four, 1,
                  "shape[0]");
    expect_reject("{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0]}}", four, 1,
                  "data_offsets");
    expect_reject("{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1,0]}}", four, 1,
                  "data_offsets");
    expect_reject("{\"a\":{\"shape\":[1],\"data_offsets\":[0,1]}}", four, 1, "no string dtype");
    expect_reject("{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},"
                  "\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}",
                  four, 1, "names 'a' twice");
    expect_reject("{\"__metadata__\":{\"k\":3}}", NULL, 0, "value of 'k' is not a string");
    expect_reject("{\"__metadata__\":[]}", NULL, 0, "__metadata__ is not an object");
    expect_reject("{\"a\":3}", NULL, 0, "'a' is not an object");
    expect_reject("{\"a\":", NULL, 0, "not a valid JSON object");
    expect_reject("[1,2]", NULL, 0, "does not start with '{'");
    expect_reject("{}x", NULL, 0, "unexpected bytes after the JSON header");
    expect_reject("{\"a\":{\"dtype\":\"U8\",\"shape\":[4294967296,4294967296,4294967296],"
                  "\"data_offsets\":[0,1]}}",
                  four, 1, "overflows");
    expect_reject("{\"a\":{\"dtype\":\"U8\",\"shape\":[1,1,1,1,1,1,1,1,1],"
                  "\"data_offsets\":[0,1]}}",
                  four, 1, "9 dimensions");
    /* Padding spaces after the JSON are fine; so is an empty file body. */
    size_t len;
    unsigned char *b = make_file("{}      ", NULL, 0, &len);
    kn_st_file f;
    kn_error err;
    assert_int_equal(kn_st_parse(b, len, "ok", &f, &err), 0);
    assert_int_equal(f.n_tensors, 0);
    kn_st_free(&f);
    free(b);
}

static void test_rejects_bad_lengths(void **state)
{
    (void)state;
    kn_st_file f;
    kn_error err;
    const unsigned char short_file[5] = {1, 0, 0, 0, 0};
    assert_int_equal(kn_st_parse(short_file, 5, "s", &f, &err), KN_EFORMAT);
    assert_non_null(strstr(err.msg, "too short"));
    unsigned char big[10] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, '{', '}'};
    assert_int_equal(kn_st_parse(big, 10, "s", &f, &err), KN_EFORMAT);
    assert_non_null(strstr(err.msg, "exceeds"));
    unsigned char past[10] = {9, 0, 0, 0, 0, 0, 0, 0, '{', '}'};
    assert_int_equal(kn_st_parse(past, 10, "s", &f, &err), KN_EFORMAT);
    assert_non_null(strstr(err.msg, "runs past the end"));
    /* Every truncation of a valid file fails cleanly. */
    kn_st_writer w;
    kn_st_writer_init(&w);
    const float v[4] = {1, 2, 3, 4};
    size_t shape[2] = {2, 2};
    assert_int_equal(kn_st_writer_add(&w, "w", KN_ST_F32, 2, shape, v, &err), 0);
    unsigned char *b;
    size_t len;
    assert_int_equal(kn_st_writer_serialize(&w, &b, &len, &err), 0);
    for (size_t cut = 0; cut < len; cut++) {
        assert_int_equal(kn_st_parse(b, cut, "t", &f, &err), KN_EFORMAT);
        kn_st_free(&f);
    }
    assert_int_equal(kn_st_parse(b, len, "t", &f, &err), 0);
    kn_st_free(&f);
    free(b);
    kn_st_writer_free(&w);
    assert_int_equal(kn_st_read("/nonexistent/x.safetensors", &f, &err), KN_EIO);
    assert_non_null(strstr(err.msg, "/nonexistent/x.safetensors"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exact_bytes),
        cmocka_unit_test(test_round_trip_all_dtypes),
        cmocka_unit_test(test_rejects_bad_headers),
        cmocka_unit_test(test_rejects_bad_lengths),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
