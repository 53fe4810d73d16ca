/* libFuzzer target for report.html's Markdown-to-HTML writer (bench_markdown_html): report.md's
 * text carries user-chosen strings (file names, method labels), so whatever the text, the output
 * must be balanced (every table and list closed) and hold no '<' that does not start one of the
 * writer's own tags: an unescaped '<' from the input would be markup injected into the page.
 * Seeds: fuzz/corpus/report_html (a report.md and a few edge cases). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench_internal.h"

static size_t count(const char *s, const char *what)
{
    size_t n = 0;
    for (const char *p = s; (p = strstr(p, what)); p++)
        n++;
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *md = malloc(size + 1);
    if (!md)
        return 0;
    memcpy(md, data, size);
    md[size] = '\0';
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    if (!f) {
        free(md);
        return 0;
    }
    bench_markdown_html(f, md);
    fclose(f);
    if (count(out, "<table") != count(out, "</table>") || count(out, "<ul>") != count(out, "</ul>"))
        abort();
    static const char *const tags[] = {"<h1>", "</h1>", "<h2>", "</h2>", "<h3>", "</h3>",
                                       "<h4>", "</h4>", "<h5>", "</h5>", "<h6>", "</h6>",
                                       "<ul>", "</ul>", "<li>", "<li class=\"sub\">", "</li>",
                                       "<p>", "</p>", "<div class=\"scroll\">", "</div>",
                                       "<table>", "</table>", "<thead>", "</thead>", "<tbody>",
                                       "</tbody>", "<tr>", "</tr>", "<th>", "</th>", "<td>",
                                       "</td>", "<code>", "</code>", "<em>", "</em>",
                                       "<strong>", "</strong>", NULL};
    for (const char *p = strchr(out, '<'); p; p = strchr(p + 1, '<')) {
        int known = 0;
        for (const char *const *t = tags; *t && !known; t++)
            known = strncmp(p, *t, strlen(*t)) == 0;
        if (!known)
            abort();
    }
    free(out);
    free(md);
    return 0;
}
