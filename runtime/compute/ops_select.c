/* ops_select.c: choosing the compute backend (runtime.device). */
#include "runtime/base/error.h"
#include "runtime/compute/device.h"
#include "runtime/compute/ops.h"
#ifdef PG_HAVE_CUDA
#include "runtime/compute/cuda.h"
#endif

#include <stdio.h>
#include <string.h>

const pg_ops *pg_ops_select(pg_device_kind device, const char **note)
{
    static char line[256];
    char why[160] = "";
    *note = NULL;
    if (device == PG_DEVICE_CPU) return pg_ops_cpu();
    int gpus = pg_device_count(why, sizeof why);
#ifdef PG_HAVE_CUDA
    if (gpus > 0) return pg_ops_cuda();
#endif
    if (device == PG_DEVICE_CUDA) {
        pg_error(PG_EDEVICE, "runtime.device=cuda: no GPU to run on (%s)", why);
        return NULL;
    }
    (void)gpus;
    snprintf(line, sizeof line, "device auto: no GPU (%s), running on the CPU", why);
    *note = line;
    return pg_ops_cpu();
}
