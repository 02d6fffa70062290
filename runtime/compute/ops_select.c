/* ops_select.c: choosing a compute backend by name. */
#include "runtime/base/error.h"
#include "runtime/compute/device.h"
#include "runtime/compute/ops.h"
#ifdef PG_HAVE_CUDA
#include "runtime/compute/cuda.h"
#endif

#include <stdio.h>
#include <string.h>

const pg_ops *pg_ops_select(const char *device, const char **note)
{
    static char line[256];
    char why[160] = "";
    *note = NULL;
    if (!strcmp(device, "cpu")) return pg_ops_cpu();
    if (strcmp(device, "auto") && strcmp(device, "cuda")) {
        pg_error(PG_EINVAL, "runtime.device: expected auto, cpu or cuda, got '%s'", device);
        return NULL;
    }
    int gpus = pg_device_count(why, sizeof why);
#ifdef PG_HAVE_CUDA
    if (gpus > 0) return pg_ops_cuda();
#endif
    if (!strcmp(device, "cuda")) {
        pg_error(PG_EDEVICE, "runtime.device=cuda: no GPU to run on (%s)", why);
        return NULL;
    }
    (void)gpus;
    snprintf(line, sizeof line, "device auto: no GPU (%s), running on the CPU", why);
    *note = line;
    return pg_ops_cpu();
}
