/* halt.h: stopping a training run cleanly when asked to (preemption, time
 * limits, scontrol requeue).
 *
 * A stop is requested by SIGTERM or the halt signal (runtime.halt_signal,
 * SIGUSR1 unless configured) reaching any rank (the handlers only set a
 * flag), or by a halt file appearing (any rank that sees it counts; the batch
 * script in jobs/ touches it when Slurm warns the job). Nothing happens at
 * the moment of the request: the step in progress runs to its end, and at
 * that step boundary every rank calls pg_halt_agree(), one small allreduce,
 * so all ranks stop after the same step, write one checkpoint together and
 * exit with PG_EXIT_HALTED. The checkpoint is committed at most one step
 * plus one checkpoint save after the request.
 *
 * Repeated signals change nothing (at a time limit a rank gets SIGTERM from
 * Slurm and maybe again from a launcher): what ends a rank that does not stop
 * in time is the SIGKILL Slurm sends KillWait seconds later. */
#ifndef PG_HALT_H
#define PG_HALT_H

#include <mpi.h>
#include <stddef.h>

/* Install the handlers of SIGTERM and `halt_signal` (USR1, USR2, INT, HUP or
 * QUIT, with or without the SIG prefix; NULL or "" for USR1) and remember
 * `halt_file` (NULL or "" for none). Call it early (right after MPI_Init)
 * and again once both are known from the configuration; a pending request is
 * kept, and a halt signal replaced by another gets its default action back.
 * Returns 0, or PG_EINVAL naming runtime.halt_signal when the name is not one
 * of those. */
int pg_halt_install(const char *halt_file, const char *halt_signal);

/* Collective over `world` at a step boundary: 1 when any rank has a request
 * (then `why` holds "SIGTERM", the halt signal's name such as "SIGUSR1", or
 * "halt file PATH" on every rank; the first named outranks the others),
 * 0 when none, or a negative pg_err when the agreement timed out. */
int pg_halt_agree(MPI_Comm world, double timeout, char *why, size_t n);

#endif
