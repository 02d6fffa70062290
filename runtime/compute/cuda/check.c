/* check.c: the messages of check.h. */
#include "runtime/compute/cuda/check.h"

#include "runtime/base/error.h"

#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#include <mpi.h>
#include <nccl.h>
#include <stdio.h>
#include <stdlib.h>

int pg_cuda_status(int status, const char *call, const char *file, int line)
{
    if (status == cudaSuccess) return 0;
    return pg_error(PG_EDEVICE, "%s failed at %s:%d: %s (%s)", call, file, line,
                    cudaGetErrorString((cudaError_t)status), cudaGetErrorName((cudaError_t)status));
}

int pg_cublas_status(int status, const char *call, const char *file, int line)
{
    if (status == CUBLAS_STATUS_SUCCESS) return 0;
    return pg_error(PG_EDEVICE, "%s failed at %s:%d: %s", call, file, line,
                    cublasGetStatusString((cublasStatus_t)status));
}

int pg_nccl_status(int status, const char *call, const char *file, int line)
{
    if (status == ncclSuccess) return 0;
    const char *last = ncclGetLastError(NULL);
    return pg_error(PG_EDEVICE, "%s failed at %s:%d: %s%s%s", call, file, line,
                    ncclGetErrorString((ncclResult_t)status), last && *last ? ": " : "",
                    last ? last : "");
}

void pg_device_fatal(void)
{
    int init = 0, fin = 0, rank = -1;
    MPI_Initialized(&init);
    MPI_Finalized(&fin);
    if (init && !fin) MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    fprintf(stderr, "pipegrid: rank %d: fatal device error: %s\n", rank, pg_errmsg());
    fflush(stderr);
    if (init && !fin) MPI_Abort(MPI_COMM_WORLD, 1);
    abort();
}
