/* `kenyon features extract` with a ResNet-18 model file (features_resnet.c). Private to the CLI. */
#ifndef KN_CLI_FEATURES_RESNET_H
#define KN_CLI_FEATURES_RESNET_H

/* 1 if path is a safetensors file that looks like a torchvision ResNet (a "layer..." tensor or
 * a 7 x 7 conv1.weight), so that a damaged one is reported by the ResNet-18 loader; 0 otherwise
 * (including unreadable files: the LeNet5 loader then reports the problem). */
int kn_cli_is_resnet18_file(const char *path);

/* The extract command's work for a ResNet-18 model: 512-d features of a named data set (split
 * "train", "test" or "all") or of an image file, written as .npy (and labels with a data set).
 * Returns the process exit code. */
int kn_cli_extract_resnet18(const char *model, const char *dataset, const char *images,
                            const char *split, const char *data_dir, const char *out,
                            const char *labels_out, int batch, int quiet);

#endif
