/* error.c: storage for the last error message (see error.h). */
#include "runtime/base/error.h"

#include <stdarg.h>
#include <stdio.h>

static _Thread_local char last_msg[1024];

int pg_error(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_msg, sizeof last_msg, fmt, ap);
    va_end(ap);
    return code;
}

const char *pg_errmsg(void) { return last_msg; }

