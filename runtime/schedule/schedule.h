/* schedule.h: a pipeline schedule as data.
 *
 * A schedule is, for each pipeline rank, the ordered list of actions it will
 * execute in one training step. Actions name a model stage (0..nstages-1;
 * with v model chunks per rank nstages = v*pp) and a microbatch, and print as
 * in torch.distributed.pipelining: "2F0" is stage 2's forward of microbatch 0.
 *
 *   F  forward                     B  full backward (= I then W)
 *   I  backward, input gradient    W  backward, weight gradient
 *   SEND_F  send stage s's output to stage s+1   RECV_F  receive stage s's input
 *   SEND_B  send stage s's input gradient to s-1 RECV_B  receive stage s's output grad
 *   REDUCE  allreduce stage s's gradients over its replicas
 *   OPTIM   clip and apply the optimizer (once per rank, last)
 *
 * Generators produce the compute actions; pg_schedule_add_comms() inserts the
 * communication; pg_schedule_validate() checks the result and dry-runs its
 * communication before any rank sends a message. */
#ifndef PG_SCHEDULE_H
#define PG_SCHEDULE_H

#include <stdio.h>

typedef enum pg_act_kind {
    PG_F,
    PG_B,
    PG_I,
    PG_W,
    PG_SEND_F,
    PG_RECV_F,
    PG_SEND_B,
    PG_RECV_B,
    PG_REDUCE,
    PG_OPTIM,
    PG_ACT_KINDS
} pg_act_kind;

typedef struct pg_action {
    int kind;  /* pg_act_kind */
    int stage; /* model stage; -1 for OPTIM */
    int mb;    /* microbatch; -1 for REDUCE and OPTIM */
} pg_action;

typedef struct pg_schedule {
    char name[32];
    int pp;          /* pipeline ranks */
    int nstages;     /* model stages */
    int nmb;         /* microbatches per step */
    int *stage_rank; /* [nstages] pipeline rank owning each stage */
    int *len, *cap;  /* [pp] */
    pg_action **acts;/* [pp][len] */
} pg_schedule;

/* Names of the built-in generators, NULL-terminated. */
extern const char *const pg_schedule_names[];

/* Largest schedules accepted (pg_schedule_new): pipeline ranks, and stages x
 * microbatches. Building, validating and simulating grow faster than
 * linearly; at these limits each takes seconds (docs/schedules.md). */
#define PG_SCHEDULE_MAX_PP 256
#define PG_SCHEDULE_MAX_CELLS (1 << 17)

/* An empty schedule; stage_rank filled with the owner of each stage; fails
 * beyond the limits above. */
int pg_schedule_new(pg_schedule **s, const char *name, int pp, int nstages, int nmb);
void pg_schedule_free(pg_schedule *s);
int pg_schedule_push(pg_schedule *s, int rank, pg_action a);

/* Generate a built-in schedule (pg_schedule_names), compute actions and
 * comms, validated. `v` is the number of model chunks per rank (stages =
 * v*pp); 0 picks the schedule's own (1; 2 for interleaved and zbv). */
int pg_schedule_build(pg_schedule **s, const char *name, int pp, int v, int nmb);

/* Insert SEND/RECV around compute actions whose neighbour stage lives on
 * another rank, REDUCE after each stage's last backward, OPTIM at the end. */
int pg_schedule_add_comms(pg_schedule *s);

/* Mark rank's actions (arrays of len[rank]): last_use[i] = 1 when no later
 * action touches action i's (stage, microbatch), so its slot can be freed
 * after it; final_grad[i] = 1 when action i is the last B or W of its stage,
 * after which the stage's weight gradients are final. */
void pg_schedule_marks(const pg_schedule *s, int rank, unsigned char *last_use,
                       unsigned char *final_grad);

/* Check structure (counts, ownership, ordering, matched sends and receives)
 * and dry-run the communication; on failure the message names the rank, the
 * action and the reason. */
int pg_schedule_validate(const pg_schedule *s);

/* "2F0", "1SEND_F3", "0REDUCE", "OPTIM" */
const char *pg_action_str(pg_action a, char buf[32]);
int pg_action_parse(const char *text, pg_action *a);

/* One line per rank: "rank 0: 0F0 0F1 ..." (compute only when !all). */
void pg_schedule_print_lists(const pg_schedule *s, FILE *f, int all);

/* Parse a schedule file: one line per rank, actions separated by spaces,
 * '#' comments. Compute-only files get their communication added. */
int pg_schedule_parse(pg_schedule **s, const char *text, const char *origin, int nmb);

/* Zero-bubble generators (schedule_zb.c), called by pg_schedule_build on an
 * empty schedule: compute actions only. */
int pg_gen_zbh1(pg_schedule *s);
int pg_gen_zbv(pg_schedule *s);

/* pg_schedule_parse of a file's text; errors name the file. */
int pg_schedule_load(pg_schedule **s, const char *path, int nmb);

/* Is the action a compute action (F, B, I, W)? */
static inline int pg_act_is_compute(int kind) { return kind <= PG_W; }

#endif
