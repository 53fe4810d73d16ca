/* The per-run peak-memory mark (kenyon/peak_memory.h): after a large block has been touched and
 * returned to the system, the process's peak (VmHWM) still counts it; kn_peak_memory_reset brings
 * the peak back down to the current size. The block is mapped directly (not malloc'd) so that
 * unmapping returns it at once, with or without a sanitizer's allocator in between. */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS */
#include "test_support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "kenyon/peak_memory.h"

#define BLOCK ((size_t)96 << 20)

static long vm_hwm_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        return -1;
    char line[256];
    long kb = -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "VmHWM:", 6) == 0)
            kb = strtol(line + 6, NULL, 10);
    fclose(f);
    return kb;
}

static void test_reset_lowers_the_peak(void **state)
{
    (void)state;
    if (vm_hwm_kb() < 0 || kn_peak_memory_reset() != 0)
        skip(); /* not Linux, or /proc/self/clear_refs is not writable here */
    long base = vm_hwm_kb();
    unsigned char *p = mmap(NULL, BLOCK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(p != MAP_FAILED);
    memset(p, 1, BLOCK);
    long touched = vm_hwm_kb();
    assert_true(touched >= base + (long)(BLOCK >> 10) / 2);
    assert_int_equal(munmap(p, BLOCK), 0);
    /* Unmapped, but the peak remembers it (give or take the kernel's lazily synced counters)... */
    assert_true(vm_hwm_kb() >= touched - (long)(BLOCK >> 10) / 4);
    /* ...until the mark is reset. */
    assert_int_equal(kn_peak_memory_reset(), 0);
    long after = vm_hwm_kb();
    assert_true(after < touched - (long)(BLOCK >> 10) / 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reset_lowers_the_peak),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
