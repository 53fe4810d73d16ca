/* Progress display for long commands, on stderr: a redrawn bar with elapsed time and estimated
 * time remaining when stderr is a terminal, and a few plain lines (start, every 25%, end) when it
 * is not, so logs stay readable. */
#ifndef KENYON_PROGRESS_H
#define KENYON_PROGRESS_H

#include <stddef.h>
#include <stdio.h>

#include "kenyon/clock.h" /* kn_seconds, which the display measures with */

#ifdef __cplusplus
extern "C" {
#endif

typedef struct kn_progress {
    FILE *out;
    int tty;          /* redraw in place */
    int quiet;        /* print nothing */
    double start;     /* monotonic seconds */
    double last_draw;
    size_t total, done;
    int last_quarter; /* for non-terminal output */
    char label[128];
} kn_progress;

/* out NULL: stderr. quiet suppresses all output. */
void kn_progress_start(kn_progress *p, FILE *out, int quiet, const char *label, size_t total);
/* done of total; detail (may be NULL) is shown after the bar, e.g. "seed 12 task 3/10". */
void kn_progress_update(kn_progress *p, size_t done, const char *detail);
/* Ends the display with a final line (summary may be NULL). */
void kn_progress_finish(kn_progress *p, const char *summary);

/* "1h02m", "3m05s", "12.3s" */
void kn_format_duration(double seconds, char *buf, size_t size);

#ifdef __cplusplus
}
#endif
#endif
