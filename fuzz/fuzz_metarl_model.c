/* libFuzzer target for the meta-RL model reader (safetensors + kenyon metadata checks): the input
 * bytes are written to a temporary file (the reader takes a path) and loaded; a model that loads
 * is also stepped once, so shapes that pass validation must be usable. Any crash, leak or
 * sanitizer report is a bug. Seeds: fuzz/corpus/metarl_model. */
#include <stdint.h>
#include <unistd.h>

#include "kenyon/metarl.h"
#include "scratch_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_scratch_write("metarl", ".safetensors", data, size);
    if (!path)
        return 0;
    kn_error err;
    kn_metarl_net net;
    kn_bandit_task_params task;
    if (kn_metarl_load(path, &net, &task, 1, &err) == 0) {
        kn_real x[256] = {0};
        if (net.in <= 256)
            (void)kn_metarl_net_step(&net, x, &err);
        kn_metarl_net_free(&net);
    }
    unlink(path);
    return 0;
}
