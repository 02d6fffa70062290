/* device.h: which device a rank computes on, and at which precision.
 *
 *   runtime.device (--device)     cpu | cuda | auto: auto takes CUDA when this
 *                                  build has it and a GPU is visible, else the
 *                                  CPU, saying so in one line
 *   runtime.precision (--precision) fp32 | tf32 | bf16: of the matrix products
 *                                  of the CUDA backend (docs/gpu.md states the
 *                                  tolerances); the CPU computes in fp32
 * pg_ops_select (ops.h) picks the backend; pg_device_bind then chooses one GPU
 * per rank. */
#ifndef PG_DEVICE_H
#define PG_DEVICE_H

#include "runtime/compute/ops.h"

#include <mpi.h>
#include <stddef.h>

typedef enum pg_precision { PG_PREC_FP32, PG_PREC_TF32, PG_PREC_BF16 } pg_precision;

/* GPUs visible to this process (0 in a CPU-only build); why gets the reason
 * when there are none. */
int pg_device_count(char *why, size_t n);

/* Choose this rank's GPU when ops is the CUDA backend (nothing for the CPU):
 * the GPU with PCI bus id `busid` (the placement plan's, NULL for none), else
 * local rank (within the node, from `world`) modulo the GPU count. desc gets a
 * one-line description ("" for the CPU). 0 or PG_EDEVICE. */
int pg_device_bind(const pg_ops *ops, MPI_Comm world, const char *busid, char *desc, size_t n);

/* Set the precision by name on backend ops. *note gets a line when the name
 * has no effect (the CPU computes in fp32), else NULL. 0 or PG_EINVAL naming
 * runtime.precision. */
int pg_device_precision(const pg_ops *ops, const char *name, const char **note);

#endif
