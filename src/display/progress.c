/* Progress display on stderr; see kenyon/progress.h. */
#include "kenyon/progress.h"

#include <string.h>
#include <unistd.h>

void kn_format_duration(double s, char *buf, size_t size)
{
    if (s < 0)
        s = 0;
    if (s < 60)
        snprintf(buf, size, "%.1fs", s);
    else if (s < 3600)
        snprintf(buf, size, "%dm%02ds", (int)(s / 60), (int)s % 60);
    else
        snprintf(buf, size, "%dh%02dm", (int)(s / 3600), ((int)s % 3600) / 60);
}

void kn_progress_start(kn_progress *p, FILE *out, int quiet, const char *label, size_t total)
{
    memset(p, 0, sizeof *p);
    p->out = out ? out : stderr;
    p->quiet = quiet;
    p->tty = isatty(fileno(p->out));
    p->total = total;
    p->start = kn_seconds();
    p->last_draw = -1;
    p->last_quarter = -1;
    snprintf(p->label, sizeof p->label, "%s", label ? label : "");
    if (!p->quiet && !p->tty)
        fprintf(p->out, "%s: started (%zu steps)\n", p->label, total);
}

void kn_progress_update(kn_progress *p, size_t done, const char *detail)
{
    if (p->quiet)
        return;
    p->done = done > p->total ? p->total : done;
    double now = kn_seconds();
    double elapsed = now - p->start;
    double frac = p->total ? (double)p->done / (double)p->total : 1.0;
    char el[32], eta[32] = "?";
    kn_format_duration(elapsed, el, sizeof el);
    if (frac > 0)
        kn_format_duration(elapsed * (1 - frac) / frac, eta, sizeof eta);
    if (p->tty) {
        if (p->last_draw >= 0 && now - p->last_draw < 0.1 && p->done < p->total)
            return;
        p->last_draw = now;
        char bar[31];
        int filled = (int)(frac * 30 + 0.5);
        for (int i = 0; i < 30; i++)
            bar[i] = i < filled ? '#' : '.';
        bar[30] = '\0';
        fprintf(p->out, "\r\033[K%s [%s] %3.0f%% %s elapsed, %s left%s%s", p->label, bar,
                100 * frac, el, eta, detail ? "  " : "", detail ? detail : "");
        fflush(p->out);
    } else {
        int quarter = (int)(frac * 4);
        if (quarter > p->last_quarter && quarter < 4) {
            p->last_quarter = quarter;
            if (quarter > 0)
                fprintf(p->out, "%s: %.0f%% after %s, about %s left%s%s\n", p->label, 100 * frac,
                        el, eta, detail ? " - " : "", detail ? detail : "");
        }
    }
}

void kn_progress_finish(kn_progress *p, const char *summary)
{
    if (p->quiet)
        return;
    char el[32];
    kn_format_duration(kn_seconds() - p->start, el, sizeof el);
    if (p->tty)
        fprintf(p->out, "\r\033[K");
    fprintf(p->out, "%s: done in %s%s%s\n", p->label, el, summary ? " - " : "",
            summary ? summary : "");
    fflush(p->out);
}
