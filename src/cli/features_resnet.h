/* `kenyon features extract`'s two networks behind one interface (cmd_features.c runs the
 * command, whichever network the model file holds). Private to the CLI. */
#ifndef KN_CLI_FEATURES_RESNET_H
#define KN_CLI_FEATURES_RESNET_H

#include <stddef.h>

#include "kenyon/error.h"
#include "kenyon/progress.h"
#include "kenyon/samples.h"

/* A feature extractor as the extract command drives it. */
typedef struct kn_cli_extractor {
    const char *wrote;  /* the final line's name of the rows: "features", "ResNet-18 features" */
    size_t width;       /* features per row */
    const char *bar;    /* progress label (NULL: no progress display) */
    int (*load)(const char *model, void **net, kn_error *err);
    void (*free_net)(void *net);
    /* An image file into ds (rows in [0,1]); c, h, w receive its geometry. */
    int (*read_images)(const char *path, kn_dataset *ds, int *c, int *h, int *w, kn_error *err);
    /* The features of part's rows into out (part->n x width). c, h, w: the image geometry of
     * an image file, 0 for a data set's part (the extractor infers it from part->d). The bar
     * (NULL without one) counts rows, offset of them done before this part. */
    int (*features)(void *net, const kn_dataset *part, int c, int h, int w, int batch,
                    kn_progress *bar, size_t offset, float *out, kn_error *err);
} kn_cli_extractor;

extern const kn_cli_extractor kn_cli_resnet18_extractor;

/* 1 if path is a safetensors file that looks like a torchvision ResNet (a "layer..." tensor or
 * a 7 x 7 conv1.weight), so that a damaged one is reported by the ResNet-18 loader; 0 otherwise
 * (including unreadable files: the LeNet5 loader then reports the problem). */
int kn_cli_is_resnet18_file(const char *path);

#endif
