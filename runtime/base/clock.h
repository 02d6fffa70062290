/* clock.h: the one clock of pipegrid.
 *
 * pg_now() is CLOCK_MONOTONIC in seconds: step times, waits, traces and the
 * watchdog all read it, so their times compare. */
#ifndef PG_CLOCK_H
#define PG_CLOCK_H

/* Monotonic clock in seconds. */
double pg_now(void);

#endif
