/* The `gem` baseline (Gradient Episodic Memory, Lopez-Paz & Ranzato 2017) as configured in the
 * fly paper: a net d -> H (ReLU) -> H (BatchNorm, ReLU) -> C, SGD, cross-entropy over all
 * outputs, and an episodic memory of the n-memories most recent examples of every task (a ring
 * buffer per task). Each step: the gradient g_k of the loss on every past task's memory, the
 * current gradient g; if some g . g_k < 0, g is replaced by the projection from the dual QP
 *   minimise 1/2 v^T (G G^T + 1e-3 I) v + (G g)^T v  subject to  v >= margin,
 *   g <- G^T v + g
 * (one variable per past task; solved exactly by src/cl/gem_qp.c). G G^T and G g are sgemm /
 * sgemv products over the flat gradient vectors.
 *
 * As in the reference code the current batch enters its task's memory before the step, and the
 * memory forwards run in training mode (BatchNorm uses their batch statistics).
 *
 * The past tasks' gradients come from one kn_net_group_grads call (kenyon/nn.h): the same
 * forward/backward per task, bit-identical, written straight into the rows of G. One forward
 * over all memories at once is not possible exactly (BatchNorm needs each task's own batch
 * statistics, and the tall products would round some rows differently); see src/nn/net_groups.c.
 *
 * Model file: common metadata + net tensors + "memory_x" F32 [tasks, n-memories, d],
 * "memory_y" I32 [tasks, n-memories], "memory_count" I64 [tasks], "memory_pos" I64 [tasks]. */
#include <stdlib.h>
#include <string.h>

#include "kenyon/gemm.h"
#include "cl/baselines.h"
#include "cl/gem_qp.h"
#include "cl/methods.h"

typedef struct gem_state {
    kn_net *net; /* first: see kn_bp_head */
    kn_optim *opt;
    kn_bp_common c;
    int n_memories;
    double margin;
    int n_tasks, cap_tasks;   /* tasks with a memory (the current one is the last) */
    float **mem_x;
    int32_t **mem_y;
    int64_t *mem_count, *mem_pos;
    float *G;                 /* past-task gradients, rows of n_params */
    size_t g_rows;
    float *g;                 /* current gradient */
    long n_projections, n_steps;
    kn_net_group_ws *ws;      /* workspace of the memory-gradient pass */
    size_t *mem_rows;         /* rows per past task, for that pass */
    int mem_rows_cap;
} gem_state;

static const kn_param_spec gem_params[] = {
    KN_BP_COMMON_PARAMS("3200", "0.001"),
    KN_PARAM_ROW_INT("n-memories", "256", 1, 1000000, "examples kept per task (most recent)"),
    KN_PARAM_ROW_REAL("margin", "0.5", 0, 1e6, 0,
                      "lower bound of the dual variables (the QP's margin)"),
    KN_PARAM_ROW_END,
};

static int add_task_memory(kn_learner *l, gem_state *s, kn_error *err)
{
    if (s->n_tasks == s->cap_tasks) {
        int cap = s->cap_tasks ? 2 * s->cap_tasks : 16;
        float **nx = realloc(s->mem_x, (size_t)cap * sizeof *nx);
        if (nx)
            s->mem_x = nx;
        int32_t **ny = realloc(s->mem_y, (size_t)cap * sizeof *ny);
        if (ny)
            s->mem_y = ny;
        int64_t *nc = realloc(s->mem_count, (size_t)cap * sizeof *nc);
        if (nc)
            s->mem_count = nc;
        int64_t *np = realloc(s->mem_pos, (size_t)cap * sizeof *np);
        if (np)
            s->mem_pos = np;
        if (!nx || !ny || !nc || !np)
            return kn_fail(err, KN_ENOMEM, "method gem: out of memory for task memories");
        s->cap_tasks = cap;
    }
    size_t nm = (size_t)s->n_memories;
    int t = s->n_tasks;
    s->mem_x[t] = malloc(nm * l->info.d * sizeof(float));
    s->mem_y[t] = malloc(nm * sizeof(int32_t));
    s->mem_count[t] = s->mem_pos[t] = 0;
    s->n_tasks++;
    if (!s->mem_x[t] || !s->mem_y[t])
        return kn_fail(err, KN_ENOMEM, "method gem: out of memory for a task memory");
    return 0;
}

static int gem_begin_task(kn_learner *l, int task, const int32_t *classes, int n, kn_error *err)
{
    (void)task;
    (void)classes;
    (void)n;
    return add_task_memory(l, l->impl, err);
}

/* One GEM step on a batch of the current task. */
static int gem_step(kn_learner *l, gem_state *s, const float *x, const int32_t *y, size_t m,
                    kn_error *err)
{
    const size_t np = kn_net_n_params(s->net);
    const int past = s->n_tasks - 1;
    int rc;
    if (past > 0 && (size_t)past > s->g_rows) {
        float *G = realloc(s->G, (size_t)past * np * sizeof *G);
        if (!G)
            return kn_fail(err, KN_ENOMEM, "method gem: out of memory for %d gradients", past);
        s->G = G;
        s->g_rows = (size_t)past;
    }
    if (past > 0) {
        /* every past task's memory gradient in one pass, straight into the rows of G (a task
         * without samples gets a zero row: it constrains nothing) */
        if (!s->ws && !(s->ws = kn_net_group_ws_create()))
            return kn_fail(err, KN_ENOMEM, "method gem: out of memory for the workspace");
        if (!s->mem_rows) {
            s->mem_rows = malloc((size_t)s->cap_tasks * sizeof *s->mem_rows);
            if (!s->mem_rows)
                return kn_fail(err, KN_ENOMEM, "method gem: out of memory");
            s->mem_rows_cap = s->cap_tasks;
        } else if (s->mem_rows_cap < s->cap_tasks) {
            size_t *nr = realloc(s->mem_rows, (size_t)s->cap_tasks * sizeof *nr);
            if (!nr)
                return kn_fail(err, KN_ENOMEM, "method gem: out of memory");
            s->mem_rows = nr;
            s->mem_rows_cap = s->cap_tasks;
        }
        for (int k = 0; k < past; k++)
            s->mem_rows[k] = (size_t)s->mem_count[k];
        rc = kn_net_group_grads(s->net, s->ws, (const float *const *)s->mem_x,
                                (const int32_t *const *)s->mem_y, s->mem_rows, past, s->G, np,
                                err);
        if (rc)
            return rc;
    }
    kn_net_zero_grad(s->net);
    rc = kn_net_loss_grad(s->net, x, y, m, NULL, NULL, err);
    if (rc)
        return rc;
    float *g = kn_net_grads(s->net);
    s->n_steps++;
    if (past > 0) {
        float dots[64], Pf[64 * 64], vf[64];
        double q[64], lower[64], v[64];
        if (past > 64)
            return kn_fail(err, KN_EINVAL, "method gem: %d past tasks (at most 64 supported)",
                           past);
        kn_sgemv(KN_GEMM_ROW_MAJOR, KN_GEMM_NO_TRANS, past, (int)np, 1.0f, s->G, (int)np, g, 1, 0.0f,
                    dots, 1);
        int violated = 0;
        for (int k = 0; k < past; k++)
            violated |= dots[k] < 0;
        if (violated) {
            kn_sgemm(KN_GEMM_ROW_MAJOR, KN_GEMM_NO_TRANS, KN_GEMM_TRANS, past, past, (int)np, 1.0f, s->G,
                        (int)np, s->G, (int)np, 0.0f, Pf, past);
            double *PP = malloc((size_t)past * (size_t)past * sizeof *PP);
            if (!PP)
                return kn_fail(err, KN_ENOMEM, "method gem: out of memory");
            for (int i = 0; i < past; i++) {
                for (int j = 0; j < past; j++) /* symmetrise, add the 1e-3 ridge */
                    PP[i * past + j] = 0.5 * ((double)Pf[i * past + j] + Pf[j * past + i]) +
                                       (i == j ? 1e-3 : 0);
                q[i] = dots[i];
                lower[i] = s->margin;
            }
            rc = kn_qp_lower_bounded(PP, q, lower, past, v, err);
            free(PP);
            if (rc)
                return rc;
            for (int k = 0; k < past; k++)
                vf[k] = (float)v[k];
            /* g <- G^T v + g */
            kn_sgemv(KN_GEMM_ROW_MAJOR, KN_GEMM_TRANS, past, (int)np, 1.0f, s->G, (int)np, vf, 1,
                        1.0f, g, 1);
            s->n_projections++;
        }
    }
    kn_optim_step(s->opt, kn_net_params(s->net), g);
    (void)l;
    return 0;
}

static int gem_observe(kn_learner *l, const float *x, const int32_t *y, size_t n, kn_error *err)
{
    gem_state *s = l->impl;
    const size_t d = l->info.d, b = (size_t)s->c.batch, cap = (size_t)s->n_memories;
    const int cur = s->n_tasks - 1;
    for (size_t i = 0; i < n; i += b) {
        size_t m = n - i < b ? n - i : b;
        for (size_t r = 0; r < m; r++) { /* the batch enters the current memory first */
            size_t pos = (size_t)s->mem_pos[cur];
            memcpy(s->mem_x[cur] + pos * d, x + (i + r) * d, d * sizeof(float));
            s->mem_y[cur][pos] = y[i + r];
            s->mem_pos[cur] = (int64_t)((pos + 1) % cap);
            if ((size_t)s->mem_count[cur] < cap)
                s->mem_count[cur]++;
        }
        int rc = gem_step(l, s, x + i * d, y + i, m, err);
        if (rc)
            return rc;
    }
    return 0;
}

/* The net's buffers after an evaluation (1,024-row chunks, about 82 MB at H 3200) are not
 * needed while GEM trains on 64-row batches, and G is rebuilt at the next step: both are given
 * back so they do not add up in GEM's peak (G + evaluation buffers). Results do not change. */
static int gem_end_task(kn_learner *l, kn_error *err)
{
    gem_state *s = l->impl;
    (void)err;
    free(s->G);
    s->G = NULL;
    s->g_rows = 0;
    return 0;
}

static int gem_predict(kn_learner *l, const float *x, size_t n, float *scores, kn_error *err)
{
    gem_state *s = l->impl;
    int rc = kn_bp_predict(s->net, x, n, scores, err);
    kn_net_release_buffers(s->net);
    return rc;
}

static int gem_save(const kn_learner *l, const char *path, kn_error *err)
{
    const gem_state *s = l->impl;
    const size_t T = (size_t)s->n_tasks, nm = (size_t)s->n_memories, d = l->info.d;
    kn_st_writer w;
    kn_st_writer_init(&w);
    float *mx = T ? malloc(T * nm * d * sizeof *mx) : NULL;
    int32_t *my = T ? malloc(T * nm * sizeof *my) : NULL;
    int rc = 0;
    if (T && (!mx || !my))
        rc = kn_fail(err, KN_ENOMEM, "%s: out of memory packing the memories", path);
    for (size_t t = 0; !rc && t < T; t++) {
        memset(mx + t * nm * d, 0, nm * d * sizeof *mx);
        memset(my + t * nm, 0, nm * sizeof *my);
        memcpy(mx + t * nm * d, s->mem_x[t], (size_t)s->mem_count[t] * d * sizeof *mx);
        memcpy(my + t * nm, s->mem_y[t], (size_t)s->mem_count[t] * sizeof *my);
    }
    size_t shx[3] = {T, nm, d}, shy[2] = {T, nm}, sht[1] = {T};
    if (!rc)
        rc = kn_bp_writer_begin(l, s->net, &w, err);
    if (!rc && T) {
        if (!(rc = kn_st_writer_add(&w, "memory_x", KN_ST_F32, 3, shx, mx, err)) &&
            !(rc = kn_st_writer_add(&w, "memory_y", KN_ST_I32, 2, shy, my, err)) &&
            !(rc = kn_st_writer_add(&w, "memory_count", KN_ST_I64, 1, sht, s->mem_count, err)))
            rc = kn_st_writer_add(&w, "memory_pos", KN_ST_I64, 1, sht, s->mem_pos, err);
    }
    if (!rc)
        rc = kn_st_writer_write(&w, path, err);
    kn_st_writer_free(&w);
    free(mx);
    free(my);
    return rc;
}

static void gem_destroy(kn_learner *l)
{
    gem_state *s = l->impl;
    if (!s)
        return;
    kn_net_free(s->net);
    kn_optim_free(s->opt);
    for (int t = 0; t < s->n_tasks; t++) {
        free(s->mem_x[t]);
        free(s->mem_y[t]);
    }
    free(s->mem_x);
    free(s->mem_y);
    free(s->mem_count);
    free(s->mem_pos);
    free(s->G);
    kn_net_group_ws_free(s->ws);
    free(s->mem_rows);
    free(s);
    l->impl = NULL;
}

static const kn_learner_ops gem_ops = {
    .begin_task = gem_begin_task,
    .observe = gem_observe,
    .end_task = gem_end_task,
    .predict_scores = gem_predict,
    .save = gem_save,
    .destroy = gem_destroy,
};

static int gem_create(kn_learner *l, kn_error *err)
{
    gem_state *s = calloc(1, sizeof *s);
    if (!s)
        return kn_fail(err, KN_ENOMEM, "method gem: out of memory");
    l->impl = s;
    l->ops = &gem_ops;
    int rc = kn_bp_read_common(l, &s->c, err);
    if (!rc)
        rc = kn_learner_param_int(l, "n-memories", &s->n_memories, err);
    if (!rc)
        rc = kn_learner_param_double(l, "margin", &s->margin, err);
    if (rc)
        return rc;
    if (s->n_memories < 1 || s->n_memories > 1000000)
        return kn_fail(err, KN_EINVAL, "method gem: --n-memories %d must be in [1, 1000000]",
                       s->n_memories);
    if (!(s->margin >= 0))
        return kn_fail(err, KN_EINVAL, "method gem: --margin %g must be >= 0", s->margin);
    rc = kn_bp_build_mlp(l, s->c.hidden, 1, 0, &s->net, err);
    if (!rc)
        rc = kn_bp_make_sgd(s->net, &s->c, &s->opt, err);
    return rc;
}

static int gem_load(kn_learner *l, const kn_st_file *f, kn_error *err)
{
    int rc = gem_create(l, err);
    if (rc)
        return rc;
    gem_state *s = l->impl;
    rc = kn_bp_read_net(s->net, f, err);
    const kn_st_tensor *tc = rc ? NULL : kn_st_find(f, "memory_count");
    if (!rc && tc) {
        const size_t T = tc->ndim == 1 ? tc->shape[0] : 0, nm = (size_t)s->n_memories;
        size_t shx[3] = {T, nm, l->info.d}, shy[2] = {T, nm}, sht[1] = {T};
        const kn_st_tensor *tx, *ty, *tp;
        if (T > 1000000)
            rc = kn_fail(err, KN_EFORMAT, "%s: memory_count has %zu tasks", f->source, T);
        if (!rc && !(rc = kn_st_expect(f, "memory_x", KN_ST_F32, 3, shx, &tx, err)) &&
            !(rc = kn_st_expect(f, "memory_y", KN_ST_I32, 2, shy, &ty, err)) &&
            !(rc = kn_st_expect(f, "memory_count", KN_ST_I64, 1, sht, &tc, err)) &&
            !(rc = kn_st_expect(f, "memory_pos", KN_ST_I64, 1, sht, &tp, err))) {
            /* every tensor is read straight into the task's memory (from memory or the file) */
            for (size_t t = 0; t < T && !rc; t++) {
                int64_t cnt, pos;
                if ((rc = kn_st_tensor_read_range(f, tc, t * sizeof cnt, sizeof cnt, &cnt,
                                                  err)) ||
                    (rc = kn_st_tensor_read_range(f, tp, t * sizeof pos, sizeof pos, &pos, err)))
                    break;
                if (cnt < 0 || (size_t)cnt > nm || pos < 0 || (size_t)pos >= nm)
                    rc = kn_fail(err, KN_EFORMAT, "%s: memory_count/memory_pos of task %zu out "
                                 "of range", f->source, t);
                if (!rc)
                    rc = add_task_memory(l, s, err);
                if (rc)
                    break;
                const size_t bx = nm * l->info.d * sizeof(float), by = nm * sizeof(int32_t);
                if ((rc = kn_st_tensor_read_range(f, tx, t * bx, bx, s->mem_x[t], err)) ||
                    (rc = kn_st_tensor_read_range(f, ty, t * by, by, s->mem_y[t], err)))
                    break;
                s->mem_count[t] = cnt;
                s->mem_pos[t] = pos;
                for (size_t r = 0; r < (size_t)cnt && !rc; r++)
                    if (s->mem_y[t][r] < 0 || s->mem_y[t][r] >= l->info.n_classes)
                        rc = kn_fail(err, KN_EFORMAT, "%s: memory_y[%zu][%zu] is not a class",
                                     f->source, t, r);
            }
        }
    }
    return rc;
}

const kn_method kn_method_gem = {
    "gem", "gradient episodic memory: MLP with BatchNorm, projected gradients (dual QP)",
    gem_params, gem_create, gem_load, NULL};
