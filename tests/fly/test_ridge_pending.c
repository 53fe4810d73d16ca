/* fly-ridge's deferred Gram update (src/fly/ridge.c, src/fly/gram_tiles.c) against the plain
 * sample-by-sample sum, bit for bit: G, B and W for call sizes 1, 7, 64 and a whole task, with
 * flushes between calls and buffers that fill up, at 1 and 2 threads; the caller's code buffer
 * reused between calls; a change of k between calls; and a bad label or cell reported by the
 * call that passed it, with nothing of that call kept. m 200 is three full 64-cell tiles and a
 * narrow one; k 40 fills the pending buffer (200^2 / 8 / 40 = 125 samples) several times. The
 * call patterns also run at m 97, k 12: one full tile and a narrow one of 33 cells, a buffer of
 * 98 samples, codes of few cells that share many pairs. */
#include "test_support.h"

#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "kenyon/fly.h"
#include "kenyon/rng.h"

enum { M = 200, K = 40, C = 6, N = 400 };

/* Random codes of width k: nnz in [0, k] (some empty), cells increasing over all of [0, M),
 * values in (0, 1] with the largest 1, labels in [0, C). */
static void make_codes(kn_kc_codes *codes, int32_t *y, size_t n, int m, int k, uint64_t seed)
{
    kn_rng r;
    kn_rng_seed(&r, seed);
    for (size_t i = 0; i < n; i++) {
        int nnz = i % 29 == 3 ? 0 : 1 + (int)kn_rng_below(&r, (uint64_t)k);
        int cell = (int)kn_rng_below(&r, 8), got = 0;
        for (; got < nnz && cell < m; got++) {
            codes->cells[i * (size_t)k + (size_t)got] = cell;
            codes->values[i * (size_t)k + (size_t)got] =
                got == 0 ? 1.0f : (float)(0.01 + 0.99 * kn_rng_uniform(&r));
            cell += 1 + (int)kn_rng_below(&r, (uint64_t)(2 * m / (nnz + 1)));
        }
        codes->nnz[i] = got;
        y[i] = (int32_t)kn_rng_below(&r, C);
    }
    codes->n = n;
}

/* The sum in sample order, one addition per pair of cells: what G (m x m) and B must equal. */
static void reference_add(double *g, double *b, const kn_kc_codes *codes, const int32_t *y,
                          size_t m)
{
    const size_t k = (size_t)codes->k;
    for (size_t i = 0; i < codes->n; i++) {
        const int32_t *cl = codes->cells + i * k;
        const float *vl = codes->values + i * k;
        for (int p = 0; p < codes->nnz[i]; p++) {
            for (int q = p; q < codes->nnz[i]; q++)
                g[(size_t)cl[p] * m + (size_t)cl[q]] += (double)vl[p] * (double)vl[q];
            b[(size_t)cl[p] * C + (size_t)y[i]] += vl[p];
        }
    }
}

/* Samples from .. from + n of codes as a view. */
static kn_kc_codes view(const kn_kc_codes *codes, size_t from, size_t n)
{
    kn_kc_codes v = *codes;
    v.cells = codes->cells + from * (size_t)codes->k;
    v.values = codes->values + from * (size_t)codes->k;
    v.nnz = codes->nnz + from;
    v.n = n;
    v.cap = n;
    return v;
}

/* W solved from given G and B, as a ridge built by hand (no accumulation). */
static void solve_from(const double *g, const double *b, size_t m, size_t n_seen, float *w)
{
    kn_fly_ridge r;
    kn_error err;
    assert_int_equal(kn_fly_ridge_init(&r, (int)m, C, 0.5, &err), 0);
    memcpy(r.g, g, m * m * sizeof *g);
    memcpy(r.b, b, m * C * sizeof *b);
    r.n_seen = n_seen;
    r.dirty = 1;
    assert_int_equal(kn_fly_ridge_solve(&r, &err), 0);
    memcpy(w, r.w, m * C * sizeof *w);
    kn_fly_ridge_free(&r);
}

/* Every call pattern against the reference, for m cells and codes of k winners. */
static void check_call_patterns(int m, int k, uint64_t seed)
{
    const size_t ms = (size_t)m, ks = (size_t)k;
    kn_kc_codes codes, scratch;
    kn_error err;
    assert_int_equal(kn_kc_codes_alloc(&codes, N, k, &err), 0);
    assert_int_equal(kn_kc_codes_alloc(&scratch, N, k, &err), 0);
    int32_t y[N], ys[N];
    make_codes(&codes, y, N, m, k, seed);
    double *g = calloc(ms * ms, sizeof *g), *b = calloc(ms * C, sizeof *b);
    float *w_ref = malloc(ms * C * sizeof *w_ref);
    assert_true(g && b && w_ref);
    reference_add(g, b, &codes, y, ms);
    solve_from(g, b, ms, N, w_ref);
    const size_t batches[4] = {1, 7, 64, N};
    for (int bi = 0; bi < 4; bi++)
        for (int flush_every = 0; flush_every <= 3; flush_every += 3)
            for (int threads = 1; threads <= 2; threads++) {
                omp_set_num_threads(threads);
                kn_fly_ridge r;
                assert_int_equal(kn_fly_ridge_init(&r, m, C, 0.5, &err), 0);
                size_t calls = 0;
                for (size_t st = 0; st < N; st += batches[bi]) {
                    size_t nb = N - st < batches[bi] ? N - st : batches[bi];
                    /* The caller's buffer, overwritten after every call: the ridge must have
                     * copied what it defers. */
                    kn_kc_codes part = view(&codes, st, nb);
                    memcpy(scratch.cells, part.cells, nb * ks * sizeof *scratch.cells);
                    memcpy(scratch.values, part.values, nb * ks * sizeof *scratch.values);
                    memcpy(scratch.nnz, part.nnz, nb * sizeof *scratch.nnz);
                    memcpy(ys, y + st, nb * sizeof *ys);
                    scratch.n = nb;
                    assert_int_equal(kn_fly_ridge_accumulate(&r, &scratch, ys, &err), 0);
                    memset(scratch.values, 0x7f, nb * ks * sizeof *scratch.values);
                    memset(scratch.cells, 0, nb * ks * sizeof *scratch.cells);
                    if (flush_every && ++calls % (size_t)flush_every == 0)
                        kn_fly_ridge_flush(&r);
                }
                /* B and the count are current before any flush. */
                assert_memory_equal(r.b, b, ms * C * sizeof *b);
                assert_int_equal(r.n_seen, N);
                assert_int_equal(kn_fly_ridge_solve(&r, &err), 0); /* flushes */
                if (memcmp(r.g, g, ms * ms * sizeof *g) != 0)
                    fail_msg("G differs from the sample-order sum (m %d, k %d, batch %zu, flush "
                             "every %d, %d threads)", m, k, batches[bi], flush_every, threads);
                if (memcmp(r.w, w_ref, ms * C * sizeof *w_ref) != 0)
                    fail_msg("W differs (m %d, k %d, batch %zu, flush every %d, %d threads)", m,
                             k, batches[bi], flush_every, threads);
                kn_fly_ridge_free(&r);
            }
    omp_set_num_threads(2);
    free(g);
    free(b);
    free(w_ref);
    kn_kc_codes_free(&codes);
    kn_kc_codes_free(&scratch);
}

static void test_call_patterns_equal_sample_order_sum(void **state)
{
    (void)state;
    check_call_patterns(M, K, 5);
}

static void test_call_patterns_at_m97_k12(void **state)
{
    (void)state;
    check_call_patterns(97, 12, 11);
}

/* Codes of k 40, then of k 13, then of k 40 again: each change flushes and rebuilds the buffer. */
static void test_k_changes_between_calls(void **state)
{
    (void)state;
    kn_kc_codes a, b13;
    kn_error err;
    assert_int_equal(kn_kc_codes_alloc(&a, N, K, &err), 0);
    assert_int_equal(kn_kc_codes_alloc(&b13, 90, 13, &err), 0);
    int32_t ya[N], yb[90];
    make_codes(&a, ya, N, M, K, 8);
    make_codes(&b13, yb, 90, M, 13, 9);
    double *g = calloc((size_t)M * M, sizeof *g), *bs = calloc((size_t)M * C, sizeof *bs);
    assert_true(g && bs);
    kn_fly_ridge r;
    assert_int_equal(kn_fly_ridge_init(&r, M, C, 1.0, &err), 0);
    kn_kc_codes first = view(&a, 0, 150), last = view(&a, 150, N - 150);
    assert_int_equal(kn_fly_ridge_accumulate(&r, &first, ya, &err), 0);
    assert_int_equal(kn_fly_ridge_accumulate(&r, &b13, yb, &err), 0);
    assert_int_equal(kn_fly_ridge_accumulate(&r, &last, ya + 150, &err), 0);
    reference_add(g, bs, &first, ya, M);
    reference_add(g, bs, &b13, yb, M);
    reference_add(g, bs, &last, ya + 150, M);
    kn_fly_ridge_flush(&r);
    assert_memory_equal(r.g, g, (size_t)M * M * sizeof *g);
    assert_memory_equal(r.b, bs, (size_t)M * C * sizeof *bs);
    assert_int_equal(r.n_seen, N + 90);
    kn_fly_ridge_free(&r);
    free(g);
    free(bs);
    kn_kc_codes_free(&a);
    kn_kc_codes_free(&b13);
}

/* A bad label or cell fails the call that passed it (naming the sample), not a later flush, and
 * leaves G, B and the count as the earlier calls made them. */
static void test_bad_data_fails_its_own_call(void **state)
{
    (void)state;
    kn_kc_codes codes;
    kn_error err;
    assert_int_equal(kn_kc_codes_alloc(&codes, N, K, &err), 0);
    int32_t y[N];
    make_codes(&codes, y, N, M, K, 12);
    double *g = calloc((size_t)M * M, sizeof *g), *b = calloc((size_t)M * C, sizeof *b);
    assert_true(g && b);
    kn_fly_ridge r;
    assert_int_equal(kn_fly_ridge_init(&r, M, C, 1.0, &err), 0);
    kn_kc_codes good = view(&codes, 0, 50), bad = view(&codes, 50, 20), rest = view(&codes, 70, 30);
    assert_int_equal(kn_fly_ridge_accumulate(&r, &good, y, &err), 0); /* pending */
    reference_add(g, b, &good, y, M);

    int32_t yb[20];
    memcpy(yb, y + 50, sizeof yb);
    yb[3] = C; /* a label outside [0, C) */
    assert_int_equal(kn_fly_ridge_accumulate(&r, &bad, yb, &err), KN_EINVAL);
    assert_non_null(strstr(err.msg, "sample 3"));
    assert_memory_equal(r.b, b, (size_t)M * C * sizeof *b);
    assert_int_equal(r.n_seen, 50);

    yb[3] = y[53];
    assert_true(bad.nnz[5] > 0); /* a cell >= m in sample 5 (its last, so the order holds) */
    bad.cells[5 * K + (size_t)bad.nnz[5] - 1] = M;
    assert_int_equal(kn_fly_ridge_accumulate(&r, &bad, yb, &err), KN_EINVAL);
    assert_non_null(strstr(err.msg, "sample 5"));
    assert_memory_equal(r.b, b, (size_t)M * C * sizeof *b);
    assert_int_equal(r.n_seen, 50);

    kn_fly_ridge_flush(&r); /* nothing of the failed calls reached G */
    assert_memory_equal(r.g, g, (size_t)M * M * sizeof *g);
    assert_int_equal(kn_fly_ridge_accumulate(&r, &rest, y + 70, &err), 0);
    reference_add(g, b, &rest, y + 70, M);
    assert_int_equal(kn_fly_ridge_solve(&r, &err), 0);
    assert_memory_equal(r.g, g, (size_t)M * M * sizeof *g);
    assert_memory_equal(r.b, b, (size_t)M * C * sizeof *b);
    assert_int_equal(r.n_seen, 80);
    kn_fly_ridge_free(&r);
    free(g);
    free(b);
    kn_kc_codes_free(&codes);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_call_patterns_equal_sample_order_sum),
        cmocka_unit_test(test_call_patterns_at_m97_k12),
        cmocka_unit_test(test_k_changes_between_calls),
        cmocka_unit_test(test_bad_data_fails_its_own_call),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
