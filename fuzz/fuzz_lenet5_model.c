/* libFuzzer target for LeNet5 model files (kn_lenet5_load: safetensors plus the checks of every
 * tensor's name, dtype and shape): the input bytes are written to a temporary file (the loader
 * takes a path) and loaded; a network that loads computes the features of one blank image. Any
 * crash, leak or sanitizer report is a bug. Seeds: fuzz/corpus/lenet5_model. */
#include <stdint.h>
#include <unistd.h>

#include "kenyon/features.h"
#include "scratch_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_scratch_write("lenet5", ".safetensors", data, size);
    if (!path)
        return 0;
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
