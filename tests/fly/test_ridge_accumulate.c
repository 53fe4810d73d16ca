/* fly-ridge's Gram update (src/fly/ridge.c) against the plain sample-by-sample sum in double
 * (each entry's additions in sample order), bit for bit: for batches of 1, 7 and 300 samples, at
 * 1 and 2 threads, with codes of varying length (empty codes too) and shared cells; B and the
 * sample count as well. */
#include "test_support.h"

#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "kenyon/fly.h"
#include "kenyon/rng.h"

enum { M = 97, K = 12, C = 5, N = 300 };

/* Random codes: nnz in [0, K], cells increasing, values in (0, 1], one value exactly 1. */
static void make_codes(kn_kc_codes *codes, int32_t *y, uint64_t seed)
{
    kn_rng r;
    kn_rng_seed(&r, seed);
    for (size_t i = 0; i < N; i++) {
        int nnz = i % 31 == 5 ? 0 : 1 + (int)kn_rng_below(&r, K);
        int cell = (int)kn_rng_below(&r, 4);
        int got = 0;
        for (; got < nnz && cell < M; got++) {
            codes->cells[i * K + (size_t)got] = cell;
            codes->values[i * K + (size_t)got] = got == 0 ? 1.0f : (float)(0.05 + kn_rng_uniform(&r));
            cell += 1 + (int)kn_rng_below(&r, 12);
        }
        codes->nnz[i] = got;
        y[i] = (int32_t)kn_rng_below(&r, C);
    }
    codes->n = N;
}

static void test_gram_equals_sample_order_sum(void **state)
{
    (void)state;
    kn_kc_codes codes;
    kn_error err;
    assert_int_equal(kn_kc_codes_alloc(&codes, N, K, &err), 0);
    int32_t y[N];
    make_codes(&codes, y, 11);
    double *g = calloc((size_t)M * M, sizeof *g), *b = calloc((size_t)M * C, sizeof *b);
    assert_non_null(g);
    assert_non_null(b);
    for (size_t i = 0; i < N; i++) {
        const int32_t *cl = codes.cells + i * K;
        const float *vl = codes.values + i * K;
        for (int p = 0; p < codes.nnz[i]; p++) {
            for (int q = p; q < codes.nnz[i]; q++)
                g[(size_t)cl[p] * M + (size_t)cl[q]] += (double)vl[p] * (double)vl[q];
            b[(size_t)cl[p] * C + (size_t)y[i]] += vl[p];
        }
    }
    const size_t batches[3] = {1, 7, N};
    for (int bi = 0; bi < 3; bi++)
        for (int threads = 1; threads <= 2; threads++) {
            omp_set_num_threads(threads);
            kn_fly_ridge r;
            assert_int_equal(kn_fly_ridge_init(&r, M, C, 1.0, &err), 0);
            for (size_t st = 0; st < N; st += batches[bi]) {
                size_t nb = N - st < batches[bi] ? N - st : batches[bi];
                kn_kc_codes part = codes; /* a view of samples st .. st + nb */
                part.cells = codes.cells + st * K;
                part.values = codes.values + st * K;
                part.nnz = codes.nnz + st;
                part.n = nb;
                assert_int_equal(kn_fly_ridge_accumulate(&r, &part, y + st, &err), 0);
            }
            kn_fly_ridge_flush(&r);
            if (memcmp(r.g, g, (size_t)M * M * sizeof *g) != 0)
                fail_msg("G differs from the sample-order sum (batch %zu, %d threads)",
                         batches[bi], threads);
            assert_memory_equal(r.b, b, (size_t)M * C * sizeof *b);
            assert_int_equal(r.n_seen, N);
            kn_fly_ridge_free(&r);
        }
    free(g);
    free(b);
    kn_kc_codes_free(&codes);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gram_equals_sample_order_sum),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
