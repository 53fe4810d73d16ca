/* The continual learner: the one interface every method (FlyModel, its variants, the back-prop
 * baselines) implements, and the only one the protocol runner, the metrics and the CLI use.
 *
 * Life cycle: kn_learner_create(method, info, params) -> for each task: begin_task(classes),
 * observe(batch)..., end_task -> predict at any time -> save/load -> free.
 *
 * Methods are rows of a registry (src/cl/registry.c); adding one = a file + a row. A method
 * declares its hyperparameters as typed kn_param_spec rows (kenyon/params.h: type, range,
 * default) and may add a check across them; kn_method_check applies both to the caller's
 * key=value overrides without allocating anything, kn_learner_create starts with it and keeps
 * the resolved list for reports and model files. */
#ifndef KENYON_LEARNER_H
#define KENYON_LEARNER_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "kenyon/error.h"
#include "kenyon/params.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What every learner is told at creation. */
typedef struct kn_learner_info {
    size_t d;        /* input dimension */
    int n_classes;   /* total number of classes over the whole stream */
    uint64_t seed;   /* the run's seed; every random choice derives from it */
} kn_learner_info;

typedef struct kn_learner kn_learner;

typedef struct kn_learner_ops {
    /* A new task starts; `classes` are its labels (n_task_classes of them). */
    int (*begin_task)(kn_learner *l, int task, const int32_t *classes, int n_task_classes,
                      kn_error *err);
    /* Learn from n samples (row-major n x d, labels y) of the current task. */
    int (*observe)(kn_learner *l, const float *x, const int32_t *y, size_t n, kn_error *err);
    /* The current task's data are over (consolidation, Fisher, offline retraining ...). */
    int (*end_task)(kn_learner *l, kn_error *err);
    /* Scores for every class (n x n_classes, larger = more likely). The caller restricts the
     * argmax to the classes it wants (seen so far, or one task's). */
    int (*predict_scores)(kn_learner *l, const float *x, size_t n, float *scores, kn_error *err);
    /* Writes the learner to a safetensors file (atomically) that kn_learner_load restores. */
    int (*save)(const kn_learner *l, const char *path, kn_error *err);
    void (*destroy)(kn_learner *l);
    /* Optional: a short note on the last ended task (e.g. "lambda 100 (choice 1.20 s, solve
     * 0.31 s)") written into buf like snprintf; the protocol prints it on its per-task line. */
    int (*task_note)(const kn_learner *l, char *buf, size_t cap);
} kn_learner_ops;

/* Base fields; methods embed this as their first member or point impl at their state. */
struct kn_learner {
    const kn_learner_ops *ops;
    const struct kn_method *method;
    kn_learner_info info;
    kn_kv *params;    /* resolved hyperparameters (owned strings), in the method's spec order */
    size_t n_params;
    int task;         /* index of the current/last task, -1 before the first */
    int in_task;      /* 1 between begin_task and end_task */
    uint8_t *seen;    /* n_classes flags: classes of every task begun so far (owned) */
    void *impl;       /* method state */
};

struct kn_st_file;

typedef struct kn_method {
    const char *name;    /* "fly", "v1", "fly-ridge", "vanilla", ... */
    const char *summary; /* one line for --help */
    const kn_param_spec *params; /* typed rows, ended by KN_PARAM_ROW_END */
    /* Builds the learner's impl and ops from the resolved parameters (l->params, l->info set;
     * every value has passed its row's check and the method's check). On failure
     * kn_learner_free still calls ops->destroy if ops was set, so destroy must cope with a
     * partly built impl. */
    int (*create)(kn_learner *l, kn_error *err);
    /* Restores impl from the file written by ops->save, already read and parsed by
     * kn_learner_load (f->source names it in messages); l->params/info/seen/task are restored
     * from the common part (see kn_learner_write_common). f holds the layout only (kn_st_open):
     * read each tensor with kn_st_tensor_read straight into the array it belongs in, so the
     * model is held in memory once, and build the state from the stored values rather than
     * drawing random state only to replace it (the fly methods do; the back-prop baselines
     * still initialise their network before reading it). Check tensor shapes against the
     * parameters before allocating, so a file cannot ask for more memory than it could
     * describe. */
    int (*load)(kn_learner *l, const struct kn_st_file *f, kn_error *err);
    /* Optional: a check across the method's parameters that needs no data (e.g. k <= m). Every
     * value has already passed its row's check. Returns 0 or fails with a message naming the
     * parameters. */
    int (*check)(const kn_params *p, kn_error *err);
} kn_method;

/* The registry. */
const kn_method *kn_method_find(const char *name);
/* NULL-terminated list of all methods. */
const kn_method *const *kn_method_list(void);

/* Checks overrides against the method's table and its cross-parameter check, allocating
 * nothing; resolved (may be NULL) receives the resolved set. Messages name the method, the
 * parameter and what it accepts. */
int kn_method_check(const kn_method *m, const kn_kv *overrides, size_t n_overrides,
                    kn_params *resolved, kn_error *err);

int kn_learner_create(const char *method, const kn_learner_info *info, const kn_kv *overrides,
                      size_t n_overrides, kn_learner **out, kn_error *err);
int kn_learner_load(const char *path, kn_learner **out, kn_error *err);
void kn_learner_free(kn_learner *l);

/* Can the loaded model l continue on stream ts (data of d features, n_classes classes)? The input
 * dimension, class count, number of tasks learned and the classes seen in them must match the
 * stream's first tasks (the same --classes-per-task and class order); otherwise KN_EINVAL with a
 * message (starting with `name`, e.g. the model's path) saying which differs. */
struct kn_task_stream;
int kn_learner_check_resume(const kn_learner *l, const char *name,
                            const struct kn_task_stream *ts, size_t d, int n_classes,
                            kn_error *err);

/* Memory: an estimate (bytes) of what method m with these options will allocate for data of
 * info's shape and n_train training samples, with a short description of the large parts
 * ("projection 2.1 GB, readout ..."); -1 when the parameters cannot be read (create will say
 * why). kn_memory_available reads the machine's available memory (-1 if unknown).
 * kn_learner_check_memory refuses (KN_ENOMEM, the estimate in the message) a learner that would
 * not fit; call it before kn_learner_create. */
int kn_method_memory_estimate(const kn_method *m, const kn_learner_info *info,
                              const kn_kv *overrides, size_t n_overrides, size_t n_train,
                              double *bytes, char *detail, size_t detail_cap);
int kn_memory_available(double *bytes);
int kn_learner_check_memory(const char *method, const kn_learner_info *info,
                            const kn_kv *overrides, size_t n_overrides, size_t n_train,
                            kn_error *err);

/* Prints the method's options with defaults and help (for `kenyon run --method M --help`). */
void kn_method_print_params(const kn_method *m, FILE *out);

/* Typed access to a resolved parameter (for create functions). */
const char *kn_learner_param(const kn_learner *l, const char *name);
int kn_learner_param_int(const kn_learner *l, const char *name, int *out, kn_error *err);
int kn_learner_param_double(const kn_learner *l, const char *name, double *out, kn_error *err);
int kn_learner_param_bool(const kn_learner *l, const char *name, int *out, kn_error *err);
/* CHOICE rows: the index of the value among the row's words. */
int kn_learner_param_choice(const kn_learner *l, const char *name, int *out, kn_error *err);

/* Convenience wrappers over ops (with state checks). */
int kn_learner_begin_task(kn_learner *l, int task, const int32_t *classes, int n, kn_error *err);
int kn_learner_observe(kn_learner *l, const float *x, const int32_t *y, size_t n, kn_error *err);
int kn_learner_end_task(kn_learner *l, kn_error *err);
int kn_learner_predict_scores(kn_learner *l, const float *x, size_t n, float *scores,
                              kn_error *err);
/* Argmax of the scores over the classes with allowed[c] != 0. */
int kn_learner_predict_labels(kn_learner *l, const float *x, size_t n, const uint8_t *allowed,
                              int32_t *labels, kn_error *err);
int kn_learner_save(const kn_learner *l, const char *path, kn_error *err);
/* The method's note on the last ended task into buf (empty string when it has none). */
void kn_learner_task_note(const kn_learner *l, char *buf, size_t cap);

/* For a method's save: adds the common part every kenyon learner file carries, so that
 * kn_learner_load can rebuild the base before calling the method's load: __metadata__ keys
 * "kenyon.method", "kenyon.d", "kenyon.n_classes", "kenyon.seed", "kenyon.task",
 * "kenyon.param.<name>" for every resolved parameter except KN_PARAM_RUN_ONLY ones, and the U8
 * tensor "kenyon.seen_classes". */
struct kn_st_writer;
int kn_learner_write_common(const kn_learner *l, struct kn_st_writer *w, kn_error *err);

#ifdef __cplusplus
}
#endif
#endif
