/* Polling MPI with a sleeping back-off instead of Open MPI's spinning blocking calls
 * (mpi_wait.h says why and what it costs). */
#include <errno.h>
#include <time.h>

#include "mpi/mpi_wait.h"

/* Sleeps *ns nanoseconds, then doubles *ns up to KN_MPI_IDLE_MAX_NS. */
static void back_off(long *ns)
{
    struct timespec t = {0, *ns}, left;
    while (nanosleep(&t, &left) != 0 && errno == EINTR)
        t = left;
    *ns = *ns * 2 > KN_MPI_IDLE_MAX_NS ? KN_MPI_IDLE_MAX_NS : *ns * 2;
}

int kn_mpi_idle_probe(int source, int tag, MPI_Comm comm, MPI_Status *status)
{
    long ns = KN_MPI_IDLE_FIRST_NS;
    for (;;) {
        int flag = 0;
        int rc = MPI_Iprobe(source, tag, comm, &flag, status);
        if (rc != MPI_SUCCESS || flag)
            return rc;
        back_off(&ns);
    }
}

int kn_mpi_idle_wait(MPI_Request *request, MPI_Status *status)
{
    long ns = KN_MPI_IDLE_FIRST_NS;
    for (;;) {
        int flag = 0;
        int rc = MPI_Test(request, &flag, status);
        if (rc != MPI_SUCCESS || flag)
            return rc;
        back_off(&ns);
    }
}

int kn_mpi_idle_recv(void *buf, int count, MPI_Datatype type, int source, int tag,
                     MPI_Comm comm, MPI_Status *status)
{
    MPI_Status probed;
    int rc = kn_mpi_idle_probe(source, tag, comm, &probed);
    if (rc != MPI_SUCCESS)
        return rc;
    /* The probed message's own source and tag: with wildcards, a message that arrived since
     * could otherwise be received instead (only this thread receives). */
    return MPI_Recv(buf, count, type, probed.MPI_SOURCE, probed.MPI_TAG, comm, status);
}

int kn_mpi_idle_send(const void *buf, int count, MPI_Datatype type, int dest, int tag,
                     MPI_Comm comm)
{
    MPI_Request request;
    int rc = MPI_Isend(buf, count, type, dest, tag, comm, &request);
    if (rc != MPI_SUCCESS)
        return rc;
    return kn_mpi_idle_wait(&request, MPI_STATUS_IGNORE);
}
