/* ops_select.c: choosing a compute backend by name. */
#include "error.h"
#include "ops.h"

#include <string.h>

const pg_ops *pg_ops_select(const char *device, const char **note)
{
    *note = NULL;
    if (!strcmp(device, "cpu")) return pg_ops_cpu();
    if (!strcmp(device, "auto")) {
        *note = "device auto: this build has no CUDA backend, running on the CPU";
        return pg_ops_cpu();
    }
    pg_error(PG_EINVAL, "runtime.device: unknown or unavailable device '%s' (this build has: cpu)",
             device);
    return NULL;
}
