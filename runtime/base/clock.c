/* clock.c: pg_now and pg_peak_rss_mb (clock.h). */
#include "runtime/base/clock.h"

#include <sys/resource.h>
#include <time.h>

double pg_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

double pg_peak_rss_mb(void)
{
    struct rusage ru;
    return getrusage(RUSAGE_SELF, &ru) ? 0.0 : (double)ru.ru_maxrss / 1024.0;
}
