/* device_cuda.c: finding and choosing this rank's GPU (backend.h). */
#include "runtime/compute/cuda.h"

#include "runtime/base/error.h"
#include "runtime/compute/cuda/check.h"

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

int pg_cuda_bind(const char *busid, int local_rank, char *desc, size_t n)
{
    char why[160] = "";
    int count = pg_cuda_device_count(why, sizeof why);
    if (count == 0) return pg_error(PG_EDEVICE, "device cuda: %s", why);
    int dev = local_rank % count;
    if (busid && *busid) {
        if (cudaDeviceGetByPCIBusId(&dev, busid) != cudaSuccess) {
            (void)cudaGetLastError();
            return pg_error(PG_EDEVICE,
                            "device cuda: the placement chose the GPU at PCI bus id %s, but "
                            "CUDA has no device there (CUDA_VISIBLE_DEVICES?)",
                            busid);
        }
    }
    PG_CUDA_TRY(cudaSetDevice(dev));
    struct cudaDeviceProp prop;
    PG_CUDA_TRY(cudaGetDeviceProperties(&prop, dev));
    char bus[32];
    PG_CUDA_TRY(cudaDeviceGetPCIBusId(bus, (int)sizeof bus, dev));
    snprintf(desc, n, "GPU %d (%s, %s, %s)", dev, prop.name, bus,
             busid && *busid ? "from the placement plan" : "local rank");
    return 0;
}
