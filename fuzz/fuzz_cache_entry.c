/* libFuzzer target for the benchmark's cache-entry reader (bench_cache_parse: JSON, key, shapes
 * and the range checks that make an edited entry invalid). An entry that is accepted must hold
 * only values the protocol can produce; anything else, a crash or a sanitizer report, is a bug.
 * Seeds: fuzz/corpus/cache_entry (entries under the key 000000000000002a). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "bench/bench_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    kn_run_result r = {0};
    if (bench_cache_parse((const char *)data, size, 42, &r)) {
        if (!(r.n_tasks >= 1) || !(r.final_accuracy >= 0 && r.final_accuracy <= 1))
            abort();
        kn_run_result_free(&r);
    }
    return 0;
}
