/* libFuzzer target for LeNet5 model files (kn_lenet5_load: safetensors plus the checks of every
 * tensor's name, dtype and shape): the input bytes are written to a temporary file (the loader
 * takes a path) and loaded; any crash, leak or sanitizer report is a bug. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "kenyon/features.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char path[64];
    if (!path[0])
        snprintf(path, sizeof path, "/tmp/kenyon-fuzz-lenet5-%ld.safetensors", (long)getpid());
    FILE *f = fopen(path, "wb");
    if (!f)
        return 0;
    if (size)
        fwrite(data, 1, size, f);
    fclose(f);
    kn_error err;
    kn_net *net = NULL;
    if (kn_lenet5_load(path, &net, &err) == 0) {
        float x[784] = {0}, feats[84];
        (void)kn_lenet5_features(net, x, 1, feats, &err);
        kn_net_free(net);
    }
    unlink(path);
    return 0;
}
