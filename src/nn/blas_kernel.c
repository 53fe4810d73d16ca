/* The BLAS kernel check (kenyon/gemm.h): the CPU's instruction-set level from cpuid and xgetbv,
 * the level of the kernel OpenBLAS loaded (from its name), and the one-time re-execution with
 * OPENBLAS_CORETYPE set when the kernel is narrower than the CPU.
 *
 * Hand-written: no Debian library reports "the widest BLAS-relevant ISA this CPU and OS run"
 * (GCC's __builtin_cpu_supports has no AVX512_BF16 test in GCC 12, and does not say whether the
 * OS saves the AVX-512 registers), and the table of OpenBLAS kernel names is OpenBLAS's own. */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

#include "kenyon/gemm.h"

/* OpenBLAS's cblas.h pulls in <complex.h>, whose macro I clashes with ordinary names. */
#ifdef I
#undef I
#endif

/* Set by kn_blas_fix_kernel before it re-executes: the kernel the first process saw. */
#define FIXED_FROM_ENV "KENYON_BLAS_FIXED_FROM"

const char *kn_isa_name(kn_isa isa)
{
    switch (isa) {
    case KN_ISA_SSE2: return "sse2";
    case KN_ISA_SSE3: return "sse3";
    case KN_ISA_AVX: return "avx";
    case KN_ISA_AVX2: return "avx2";
    case KN_ISA_AVX512: return "avx512";
    case KN_ISA_AVX512_BF16: return "avx512-bf16";
    default: return "unknown";
    }
}

#if defined(__x86_64__) || defined(__i386__)
static unsigned long long xcr0(void)
{
    unsigned eax, edx;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return ((unsigned long long)edx << 32) | eax;
}
#endif

kn_isa kn_cpu_isa(void)
{
#if defined(__x86_64__) || defined(__i386__)
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d))
        return KN_ISA_UNKNOWN;
    kn_isa level = KN_ISA_UNKNOWN;
    if (d & (1u << 26))
        level = KN_ISA_SSE2;
    if (level && (c & 1u))
        level = KN_ISA_SSE3;
    const int osxsave = (c >> 27) & 1, avx = (c >> 28) & 1, fma = (c >> 12) & 1;
    if (level < KN_ISA_SSE3 || !osxsave || !avx)
        return level;
    unsigned long long x = xcr0();
    if ((x & 0x6) != 0x6) /* the OS does not save the XMM/YMM state */
        return level;
    level = KN_ISA_AVX;
    unsigned a7 = 0, b7 = 0, c7 = 0, d7 = 0;
    if (!__get_cpuid_count(7, 0, &a7, &b7, &c7, &d7))
        return level;
    if (!((b7 >> 5) & 1) || !fma)
        return level;
    level = KN_ISA_AVX2;
    /* F (16), DQ (17), CD (28), BW (30), VL (31); opmask and ZMM state saved (XCR0 bits 5-7). */
    const unsigned need = (1u << 16) | (1u << 17) | (1u << 28) | (1u << 30) | (1u << 31);
    if ((b7 & need) != need || (x & 0xe0) != 0xe0)
        return level;
    level = KN_ISA_AVX512;
    unsigned a71 = 0, b71 = 0, c71 = 0, d71 = 0;
    if (a7 >= 1 && __get_cpuid_count(7, 1, &a71, &b71, &c71, &d71) && ((a71 >> 5) & 1))
        level = KN_ISA_AVX512_BF16;
    return level;
#else
    return KN_ISA_UNKNOWN;
#endif
}

/* OpenBLAS 0.3.21's x86 kernel names and the widest instruction set each kernel uses. */
static const struct {
    const char *name;
    kn_isa isa;
} core_table[] = {
    {"Katmai", KN_ISA_SSE2},      {"Coppermine", KN_ISA_SSE2},   {"Northwood", KN_ISA_SSE2},
    {"Athlon", KN_ISA_SSE2},      {"Opteron", KN_ISA_SSE2},      {"Prescott", KN_ISA_SSE3},
    {"Banias", KN_ISA_SSE3},      {"Atom", KN_ISA_SSE3},         {"Core2", KN_ISA_SSE3},
    {"Penryn", KN_ISA_SSE3},      {"Dunnington", KN_ISA_SSE3},   {"Nehalem", KN_ISA_SSE3},
    {"Opteron_SSE3", KN_ISA_SSE3}, {"Barcelona", KN_ISA_SSE3},   {"Nano", KN_ISA_SSE3},
    {"Bobcat", KN_ISA_SSE3},      {"Sandybridge", KN_ISA_AVX},   {"Bulldozer", KN_ISA_AVX},
    {"Piledriver", KN_ISA_AVX},   {"Steamroller", KN_ISA_AVX},   {"Excavator", KN_ISA_AVX2},
    {"Haswell", KN_ISA_AVX2},     {"Zen", KN_ISA_AVX2},          {"SkylakeX", KN_ISA_AVX512},
    {"Cooperlake", KN_ISA_AVX512_BF16}, {"SapphireRapids", KN_ISA_AVX512_BF16},
};

kn_isa kn_blas_core_isa(const char *core)
{
    if (!core)
        return KN_ISA_UNKNOWN;
    for (size_t i = 0; i < sizeof core_table / sizeof core_table[0]; i++)
        if (strcasecmp(core, core_table[i].name) == 0)
            return core_table[i].isa;
    return KN_ISA_UNKNOWN;
}

const char *kn_blas_core_for_isa(kn_isa isa)
{
    switch (isa) {
    case KN_ISA_AVX: return "Sandybridge";
    case KN_ISA_AVX2: return "Haswell";
    case KN_ISA_AVX512: return "SkylakeX";
    case KN_ISA_AVX512_BF16: return "Cooperlake";
    default: return NULL;
    }
}

void kn_blas_kernel_get(kn_blas_kernel *out)
{
    memset(out, 0, sizeof *out);
    out->core = openblas_get_corename();
    out->config = openblas_get_config();
    out->core_isa = kn_blas_core_isa(out->core);
    out->cpu_isa = kn_cpu_isa();
    out->below_cpu = out->core_isa != KN_ISA_UNKNOWN && out->cpu_isa >= KN_ISA_AVX &&
                     out->core_isa < out->cpu_isa;
    const char *from = getenv(FIXED_FROM_ENV);
    out->fixed_from = from && *from ? from : NULL;
}

int kn_blas_fix_kernel(char **argv)
{
    const char *fix = getenv("KENYON_BLAS_FIX");
    if (fix && strcmp(fix, "0") == 0)
        return 0;
    const char *gemm = getenv("KENYON_GEMM");
    if (gemm && strcmp(gemm, "onednn") == 0)
        return 0;
    const char *done = getenv(FIXED_FROM_ENV);
    if (done && *done)
        return 0; /* already re-executed once: never loop */
    kn_blas_kernel k;
    kn_blas_kernel_get(&k);
    const char *want = kn_blas_core_for_isa(k.cpu_isa);
    if (!k.below_cpu || !want)
        return 0;
    const char *old = getenv("OPENBLAS_CORETYPE");
    char saved[64] = "";
    if (old)
        snprintf(saved, sizeof saved, "%s", old);
    if (setenv(FIXED_FROM_ENV, k.core, 1) || setenv("OPENBLAS_CORETYPE", want, 1))
        return -1;
    fflush(NULL);
    execv("/proc/self/exe", argv);
    /* Still here: the exec failed. Undo, warn once, go on with the slow kernel. */
    unsetenv(FIXED_FROM_ENV);
    if (old)
        setenv("OPENBLAS_CORETYPE", saved, 1);
    else
        unsetenv("OPENBLAS_CORETYPE");
    fprintf(stderr,
            "kenyon: warning: OpenBLAS runs its %s kernel on a CPU with %s, and re-running with "
            "OPENBLAS_CORETYPE=%s failed; products will be slow\n",
            k.core, kn_isa_name(k.cpu_isa), want);
    return -1;
}
