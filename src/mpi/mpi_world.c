/* MPI start-up, the rank/size queries and the per-run status exchange of the MPI driver
 * (mpi_driver.h): how a failure on one rank reaches every rank with its rank and reason, and how
 * a rank that waits for the others (an idle rank while rank 0 trains alone, a rank done with its
 * shard first) waits without burning a core. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpi/mpi_driver.h"
#include "mpi/mpi_internal.h"
#include "mpi/mpi_wait.h"

/* Set once the process's run has settled its outcome with the other ranks. */
static int g_initialised, g_rank, g_size = 1, g_settled, g_local_size = 1;

int kn_mpi_init(int *argc, char ***argv)
{
    if (!getenv("OMPI_COMM_WORLD_SIZE") && !getenv("PMIX_RANK") && !getenv("PMI_RANK"))
        return 0; /* not started by mpirun: behave as a build without MPI */
    /* OpenMP threads encode inside a rank; only the main thread calls MPI (FUNNELED). */
    int provided = 0;
    if (MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS) {
        fprintf(stderr, "kenyon: MPI_Init_thread failed\n");
        return 1;
    }
    if (provided < MPI_THREAD_FUNNELED) {
        fprintf(stderr, "kenyon: this MPI library cannot be used with threads (it provides "
                "thread level %d; FUNNELED is needed)\n", provided);
        MPI_Finalize();
        return 1;
    }
    g_initialised = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &g_size);
    /* The ranks sharing this machine's memory, for the memory check. */
    MPI_Comm node;
    if (MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node) ==
        MPI_SUCCESS) {
        MPI_Comm_size(node, &g_local_size);
        MPI_Comm_free(&node);
    }
    return 0;
}

void kn_mpi_finalize(void)
{
    if (g_initialised)
        MPI_Finalize();
    g_initialised = 0;
}

int kn_mpi_active(void) { return g_initialised; }
int kn_mpi_rank(void) { return g_rank; }
int kn_mpi_size(void) { return g_size; }
int kn_mpi_local_size(void) { return g_local_size; }

const char *kn_mpi_describe(char *buf, size_t cap)
{
    char lib[MPI_MAX_LIBRARY_VERSION_STRING];
    int len = 0;
    MPI_Get_library_version(lib, &len);
    char *nl = strchr(lib, ',');
    if (nl)
        *nl = '\0';
    snprintf(buf, cap, "MPI: %s (under mpirun: data-parallel `kenyon run`, `kenyon bench` sweeps)", lib);
    return buf;
}

int kn_mpi_exchange(kn_mpi_run *mr, int failed, const char *msg, kn_error *err)
{
    struct {
        int failed, rank;
    } in = {failed ? 1 : 0, mr->rank}, out;
    /* MAXLOC breaks ties by the smaller rank: the lowest failing rank is the one reported. The
     * exchange is where ranks wait for each other (an idle rank for a whole run while rank 0
     * trains a method that cannot be split), so it waits sleeping (mpi_wait.h). */
    MPI_Request req;
    if (MPI_Iallreduce(&in, &out, 1, MPI_2INT, MPI_MAXLOC, MPI_COMM_WORLD, &req) !=
            MPI_SUCCESS ||
        kn_mpi_idle_wait(&req, MPI_STATUS_IGNORE) != MPI_SUCCESS) {
        mr->job_failed = 1;
        snprintf(mr->failure, sizeof mr->failure, "rank %d of %d: the status exchange failed",
                 mr->rank, mr->size);
        return kn_fail(err, KN_EIO, "%s", mr->failure);
    }
    if (!out.failed)
        return 0;
    char why[KN_ERROR_MSG_MAX] = {0};
    if (mr->rank == out.rank)
        snprintf(why, sizeof why, "%s", msg ? msg : "failed");
    MPI_Bcast(why, (int)sizeof why, MPI_CHAR, out.rank, MPI_COMM_WORLD);
    why[sizeof why - 1] = '\0';
    mr->job_failed = 1;
    snprintf(mr->failure, sizeof mr->failure, "rank %d of %d: %.450s", out.rank, mr->size, why);
    return kn_fail(err, KN_ESTATE, "%s", mr->failure);
}

void kn_mpi_mark_settled(void) { g_settled = 1; }

int kn_mpi_settle(const char *command, int code)
{
    if (!g_initialised || g_settled)
        return code;
    /* The command ended before its run joined the others (a usage error on this rank only, say,
     * when ranks were given different arguments): join the exchange they are waiting in. */
    kn_mpi_run mr = {.rank = g_rank, .size = g_size};
    char why[160];
    snprintf(why, sizeof why, "kenyon %s stopped before the run (exit %d; its message is above)",
             command, code);
    kn_error err;
    g_settled = 1;
    if (!kn_mpi_exchange(&mr, code != 0, why, &err))
        return code;
    if (g_rank == 0 && code == 0) /* a failing rank 0 has said why already */
        fprintf(stderr, "kenyon %s: %s\n", command, err.msg);
    return code ? code : 1;
}
