/* The Gram update of fly-ridge (src/fly/ridge.c) by tiles of G: internal to src/fly. */
#ifndef KENYON_FLY_GRAM_TILES_H
#define KENYON_FLY_GRAM_TILES_H

#include <stddef.h>
#include <stdint.h>

/* Width of a tile of G: 64 x 64 doubles (32 KB) stay in L1 while every sample updates them. */
#define KN_GRAM_TILE 64

/* Bytes of scratch kn_gram_add_codes needs for n codes of at most k winners over m cells. */
size_t kn_gram_scratch_bytes(size_t m, size_t n, size_t k);

/* G (m x m, row-major, upper triangle) += h h^T for n codes (sample i: nnz[i] increasing cells
 * cells[i*k ..] with positive finite values values[i*k ..]), each entry's additions in sample
 * order, so G equals the sample-by-sample sum bit for bit for any thread count. scratch holds
 * kn_gram_scratch_bytes(m, n, k) bytes. Threaded with OpenMP over tiles when n > 64. */
void kn_gram_add_codes(double *g, size_t m, const int32_t *cells, const float *values,
                       const int32_t *nnz, size_t k, size_t n, void *scratch);

#endif
