/* Rendering the kana stand-in: every face's ten glyph outlines are loaded once; each sample copies
 * one outline, changes its stroke width (FT_Outline_Embolden, thinner or bolder), maps it through a
 * random affine transform (rotation, shear, aspect), scales it to fill most of the frame with a
 * random offset, rasterises it anti-aliased at twice the final resolution, warps it through a
 * smooth random displacement field (elastic variation), averages 2x2 blocks down to 28x28 and
 * varies ink contrast, gamma and background noise. The distortions are written here because no
 * Debian library offers this augmentation for C. */
#include "kana_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "kenyon/rng.h"

#define KANA_PI 3.14159265358979323846
#define SS 2                          /* supersampling factor of the raster canvas */
#define CANVAS (KN_KANA_SIDE * SS)    /* canvas side in pixels */
#define EKANA_PIXELS 64                  /* glyphs are loaded at this em size (26.6 coordinates) */
#define TEST_STREAM_BASE (1ULL << 40) /* rng stream ids of test samples start here */
#define LABEL_STREAM (1ULL << 50)     /* rng stream of the label order */

typedef struct split_families {
    size_t n;          /* families in this split */
    size_t *start;     /* family k's faces are face_ids[start[k] .. start[k+1]) */
    size_t *face_ids;
} split_families;

struct kn_kana_renderer {
    size_t n_faces;
    FT_Outline *glyphs; /* n_faces * KN_KANA_CLASSES, arrays owned (malloc) */
    int max_points, max_contours;
    split_families split[2]; /* 0 train, 1 test */
};

static void split_free(split_families *s)
{
    free(s->start);
    free(s->face_ids);
    memset(s, 0, sizeof *s);
}

void kn_kana_renderer_free(kn_kana_renderer *r)
{
    if (!r)
        return;
    if (r->glyphs)
        for (size_t i = 0; i < r->n_faces * KN_KANA_CLASSES; i++) {
            free(r->glyphs[i].points);
            free(r->glyphs[i].tags);
            free(r->glyphs[i].contours);
        }
    free(r->glyphs);
    split_free(&r->split[0]);
    split_free(&r->split[1]);
    free(r);
}

static int copy_outline(FT_Outline *dst, const FT_Outline *src)
{
    memset(dst, 0, sizeof *dst);
    size_t np = (size_t)src->n_points, nc = (size_t)src->n_contours;
    dst->points = malloc(np * sizeof *dst->points);
    dst->tags = malloc(np * sizeof *dst->tags);
    dst->contours = malloc(nc * sizeof *dst->contours);
    if (!dst->points || !dst->tags || !dst->contours)
        return -1;
    memcpy(dst->points, src->points, np * sizeof *dst->points);
    memcpy(dst->tags, src->tags, np * sizeof *dst->tags);
    memcpy(dst->contours, src->contours, nc * sizeof *dst->contours);
    dst->n_points = src->n_points;
    dst->n_contours = src->n_contours;
    dst->flags = src->flags & ~FT_OUTLINE_OWNER;
    return 0;
}

/* Groups the faces of one split by family, families in first-seen (path) order. */
static int build_split(const kn_kana_fonts *f, int test, split_families *s, kn_error *err)
{
    s->start = calloc(f->n + 1, sizeof *s->start);
    s->face_ids = calloc(f->n ? f->n : 1, sizeof *s->face_ids);
    const char **names = calloc(f->n ? f->n : 1, sizeof *names);
    if (!s->start || !s->face_ids || !names) {
        free(names);
        return kn_fail(err, KN_ENOMEM, "kana renderer: out of memory");
    }
    size_t nf = 0, pos = 0;
    for (size_t i = 0; i < f->n; i++) {
        if (f->faces[i].is_test != test)
            continue;
        int seen = 0;
        for (size_t k = 0; k < nf && !seen; k++)
            seen = !strcmp(names[k], f->faces[i].family);
        if (seen)
            continue;
        names[nf] = f->faces[i].family;
        s->start[nf] = pos;
        for (size_t j = i; j < f->n; j++)
            if (f->faces[j].is_test == test && !strcmp(f->faces[j].family, names[nf]))
                s->face_ids[pos++] = j;
        nf++;
    }
    s->start[nf] = pos;
    s->n = nf;
    free(names);
    return 0;
}

int kn_kana_renderer_create(const kn_kana_fonts *fonts, kn_kana_renderer **out, kn_error *err)
{
    *out = NULL;
    if (!fonts || fonts->n == 0)
        return kn_fail(err, KN_EINVAL, "kana renderer: no font faces given");
    kn_kana_renderer *r = calloc(1, sizeof *r);
    if (!r)
        return kn_fail(err, KN_ENOMEM, "kana renderer: out of memory");
    r->n_faces = fonts->n;
    r->glyphs = calloc(fonts->n * KN_KANA_CLASSES, sizeof *r->glyphs);
    if (!r->glyphs) {
        kn_kana_renderer_free(r);
        return kn_fail(err, KN_ENOMEM, "kana renderer: out of memory");
    }
    int rc = build_split(fonts, 0, &r->split[0], err);
    if (!rc)
        rc = build_split(fonts, 1, &r->split[1], err);
    if (rc) {
        kn_kana_renderer_free(r);
        return rc;
    }
    FT_Library lib;
    if (FT_Init_FreeType(&lib)) {
        kn_kana_renderer_free(r);
        return kn_fail(err, KN_ESTATE, "kana renderer: FreeType could not be initialised");
    }
    for (size_t i = 0; i < fonts->n && !rc; i++) {
        FT_Face face;
        const kn_kana_face *kf = &fonts->faces[i];
        if (FT_New_Face(lib, kf->path, kf->index, &face)) {
            rc = kn_fail(err, KN_EIO, "kana renderer: cannot open font face %ld of %s", kf->index,
                         kf->path);
            break;
        }
        if (FT_Set_Pixel_Sizes(face, EKANA_PIXELS, EKANA_PIXELS)) {
            rc = kn_fail(err, KN_EFORMAT, "kana renderer: cannot scale font %s", kf->path);
        }
        for (int c = 0; c < KN_KANA_CLASSES && !rc; c++) {
            FT_UInt gi = FT_Get_Char_Index(face, kn_kana_codepoints[c]);
            if (gi == 0 || FT_Load_Glyph(face, gi, FT_LOAD_NO_HINTING | FT_LOAD_NO_BITMAP) ||
                face->glyph->format != FT_GLYPH_FORMAT_OUTLINE) {
                rc = kn_fail(err, KN_EFORMAT, "kana renderer: %s has no outline for '%s' (U+%04X)",
                             kf->path, kn_kana_names[c], (unsigned)kn_kana_codepoints[c]);
                break;
            }
            FT_Outline *g = &r->glyphs[i * KN_KANA_CLASSES + (size_t)c];
            if (copy_outline(g, &face->glyph->outline)) {
                rc = kn_fail(err, KN_ENOMEM, "kana renderer: out of memory");
                break;
            }
            if (g->n_points > r->max_points)
                r->max_points = g->n_points;
            if (g->n_contours > r->max_contours)
                r->max_contours = g->n_contours;
        }
        FT_Done_Face(face);
    }
    FT_Done_FreeType(lib);
    if (rc) {
        kn_kana_renderer_free(r);
        return rc;
    }
    *out = r;
    return 0;
}

/* Per-thread working memory. */
typedef struct scratch {
    FT_Library lib;
    FT_Outline outline;
    unsigned char canvas[CANVAS * CANVAS];
} scratch;

static double clampd(double x, double lo, double hi) { return x < lo ? lo : x > hi ? hi : x; }

static FT_Fixed to_fixed(double v) { return (FT_Fixed)lround(v * 65536.0); }

/* One smooth displacement wave per axis component: tables for sin/cos of the x and y phases at
 * the output pixels' canvas points, so the per-pixel cost is four multiplications. */
typedef struct wave {
    double amp;
    double sx[KN_KANA_SIDE], cx[KN_KANA_SIDE], sy[KN_KANA_SIDE], cy[KN_KANA_SIDE];
} wave;

static void wave_init(wave *w, kn_rng *rng, double amplitude)
{
    double wavelength = 24.0 + 40.0 * kn_rng_uniform(rng); /* canvas pixels */
    double angle = 2.0 * KANA_PI * kn_rng_uniform(rng);
    double k = 2.0 * KANA_PI / wavelength;
    double fx = k * cos(angle), fy = k * sin(angle), phase = 2.0 * KANA_PI * kn_rng_uniform(rng);
    w->amp = amplitude * kn_rng_normal(rng);
    for (int i = 0; i < KN_KANA_SIDE; i++) { /* at the canvas point of output pixel i */
        double c = i * SS + SS / 2;
        w->sx[i] = sin(fx * c);
        w->cx[i] = cos(fx * c);
        w->sy[i] = sin(fy * c + phase);
        w->cy[i] = cos(fy * c + phase);
    }
}

static inline double wave_at(const wave *w, int x, int y)
{
    return w->amp * (w->sx[x] * w->cy[y] + w->cx[x] * w->sy[y]);
}

static inline float canvas_at(const unsigned char *c, int x, int y)
{
    if (x < 0 || y < 0 || x >= CANVAS || y >= CANVAS)
        return 0.0f;
    return c[y * CANVAS + x] * (1.0f / 255.0f);
}

static float bilinear(const unsigned char *c, double x, double y)
{
    double fx = floor(x), fy = floor(y);
    int x0 = (int)fx, y0 = (int)fy;
    float ax = (float)(x - fx), ay = (float)(y - fy);
    float v00 = canvas_at(c, x0, y0), v10 = canvas_at(c, x0 + 1, y0);
    float v01 = canvas_at(c, x0, y0 + 1), v11 = canvas_at(c, x0 + 1, y0 + 1);
    return (1 - ay) * ((1 - ax) * v00 + ax * v10) + ay * ((1 - ax) * v01 + ax * v11);
}

/* Renders one sample; returns 0, or -1 if FreeType failed to rasterise. */
static int render_one(const kn_kana_renderer *r, scratch *s, size_t face_id, int cls, kn_rng *rng,
                      double distortion, uint8_t *img)
{
    const FT_Outline *g = &r->glyphs[face_id * KN_KANA_CLASSES + (size_t)cls];
    FT_Outline *o = &s->outline;
    memcpy(o->points, g->points, (size_t)g->n_points * sizeof *o->points);
    memcpy(o->tags, g->tags, (size_t)g->n_points * sizeof *o->tags);
    memcpy(o->contours, g->contours, (size_t)g->n_contours * sizeof *o->contours);
    o->n_points = g->n_points;
    o->n_contours = g->n_contours;
    o->flags = g->flags;

    /* Stroke width: from slightly thinner to clearly bolder (pixels at the 64 px em). Every draw
     * happens whatever the distortion, so a sample's random stream does not depend on it. */
    double stroke = (-1.0 + 5.0 * kn_rng_uniform(rng)) * distortion;
    double rot = clampd(kn_rng_normal(rng) * 9.0, -22.0, 22.0) * distortion * KANA_PI / 180.0;
    double shear = clampd(kn_rng_normal(rng) * 0.15, -0.4, 0.4) * distortion;
    double log_aspect = clampd(kn_rng_normal(rng) * 0.12, -0.3, 0.3) * distortion;
    double fill = 0.80 + 0.16 * kn_rng_uniform(rng);             /* glyph box / frame */
    double off_x = clampd(kn_rng_normal(rng) * 0.8, -2.0, 2.0) * distortion; /* final pixels */
    double off_y = clampd(kn_rng_normal(rng) * 0.8, -2.0, 2.0) * distortion;
    if (distortion == 0.0)
        fill = 0.88;

    if (stroke != 0.0)
        FT_Outline_Embolden(o, (FT_Pos)lround(stroke * 64.0)); /* failure: keep the stroke as is */

    double a = exp(log_aspect), cr = cos(rot), sr = sin(rot);
    /* M = R * Shear * diag(a, 1/a) */
    double m00 = a * cr, m01 = (shear * cr - sr) / a;
    double m10 = a * sr, m11 = (shear * sr + cr) / a;
    FT_Matrix m = {to_fixed(m00), to_fixed(m01), to_fixed(m10), to_fixed(m11)};
    FT_Outline_Transform(o, &m);

    FT_BBox box;
    FT_Outline_Get_BBox(o, &box);
    double w = (double)(box.xMax - box.xMin), h = (double)(box.yMax - box.yMin);
    double extent = w > h ? w : h;
    if (extent < 64.0)
        return -1;
    double scale = fill * CANVAS * 64.0 / extent;
    FT_Matrix sm = {to_fixed(scale), 0, 0, to_fixed(scale)};
    FT_Outline_Transform(o, &sm);
    FT_Outline_Get_BBox(o, &box);
    double cx = 0.5 * (double)(box.xMin + box.xMax), cy = 0.5 * (double)(box.yMin + box.yMax);
    double tx = (CANVAS * 0.5 + off_x * SS) * 64.0 - cx;
    double ty = (CANVAS * 0.5 - off_y * SS) * 64.0 - cy;
    FT_Outline_Translate(o, (FT_Pos)lround(tx), (FT_Pos)lround(ty));

    memset(s->canvas, 0, sizeof s->canvas);
    FT_Bitmap bm;
    memset(&bm, 0, sizeof bm);
    bm.rows = CANVAS;
    bm.width = CANVAS;
    bm.pitch = CANVAS;
    bm.buffer = s->canvas;
    bm.num_grays = 256;
    bm.pixel_mode = FT_PIXEL_MODE_GRAY;
    if (FT_Outline_Get_Bitmap(s->lib, o, &bm))
        return -1;

    /* Elastic warp: two waves per axis, amplitude in canvas pixels. */
    wave wx[2], wy[2];
    double elastic = 1.3 * SS * 0.5 * distortion;
    for (int k = 0; k < 2; k++) {
        wave_init(&wx[k], rng, elastic);
        wave_init(&wy[k], rng, elastic);
    }
    /* Ink: contrast and gamma per sample, multiplicative ink texture, additive background noise. */
    double contrast = 1.0 - 0.3 * kn_rng_uniform(rng) * distortion;
    double gamma = exp(clampd(kn_rng_normal(rng) * 0.3, -0.6, 0.6) * distortion);
    double texture = 0.15 * kn_rng_uniform(rng) * distortion;
    double noise = (kn_rng_uniform(rng) < 0.5 ? 0.04 * kn_rng_uniform(rng) : 0.0) * distortion;

    /* Each output pixel is the canvas sampled bilinearly at the centre of its 2x2 block, moved by
     * the displacement field: with no displacement that is exactly the block's mean, so the warp
     * and the 2x downsampling cost one bilinear sample per output pixel. */
    for (int y = 0; y < KN_KANA_SIDE; y++)
        for (int x = 0; x < KN_KANA_SIDE; x++) {
            int fx = x * SS + SS / 2, fy = y * SS + SS / 2; /* canvas grid point at block centre */
            double dx = wave_at(&wx[0], x, y) + wave_at(&wx[1], x, y);
            double dy = wave_at(&wy[0], x, y) + wave_at(&wy[1], x, y);
            double v = bilinear(s->canvas, fx - 0.5 + dx, fy - 0.5 + dy);
            if (v > 0.0)
                v = contrast * pow(v, gamma);
            /* One 64-bit draw gives the texture and noise uniforms of this pixel. */
            uint64_t bits = kn_rng_next(rng);
            double t = (double)(bits >> 40) * 0x1.0p-24, u = (double)(bits & 0xffffff) * 0x1.0p-24;
            v *= 1.0 - texture * t;
            v += noise * u * u;
            v = clampd(v, 0.0, 1.0);
            img[y * KN_KANA_SIDE + x] = (uint8_t)(v * 255.0 + 0.5);
        }
    return 0;
}

int kn_kana_render_split(const kn_kana_renderer *r, int test, size_t n, uint64_t seed,
                         double distortion, uint8_t *images, uint8_t *labels, uint32_t *face_of,
                         kn_error *err)
{
    if (test != 0 && test != 1)
        return kn_fail(err, KN_EINVAL, "kana render: split must be 0 (train) or 1 (test), got %d",
                       test);
    if (!(distortion >= 0.0 && distortion <= 4.0))
        return kn_fail(err, KN_EINVAL, "kana render: distortion must be in [0, 4], got %g",
                       distortion);
    const split_families *sf = &r->split[test];
    if (n > 0 && sf->n == 0)
        return kn_fail(err, KN_EINVAL, "kana render: no %s font families",
                       test ? "test" : "training");
    if (n == 0)
        return 0;
    /* Balanced labels in a seeded random order. */
    for (size_t i = 0; i < n; i++)
        labels[i] = (uint8_t)(i % KN_KANA_CLASSES);
    kn_rng lrng;
    kn_rng_stream(&lrng, seed, LABEL_STREAM + (uint64_t)test);
    kn_rng_shuffle(&lrng, labels, n, 1);

    int failed = 0;      /* FreeType could not initialise or rasterise */
    size_t bad_item = 0;
#pragma omp parallel
    {
        scratch *s = calloc(1, sizeof *s);
        int ok = s != NULL;
        if (ok) {
            s->outline.points = malloc((size_t)r->max_points * sizeof *s->outline.points);
            s->outline.tags = malloc((size_t)r->max_points * sizeof *s->outline.tags);
            s->outline.contours = malloc((size_t)r->max_contours * sizeof *s->outline.contours);
            ok = s->outline.points && s->outline.tags && s->outline.contours &&
                 FT_Init_FreeType(&s->lib) == 0;
            if (!ok) {
                free(s->outline.points);
                free(s->outline.tags);
                free(s->outline.contours);
                free(s);
                s = NULL;
            }
        }
        if (!ok) {
#pragma omp atomic write
            failed = 1;
        }
#pragma omp barrier
#pragma omp for schedule(dynamic, 64)
        for (size_t i = 0; i < n; i++) {
            int stop;
#pragma omp atomic read
            stop = failed;
            if (stop)
                continue;
            kn_rng rng;
            kn_rng_stream(&rng, seed, (test ? TEST_STREAM_BASE : 0) + i);
            size_t fam = (size_t)kn_rng_below(&rng, sf->n);
            size_t nfaces = sf->start[fam + 1] - sf->start[fam];
            size_t face = sf->face_ids[sf->start[fam] + (size_t)kn_rng_below(&rng, nfaces)];
            if (face_of)
                face_of[i] = (uint32_t)face;
            uint8_t *img = images + i * KN_KANA_SIDE * KN_KANA_SIDE;
            int rc = render_one(r, s, face, labels[i], &rng, distortion, img);
            if (rc) {
                /* Retry with the glyph undistorted so a degenerate draw never leaves a hole. */
                kn_rng_stream(&rng, seed, (test ? TEST_STREAM_BASE : 0) + i);
                rc = render_one(r, s, face, labels[i], &rng, 0.0, img);
            }
            if (rc) {
#pragma omp critical(kn_kana_fail)
                {
                    if (bad_item == 0 || i < bad_item)
                        bad_item = i;
#pragma omp atomic write
                    failed = 2;
                }
            }
        }
        if (s) {
            FT_Done_FreeType(s->lib);
            free(s->outline.points);
            free(s->outline.tags);
            free(s->outline.contours);
            free(s);
        }
    }
    if (failed == 1)
        return kn_fail(err, KN_ENOMEM, "kana render: out of memory or FreeType failed to start");
    if (failed)
        return kn_fail(err, KN_EFORMAT, "kana render: FreeType could not rasterise %s sample %zu",
                       test ? "test" : "train", bad_item);
    return 0;
}
