/* The benchmark's remaining-time estimate and its seeded class orders.
 *
 * Counting finished runs mispredicts badly: one GEM seed on MNIST-20 takes about as long as
 * five hundred fly seeds, so "20 of 50 runs done" says little about the time left. Each
 * (method, seed) item therefore carries an expected cost. Before anything has been measured the
 * cost is a prior per method, in units of one fly seed, taken from the full MNIST-20 pixel run
 * recorded in BENCHMARKS.md (train + evaluation seconds per seed: GEM 194, offline 109, EWC 6,
 * fly-ridge 5, vanilla 3.4, BI-R 1.6, fly and the perceptron variants 0.4). Once runs have
 * finished their measured seconds take over: a method's own mean for its remaining seeds, and for
 * methods not yet measured their prior scaled by the measured seconds per prior unit. Items
 * found in the cache cost nothing. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench_internal.h"
#include "kenyon/rng.h"

double bench_method_prior_cost(const char *method)
{
    static const struct {
        const char *name;
        double cost;
    } priors[] = {
        {"fly", 1},      {"v1", 1},   {"v2", 1},        {"v3", 1},    {"bir", 4},
        {"vanilla", 8.5}, {"fly-ridge", 12}, {"ewc", 15}, {"offline", 270}, {"gem", 485},
    };
    for (size_t i = 0; i < sizeof priors / sizeof priors[0]; i++)
        if (strcmp(priors[i].name, method) == 0)
            return priors[i].cost;
    return 1;
}

int bench_eta_init(bench_eta *e, const char *const *methods, size_t n, kn_error *err)
{
    memset(e, 0, sizeof *e);
    size_t k = n ? n : 1;
    e->method = malloc(sizeof *e->method * k);
    e->prior = malloc(sizeof *e->prior * k);
    e->seconds = malloc(sizeof *e->seconds * k);
    e->state = calloc(k, sizeof *e->state);
    if (!e->method || !e->prior || !e->seconds || !e->state) {
        bench_eta_free(e);
        return kn_fail(err, KN_ENOMEM, "out of memory");
    }
    e->n = n;
    for (size_t i = 0; i < n; i++) {
        e->method[i] = methods[i];
        e->prior[i] = bench_method_prior_cost(methods[i]);
        e->seconds[i] = NAN;
    }
    return KN_OK;
}

void bench_eta_free(bench_eta *e)
{
    free(e->method);
    free(e->prior);
    free(e->seconds);
    free(e->state);
    memset(e, 0, sizeof *e);
}

void bench_eta_mark_cached(bench_eta *e, size_t item)
{
    if (item < e->n)
        e->state[item] = 2;
}

void bench_eta_mark_ran(bench_eta *e, size_t item, double seconds)
{
    if (item < e->n) {
        e->state[item] = 1;
        e->seconds[item] = seconds > 0 ? seconds : 0;
    }
}

double bench_eta_item_cost(const bench_eta *e, size_t i)
{
    if (i >= e->n || e->state[i] == 2)
        return 0;
    if (e->state[i] == 1)
        return e->seconds[i];
    double all_s = 0, all_prior = 0, own_s = 0;
    size_t own_n = 0;
    for (size_t j = 0; j < e->n; j++) {
        if (e->state[j] != 1)
            continue;
        all_s += e->seconds[j];
        all_prior += e->prior[j];
        if (strcmp(e->method[j], e->method[i]) == 0) {
            own_s += e->seconds[j];
            own_n++;
        }
    }
    if (own_n)
        return own_s / (double)own_n;
    if (all_prior > 0 && all_s > 0)
        return e->prior[i] * all_s / all_prior;
    return e->prior[i];
}

/* Before any measurement the units are prior units; after, seconds. Mixing is avoided by
 * bench_eta_item_cost, which answers in seconds as soon as one run has been measured. */
void bench_eta_progress(const bench_eta *e, size_t current, double frac, double *done,
                        double *total)
{
    if (frac < 0)
        frac = 0;
    if (frac > 1)
        frac = 1;
    double d = 0, rest = 0;
    for (size_t i = 0; i < e->n; i++) {
        double c = bench_eta_item_cost(e, i);
        if (e->state[i])
            d += c;
        else if (i == current) {
            d += frac * c;
            rest += (1 - frac) * c;
        } else
            rest += c;
    }
    *done = d;
    *total = d + rest;
}

typedef struct costed_item {
    double cost;
    size_t item;
} costed_item;

/* Most expensive first; equal costs keep the item order. */
static int by_cost(const void *a, const void *b)
{
    const costed_item *x = a, *y = b;
    if (x->cost != y->cost)
        return x->cost > y->cost ? -1 : 1;
    return x->item < y->item ? -1 : x->item > y->item;
}

void bench_eta_order(const bench_eta *e, size_t *items, size_t n)
{
    costed_item *c = malloc(sizeof *c * (n ? n : 1));
    if (!c)
        return; /* out of memory: the order given is a valid, if slower, schedule */
    for (size_t i = 0; i < n; i++)
        c[i] = (costed_item){items[i] < e->n ? e->prior[items[i]] : 0, items[i]};
    qsort(c, n, sizeof *c, by_cost);
    for (size_t i = 0; i < n; i++)
        items[i] = c[i].item;
    free(c);
}

void bench_seeded_order(uint64_t seed, int32_t *order, size_t n)
{
    kn_rng r;
    kn_rng_stream(&r, seed, 0x6f72646572ULL); /* "order" */
    uint32_t *perm = (uint32_t *)order;      /* same size; filled in place */
    kn_rng_permutation(&r, perm, n);
    for (size_t i = 0; i < n; i++)
        order[i] = (int32_t)perm[i];
}
