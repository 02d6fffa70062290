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

int pg_device_bind(const pg_ops *ops, MPI_Comm world, const char *busid, char *desc, size_t n)
{
    desc[0] = '\0';
    if (strcmp(ops->name, "cuda")) return 0;
#ifdef PG_HAVE_CUDA
    MPI_Comm local;
    int lrank = 0;
    MPI_Comm_split_type(world, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &local);
    MPI_Comm_rank(local, &lrank);
    MPI_Comm_free(&local);
    return pg_cuda_bind(busid, lrank, desc, n);
#else
    (void)world, (void)busid, (void)n;
    return pg_error(PG_EDEVICE, "device cuda: this build has no CUDA backend");
#endif
}

int pg_device_precision(const pg_ops *ops, const char *name, const char **note)
{
    static const char *names[] = {"fp32", "tf32", "bf16"};
    *note = NULL;
    int p = -1;
    for (int i = 0; i < 3; i++)
        if (!strcmp(name, names[i])) p = i;
    if (p < 0)
        return pg_error(PG_EINVAL, "runtime.precision: expected fp32, tf32 or bf16, got '%s'",
                        name);
    if (strcmp(ops->name, "cuda")) {
        if (p != PG_PREC_FP32) *note = "runtime.precision: the CPU backend computes in fp32";
        return 0;
    }
#ifdef PG_HAVE_CUDA
    pg_cuda_set_precision(p);
#endif
    return 0;
}
