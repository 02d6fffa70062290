/* check.h: error checks for CUDA, cuBLAS and NCCL calls.
 *
 * Every call into the CUDA runtime, cuBLAS or NCCL goes through one of these
 * macros, which name the call, the file and the line in the message:
 *   "cudaMalloc(&p, bytes) failed at runtime/compute/cuda/ops_cuda.cu:42: out of memory"
 *
 *   PG_CUDA_TRY(call), PG_CUBLAS_TRY(call), PG_NCCL_TRY(call)
 *       in functions returning int: on failure record the message (pg_error)
 *       and return PG_EDEVICE, following runtime/error.h.
 *   PG_CUDA_CHECK(call), PG_CUBLAS_CHECK(call), PG_NCCL_CHECK(call)
 *       in the void entries of the compute table (ops.h), which cannot return
 *       an error: a failure there leaves the device unusable, so the message is
 *       printed with the rank and the job ends (MPI_Abort, or abort() outside
 *       MPI) instead of leaving other ranks waiting.
 *   PG_KERNEL_CHECK()   after a kernel launch: a launch error, as PG_CUDA_CHECK.
 *
 * The status is passed as an int so that this header needs neither cublas_v2.h
 * nor nccl.h. */
#ifndef PG_CUDA_CHECK_H
#define PG_CUDA_CHECK_H

#ifdef __cplusplus
extern "C" {
#endif

/* 0 when status is success; otherwise records "CALL failed at FILE:LINE: why"
 * and returns PG_EDEVICE. */
int pg_cuda_status(int status, const char *call, const char *file, int line);
int pg_cublas_status(int status, const char *call, const char *file, int line);
int pg_nccl_status(int status, const char *call, const char *file, int line);

/* Print the recorded message with this rank and end the job. */
void pg_device_fatal(void) __attribute__((noreturn));

#ifdef __cplusplus
}
#endif

#define PG_DEVICE_TRY_(fn, x)                                  \
    do {                                                       \
        int pg_rc_ = fn((int)(x), #x, __FILE__, __LINE__);     \
        if (pg_rc_) return pg_rc_;                             \
    } while (0)
#define PG_DEVICE_CHECK_(fn, x)                                       \
    do {                                                              \
        if (fn((int)(x), #x, __FILE__, __LINE__)) pg_device_fatal();  \
    } while (0)

#define PG_CUDA_TRY(x) PG_DEVICE_TRY_(pg_cuda_status, x)
#define PG_CUBLAS_TRY(x) PG_DEVICE_TRY_(pg_cublas_status, x)
#define PG_NCCL_TRY(x) PG_DEVICE_TRY_(pg_nccl_status, x)
#define PG_CUDA_CHECK(x) PG_DEVICE_CHECK_(pg_cuda_status, x)
#define PG_CUBLAS_CHECK(x) PG_DEVICE_CHECK_(pg_cublas_status, x)
#define PG_NCCL_CHECK(x) PG_DEVICE_CHECK_(pg_nccl_status, x)
#define PG_KERNEL_CHECK() PG_CUDA_CHECK(cudaGetLastError())

#endif
