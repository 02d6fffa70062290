/* cuda.h: what the CUDA backend (runtime/compute/cuda/) offers the rest of
 * pipegrid, in C. Only built with PG_HAVE_CUDA.
 *
 * The backend keeps one compute stream and one cuBLAS handle per process,
 * created on first use on the device chosen by pg_cuda_bind (device 0 when
 * nothing was chosen). */
#ifndef PG_COMPUTE_CUDA_H
#define PG_COMPUTE_CUDA_H

#include "runtime/compute/ops.h"

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The compute table of ops.h on the current device. */
const pg_ops *pg_ops_cuda(void);

/* Matrix-product precision of the backend (runtime/compute/device.h, pg_precision):
 * 0 fp32, 1 tf32 (tensor cores, fp32 storage), 2 bf16 (tensor cores with
 * bf16 inputs, fp32 accumulation and storage: fp32 master weights). */
void pg_cuda_set_precision(int precision);

/* runtime.kernels: 1 fused (split column reductions, sorted embedding
 * backward), 0 reference (the plain kernels they replace). Default 1. */
void pg_cuda_set_kernels(int fused);

/* The compute stream, as a cudaStream_t; every op runs on it. */
void *pg_cuda_stream(void);

/* GPUs visible to this process; 0 with a reason in why (no driver, no device). */
int pg_cuda_device_count(char *why, size_t n);

/* Make this process use its GPU, chosen by pg_device_choose (device.h) from
 * the PCI bus id `busid` ("0000:3b:00.0"; NULL for none), local_rank and the
 * visible GPUs. desc gets "GPU i (name, bus id, how chosen)", note the line
 * of pg_device_choose. Returns 0 or PG_EDEVICE. Call before the first
 * allocation. */
int pg_cuda_bind(const char *busid, int local_rank, char *desc, size_t n, char *note,
                 size_t note_n);

#ifdef __cplusplus
}
#endif

#endif
