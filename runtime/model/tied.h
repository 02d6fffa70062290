/* tied.h: keeping the copies of a tied tensor equal (Megatron's embedding
 * group).
 *
 * A GPT with tied embeddings holds the token embedding twice: the first
 * stage's embed.wte and the last stage's lmhead.weight (layer.h: pg_param
 * .tied). Both start from the same random stream; after the data-parallel
 * gradient allreduce, pg_tied_reduce() replaces each copy's gradient by the
 * sum over the copies, so both copies get the same update and stay bitwise
 * equal. When the two stages live on different ranks of one pipeline, the
 * ranks exchange their gradients (isend/irecv on the pipeline communicator)
 * and each computes mine + theirs: float addition is commutative, so both
 * get the same bits. When both live on this rank the sum is taken in place. */
#ifndef PG_TIED_H
#define PG_TIED_H

#include "collectives/comm.h"
#include "runtime/model/stage.h"

typedef struct pg_tied pg_tied;

/* Find the tied tensors among this rank's stages. pipe is the pipeline
 * communicator, peer the pipeline rank holding the other copy (ignored when
 * both copies are local or there are none here), tag a tag no other message
 * between the two uses. *t is NULL-safe to use when there is nothing tied. */
int pg_tied_create(pg_tied **t, pg_stage **stages, int nlocal, pg_comm *pipe, int peer, int tag);
void pg_tied_free(pg_tied *t);

/* Sum the copies' gradients (collective between the two owners). */
int pg_tied_reduce(pg_tied *t, double timeout);

/* Sum of squares of a stage's gradients counting a tied tensor once (the
 * lmhead copy is left out), for the global gradient norm. */
double pg_tied_stage_sumsq(const pg_stage *st);

#endif
