/* Waiting for MPI messages without holding a core.
 *
 * Open MPI's blocking calls (MPI_Recv, MPI_Probe, MPI_Wait, MPI_Send of a large message) poll
 * for progress in a loop: a rank that waits for minutes (a sweep's dispatcher, a worker without a
 * job, a rank that sits out a method rank 0 runs alone) burns a whole core the while, a core the
 * working ranks of an oversubscribed node need. These helpers poll once with MPI_Iprobe or
 * MPI_Test and, while nothing has arrived, sleep between polls with nanosleep: first 50 us, then
 * twice as long each time, up to 2 ms. The cost is latency: a message is seen at most 2 ms
 * (KN_MPI_IDLE_MAX_NS) after it arrived, once the wait has lasted a few milliseconds; an idle rank
 * wakes at most 500 times a second, a few microseconds of CPU each.
 *
 * The call pattern for any MPI code of the CLI: kn_mpi_idle_recv where a blocking MPI_Recv
 * would wait long, kn_mpi_idle_send for a send that may wait for its receiver. Only the thread
 * that initialised MPI calls them (MPI_THREAD_FUNNELED). Every function returns MPI_SUCCESS or
 * the MPI error code of the failing call. */
#ifndef KENYON_MPI_WAIT_H
#define KENYON_MPI_WAIT_H

#include <mpi.h>

#define KN_MPI_IDLE_FIRST_NS 50000L  /* the first sleep between two polls */
#define KN_MPI_IDLE_MAX_NS 2000000L  /* the longest: the latency a long wait costs */

/* Waits until a message from source (or MPI_ANY_SOURCE) with tag (or MPI_ANY_TAG) can be
 * received on comm; *status (may be MPI_STATUS_IGNORE) says which, as MPI_Probe would. */
int kn_mpi_idle_probe(int source, int tag, MPI_Comm comm, MPI_Status *status);
/* Waits until request completes, as MPI_Wait would. */
int kn_mpi_idle_wait(MPI_Request *request, MPI_Status *status);
/* MPI_Recv that waits with kn_mpi_idle_probe: receives exactly the message that arrived. */
int kn_mpi_idle_recv(void *buf, int count, MPI_Datatype type, int source, int tag,
                     MPI_Comm comm, MPI_Status *status);
/* MPI_Send as MPI_Isend and kn_mpi_idle_wait. */
int kn_mpi_idle_send(const void *buf, int count, MPI_Datatype type, int dest, int tag,
                     MPI_Comm comm);

#endif
