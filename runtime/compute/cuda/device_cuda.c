/* device_cuda.c: finding and binding this rank's GPU (cuda.h); the choice
 * itself is pg_device_choose (device.h), testable without a GPU. */
#include "runtime/compute/cuda.h"

#include "runtime/base/error.h"
#include "runtime/compute/cuda/check.h"
#include "runtime/compute/device.h"

#include <cuda_runtime_api.h>
#include <stdio.h>

int pg_cuda_device_count(char *why, size_t n)
{
    int count = 0;
    cudaError_t e = cudaGetDeviceCount(&count);
    if (e != cudaSuccess) {
        snprintf(why, n, "cudaGetDeviceCount: %s", cudaGetErrorString(e));
        (void)cudaGetLastError(); /* not sticky: clear it */
        return 0;
    }
    if (count == 0) snprintf(why, n, "cudaGetDeviceCount: no CUDA device");
    return count;
}

int pg_cuda_bind(const char *busid, int local_rank, char *desc, size_t n, char *note,
                 size_t note_n)
{
    char why[160] = "";
    int count = pg_cuda_device_count(why, sizeof why);
    if (count == 0) return pg_error(PG_EDEVICE, "device cuda: %s", why);
    int found = -1;
    if (busid && *busid && cudaDeviceGetByPCIBusId(&found, busid) != cudaSuccess) {
        (void)cudaGetLastError(); /* not sticky */
        found = -1;
    }
    int dev = pg_device_choose(busid, found, count, local_rank, note, note_n);
    if (dev < 0) return dev;
    PG_CUDA_TRY(cudaSetDevice(dev));
    struct cudaDeviceProp prop;
    PG_CUDA_TRY(cudaGetDeviceProperties(&prop, dev));
    char bus[32];
    PG_CUDA_TRY(cudaDeviceGetPCIBusId(bus, (int)sizeof bus, dev));
    snprintf(desc, n, "GPU %d (%s, %s, %s)", dev, prop.name, bus,
             !busid || !*busid ? "local rank"
             : found >= 0      ? "from the placement plan"
                               : "the only visible GPU");
    return 0;
}
