/* Names of the files in the data directory; see data_paths.h. */
#include "data_paths.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

const char *const kn_mnist_file_names[4] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                                            "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};

static int is_file(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

int kn_mnist_find_file(const char *dir, int which, char *out, size_t cap, kn_error *err)
{
    const char *name = kn_mnist_file_names[which];
    char dotted[64];
    snprintf(dotted, sizeof dotted, "%s", name);
    char *dash = strstr(dotted, "-idx");
    if (dash)
        *dash = '.';
    const char *variants[2] = {name, dotted};
    for (int v = 0; v < 2; v++)
        for (int gz = 0; gz < 2; gz++) {
            snprintf(out, cap, "%s/%s%s", dir, variants[v], gz ? ".gz" : "");
            if (is_file(out))
                return 0;
        }
    snprintf(out, cap, "%s/%s", dir, name);
    return kn_fail(err, KN_EIO, "%s/%s[.gz]: missing (expected the four standard MNIST IDX files "
                   "in %s)", dir, name, dir);
}
