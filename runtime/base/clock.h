/* clock.h: the one clock of pipegrid, and this process's peak memory.
 *
 * pg_now() is CLOCK_MONOTONIC in seconds: step times, waits, traces and the
 * watchdog all read it, so their times compare. pg_peak_rss_mb() is the
 * process's peak resident memory (getrusage), read by the step statistics
 * and the metrics file alike. */
#ifndef PG_CLOCK_H
#define PG_CLOCK_H

/* Monotonic clock in seconds. */
double pg_now(void);

/* Peak resident memory of this process in MiB (0 if it cannot be read). */
double pg_peak_rss_mb(void);

#endif
