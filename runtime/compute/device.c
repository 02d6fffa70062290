/* device.c: device choice and precision (device.h). The CUDA parts live in
 * runtime/cuda/ and exist only in builds with PG_HAVE_CUDA. */
#include "runtime/compute/device.h"

#include "runtime/base/error.h"
#ifdef PG_HAVE_CUDA
#include "runtime/compute/cuda.h"
#endif

#include <stdio.h>
#include <string.h>

int pg_device_count(char *why, size_t n)
{
#ifdef PG_HAVE_CUDA
    return pg_cuda_device_count(why, n);
#else
    snprintf(why, n, "this build has no CUDA backend");
    return 0;
#endif
}

int pg_device_choose(const char *busid, int found, int count, int local_rank, char *note,
                     size_t note_n)
{
    note[0] = '\0';
    if (!busid || !*busid) return local_rank % count;
    if (found >= 0) return found;
    if (count == 1) {
        snprintf(note, note_n,
                 "device cuda: the placement plan's GPU (PCI bus id %s) is not visible to CUDA "
                 "(a VM or CUDA_VISIBLE_DEVICES?): using the one GPU that is",
                 busid);
        return 0;
    }
    return pg_error(PG_EDEVICE,
                    "device cuda: the placement chose the GPU at PCI bus id %s, but CUDA has no "
                    "device there, and of the %d it sees none can be told to be it "
                    "(CUDA_VISIBLE_DEVICES?)",
                    busid, count);
}

int pg_device_bind(const pg_ops *ops, MPI_Comm world, const char *busid, char *desc, size_t n,
                   char *note, size_t note_n)
{
    desc[0] = '\0';
    note[0] = '\0';
    if (strcmp(ops->name, "cuda")) return 0;
#ifdef PG_HAVE_CUDA
    MPI_Comm local;
    int lrank = 0;
    MPI_Comm_split_type(world, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &local);
    MPI_Comm_rank(local, &lrank);
    MPI_Comm_free(&local);
    return pg_cuda_bind(busid, lrank, desc, n, note, note_n);
#else
    (void)world, (void)busid, (void)n, (void)note_n;
    return pg_error(PG_EDEVICE, "device cuda: this build has no CUDA backend");
#endif
}

void pg_device_kernels(const pg_ops *ops, int fused)
{
#ifdef PG_HAVE_CUDA
    if (!strcmp(ops->name, "cuda")) pg_cuda_set_kernels(fused);
#else
    (void)ops, (void)fused;
#endif
}

void pg_device_precision(const pg_ops *ops, pg_precision p, const char **note)
{
    *note = NULL;
    if (strcmp(ops->name, "cuda")) {
        if (p != PG_PREC_FP32) *note = "runtime.precision: the CPU backend computes in fp32";
        return;
    }
#ifdef PG_HAVE_CUDA
    pg_cuda_set_precision(p);
#endif
}
