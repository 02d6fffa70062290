/* comm_select.c: the communication backend for a compute backend and the
 * runtime.comm key (comm.h). */
#include "collectives/comm.h"

#include "runtime/base/error.h"

#include <string.h>

int pg_comm_create(pg_comm **c, MPI_Comm m, const pg_ops *ops, pg_comm_kind kind, int p2p,
                   double timeout)
{
    *c = NULL;
    int device = strcmp(ops->name, "cpu") != 0;
    if (kind == PG_COMM_NCCL && !device)
        return pg_error(PG_EINVAL, "runtime.comm=nccl: NCCL needs runtime.device=cuda (this rank "
                                   "computes on the %s)",
                        ops->name);
    if (!device) return pg_comm_mpi_create(c, m);
    /* a group of one rank exchanges nothing: no NCCL communicator for it
     * (every dp=1 run's stage groups, every pp=1 run's pipeline) */
    int size;
    MPI_Comm_size(m, &size);
    if (size == 1) return pg_comm_staged_create(c, m, ops);
#ifdef PG_HAVE_CUDA
    if (kind == PG_COMM_NCCL || (kind == PG_COMM_AUTO && !p2p))
        return pg_comm_nccl_create(c, m, p2p, timeout);
#else
    (void)timeout;
#endif
    return pg_comm_staged_create(c, m, ops);
}
