/* benchrun.h: shared set-up of the in-process benches (overlap.c,
 * trace_overhead.c): a training run built from defaults plus "section.key=value"
 * overrides, and the machine line every bench prints. */
#ifndef PG_BENCHRUN_H
#define PG_BENCHRUN_H

#include "runtime/base/error.h"
#include "runtime/engine/run.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Build a run of `defaults` (NULL-terminated) then argv[1..] as overrides;
 * aborts the job with a message on error. */
static inline pg_run *bench_run(const char *const *defaults, int argc, char **argv, const char *who)
{
    pg_config cfg;
    int rc = pg_config_init(&cfg);
    for (int i = 0; defaults[i] && !rc; i++) rc = pg_config_set(&cfg, defaults[i]);
    for (int i = 1; i < argc && !rc; i++) rc = pg_config_set(&cfg, argv[i]);
    if (!rc) rc = pg_config_check(&cfg);
    pg_run *r = NULL;
    int reporter = 1;
    if (!rc) rc = pg_run_create(&r, &cfg, MPI_COMM_WORLD, &reporter);
    if (rc) {
        if (reporter) fprintf(stderr, "%s: error: %s\n", who, pg_errmsg());
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    return r;
}

/* One training step; aborts on error. */
static inline void bench_step(pg_run *r, pg_step_stats *s, const char *who)
{
    if (pg_engine_step(r->engine, s)) {
        fprintf(stderr, "%s: error: %s\n", who, pg_errmsg());
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
}

/* "host H, N cores, load average L1 L5 L15 ..." */
static inline void bench_machine(FILE *f, const char *who)
{
    char host[256] = "?", load[128] = "?";
    gethostname(host, sizeof host);
    FILE *l = fopen("/proc/loadavg", "r");
    if (l && fgets(load, sizeof load, l)) load[strcspn(load, "\n")] = 0;
    if (l) fclose(l);
    fprintf(f, "%s: host %s, %ld cores, load average %s\n", who, host,
            sysconf(_SC_NPROCESSORS_ONLN), load);
}

static int bench_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median of v[0, n) (sorts v). */
static inline double bench_median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, bench_cmp);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

#endif
