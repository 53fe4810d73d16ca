/* The experiment's log as a stdio stream: the protocol's per-task table and the feature cache's
 * progress lines are written to a FILE *, while callers of the experiment layer (the CLI, the
 * Python package) receive text through a callback. glibc's fopencookie joins the two; it is a
 * GNU extension, hence _GNU_SOURCE in this file only. The stream is line-buffered so every line
 * reaches the callback as soon as it is complete. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exp/exp_internal.h"

typedef struct log_cookie {
    kn_experiment_callbacks cb;
} log_cookie;

static ssize_t cookie_write(void *c, const char *buf, size_t size)
{
    log_cookie *lc = c;
    char chunk[1024];
    size_t done = 0;
    while (done < size) {
        size_t n = size - done < sizeof chunk - 1 ? size - done : sizeof chunk - 1;
        memcpy(chunk, buf + done, n);
        chunk[n] = '\0';
        lc->cb.log(lc->cb.ctx, chunk);
        done += n;
    }
    return (ssize_t)size;
}

static int cookie_close(void *c)
{
    free(c);
    return 0;
}

FILE *kn_exp_log_open(const kn_experiment_callbacks *cb)
{
    if (!cb || !cb->log)
        return NULL;
    log_cookie *lc = malloc(sizeof *lc);
    if (!lc)
        return NULL;
    lc->cb = *cb;
    cookie_io_functions_t io = {.read = NULL, .write = cookie_write, .seek = NULL,
                                .close = cookie_close};
    FILE *f = fopencookie(lc, "w", io);
    if (!f) {
        free(lc);
        return NULL;
    }
    setvbuf(f, NULL, _IOLBF, 0);
    return f;
}
