/* schedule_file.c: reading a user's schedule file (format: schedule.h,
 * pg_schedule_parse; docs/schedules.md). */
#include "runtime/schedule/schedule.h"

#include "runtime/base/error.h"
#include "runtime/base/files.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int pg_schedule_load(pg_schedule **out, const char *path, int nmb)
{
    *out = NULL;
    char *buf;
    size_t len;
    int rc = pg_read_file(path, "schedule file", &buf, &len);
    if (rc) return rc;
    rc = pg_schedule_parse(out, buf, path, nmb);
    free(buf);
    return rc;
}
