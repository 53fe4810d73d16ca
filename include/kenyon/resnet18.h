/* kenyon/resnet18.h: ResNet-18 inference, the fixed feature extractor of the fly paper's CIFAR-100
 * benchmark (512-d output of an ImageNet-pretrained ResNet-18 with its classification head
 * removed; images resized to 299, centre-cropped to 299 and normalised with ImageNet's channel
 * means and standard deviations).
 *
 * The network is torchvision's resnet18 in evaluation mode: conv 7x7/2 (64), BatchNorm, ReLU,
 * max-pool 3x3/2 with padding 1; four stages of two basic blocks (64, 128, 256, 512 channels;
 * the first block of stages 2-4 has stride 2 and a 1x1/2 convolution + BatchNorm on its shortcut);
 * global average pool. The 512 pooled values are the features (torchvision's `fc` is not used).
 *
 * Weights are read from a safetensors file with torchvision's parameter names and shapes
 * (conv1.weight [64,3,7,7], bn1.weight/bias/running_mean/running_var [64],
 * layer1.0.conv1.weight, layer2.0.downsample.0.weight, layer2.0.downsample.1.running_var, ...);
 * `num_batches_tracked` and `fc.*` may be present and are ignored. scripts/pth_to_safetensors.py
 * converts a PyTorch state dict (.pth) to such a file. Every tensor's dtype (F32) and shape is
 * checked, NaN/infinite values and negative variances are refused, and a missing tensor is named.
 *
 * BatchNorm (evaluation mode, eps 1e-5) is folded into the convolution before it when the file is
 * loaded: w' = w * gamma / sqrt(var + eps), b' = beta - mean * gamma / sqrt(var + eps), computed
 * in double. This reorders float rounding against PyTorch's separate BN, nothing more (features
 * agree to about 1e-6 relative; the test demands 1e-4).
 *
 * Convolutions run as im2col + one kn_sgemm per convolution over a batch of images (threaded
 * by the BLAS); im2col, pooling and the element-wise steps run under OpenMP. For a fixed GEMM
 * backend, kernel and thread count the features are bit-identical from run to run. */
#ifndef KENYON_RESNET18_H
#define KENYON_RESNET18_H

#include <stddef.h>
#include <stdio.h>

#include "kenyon/error.h"
#include "kenyon/samples.h"
#include "kenyon/safetensors.h"

#ifdef __cplusplus
extern "C" {
#endif

#define KN_RESNET18_FEATURES 512
/* The paper's input side: resize the shorter edge to 299, centre crop 299 x 299. */
#define KN_RESNET18_SIDE 299

typedef struct kn_resnet18 kn_resnet18;

/* Loads a model from a safetensors file (see above). On failure *out is NULL. */
int kn_resnet18_load(const char *path, kn_resnet18 **out, kn_error *err);
/* The same from an already parsed file (kn_st_read/kn_st_parse, tensor bytes in memory). */
int kn_resnet18_from_st(const kn_st_file *f, kn_resnet18 **out, kn_error *err);
void kn_resnet18_free(kn_resnet18 *m);

/* Features of n images already preprocessed: x is n x 3 x h x w floats (channel planes, row
 * major), h and w at least 32 and at most 4096; feats is n x 512. Images are processed `batch`
 * at a time (0: 8), which bounds the work space at about batch x 40 MB for 299 x 299 inputs. */
int kn_resnet18_forward(const kn_resnet18 *m, const float *x, size_t n, int h, int w, int batch,
                        float *feats, kn_error *err);

/* The paper's preprocessing of one image: img is c x h x w floats in [0,1] (c = 3 channel
 * planes R, G, B, or c = 1 grey, replicated to three channels); out receives 3 x side x side
 * floats: the shorter edge resized to `side` (the longer to floor(side * long / short)) by
 * bilinear interpolation with half-pixel centres and no antialiasing (torch's interpolate,
 * align_corners=False, which is torchvision 0.14's Resize on tensors: its antialias default is
 * off for tensors, and for enlargements antialiasing changes nothing), a centre crop of
 * side x side (offsets rounded as torchvision's CenterCrop), then (v - mean) / std per channel
 * with ImageNet's mean (0.485, 0.456, 0.406) and std (0.229, 0.224, 0.225). */
int kn_resnet18_preprocess(const float *img, int c, int h, int w, int side, float *out,
                           kn_error *err);

/* Preprocessing (side 299) and features of n images of c x h x w floats in [0,1] (CIFAR's
 * 3 x 32 x 32 planes, as kenyon's CIFAR reader returns them), `batch` at a time (0: 8).
 * progress (may be NULL) is called after each batch with the images done so far. */
int kn_resnet18_features_images(const kn_resnet18 *m, const float *img, size_t n, int c, int h,
                                int w, int batch, float *feats,
                                void (*progress)(void *ctx, size_t done, size_t total),
                                void *ctx, kn_error *err);

/* ---- the feature cache: extraction takes hours, so every run after the first reuses it ---- */

/* What the cache key records about the preprocessing; bumped whenever resize, crop,
 * normalisation or the network's arithmetic changes the features. */
#define KN_RESNET18_PREPROCESS_VERSION "resize299-bilinear-halfpixel/crop299/imagenet-norm/v1"

typedef struct kn_resnet18_cache_options {
    const char *cache_dir; /* where the .npy files live (created if missing); required */
    int batch;             /* images per forward batch (0: 8) */
    FILE *log;             /* one line per part: reused, or extracted and saved; may be NULL */
    /* Called after each batch with the images done and to do, over both parts; may be NULL. */
    void (*progress)(void *ctx, size_t done, size_t total);
    void *ctx;
} kn_resnet18_cache_options;

/* Replaces the rows of split->train and split->test (CIFAR's 3 x 32 x 32 planes in [0,1], as
 * kn_cifar_read returns them) with their 512-d features. model_path is the weight file and
 * data_paths[0], data_paths[1] the files the train and test parts were read from. A part's
 * features are stored as float32 n x 512 .npy (written atomically) in
 * <cache_dir>/resnet18-<W>-<D>-<train|test>.npy, W being a digest of the weight file's bytes and
 * KN_RESNET18_PREPROCESS_VERSION, D one of the part's data file's bytes; a cached file is used
 * only when it has exactly the part's row count, 512 columns, float32 values and all of them
 * finite, otherwise it is extracted again and replaced. The weights are loaded only when a part
 * must be extracted. *extracted (may be NULL) receives the number of images run through the
 * network. */
int kn_resnet18_features_cached(const kn_resnet18_cache_options *o, const char *model_path,
                                const char *const data_paths[2], kn_split *split,
                                size_t *extracted, kn_error *err);

#ifdef __cplusplus
}
#endif
#endif
