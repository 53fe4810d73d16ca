/* report.html: the benchmark's report as one self-contained web page. The page is made from the
 * text of report.md (so the two never disagree) with every figure's SVG inline, and needs no
 * server, script, font or network: a browser opens the file alone.
 *
 * Hand-written on purpose: report.md uses a small, fixed subset of Markdown (headings, "- " lists
 * one level deep, pipe tables, `code`, *emphasis*, **strong**) that this file's few functions
 * cover, and Debian's Markdown libraries (cmark, discount) would add a dependency to the core
 * build for those. Text is HTML-escaped; SVG files are inlined from their <svg element on, after
 * a check that they are SVG and hold no script. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench_internal.h"
#include "kenyon/fileio.h"

static void put_escaped(FILE *f, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        switch (s[i]) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        default: fputc(s[i], f);
        }
    }
}

/* Inline marks of one span of text: `code`, **strong**, *em*. An unmatched mark is text. */
static void put_inline(FILE *f, const char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        const char *mark = NULL, *open = NULL, *close = NULL;
        size_t mlen = 0;
        if (s[i] == '`')
            mark = "`", mlen = 1, open = "<code>", close = "</code>";
        else if (s[i] == '*' && i + 1 < n && s[i + 1] == '*')
            mark = "**", mlen = 2, open = "<strong>", close = "</strong>";
        else if (s[i] == '*')
            mark = "*", mlen = 1, open = "<em>", close = "</em>";
        if (mark) {
            const char *end = NULL;
            for (size_t j = i + mlen; j + mlen <= n; j++)
                if (strncmp(s + j, mark, mlen) == 0 && j > i + mlen - 1) {
                    end = s + j;
                    break;
                }
            if (end && end > s + i + mlen) {
                fputs(open, f);
                if (mlen == 1 && *mark == '`')
                    put_escaped(f, s + i + mlen, (size_t)(end - (s + i + mlen)));
                else
                    put_inline(f, s + i + mlen, (size_t)(end - (s + i + mlen)));
                fputs(close, f);
                i = (size_t)(end - s) + mlen;
                continue;
            }
        }
        put_escaped(f, s + i, 1);
        i++;
    }
}

/* One table row "| a | b |" as cells of tag td or th. */
static void put_row(FILE *f, const char *line, size_t n, const char *tag)
{
    fputs("<tr>", f);
    size_t i = line[0] == '|' ? 1 : 0;
    while (i < n) {
        size_t j = i;
        while (j < n && line[j] != '|')
            j++;
        size_t a = i, b = j;
        while (a < b && line[a] == ' ')
            a++;
        while (b > a && line[b - 1] == ' ')
            b--;
        if (j < n || a < b) {
            fprintf(f, "<%s>", tag);
            put_inline(f, line + a, b - a);
            fprintf(f, "</%s>", tag);
        }
        i = j + 1;
    }
    fputs("</tr>\n", f);
}

static int is_separator_row(const char *line, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (line[i] != '|' && line[i] != '-' && line[i] != ':' && line[i] != ' ')
            return 0;
    return n > 0;
}

void bench_markdown_html(FILE *f, const char *md)
{
    enum { NONE, LIST, TABLE, PARA } block = NONE;
    int table_rows = 0;
    const char *p = md;
    while (*p) {
        const char *eol = strchr(p, '\n');
        size_t n = eol ? (size_t)(eol - p) : strlen(p);
        const int is_item = n >= 2 && strncmp(p, "- ", 2) == 0;
        const int is_sub = n >= 4 && strncmp(p, "  - ", 4) == 0;
        const int is_row = n >= 1 && p[0] == '|';
        const int is_head = n >= 2 && p[0] == '#';
        const int blank = n == 0;
        /* Close the open block when this line does not continue it. */
        if ((block == LIST && !(is_item || is_sub)) || (block == TABLE && !is_row) ||
            (block == PARA && (blank || is_item || is_row || is_head))) {
            fputs(block == LIST ? "</ul>\n" : block == TABLE ? "</tbody></table></div>\n"
                                                             : "</p>\n", f);
            block = NONE;
        }
        if (is_head) {
            int level = 0;
            while ((size_t)level < n && p[level] == '#')
                level++;
            size_t skip = (size_t)level + ((size_t)level < n && p[level] == ' ');
            fprintf(f, "<h%d>", level > 6 ? 6 : level);
            put_inline(f, p + skip, n - skip);
            fprintf(f, "</h%d>\n", level > 6 ? 6 : level);
        } else if (is_item || is_sub) {
            if (block != LIST)
                fputs("<ul>\n", f);
            block = LIST;
            fputs(is_sub ? "<li class=\"sub\">" : "<li>", f);
            put_inline(f, p + (is_sub ? 4 : 2), n - (is_sub ? 4 : 2));
            fputs("</li>\n", f);
        } else if (is_row) {
            if (block != TABLE) {
                fputs("<div class=\"scroll\"><table>\n<thead>", f);
                put_row(f, p, n, "th");
                fputs("</thead>\n<tbody>\n", f);
                block = TABLE;
                table_rows = 0;
            } else if (table_rows == 0 && is_separator_row(p, n)) {
                table_rows = 1;
            } else {
                put_row(f, p, n, "td");
                table_rows++;
            }
        } else if (!blank) {
            if (block != PARA)
                fputs("<p>", f);
            else
                fputc(' ', f);
            block = PARA;
            put_inline(f, p, n);
        }
        p += n + (eol ? 1 : 0);
    }
    if (block != NONE)
        fputs(block == LIST ? "</ul>\n" : block == TABLE ? "</tbody></table></div>\n" : "</p>\n",
              f);
}

/* Writes the SVG text with every id, and every reference to one, prefixed by "fN-": cairo names
 * its glyphs and clip paths glyph0-1, clip1, ... in every file, and in one page the ids of the
 * figures inlined first would otherwise win. */
static void put_svg_ids(FILE *f, const char *s, size_t n, size_t fig)
{
    static const char *const marks[] = {" id=\"", "href=\"#", "url(#"};
    size_t i = 0;
    while (i < n) {
        int hit = 0;
        for (size_t k = 0; k < 3 && !hit; k++) {
            size_t ml = strlen(marks[k]);
            if (i + ml <= n && memcmp(s + i, marks[k], ml) == 0) {
                fwrite(s + i, 1, ml, f);
                fprintf(f, "f%zu-", fig);
                i += ml;
                hit = 1;
            }
        }
        if (!hit)
            fputc(s[i++], f);
    }
}

/* Appends the SVG file dir/name inline, from its <svg element on. */
static int put_svg(FILE *f, const char *dir, const char *name, size_t fig, kn_error *err)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *in = fopen(path, "rb");
    if (!in)
        return kn_fail(err, KN_EIO, "%s: cannot open the figure for report.html", path);
    char *text = NULL;
    size_t len = 0, cap = 0;
    int rc = KN_OK;
    for (;;) {
        if (len + 65536 + 1 > cap) {
            size_t ncap = cap ? 2 * cap : 262144;
            char *t = realloc(text, ncap);
            if (!t) {
                rc = kn_fail(err, KN_ENOMEM, "out of memory reading %s", path);
                break;
            }
            text = t;
            cap = ncap;
        }
        size_t got = fread(text + len, 1, 65536, in);
        len += got;
        if (got < 65536) {
            if (ferror(in))
                rc = kn_fail(err, KN_EIO, "%s: read error", path);
            break;
        }
    }
    fclose(in);
    if (rc) {
        free(text);
        return rc;
    }
    text[len] = '\0';
    const char *svg = strstr(text, "<svg");
    if (!svg || strstr(svg, "<script") || memchr(text, '\0', len)) {
        free(text);
        return kn_fail(err, KN_EFORMAT, "%s: not a plain SVG figure", path);
    }
    fprintf(f, "<figure id=\"fig-");
    put_escaped(f, name, strlen(name));
    fputs("\">\n", f);
    put_svg_ids(f, svg, len - (size_t)(svg - text), fig);
    fputs("\n<figcaption>", f);
    put_escaped(f, name, strlen(name));
    fputs(" (the PNG beside it is the same figure)</figcaption>\n</figure>\n", f);
    free(text);
    return KN_OK;
}

static const char style[] =
    "body{font-family:sans-serif;max-width:1100px;margin:1.5em auto;padding:0 1em;"
    "color:#111;background:#fff;line-height:1.4}"
    "table{border-collapse:collapse;font-size:0.8em;margin:0.5em 0}"
    "th,td{border:1px solid #bbb;padding:0.2em 0.4em;text-align:right}"
    "td{white-space:nowrap}th{vertical-align:bottom}"
    "th:first-child,td:first-child{text-align:left}"
    "thead th{background:#eef}tbody tr:nth-child(even){background:#f7f7f7}"
    ".scroll{overflow-x:auto}li.sub{margin-left:1.5em}"
    "code{background:#f2f2f2;padding:0 0.2em}"
    "figure{margin:1em 0;border:1px solid #ddd;padding:0.5em;background:#fff}"
    "figure svg{display:block;max-width:100%;height:auto}"
    "figcaption{font-size:0.85em;color:#444}";

int bench_write_html(const char *out_dir, const char *report_md, const char *const *svg_files,
                     size_t n_svg, kn_error *err)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/report.html", out_dir);
    kn_atomic_file af;
    int rc = kn_atomic_open(&af, path, err);
    if (rc)
        return rc;
    FILE *f = af.fp;
    const char *title = report_md;
    size_t tlen = strcspn(report_md, "\n");
    if (tlen >= 2 && title[0] == '#') {
        title += 2;
        tlen -= 2;
    }
    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>",
          f);
    put_escaped(f, title, tlen);
    fprintf(f, "</title>\n<style>%s</style>\n</head>\n<body>\n", style);
    bench_markdown_html(f, report_md);
    fputs("<h2>Figures, inline</h2>\n", f);
    for (size_t i = 0; i < n_svg && !rc; i++)
        rc = put_svg(f, out_dir, svg_files[i], i, err);
    fputs("</body>\n</html>\n", f);
    if (rc) {
        kn_atomic_abort(&af);
        return rc;
    }
    return kn_atomic_commit(&af, err);
}
