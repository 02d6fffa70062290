/* schedule_file.c: reading a user's schedule file (format: schedule.h,
 * pg_schedule_parse; docs/schedules.md). */
#include "runtime/schedule/schedule.h"

#include "runtime/base/error.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int pg_schedule_load(pg_schedule **out, const char *path, int nmb)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return pg_error(PG_EIO, "cannot open schedule file '%s': %s", path, strerror(errno));
    size_t cap = 4096, len = 0, got;
    char *buf = malloc(cap);
    while (buf && (got = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += got;
        if (len + 1 == cap) {
            char *grown = realloc(buf, cap *= 2);
            if (!grown) free(buf);
            buf = grown;
        }
    }
    fclose(f);
    if (!buf) return pg_error(PG_ENOMEM, "out of memory reading '%s'", path);
    buf[len] = '\0';
    int rc = pg_schedule_parse(out, buf, path, nmb);
    free(buf);
    return rc;
}
