/* fault.h: faults injected on purpose, for the reliability tests.
 *
 * The environment variable PIPEGRID_FAULT plans one fault:
 *
 *   PIPEGRID_FAULT=KIND:rank=R,step=K,action=A[,mb=M]
 *
 *   KIND    hang  sleep forever at that point (the watchdog must end the job)
 *           kill  raise(SIGKILL) there (rank death)
 *           stop  raise(SIGSTOP) there: the whole process freezes, its
 *                 watchdog too (a frozen node); the other ranks' watchdogs
 *                 report what they wait on
 *           nan   write a NaN into that action's output: the loss (a forward
 *                 of the last stage), the output activations (any other
 *                 forward) or the first weight gradient (a backward)
 *           enospc, eio  the checkpoint writer's file operation at that
 *                 point fails with that errno (a full disk, an I/O error),
 *                 as a real failure would; checkpoint actions only
 *           term  raise(SIGTERM) there and go on (preemption reaching one
 *                 rank in the middle of a step; runtime/guard/halt.h)
 *   R       world rank
 *   K       training step, 1-based as logged
 *   A       forward | backward (B, I or W) | send | recv | allreduce (the
 *           gradient allreduce and the step-end statistics) | optimizer |
 *           checkpoint (halfway through writing the tensors) | halt (the
 *           step-boundary agreement); nan takes forward or backward only
 *   M       microbatch (default: the first matching action of the step)
 *
 * The fault fires once, at the first point that matches, after a line on
 * stderr ("pipegrid: fault injected: ..."). Points are the watchdog's calls
 * (watchdog.h) plus the checkpoint writer's. */
#ifndef PG_FAULT_H
#define PG_FAULT_H

#include "runtime/schedule/schedule.h"

/* A point where a fault can fire: a schedule action kind (pg_act_kind), or
 * PG_FAULT_PHASE(p) for a watchdog phase p (pg_phase, watchdog.h). */
#define PG_FAULT_PHASE(p) (PG_ACT_KINDS + (p))

/* Read PIPEGRID_FAULT for world rank `rank` (unset or empty: no fault) and
 * arm it, replacing any earlier plan.
 * Returns 0, or PG_EINVAL with a one-line message naming the variable and
 * what was expected. */
int pg_fault_init(int rank);

/* At `point` of step `step`, microbatch `mb` (-1: none): a planned hang or
 * kill that matches happens here (never returns); returns 1 when a planned
 * NaN matches (the caller writes it), ENOSPC or EIO when a planned I/O error
 * matches (the caller fails its file operation with that errno), else 0.
 * Safe from any thread. */
int pg_fault_hit(int point, int step, int mb);

#endif
