/* libFuzzer target for ResNet-18 weight files (kn_resnet18_from_st on a parsed safetensors file:
 * the torchvision names, every tensor's dtype and shape, finite values, non-negative variances,
 * the BatchNorm folding). The input bytes are parsed from memory; a file that loads runs one
 * 32 x 32 image through the network. Any crash, leak or sanitizer report is a bug. */
#include <stdint.h>
#include <stdlib.h>

#include "kenyon/resnet18.h"
#include "kenyon/safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    kn_error err;
    kn_st_file f;
    if (kn_st_parse(data, size, "fuzz.safetensors", &f, &err) != 0)
        return 0;
    kn_resnet18 *net = NULL;
    if (kn_resnet18_from_st(&f, &net, &err) == 0) {
        static float x[3 * 32 * 32], feats[KN_RESNET18_FEATURES];
        (void)kn_resnet18_forward(net, x, 1, 32, 32, 1, feats, &err);
        kn_resnet18_free(net);
    }
    kn_st_free(&f);
    return 0;
}
