/* progress.h: rank 0's per-step output of `pipegrid train`.
 *
 * Two modes: "lines" prints the log line (step, loss, lr, gradient norm,
 * samples/s, step time, bubble, eta) every train.log_every steps, for logs and
 * pipes; "bar" keeps one redrawn line at the bottom of a terminal (a bar, the
 * step, loss, samples/s and ETA), and prints the log lines above it. */
#ifndef PG_CLI_PROGRESS_H
#define PG_CLI_PROGRESS_H

#include "runtime/engine/engine.h"

#include <stdio.h>

typedef struct pg_progress {
    FILE *f;
    int bar;          /* 1: bar mode */
    int start, total; /* steps done before this run, train.steps */
    double t0;        /* pg_now() at the start */
    double last_draw; /* when the bar was last drawn */
    int drawn;        /* the bar is on screen */
} pg_progress;

/* mode: "auto" (bar when f is a terminal), "bar" or "lines". Returns 0 or
 * PG_EINVAL for another mode. */
int pg_progress_init(pg_progress *p, FILE *f, const char *mode, int start, int total);

/* After step s: the log line when `log_line`, then the bar. */
void pg_progress_step(pg_progress *p, const pg_step_stats *s, int log_line);

/* Clear the bar before printing something else (it is redrawn on the next step). */
void pg_progress_clear(pg_progress *p);

/* Time left, "42s", "3m07s" or "2h05m". */
void pg_format_eta(double seconds, char *buf, size_t n);

#endif
