/* Peak resident memory per run rather than per process: a tool that runs several experiments in
 * one process (`kenyon bench`) resets the kernel's high-water mark before each, so the
 * peak_rss_kb that kn_protocol_run reports (kenyon/protocol.h) is that run's own. Part of the full
 * library, not of the embeddable core: resetting the mark changes the state of the whole process,
 * which a library embedded in someone else's program must not do behind its back. */
#ifndef KENYON_PEAK_MEMORY_H
#define KENYON_PEAK_MEMORY_H

#ifdef __cplusplus
extern "C" {
#endif

/* Resets the process's peak resident set size (VmHWM) to its current size, by writing "5" to
 * /proc/self/clear_refs (Linux 4.0 and later). Returns 0 if that worked, -1 where it is not
 * supported (the reported peak is then the process-wide one). */
int kn_peak_memory_reset(void);

#ifdef __cplusplus
}
#endif
#endif
