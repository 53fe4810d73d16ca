/* The `er` learner: experience replay (e.g. Chaudhry et al., "On tiny episodic memories in
 * continual learning", 2019), the strongest simple replay baseline of class-incremental learning.
 * The network and its training are the `vanilla` baseline's (MLP d -> hidden (ReLU) -> C, SGD
 * with momentum, cross-entropy over all outputs); each mini-batch of the stream is trained
 * together with an equal number of samples drawn without replacement from a memory (fewer while
 * the memory holds fewer), and after the step the mini-batch's samples are offered to the memory.
 *
 * The memory (size --memory, default 1000) is a class-balanced reservoir (CBRS, Chrysakis &
 * Moens, ICML 2020): while not full every sample is stored; when full, a sample of a class that
 * is not among the largest in memory replaces a random stored sample of a largest class (ties
 * between largest classes drawn at random), and a sample of a largest class c replaces a random
 * stored sample of its own class with probability m_c / n_c (m_c stored, n_c seen so far). So
 * the memory never exceeds its size and its classes stay within one sample of each other once
 * each has had its share. Every draw comes from one generator seeded from the run's seed: the
 * same seed and stream give the same memory.
 *
 * Model file: the common metadata, the net's tensors ("net.*", as vanilla) and
 *   memory.x      F32 [memory, d]  stored samples (the first er.n_memory rows are in use)
 *   memory.y      I32 [memory]     their labels
 *   memory.seen   F64 [classes]    samples seen per class (n_c)
 * with metadata er.n_memory and er.rng (the generator's state, four hexadecimal words). The SGD
 * momentum is not saved (as vanilla). */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cl/baselines.h"
#include "cl/methods.h"
#include "kenyon/rng.h"

#define ER_STREAM 0x65720000ull

typedef struct er_state {
    kn_net *net; /* first: see kn_bp_head */
    kn_optim *opt;
    kn_bp_common c;
    size_t cap, n_mem;  /* memory size and samples held */
    float *mx;          /* cap x d */
    int32_t *my;        /* cap */
    double *seen;       /* C: samples seen per class */
    size_t *held;       /* C: samples held per class */
    size_t *pick;       /* cap: scratch indices */
    float *xb;          /* 2 * batch x d */
    int32_t *yb;        /* 2 * batch */
    kn_rng rng;
} er_state;

static const kn_param_spec er_params[] = {
    KN_BP_COMMON_PARAMS("3200", "0.001"),
    KN_PARAM_ROW_INT("memory", "1000", 1, 10000000, "samples the replay memory holds"),
    KN_PARAM_ROW_END,
};

/* A random stored sample of class c (held[c] > 0). */
static size_t random_of_class(er_state *s, int32_t c)
{
    uint64_t r = kn_rng_below(&s->rng, s->held[c]);
    for (size_t i = 0; i < s->n_mem; i++)
        if (s->my[i] == c && r-- == 0)
            return i;
    return 0; /* not reached: held[c] counts the class's slots */
}

/* Offers one sample to the class-balanced reservoir. */
static void offer(er_state *s, size_t d, int C, const float *x, int32_t y)
{
    s->seen[y] += 1;
    size_t slot;
    if (s->n_mem < s->cap) {
        slot = s->n_mem++;
    } else {
        size_t largest = 0;
        int n_largest = 0;
        for (int c = 0; c < C; c++)
            if (s->held[c] > largest)
                largest = s->held[c], n_largest = 1;
            else if (s->held[c] == largest && largest > 0)
                n_largest++;
        if (s->held[y] < largest) {
            /* Replace a random sample of a random largest class. */
            uint64_t r = kn_rng_below(&s->rng, (uint64_t)n_largest);
            int victim = 0;
            for (int c = 0; c < C; c++)
                if (s->held[c] == largest && r-- == 0) {
                    victim = c;
                    break;
                }
            slot = random_of_class(s, victim);
        } else {
            if (!(kn_rng_uniform(&s->rng) * s->seen[y] < (double)s->held[y]))
                return;
            slot = random_of_class(s, y);
        }
        s->held[s->my[slot]]--;
    }
    memcpy(s->mx + slot * d, x, d * sizeof *x);
    s->my[slot] = y;
    s->held[y]++;
}

static int er_observe(kn_learner *l, const float *x, const int32_t *y, size_t n, kn_error *err)
{
    er_state *s = l->impl;
    const size_t d = l->info.d, b = (size_t)s->c.batch;
    const int C = l->info.n_classes;
    for (size_t i = 0; i < n; i++)
        if (y[i] < 0 || y[i] >= C)
            return kn_fail(err, KN_EINVAL, "er: label %d of sample %zu outside [0, %d)",
                           (int)y[i], i, C);
    for (size_t st = 0; st < n; st += b) {
        size_t m = n - st < b ? n - st : b;
        memcpy(s->xb, x + st * d, m * d * sizeof *x);
        memcpy(s->yb, y + st, m * sizeof *y);
        /* m replayed samples (fewer while the memory holds fewer), without replacement. */
        size_t r = m < s->n_mem ? m : s->n_mem;
        for (size_t i = 0; i < s->n_mem; i++)
            s->pick[i] = i;
        for (size_t i = 0; i < r; i++) {
            size_t j = i + (size_t)kn_rng_below(&s->rng, s->n_mem - i);
            size_t t = s->pick[i];
            s->pick[i] = s->pick[j];
            s->pick[j] = t;
            memcpy(s->xb + (m + i) * d, s->mx + s->pick[i] * d, d * sizeof *x);
            s->yb[m + i] = s->my[s->pick[i]];
        }
        int rc = kn_net_train_step(s->net, s->opt, s->xb, s->yb, m + r, NULL, NULL, err);
        if (rc)
            return rc;
        for (size_t i = 0; i < m; i++)
            offer(s, d, C, x + (st + i) * d, y[st + i]);
    }
    return 0;
}

static int er_predict(kn_learner *l, const float *x, size_t n, float *scores, kn_error *err)
{
    er_state *s = l->impl;
    return kn_bp_predict(s->net, x, n, scores, err);
}

static int er_save(const kn_learner *l, const char *path, kn_error *err)
{
    const er_state *s = l->impl;
    const size_t d = l->info.d, C = (size_t)l->info.n_classes;
    size_t sh_x[2] = {s->cap, d}, sh_y[1] = {s->cap}, sh_s[1] = {C};
    kn_st_writer w;
    kn_st_writer_init(&w);
    int rc = kn_bp_writer_begin(l, s->net, &w, err);
    if (!rc)
        rc = kn_st_writer_add(&w, "memory.x", KN_ST_F32, 2, sh_x, s->mx, err);
    if (!rc)
        rc = kn_st_writer_add(&w, "memory.y", KN_ST_I32, 1, sh_y, s->my, err);
    if (!rc)
        rc = kn_st_writer_add(&w, "memory.seen", KN_ST_F64, 1, sh_s, s->seen, err);
    if (!rc)
        rc = kn_st_writer_meta_fmt(&w, "er.n_memory", err, "%zu", s->n_mem);
    if (!rc)
        rc = kn_st_writer_meta_fmt(&w, "er.rng", err,
                                   "%016" PRIx64 " %016" PRIx64 " %016" PRIx64 " %016" PRIx64,
                                   s->rng.s[0], s->rng.s[1], s->rng.s[2], s->rng.s[3]);
    if (!rc)
        rc = kn_st_writer_write(&w, path, err);
    kn_st_writer_free(&w);
    return rc;
}

static void er_destroy(kn_learner *l)
{
    er_state *s = l->impl;
    if (!s)
        return;
    kn_net_free(s->net);
    kn_optim_free(s->opt);
    free(s->mx);
    free(s->my);
    free(s->seen);
    free(s->held);
    free(s->pick);
    free(s->xb);
    free(s->yb);
    free(s);
    l->impl = NULL;
}

static const kn_learner_ops er_ops = {
    .observe = er_observe,
    .predict_scores = er_predict,
    .save = er_save,
    .destroy = er_destroy,
};

static int er_create(kn_learner *l, kn_error *err)
{
    er_state *s = calloc(1, sizeof *s);
    if (!s)
        return kn_fail(err, KN_ENOMEM, "method er: out of memory");
    l->impl = s;
    l->ops = &er_ops;
    int mem, rc = kn_bp_read_common(l, &s->c, err);
    if (!rc)
        rc = kn_learner_param_int(l, "memory", &mem, err);
    if (rc)
        return rc;
    const size_t d = l->info.d, C = (size_t)l->info.n_classes, b = (size_t)s->c.batch;
    s->cap = (size_t)mem;
    if (s->cap > ((size_t)1 << 34) / (d ? d : 1))
        return kn_fail(err, KN_EINVAL, "method er: --memory %d x d=%zu is too large", mem, d);
    s->mx = malloc(s->cap * d * sizeof *s->mx);
    s->my = calloc(s->cap, sizeof *s->my);
    s->seen = calloc(C, sizeof *s->seen);
    s->held = calloc(C, sizeof *s->held);
    s->pick = malloc(s->cap * sizeof *s->pick);
    s->xb = malloc(2 * b * d * sizeof *s->xb);
    s->yb = malloc(2 * b * sizeof *s->yb);
    if (!s->mx || !s->my || !s->seen || !s->held || !s->pick || !s->xb || !s->yb)
        return kn_fail(err, KN_ENOMEM, "method er: out of memory for a memory of %d samples",
                       mem);
    memset(s->mx, 0, s->cap * d * sizeof *s->mx);
    kn_rng_stream(&s->rng, l->info.seed, ER_STREAM);
    rc = kn_bp_build_mlp(l, s->c.hidden, 0, 0, &s->net, err);
    if (!rc)
        rc = kn_bp_make_sgd(s->net, &s->c, &s->opt, err);
    return rc;
}

static int er_load(kn_learner *l, const kn_st_file *f, kn_error *err)
{
    /* The memory's tensors are checked before anything is allocated: a file cannot ask for a
     * memory larger than the one it holds. */
    int mem, rc = kn_learner_param_int(l, "memory", &mem, err);
    if (rc)
        return rc;
    const size_t d = l->info.d, C = (size_t)l->info.n_classes;
    size_t sh_x[2] = {(size_t)mem, d}, sh_y[1] = {(size_t)mem}, sh_s[1] = {C};
    const kn_st_tensor *tx, *ty, *ts;
    uint64_t n_mem;
    if ((rc = kn_st_expect(f, "memory.x", KN_ST_F32, 2, sh_x, &tx, err)) ||
        (rc = kn_st_expect(f, "memory.y", KN_ST_I32, 1, sh_y, &ty, err)) ||
        (rc = kn_st_expect(f, "memory.seen", KN_ST_F64, 1, sh_s, &ts, err)) ||
        (rc = kn_st_meta_uint64(f, "er.n_memory", &n_mem, err)))
        return rc;
    if ((rc = er_create(l, err)))
        return rc;
    er_state *s = l->impl;
    if ((rc = kn_bp_read_net(s->net, f, err)))
        return rc;
    if (n_mem > s->cap)
        return kn_fail(err, KN_EFORMAT, "%s: er.n_memory = %" PRIu64 " exceeds the memory size %zu",
                       f->source, n_mem, s->cap);
    const char *rs = kn_st_meta(f, "er.rng");
    kn_rng r;
    int used = 0;
    if (!rs || sscanf(rs, "%" SCNx64 " %" SCNx64 " %" SCNx64 " %" SCNx64 "%n", &r.s[0], &r.s[1],
                      &r.s[2], &r.s[3], &used) != 4 ||
        rs[used] != '\0' || !(r.s[0] | r.s[1] | r.s[2] | r.s[3]))
        return kn_fail(err, KN_EFORMAT, "%s: er.rng is missing or not four non-zero hex words",
                       f->source);
    /* Shapes checked: the tensors are read straight into the state, then checked there. */
    if ((rc = kn_st_tensor_read(f, tx, s->mx, err)) ||
        (rc = kn_st_tensor_read(f, ty, s->my, err)) ||
        (rc = kn_st_tensor_read(f, ts, s->seen, err)))
        return rc;
    const float *xs = s->mx;
    const int32_t *ys = s->my;
    const double *seen = s->seen;
    memset(s->held, 0, C * sizeof *s->held);
    for (size_t i = 0; i < n_mem; i++) {
        if (ys[i] < 0 || (size_t)ys[i] >= C)
            return kn_fail(err, KN_EFORMAT, "%s: memory.y[%zu] = %d is not a class", f->source,
                           i, (int)ys[i]);
        s->held[ys[i]]++;
    }
    for (size_t q = 0; q < n_mem * d; q++)
        if (!isfinite(xs[q]))
            return kn_fail(err, KN_EFORMAT, "%s: memory.x[%zu] is not finite", f->source, q);
    for (size_t c = 0; c < C; c++)
        if (!(seen[c] >= (double)s->held[c] && seen[c] <= 1e15 && seen[c] == floor(seen[c])))
            return kn_fail(err, KN_EFORMAT,
                           "%s: memory.seen[%zu] = %g is not a count of at least the %zu held",
                           f->source, c, seen[c], s->held[c]);
    s->n_mem = (size_t)n_mem;
    s->rng = r;
    return 0;
}

int kn_er_memory(const kn_learner *l, const float **x, const int32_t **y, size_t *n,
                 size_t *capacity)
{
    if (!l || l->method != &kn_method_er || !l->impl)
        return KN_EINVAL;
    const er_state *s = l->impl;
    if (x)
        *x = s->mx;
    if (y)
        *y = s->my;
    if (n)
        *n = s->n_mem;
    if (capacity)
        *capacity = s->cap;
    return 0;
}

const kn_method kn_method_er = {
    "er", "experience replay: vanilla MLP + class-balanced reservoir memory (equal-size replay)",
    er_params, er_create, er_load, NULL};
