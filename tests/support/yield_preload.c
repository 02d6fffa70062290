/* yield_preload.c: LD_PRELOAD shim for oversubscribed MPI tests.
 *
 * Debian's MPICH (ch4:ucx) spins in ucp_worker_progress() inside blocking MPI
 * calls and never gives the CPU away; with more ranks than cores, a blocking
 * collective inside a library (HDF5's MPI-IO, MPI_Comm_split) then takes
 * milliseconds per call. This shim wraps ucp_worker_progress and yields after
 * a run of idle polls. pipegrid's own waits yield by themselves. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <sched.h>

typedef unsigned (*progress_fn)(void *worker);

unsigned ucp_worker_progress(void *worker)
{
    static progress_fn real;
    static __thread unsigned idle;
    if (!real) real = (progress_fn)dlsym(RTLD_NEXT, "ucp_worker_progress");
    unsigned n = real(worker);
    if (n) idle = 0;
    else if (++idle >= 16) {
        idle = 0;
        sched_yield();
    }
    return n;
}
