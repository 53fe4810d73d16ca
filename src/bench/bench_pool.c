/* `kenyon bench --jobs N`: the benchmark's (method, seed) runs spread over N worker processes on
 * this machine, each run at o->threads_per_run BLAS/OpenMP threads (one by default).
 *
 * Why processes and not threads or fork(): the runs use OpenBLAS and libgomp, whose thread pools
 * do not survive fork() in a process that has started them, and one run's BLAS calls would
 * share a pool with another's. So each worker is the kenyon binary started afresh
 * (posix_spawn of o->worker_argv, the same command line plus the hidden --pool-worker) with the
 * thread counts in its environment. It loads the data itself (the parent has loaded them first,
 * so every data and feature cache is warm), builds the same plan, then runs the items its
 * parent writes to its stdin, one at a time, and answers on file descriptor 3.
 *
 * The parent looks every item up in the result cache, hands out the others most expensive
 * first (bench_eta_order, the MPI sweep's order), one per worker and the next as soon as one
 * finishes, and reads each result back from the cache, where the worker stored it: the
 * reports are written from the cache exactly as after a single-process run. A run that fails
 * (training diverged) comes back with its error and is listed in the reports; the others go
 * on. A worker that cannot start, or fails outside a run (a cache entry it cannot write), stops
 * the job: the other workers are stopped at once and the parent fails with the message. A
 * worker that dies during a run (killed, out of memory) fails that run, and a new worker takes
 * its place.
 *
 * While it waits the parent samples the resident memory of itself and of every worker
 * (/proc/PID/status VmRSS, every 100 ms): their sum's maximum is the job's peak. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench/bench_internal.h"

extern char **environ;

#define RESULT_FD 3     /* the worker's answers; its stdin carries the jobs */
#define SAMPLE_MS 100   /* memory sampling and poll interval */

enum { MSG_READY = 1, MSG_DONE, MSG_RUN_FAILED, MSG_ERROR };

/* Worker -> parent. Every message is written whole (below PIPE_BUF, so atomic). */
typedef struct pool_msg {
    int64_t item;
    int32_t kind;
    int32_t unused;
    double seconds;
    int64_t peak_rss_kb;
    char text[KN_ERROR_MSG_MAX];
} pool_msg;

int bench_online_cpus(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
        return CPU_COUNT(&set);
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

static int write_all(int fd, const void *buf, size_t n)
{
    const char *p = buf;
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Reads exactly n bytes: 1 when read, 0 at end of file before any byte, -1 on error. */
static int read_all(int fd, void *buf, size_t n)
{
    char *p = buf;
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, p + got, n - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -1;
        if (r == 0)
            return got == 0 ? 0 : -1;
        got += (size_t)r;
    }
    return 1;
}

/* ---- the worker ---- */

static int worker_items(void *ctx, const bench_plan *pl, size_t n_methods, bench_run *runs,
                        size_t *n_runs, int *write_reports, kn_error *err)
{
    (void)ctx;
    (void)n_methods;
    (void)runs;
    *n_runs = 0;
    *write_reports = 0;
    if (fcntl(RESULT_FD, F_GETFD) < 0)
        return kn_fail(err, KN_EINVAL, "--pool-worker: file descriptor %d is not open (the "
                       "option is for the worker processes kenyon bench --jobs starts)",
                       RESULT_FD);
    /* A parent that is killed cannot read results: stop with it instead of finishing a run
     * nobody waits for. */
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    pool_msg m;
    memset(&m, 0, sizeof m);
    m.kind = MSG_READY;
    m.item = -1;
    if (write_all(RESULT_FD, &m, sizeof m))
        return kn_fail(err, KN_EIO, "--pool-worker: cannot write to the parent");
    for (;;) {
        int64_t item;
        int r = read_all(STDIN_FILENO, &item, sizeof item);
        if (r == 0 || (r == 1 && item < 0))
            return KN_OK; /* the parent has no more work */
        if (r < 0)
            return kn_fail(err, KN_EIO, "--pool-worker: reading the next job failed");
        memset(&m, 0, sizeof m);
        m.item = item;
        if ((uint64_t)item >= pl->eta->n) {
            m.kind = MSG_ERROR;
            snprintf(m.text, sizeof m.text, "job %" PRId64 " is not one of the %zu items", item,
                     pl->eta->n);
        } else {
            bench_run run;
            kn_error e;
            kn_error_clear(&e);
            double t0 = kn_seconds();
            int rc = bench_run_item(pl, (size_t)item / pl->n_seeds, (size_t)item % pl->n_seeds,
                                    &run, &e);
            m.seconds = kn_seconds() - t0;
            if (rc) {
                m.kind = MSG_ERROR;
                snprintf(m.text, sizeof m.text, "%s", e.msg[0] ? e.msg : "failed");
            } else {
                m.kind = run.failed ? MSG_RUN_FAILED : MSG_DONE;
                m.peak_rss_kb = run.res.peak_rss_kb;
                snprintf(m.text, sizeof m.text, "%s", run.error);
                kn_run_result_free(&run.res);
            }
        }
        if (write_all(RESULT_FD, &m, sizeof m))
            return kn_fail(err, KN_EIO, "--pool-worker: cannot write to the parent");
        if (m.kind == MSG_ERROR)
            return kn_fail(err, KN_ESTATE, "%s", m.text);
    }
}

static const struct kn_bench_driver worker_driver = {worker_items, NULL, NULL, NULL};

const struct kn_bench_driver *bench_pool_worker_driver(void) { return &worker_driver; }

/* ---- the parent ---- */

typedef struct worker {
    pid_t pid;       /* 0: no process */
    int job_fd;      /* parent's end of the worker's stdin */
    int res_fd;      /* parent's end of the worker's answers */
    int ready;       /* it has loaded the data and built its plan */
    int64_t item;    /* the item it runs, -1 none */
    size_t got;      /* bytes of the message being read */
    pool_msg msg;
} worker;

/* The process's environment with the thread counts of a run set (the worker's BLAS and OpenMP
 * pools then never start more threads). The strings are the environment's own or in `own`. */
static char **worker_env(int threads, char own[2][64])
{
    size_t n = 0;
    while (environ[n])
        n++;
    char **env = malloc(sizeof *env * (n + 3));
    if (!env)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (strncmp(environ[i], "OMP_NUM_THREADS=", 16) != 0 &&
            strncmp(environ[i], "OPENBLAS_NUM_THREADS=", 21) != 0)
            env[k++] = environ[i];
    snprintf(own[0], 64, "OMP_NUM_THREADS=%d", threads);
    snprintf(own[1], 64, "OPENBLAS_NUM_THREADS=%d", threads);
    env[k++] = own[0];
    env[k++] = own[1];
    env[k] = NULL;
    return env;
}

static int start_worker(const bench_plan *pl, char **env, worker *w, kn_error *err)
{
    int job[2], res[2];
    if (pipe2(job, O_CLOEXEC))
        return kn_fail(err, KN_EIO, "--jobs: cannot create a pipe: %s", strerror(errno));
    if (pipe2(res, O_CLOEXEC)) {
        close(job[0]);
        close(job[1]);
        return kn_fail(err, KN_EIO, "--jobs: cannot create a pipe: %s", strerror(errno));
    }
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    posix_spawn_file_actions_init(&fa);
    posix_spawnattr_init(&attr);
    /* dup2 clears close-on-exec on the copies; every other pipe end closes at exec. */
    posix_spawn_file_actions_adddup2(&fa, job[0], STDIN_FILENO);
    posix_spawn_file_actions_adddup2(&fa, res[1], RESULT_FD);
    sigset_t dflt;
    sigemptyset(&dflt);
    sigaddset(&dflt, SIGPIPE); /* ignored in the parent while the pool runs; not in a worker */
    posix_spawnattr_setsigdefault(&attr, &dflt);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF);
    pid_t pid;
    const char *const *argv = pl->o->worker_argv;
    int e = posix_spawn(&pid, argv[0], &fa, &attr, (char *const *)argv, env);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    close(job[0]);
    close(res[1]);
    if (e) {
        close(job[1]);
        close(res[0]);
        return kn_fail(err, KN_EIO, "--jobs: cannot start a worker (%s): %s", argv[0],
                       strerror(e));
    }
    memset(w, 0, sizeof *w);
    w->pid = pid;
    w->job_fd = job[1];
    w->res_fd = res[0];
    w->item = -1;
    return KN_OK;
}

/* Closes the worker's pipes and reaps it; returns its wait status. kill: stop it first. */
static int end_worker(worker *w, int kill_it)
{
    int status = 0;
    if (!w->pid)
        return 0;
    if (kill_it)
        kill(w->pid, SIGTERM);
    if (w->job_fd >= 0)
        close(w->job_fd);
    if (w->res_fd >= 0)
        close(w->res_fd);
    while (waitpid(w->pid, &status, 0) < 0 && errno == EINTR)
        ;
    w->pid = 0;
    w->job_fd = w->res_fd = -1;
    w->ready = 0;
    w->item = -1;
    return status;
}

static void describe_status(int status, char *buf, size_t size)
{
    if (WIFSIGNALED(status))
        snprintf(buf, size, "killed by signal %d (%s)", WTERMSIG(status),
                 strsignal(WTERMSIG(status)));
    else
        snprintf(buf, size, "exit status %d", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

/* Resident KB of a process ("VmRSS" in /proc/PID/status; 0 when it is gone). */
static long rss_kb(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    long kb = 0;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "VmRSS:", 6) == 0) {
            kb = strtol(line + 6, NULL, 10);
            break;
        }
    fclose(f);
    return kb;
}

typedef struct pool {
    const bench_plan *pl;
    bench_run *runs;
    unsigned char *have;
    size_t *todo, n_todo, next;
    worker *w;
    int n_workers;
    char **env;
    int restarts;           /* workers started in place of one that died */
    int failed;             /* the job stops: no more hand-out */
    char failure[KN_ERROR_MSG_MAX];
    long peak_kb;
} pool;

/* The first failure ends the hand-out and is the job's error. */
__attribute__((format(printf, 2, 3))) static void pool_fail(pool *p, const char *fmt, ...)
{
    if (p->failed)
        return;
    p->failed = 1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->failure, sizeof p->failure, fmt, ap);
    va_end(ap);
}

static void show_progress(const bench_plan *pl, const char *detail)
{
    double done, total;
    bench_eta_progress(pl->eta, SIZE_MAX, 0, &done, &total);
    pl->bar->total = (size_t)(total * 1000.0 + 0.5);
    kn_progress_update(pl->bar, (size_t)(done * 1000.0 + 0.5), detail);
}

/* Gives worker k the next item, if any and the job goes on. */
static void hand_out(pool *p, int k)
{
    worker *w = &p->w[k];
    if (p->failed || p->next >= p->n_todo || !w->pid || !w->ready || w->item >= 0)
        return;
    int64_t item = (int64_t)p->todo[p->next];
    if (write_all(w->job_fd, &item, sizeof item)) {
        pool_fail(p, "sending a job to worker %d failed", k + 1);
        return;
    }
    w->item = item;
    p->next++;
}

/* Records item i as failed with text (labels from the plan). */
static void record_failed_run(pool *p, size_t i, const char *text, int k, kn_error *err)
{
    bench_run *run = &p->runs[i];
    if (bench_find_item(p->pl, i / p->pl->n_seeds, i % p->pl->n_seeds, run, err) == 1)
        kn_run_result_free(&run->res); /* cannot be: a failed run stores nothing */
    run->from_cache = 0;
    run->failed = 1;
    snprintf(run->error, sizeof run->error, "%s", text);
    p->have[i] = 1;
    char where[32];
    snprintf(where, sizeof where, "  (worker %d)", k + 1);
    bench_log_run(p->pl, run, where);
}

/* A whole message from worker k. */
static void on_message(pool *p, int k, kn_error *err)
{
    worker *w = &p->w[k];
    pool_msg *m = &w->msg;
    m->text[sizeof m->text - 1] = '\0';
    if (m->kind == MSG_READY) {
        w->ready = 1;
        return;
    }
    if (m->item != w->item || m->item < 0 || (uint64_t)m->item >= p->pl->eta->n) {
        pool_fail(p, "worker %d answered for a job it was not given", k + 1);
        return;
    }
    const size_t i = (size_t)m->item;
    w->item = -1;
    const long parent = rss_kb(getpid());
    if (parent + m->peak_rss_kb > p->peak_kb)
        p->peak_kb = parent + m->peak_rss_kb;
    if (m->kind == MSG_ERROR) {
        pool_fail(p, "worker %d: %s", k + 1, m->text);
        return;
    }
    bench_eta_mark_ran(p->pl->eta, i, m->seconds);
    char detail[160];
    if (m->kind == MSG_RUN_FAILED) {
        record_failed_run(p, i, m->text, k, err);
        snprintf(detail, sizeof detail, "%s seed %" PRIu64 " failed", p->runs[i].method,
                 p->runs[i].seed);
        show_progress(p->pl, detail);
        return;
    }
    int found = bench_find_item(p->pl, i / p->pl->n_seeds, i % p->pl->n_seeds, &p->runs[i],
                                err);
    if (found != 1) {
        if (found < 0)
            pool_fail(p, "%s", err->msg);
        else
            pool_fail(p, "the result of %s seed %" PRIu64 " that worker %d stored is not in "
                         "the cache under the key the parent computes",
                      p->pl->methods[i / p->pl->n_seeds], p->pl->seeds[i % p->pl->n_seeds],
                      k + 1);
        return;
    }
    p->have[i] = 1;
    p->runs[i].from_cache = 0; /* it ran in this job */
    char where[32];
    snprintf(where, sizeof where, "  (worker %d)", k + 1);
    bench_log_run(p->pl, &p->runs[i], where);
    snprintf(detail, sizeof detail, "%s seed %" PRIu64 " done", p->runs[i].method,
             p->runs[i].seed);
    show_progress(p->pl, detail);
}

/* Worker k's answers ended: it exited or died. */
static void on_exit_of(pool *p, int k, kn_error *err)
{
    worker *w = &p->w[k];
    const int64_t item = w->item;
    const int ready = w->ready;
    char how[128];
    describe_status(end_worker(w, 0), how, sizeof how);
    if (!ready) {
        pool_fail(p, "worker %d could not start (%s; its message is above)", k + 1, how);
        return;
    }
    if (item < 0) {
        if (!p->failed && p->next < p->n_todo)
            pool_fail(p, "worker %d ended while there was work left (%s)", k + 1, how);
        return;
    }
    char text[KN_ERROR_MSG_MAX];
    snprintf(text, sizeof text, "the worker process running it ended (%s)", how);
    bench_eta_mark_ran(p->pl->eta, (size_t)item, 0);
    record_failed_run(p, (size_t)item, text, k, err);
    /* A new worker takes its place (at most once per item, so a machine that kills every
     * worker ends the job). */
    if (!p->failed && p->next < p->n_todo && p->restarts < (int)p->n_todo) {
        p->restarts++;
        if (start_worker(p->pl, p->env, w, err))
            pool_fail(p, "%s", err->msg);
    }
}

static void sample_memory(pool *p)
{
    long sum = rss_kb(getpid());
    for (int k = 0; k < p->n_workers; k++)
        if (p->w[k].pid)
            sum += rss_kb(p->w[k].pid);
    if (sum > p->peak_kb)
        p->peak_kb = sum;
}

static int busy(const pool *p)
{
    for (int k = 0; k < p->n_workers; k++)
        if (p->w[k].pid && (p->w[k].item >= 0 || !p->w[k].ready))
            return 1;
    return 0;
}

static void wait_and_handle(pool *p, struct pollfd *fds, kn_error *err)
{
    for (int k = 0; k < p->n_workers; k++) {
        fds[k].fd = p->w[k].pid ? p->w[k].res_fd : -1;
        fds[k].events = POLLIN;
        fds[k].revents = 0;
    }
    int n = poll(fds, (nfds_t)p->n_workers, SAMPLE_MS);
    sample_memory(p);
    if (n <= 0)
        return;
    for (int k = 0; k < p->n_workers; k++) {
        if (!fds[k].revents)
            continue;
        worker *w = &p->w[k];
        ssize_t r = read(w->res_fd, (char *)&w->msg + w->got, sizeof w->msg - w->got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            on_exit_of(p, k, err);
            continue;
        }
        w->got += (size_t)r;
        if (w->got == sizeof w->msg) {
            w->got = 0;
            on_message(p, k, err);
        }
        hand_out(p, k);
    }
}

static int pool_items(void *ctx, const bench_plan *pl, size_t n_methods, bench_run *runs,
                      size_t *n_runs, int *write_reports, kn_error *err)
{
    (void)ctx;
    (void)n_methods;
    const size_t n_items = pl->eta->n;
    *n_runs = 0;
    *write_reports = 1;
    pool p;
    memset(&p, 0, sizeof p);
    p.pl = pl;
    p.runs = runs;
    p.have = calloc(n_items ? n_items : 1, 1);
    p.todo = malloc(sizeof *p.todo * (n_items ? n_items : 1));
    if (!p.have || !p.todo) {
        free(p.have);
        free(p.todo);
        return kn_fail(err, KN_ENOMEM, "out of memory");
    }
    int rc = bench_plan_todo(pl, runs, p.have, p.todo, &p.n_todo, err);
    for (size_t i = 0; i < n_items && !rc; i++)
        if (p.have[i])
            bench_log_run(pl, &runs[i], "  (cached)");
    const int jobs = pl->o->jobs > 0 ? pl->o->jobs : bench_online_cpus();
    p.n_workers = (size_t)jobs < p.n_todo ? jobs : (int)p.n_todo;
    char own[2][64];
    struct sigaction ignore, old_pipe;
    memset(&ignore, 0, sizeof ignore);
    ignore.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &ignore, &old_pipe); /* a dead worker's pipe must not kill the parent */
    struct pollfd *fds = NULL;
    if (!rc && p.n_workers > 0) {
        p.w = calloc((size_t)p.n_workers, sizeof *p.w);
        fds = calloc((size_t)p.n_workers, sizeof *fds);
        p.env = worker_env(pl->o->threads_per_run, own);
        if (!p.w || !fds || !p.env)
            rc = kn_fail(err, KN_ENOMEM, "out of memory");
    }
    if (!rc && p.n_workers > 0 && pl->o->log) {
        if (pl->o->progress && isatty(STDERR_FILENO))
            fprintf(stderr, "\r\033[K");
        fprintf(pl->o->log, "%zu runs to do on %d worker processes, %d BLAS/OpenMP thread%s "
                "each\n", p.n_todo, p.n_workers, pl->o->threads_per_run,
                pl->o->threads_per_run == 1 ? "" : "s");
        fflush(pl->o->log);
    }
    for (int k = 0; !rc && k < p.n_workers; k++)
        if (start_worker(pl, p.env, &p.w[k], err)) {
            pool_fail(&p, "%s", err->msg);
            break;
        }
    if (!rc)
        show_progress(pl, "started the workers");
    while (!rc && busy(&p)) {
        if (p.failed) { /* stop every run in progress: the job fails anyway */
            for (int k = 0; k < p.n_workers; k++)
                end_worker(&p.w[k], 1);
            break;
        }
        wait_and_handle(&p, fds, err);
    }
    for (int k = 0; p.w && k < p.n_workers; k++)
        end_worker(&p.w[k], 0); /* no more jobs: each worker sees the end of its input */
    sigaction(SIGPIPE, &old_pipe, NULL);
    if (!rc && !p.failed && p.next < p.n_todo)
        pool_fail(&p, "no worker left to run the remaining %zu runs", p.n_todo - p.next);
    /* The runs in item order, as a single process holds them (the reports list them so). */
    size_t n = 0;
    for (size_t i = 0; i < n_items; i++)
        if (p.have[i])
            runs[n++] = runs[i];
    *n_runs = n;
    long parent_peak = rss_kb(getpid());
    *pl->job_peak_rss_kb = p.peak_kb > parent_peak ? p.peak_kb : parent_peak;
    free(fds);
    free(p.w);
    free(p.env);
    free(p.have);
    free(p.todo);
    if (!rc && p.failed)
        rc = kn_fail(err, KN_ESTATE, "%s", p.failure);
    return rc;
}

static const struct kn_bench_driver pool_driver = {pool_items, NULL, NULL, NULL};

const struct kn_bench_driver *bench_pool_driver(void) { return &pool_driver; }
