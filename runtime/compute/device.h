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
#include "runtime/config/config.h"

#include <mpi.h>
#include <stddef.h>

/* GPUs visible to this process (0 in a CPU-only build); why gets the reason
 * when there are none. */
int pg_device_count(char *why, size_t n);

/* Choose this rank's GPU when ops is the CUDA backend (nothing for the CPU),
 * by pg_device_choose: the GPU with PCI bus id `busid` (the placement plan's,
 * NULL for none), else local rank (within the node, from `world`) modulo the
 * GPU count. desc gets a one-line description ("" for the CPU); note gets one
 * line when the plan's GPU was not visible and the only visible one is used,
 * else "". 0 or PG_EDEVICE. */
int pg_device_bind(const pg_ops *ops, MPI_Comm world, const char *busid, char *desc, size_t n,
                   char *note, size_t note_n);

/* Which of the `count` (> 0) GPUs visible to CUDA a rank takes (no CUDA call:
 * the caller looks the bus id up). busid: the placement plan's PCI bus id for
 * this rank, NULL or "" when there is none; found: the CUDA device at that bus
 * id, or -1 when CUDA has none there (a VM that renumbers PCI, or
 * CUDA_VISIBLE_DEVICES). The rules:
 *   no bus id                      local_rank % count
 *   bus id found                   found
 *   not found, one GPU visible     0, and note gets one line saying so
 *   not found, several visible     PG_EDEVICE naming the bus id (which one is
 *                                  meant cannot be told)
 * note gets "" in the other cases. Returns the device index or PG_EDEVICE. */
int pg_device_choose(const char *busid, int found, int count, int local_rank, char *note,
                     size_t note_n);

/* Set the precision (runtime.precision, config.h) on backend ops. *note gets a
 * line when it has no effect (the CPU computes in fp32), else NULL. */
void pg_device_precision(const pg_ops *ops, pg_precision p, const char **note);

/* runtime.kernels on backend ops: fused = 1 (the default) or 0 (reference).
 * The layers read it from the model (pg_layer.reference); this sets the
 * backend's own choices (CUDA: split reductions, sorted embedding backward). */
void pg_device_kernels(const pg_ops *ops, int fused);

#endif
