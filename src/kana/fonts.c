/* Finding the Japanese font faces the kana stand-in is rendered from: a recursive scan of the font
 * directories for scalable faces with outlines for all ten KMNIST hiragana, grouped into families
 * (the directory holding the file, which on Debian is the package's font directory) and split into
 * train and held-out test families. A directory scan rather than fontconfig, so that the result
 * only depends on the files present and users can point --fonts at any directory. */
#include "kana_internal.h"

#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

const uint32_t kn_kana_codepoints[KN_KANA_CLASSES] = {
    0x304A, /* o */   0x304D, /* ki */ 0x3059, /* su */ 0x3064, /* tsu */ 0x306A, /* na */
    0x306F, /* ha */  0x307E, /* ma */ 0x3084, /* ya */ 0x308C, /* re */  0x3092, /* wo */
};
const char *const kn_kana_names[KN_KANA_CLASSES] = {"o",  "ki", "su", "tsu", "na",
                                                    "ha", "ma", "ya", "re",  "wo"};

typedef struct path_list {
    char **items;
    size_t n, cap;
} path_list;

static int path_list_push(path_list *l, const char *s, kn_error *err)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        char **items = realloc(l->items, cap * sizeof *items);
        if (!items)
            return kn_fail(err, KN_ENOMEM, "kana fonts: out of memory listing font files");
        l->items = items;
        l->cap = cap;
    }
    l->items[l->n] = strdup(s);
    if (!l->items[l->n])
        return kn_fail(err, KN_ENOMEM, "kana fonts: out of memory listing font files");
    l->n++;
    return 0;
}

static void path_list_free(path_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->items[i]);
    free(l->items);
    memset(l, 0, sizeof *l);
}

static int has_font_extension(const char *name)
{
    size_t len = strlen(name);
    if (len < 5 || name[len - 4] != '.')
        return 0;
    char ext[4];
    for (int i = 0; i < 3; i++)
        ext[i] = (char)tolower((unsigned char)name[len - 3 + i]);
    ext[3] = 0;
    return !strcmp(ext, "ttf") || !strcmp(ext, "otf") || !strcmp(ext, "ttc") ||
           !strcmp(ext, "otc");
}

/* Collects font files under dir; depth guards against symlink loops. */
static int scan_dir(const char *dir, int depth, path_list *out, kn_error *err)
{
    if (depth > 16)
        return 0;
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    struct dirent *e;
    int rc = 0;
    while (rc == 0 && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        size_t len = strlen(dir) + strlen(e->d_name) + 2;
        char *path = malloc(len);
        if (!path) {
            rc = kn_fail(err, KN_ENOMEM, "kana fonts: out of memory scanning %s", dir);
            break;
        }
        snprintf(path, len, "%s/%s", dir, e->d_name);
        struct stat st;
        if (stat(path, &st) == 0) {
            if (S_ISDIR(st.st_mode))
                rc = scan_dir(path, depth + 1, out, err);
            else if (S_ISREG(st.st_mode) && has_font_extension(e->d_name))
                rc = path_list_push(out, path, err);
        }
        free(path);
    }
    closedir(d);
    return rc;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The family of a font file: the name of the directory that holds it. */
static char *family_of(const char *path)
{
    const char *end = strrchr(path, '/');
    if (!end)
        return strdup(".");
    const char *start = end;
    while (start > path && start[-1] != '/')
        start--;
    size_t len = (size_t)(end - start);
    char *s = malloc(len + 1);
    if (s) {
        memcpy(s, start, len);
        s[len] = 0;
    }
    return s;
}

/* 1 if the face is scalable and has a non-empty outline for every class. */
static int face_has_all_kana(FT_Face face)
{
    if (!FT_IS_SCALABLE(face))
        return 0;
    for (int c = 0; c < KN_KANA_CLASSES; c++) {
        FT_UInt gi = FT_Get_Char_Index(face, kn_kana_codepoints[c]);
        if (gi == 0)
            return 0;
        if (FT_Load_Glyph(face, gi, FT_LOAD_NO_SCALE | FT_LOAD_NO_BITMAP | FT_LOAD_NO_HINTING))
            return 0;
        if (face->glyph->format != FT_GLYPH_FORMAT_OUTLINE || face->glyph->outline.n_points < 3)
            return 0;
    }
    return 1;
}

static int in_comma_list(const char *list, const char *name)
{
    size_t len = strlen(name);
    const char *p = list;
    while (*p) {
        const char *q = strchr(p, ',');
        size_t n = q ? (size_t)(q - p) : strlen(p);
        if (n == len && strncmp(p, name, n) == 0)
            return 1;
        if (!q)
            break;
        p = q + 1;
    }
    return 0;
}

static int add_dirs(const char *dirs, path_list *files, kn_error *err)
{
    char *copy = strdup(dirs);
    if (!copy)
        return kn_fail(err, KN_ENOMEM, "kana fonts: out of memory");
    int rc = 0;
    for (char *save = NULL, *tok = strtok_r(copy, ":", &save); tok && rc == 0;
         tok = strtok_r(NULL, ":", &save))
        rc = scan_dir(tok, 0, files, err);
    free(copy);
    return rc;
}

void kn_kana_fonts_free(kn_kana_fonts *fonts)
{
    if (!fonts)
        return;
    for (size_t i = 0; i < fonts->n; i++) {
        free(fonts->faces[i].path);
        free(fonts->faces[i].family);
    }
    free(fonts->faces);
    memset(fonts, 0, sizeof *fonts);
}

static int push_face(kn_kana_fonts *f, size_t *cap, const char *path, long index, kn_error *err)
{
    if (f->n == *cap) {
        size_t c = *cap ? *cap * 2 : 32;
        kn_kana_face *faces = realloc(f->faces, c * sizeof *faces);
        if (!faces)
            return kn_fail(err, KN_ENOMEM, "kana fonts: out of memory");
        f->faces = faces;
        *cap = c;
    }
    kn_kana_face *face = &f->faces[f->n];
    face->path = strdup(path);
    face->family = family_of(path);
    face->index = index;
    face->is_test = 0;
    if (!face->path || !face->family) {
        free(face->path);
        free(face->family);
        return kn_fail(err, KN_ENOMEM, "kana fonts: out of memory");
    }
    f->n++;
    return 0;
}

/* Counts families (faces are sorted by path, so a family's faces are contiguous per directory,
 * but two directories can share a name: compare against all earlier faces). */
static size_t count_families(const kn_kana_fonts *f, int only_test)
{
    size_t n = 0;
    for (size_t i = 0; i < f->n; i++) {
        if (only_test && !f->faces[i].is_test)
            continue;
        int seen = 0;
        for (size_t j = 0; j < i && !seen; j++)
            seen = !strcmp(f->faces[j].family, f->faces[i].family);
        n += !seen;
    }
    return n;
}

int kn_kana_fonts_find(const char *dirs, const char *test_families, kn_kana_fonts *out,
                       kn_error *err)
{
    memset(out, 0, sizeof *out);
    if (!test_families)
        test_families = KN_KANA_DEFAULT_TEST_FAMILIES;
    char defaults[2048];
    const char *searched = dirs;
    if (!searched || !*searched)
        searched = getenv("KENYON_FONT_DIRS");
    if (!searched || !*searched) {
        const char *home = getenv("HOME");
        snprintf(defaults, sizeof defaults,
                 "/usr/share/fonts:/usr/local/share/fonts:%s/.local/share/fonts:%s/.fonts",
                 home ? home : "/nonexistent", home ? home : "/nonexistent");
        searched = defaults;
    }

    path_list files = {0};
    int rc = add_dirs(searched, &files, err);
    if (rc)
        goto done;
    if (files.n > 1)
        qsort(files.items, files.n, sizeof *files.items, cmp_str);

    FT_Library lib;
    if (FT_Init_FreeType(&lib)) {
        rc = kn_fail(err, KN_ESTATE, "kana fonts: FreeType could not be initialised");
        goto done;
    }
    size_t cap = 0;
    for (size_t i = 0; i < files.n && rc == 0; i++) {
        FT_Face face;
        if (FT_New_Face(lib, files.items[i], -1, &face))
            continue; /* not a font FreeType can read: skip it */
        long n_faces = face->num_faces;
        FT_Done_Face(face);
        for (long k = 0; k < n_faces && k < 64 && rc == 0; k++) {
            if (FT_New_Face(lib, files.items[i], k, &face))
                continue;
            if (face_has_all_kana(face))
                rc = push_face(out, &cap, files.items[i], k, err);
            FT_Done_Face(face);
        }
    }
    FT_Done_FreeType(lib);
    if (rc)
        goto done;

    out->n_families = count_families(out, 0);
    if (out->n_families < 2) {
        rc = kn_fail(err, KN_EINVAL,
                     "kana fonts: found %zu font famil%s with the ten hiragana under '%s'; need at "
                     "least 2 (install e.g. fonts-aoyagi-soseki fonts-kouzan-mouhitsu fonts-seto "
                     "fonts-ipafont-gothic fonts-ipafont-mincho, or point --fonts at a directory "
                     "of Japanese fonts)",
                     out->n_families, out->n_families == 1 ? "y" : "ies", searched);
        goto done;
    }
    for (size_t i = 0; i < out->n; i++)
        out->faces[i].is_test = in_comma_list(test_families, out->faces[i].family);
    out->n_test_families = count_families(out, 1);
    if (out->n_test_families == out->n_families) {
        rc = kn_fail(err, KN_EINVAL,
                     "kana fonts: every family found is in the test list '%s'; nothing is left "
                     "for training",
                     test_families);
        goto done;
    }
    if (out->n_test_families == 0) {
        /* None of the named families is installed: hold out every fifth family by name. */
        char **names = malloc(out->n * sizeof *names);
        if (!names) {
            rc = kn_fail(err, KN_ENOMEM, "kana fonts: out of memory");
            goto done;
        }
        size_t nn = 0;
        for (size_t i = 0; i < out->n; i++) {
            int seen = 0;
            for (size_t j = 0; j < nn && !seen; j++)
                seen = !strcmp(names[j], out->faces[i].family);
            if (!seen)
                names[nn++] = out->faces[i].family;
        }
        qsort(names, nn, sizeof *names, cmp_str);
        for (size_t j = 0; j < nn; j += 5)
            for (size_t i = 0; i < out->n; i++)
                if (!strcmp(out->faces[i].family, names[j]))
                    out->faces[i].is_test = 1;
        free(names);
        out->n_test_families = count_families(out, 1);
    }
done:
    path_list_free(&files);
    if (rc)
        kn_kana_fonts_free(out);
    return rc;
}
