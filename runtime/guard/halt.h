/* halt.h: stopping a training run cleanly when asked to (preemption, time
 * limits).
 *
 * A stop is requested by SIGUSR1 or SIGTERM reaching any rank (the handlers
 * only set a flag), or by a halt file appearing (any rank that sees it counts;
 * the batch script in jobs/ touches it when Slurm warns the job). Nothing
 * happens at the moment of the request: at the next step boundary every rank
 * calls pg_halt_agree(), one small allreduce, so all ranks stop after the
 * same step, write one checkpoint together and exit with PG_EXIT_HALTED.
 *
 * Repeated signals change nothing (at a time limit a rank gets SIGTERM from
 * Slurm and again from srun): what ends a rank that does not stop in time is
 * the SIGKILL Slurm sends KillWait seconds later. */
#ifndef PG_HALT_H
#define PG_HALT_H

#include <mpi.h>
#include <stddef.h>

/* Install the SIGUSR1/SIGTERM handlers and remember `halt_file` (NULL or ""
 * for none). Call it early (right after MPI_Init) and again once the file is
 * known from the configuration; a pending request is kept. */
int pg_halt_install(const char *halt_file);

/* Collective over `world` at a step boundary: 1 when any rank has a request
 * (then `why` holds "SIGUSR1", "SIGTERM" or "halt file PATH" on every rank),
 * 0 when none, or a negative pg_err when the agreement timed out. */
int pg_halt_agree(MPI_Comm world, double timeout, char *why, size_t n);

#endif
