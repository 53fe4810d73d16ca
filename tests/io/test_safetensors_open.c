/* Tests for reading model files once (kn_st_open + kn_st_tensor_read): the layout equals what
 * kn_st_read finds, every tensor's bytes read from the file equal the in-memory copy (whole and
 * by ranges, also for tensors at unaligned offsets), bad ranges and altered files fail with the
 * file's name, and a file cut short after the header is refused before any tensor is read. */
#include "test_support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kenyon/fileio.h"
#include "kenyon/safetensors.h"

static const char *write_model(const char *dir)
{
    static const uint8_t u8[3] = {7, 8, 9};
    static const float f32[6] = {1.5f, -2, 3, 4, 5, 6.25f};
    static const double f64[4] = {1e-300, 2, -3, 4.5};
    static const int64_t i64[2] = {-1, 1234567890123};
    kn_st_writer w;
    kn_error err;
    kn_st_writer_init(&w);
    size_t s3[1] = {3}, s23[2] = {2, 3}, s4[1] = {4}, s2[1] = {2};
    /* a 3-byte tensor first puts the others at unaligned file offsets */
    assert_int_equal(kn_st_writer_add(&w, "a_bytes", KN_ST_U8, 1, s3, u8, &err), 0);
    assert_int_equal(kn_st_writer_add(&w, "b_weights", KN_ST_F32, 2, s23, f32, &err), 0);
    assert_int_equal(kn_st_writer_add(&w, "c_doubles", KN_ST_F64, 1, s4, f64, &err), 0);
    assert_int_equal(kn_st_writer_add(&w, "d_longs", KN_ST_I64, 1, s2, i64, &err), 0);
    assert_int_equal(kn_st_writer_meta(&w, "note", "hello", &err), 0);
    const char *path = kt_path(dir, "m.safetensors");
    assert_int_equal(kn_st_writer_write(&w, path, &err), 0);
    kn_st_writer_free(&w);
    return path;
}

static void test_open_matches_read(void **state)
{
    (void)state;
    const char *path = write_model(kt_scratch_dir("st-open"));
    kn_st_file a, b;
    kn_error err;
    assert_int_equal(kn_st_read(path, &a, &err), 0);
    assert_int_equal(kn_st_open(path, &b, &err), 0);
    assert_int_equal(a.n_tensors, b.n_tensors);
    assert_string_equal(kn_st_meta(&b, "note"), "hello");
    for (size_t i = 0; i < a.n_tensors; i++) {
        const kn_st_tensor *ta = &a.tensors[i], *tb = kn_st_find(&b, ta->name);
        assert_non_null(tb);
        assert_null(tb->data); /* nothing is read until asked */
        assert_int_equal(ta->nbytes, tb->nbytes);
        assert_int_equal(ta->file_offset, tb->file_offset);
        unsigned char whole[64], parts[64];
        assert_true(tb->nbytes <= sizeof whole);
        assert_int_equal(kn_st_tensor_read(&b, tb, whole, &err), 0);
        assert_memory_equal(whole, ta->data, ta->nbytes);
        /* byte by byte, backwards: every range lands where it belongs */
        for (size_t k = tb->nbytes; k-- > 0;)
            assert_int_equal(kn_st_tensor_read_range(&b, tb, k, 1, parts + k, &err), 0);
        assert_memory_equal(parts, ta->data, ta->nbytes);
        /* the in-memory file answers the same calls */
        assert_int_equal(kn_st_tensor_read(&a, ta, parts, &err), 0);
        assert_memory_equal(parts, whole, ta->nbytes);
    }
    const kn_st_tensor *t = kn_st_find(&b, "c_doubles");
    double v;
    assert_int_equal(kn_st_tensor_read_range(&b, t, 24, 8, &v, &err), 0);
    assert_true(v == 4.5);
    assert_int_equal(kn_st_tensor_read_range(&b, t, 28, 8, &v, &err), KN_EINVAL);
    assert_non_null(strstr(err.msg, "c_doubles"));
    assert_int_equal(kn_st_tensor_read_range(&b, t, 40, 0, &v, &err), KN_EINVAL);
    kn_st_free(&a);
    kn_st_free(&b);
    kn_st_free(&b); /* freeing twice is safe */
}

static void test_open_refuses_bad_files(void **state)
{
    (void)state;
    const char *dir = kt_scratch_dir("st-open-bad");
    const char *path = write_model(dir);
    kn_error err;
    kn_st_file f;
    unsigned char *bytes;
    size_t len;
    assert_int_equal(kn_read_file(path, (size_t)1 << 20, &bytes, &len, &err), 0);
    const char *cut = kt_path(dir, "cut.safetensors");
    /* cut inside the tensor data, inside the header, and inside the length prefix */
    size_t cuts[3] = {len - 5, 20, 5};
    for (int k = 0; k < 3; k++) {
        FILE *out = fopen(cut, "wb");
        assert_non_null(out);
        assert_int_equal(fwrite(bytes, 1, cuts[k], out), cuts[k]);
        fclose(out);
        assert_int_equal(kn_st_open(cut, &f, &err), KN_EFORMAT);
        assert_non_null(strstr(err.msg, "cut.safetensors"));
        assert_null(f.stream);
        kn_st_free(&f);
        assert_int_equal(kn_st_read(cut, &f, &err), KN_EFORMAT);
    }
    free(bytes);
    assert_int_equal(kn_st_open(kt_path(dir, "missing.safetensors"), &f, &err), KN_EIO);
    assert_non_null(strstr(err.msg, "missing.safetensors"));
    assert_int_not_equal(kn_st_open(dir, &f, &err), 0); /* a directory */
    /* The file shortened after opening: the read says so instead of returning stale bytes. */
    assert_int_equal(kn_st_open(path, &f, &err), 0);
    const kn_st_tensor *t = kn_st_find(&f, "d_longs");
    assert_int_equal(truncate(path, (off_t)t->file_offset), 0);
    int64_t v[2];
    assert_int_equal(kn_st_tensor_read(&f, t, v, &err), KN_EIO);
    assert_non_null(strstr(err.msg, "d_longs"));
    kn_st_free(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_matches_read),
        cmocka_unit_test(test_open_refuses_bad_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
