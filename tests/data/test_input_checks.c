/* Inputs that say what is wrong: a CSV first row holding nan or a long number is data (and an
 * error), not a silently dropped header, and a real header is reported as skipped; a gzip-
 * compressed .npy is read; a pipe is refused with a message asking for a regular file; a test
 * label that training never shows is named with its files. */
#include "test_support.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "kenyon/data_load.h"
#include "kenyon/fileio.h"
#include "kenyon/formats.h"
#include "kenyon/tasks.h"

static void write_text(const char *path, const char *text)
{
    kt_write_bytes(path, text, strlen(text));
}

static void test_csv_header_only_when_not_numbers(void **state)
{
    (void)state;
    const char *dir = kt_scratch_dir("csvhdr");
    kn_dataset ds;
    kn_error err;
    /* nan in the first row: data, so an error naming line and column. */
    const char *p = kt_path(dir, "nan.csv");
    write_text(p, "nan,1\n2,3\n");
    assert_int_not_equal(kn_csv_read(p, -1, &ds, &err), 0);
    assert_non_null(strstr(err.msg, "line 1 column 1"));
    assert_non_null(strstr(err.msg, "nan"));
    /* A number of 70 digits is a number, not a header: both rows are kept. */
    char longrow[128] = "1.";
    for (int i = 0; i < 70; i++)
        strcat(longrow, "0");
    strcat(longrow, "5,1\n2,3\n");
    p = kt_path(dir, "long.csv");
    write_text(p, longrow);
    assert_int_equal(kn_csv_read(p, -1, &ds, &err), 0);
    assert_int_equal(ds.n, 2);
    assert_true(ds.x[0] == 1.0f && ds.x[1] == 1.0f);
    assert_null(strstr(ds.source, "skipped"));
    kn_dataset_free(&ds);
    /* A header of names is skipped, and the skip is reported in the source. */
    p = kt_path(dir, "names.csv");
    write_text(p, "width,height\n2,3\n4,5\n");
    assert_int_equal(kn_csv_read(p, -1, &ds, &err), 0);
    assert_int_equal(ds.n, 2);
    assert_non_null(strstr(ds.source, "header line 1 skipped"));
    kn_dataset_free(&ds);
    kn_array a;
    assert_int_equal(kn_array_read_any(p, &a, &err), 0);
    assert_non_null(strstr(a.note, "header line 1 skipped: width,height"));
    kn_array_free(&a);
    /* Inf in a later row is still an error. */
    p = kt_path(dir, "inf.csv");
    write_text(p, "1,2\ninf,3\n");
    assert_int_not_equal(kn_csv_read(p, -1, &ds, &err), 0);
    assert_non_null(strstr(err.msg, "line 2 column 1"));
}

static void test_gzip_npy_and_pipes(void **state)
{
    (void)state;
    const char *dir = kt_scratch_dir("npygz");
    const char *plain = kt_path(dir, "x.npy"), *gzp = kt_path(dir, "x.npy.gz");
    const float v[6] = {1, 2, 3, 4, 5, 6};
    const size_t shape[2] = {3, 2};
    kn_error err;
    assert_int_equal(kn_npy_write_f32(plain, v, shape, 2, &err), 0);
    unsigned char *bytes;
    size_t len;
    assert_int_equal(kn_read_file(plain, 1 << 20, &bytes, &len, &err), 0);
    gzFile gz = gzopen(gzp, "wb");
    assert_non_null(gz);
    assert_int_equal(gzwrite(gz, bytes, (unsigned)len), (int)len);
    gzclose(gz);
    free(bytes);
    kn_array a;
    if (kn_array_read_any(gzp, &a, &err))
        fail_msg("%s", err.msg);
    assert_int_equal(a.ndim, 2);
    assert_int_equal(a.shape[0], 3);
    assert_true(kn_array_get(&a, 5) == 6.0);
    kn_array_free(&a);
    /* A pipe: refused, asking for a regular file (detection would eat its first bytes). */
    const char *fifo = kt_path(dir, "pipe.npy");
    assert_int_equal(mkfifo(fifo, 0600), 0);
    int wfd = open(fifo, O_RDWR | O_NONBLOCK);
    assert_true(wfd >= 0);
    assert_int_not_equal(kn_array_read_any(fifo, &a, &err), 0);
    assert_non_null(strstr(err.msg, "regular file"));
    close(wfd);
}

static void test_missing_training_label_named(void **state)
{
    (void)state;
    const char *dir = kt_scratch_dir("labels");
    const char *xtr = kt_path(dir, "xtr.csv"), *ytr = kt_path(dir, "ytr.csv");
    const char *xte = kt_path(dir, "xte.csv"), *yte = kt_path(dir, "yte.csv");
    write_text(xtr, "1,0\n0,1\n1,1\n0,0\n");
    write_text(ytr, "0\n1\n2\n3\n");
    write_text(xte, "1,0\n0,1\n1,1\n0,0\n");
    write_text(yte, "0\n1\n6\n3\n"); /* 6: never in training */
    kn_data_options o;
    kn_data_options_default(&o);
    o.balance = 0;
    kn_split sp;
    kn_error err;
    assert_int_equal(kn_load_user_split(xtr, ytr, xte, yte, &o, &sp, &err), 0);
    kn_task_stream ts;
    assert_int_not_equal(kn_task_stream_build(&sp, 2, NULL, &ts, &err), 0);
    assert_non_null(strstr(err.msg, "test label 6"));
    if (!strstr(err.msg, "yte.csv"))
        fail_msg("%s", err.msg);
    kn_split_free(&sp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_csv_header_only_when_not_numbers),
        cmocka_unit_test(test_gzip_npy_and_pipes),
        cmocka_unit_test(test_missing_training_label_named),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
