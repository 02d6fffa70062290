/* checkpoint.h: HDF5 checkpoints of a training run (docs/checkpoint-format.md).
 *
 * One checkpoint is one HDF5 file per step, DIR/step_NNNNNNNN.h5, holding
 * every parameter and optimizer-state tensor as its own global dataset
 * ("/params/layers.<i>.<name>", "/optim/exp_avg/...") whatever grid wrote it,
 * with a CRC-32 attribute on each, and the step, configuration, grid,
 * schedule, seeds and data position as attributes of "/". DIR/latest is a
 * one-line text file naming the newest committed checkpoint.
 *
 * Saving is collective over the run's world: rank 0 creates the file's HDF5
 * structure (serial HDF5), every rank writes its rows into it (the dp
 * replicas of a stage each write 1/dp of every tensor of that stage) and
 * syncs them, every step ending in an agreement of all ranks (ckpt_save.c).
 * The file is written as step_NNNNNNNN.h5.tmp, renamed once every rank's
 * rows are synced, the directory synced, and `latest` replaced (also by
 * write-temp-then-rename). A crash at any point leaves the previous
 * checkpoint and `latest` intact; a *.tmp file is never loaded. A failed
 * save (full disk, I/O error, NaN/Inf in the state) removes its file and
 * leaves `latest` as it was.
 *
 * Error convention for the collective calls here: every rank returns the same
 * code, and pg_errmsg() holds the explanation on every rank. */
#ifndef PG_CHECKPOINT_H
#define PG_CHECKPOINT_H

#include "runtime/engine/run.h"

#include <stddef.h>

#define PG_CKPT_FORMAT "pipegrid-checkpoint"
#define PG_CKPT_VERSION 2 /* 2: attrs_crc32 over the root attributes */

/* Write the current step's checkpoint of `r` into `dir` (created if needed),
 * commit it atomically, point DIR/latest at it and prune DIR to the newest
 * r->cfg.checkpoint.keep checkpoints (never the one the run resumed from).
 * Collective over r->grid->world; call it between steps. The step saved is
 * pg_engine_steps_done(r->engine). With checkpoint.async = 1 this returns
 * once the state is copied to host memory and a background thread writes
 * it; the next save (or pg_ckpt_finish) waits for that write first. */
int pg_ckpt_save(pg_run *r, const char *dir);

/* Wait for an asynchronous save still in flight and report its result
 * (collective). Returns 0 at once when there is none. Call before
 * pg_run_free. */
int pg_ckpt_finish(pg_run *r);

/* What pg_ckpt_maybe_save did, for the caller to report. */
typedef struct pg_ckpt_saved {
    int saved;      /* 1: this step was saved (or its background write started) */
    int background; /* 1: writing on a thread; seconds is 0 */
    int step;
    char path[PG_STR_LONG + 32];
    double bytes, seconds, stall; /* tensor bytes; save time; time the step stalled */
    int earlier_rc;     /* the previous background save failed (agreed): its code */
    char earlier[1024]; /* and its message */
} pg_ckpt_saved;

/* Save when the configuration asks for it after the step just taken:
 * checkpoint.every > 0 and (step % every == 0 or step == train.steps).
 * Fills *saved (saved = 0 when no save was due). When the previous
 * background save failed, that is the error with checkpoint.on_error=stop;
 * with continue it is reported in saved->earlier_rc/earlier and this step is
 * saved all the same. Prints nothing. Collective; errors are agreed. */
int pg_ckpt_maybe_save(pg_run *r, pg_ckpt_saved *saved);

/* Check that checkpoints can be written to `dir`: create it if needed and
 * create and remove a probe file there. Local (call on one rank and agree);
 * the message names the directory and the cause. */
int pg_ckpt_check_dir(const char *dir);

/* Resolve a spec to one checkpoint file: "latest" (DIR/latest with DIR =
 * checkpoint.dir), a directory (its `latest`) or a file. "auto" is "latest"
 * when DIR/latest exists and otherwise resolves to "". Local. */
int pg_ckpt_resolve(const char *spec, const char *dir, char *path, size_t n);

/* The checkpoints a resume spec names, best first (malloc'd paths; free
 * with pg_ckpt_candidates_free): a file names itself; "latest" and "auto"
 * (DIR = checkpoint.dir) and a directory name the file DIR/latest names and
 * then every older DIR/step_NNNNNNNN.h5, newest first (all of them, newest
 * first, when DIR/latest is missing). An unreadable `latest` (malformed,
 * naming a missing file) adds its reason to *note (may be NULL; malloc'd)
 * and the step files follow. No candidate: "auto" gives *n = 0 (start
 * fresh); the others fail with the reason. Local, no communication. */
int pg_ckpt_candidates(const char *spec, const char *dir, char ***paths, int *n, char **note);
void pg_ckpt_candidates_free(char **paths, int n);

/* Load checkpoint `path` into the freshly built run `r`, whatever pp, dp,
 * schedule and microbatch count r has: parameters and optimizer state of
 * this rank's stages, the optimizer's update count and the step (which
 * positions the data stream and learning rate). Fails (one line naming the
 * file and the dataset or config key, with both values) when the model
 * configuration, optimizer or global batch differ from the checkpoint's, a
 * tensor is missing, has another shape or dtype, or its CRC-32 does not
 * match, a tensor holds NaN/Inf, or the file holds a dataset the
 * configuration does not imply. On failure the run's tensors are undefined
 * (load another checkpoint or discard the run). Remembers `path` so that
 * pruning never deletes it. Collective. */
int pg_ckpt_load(pg_run *r, const char *path);

/* Agree on rc over `comm` (collective): every rank returns the code of the
 * lowest failing rank (0 if none) and gets that rank's message as its own
 * pg_errmsg(). */
int pg_ckpt_agree(MPI_Comm comm, int rc);

/* Free a run's checkpoint state (pg_run_free calls it). An asynchronous
 * save still in flight is waited for first. */
void pg_ckpt_free(struct pg_ckpt *c);

/* Verify a checkpoint file without MPI: root attributes, every dataset the
 * recorded configuration implies (present, float32, right shape, CRC-32
 * matches) and no unexpected ones. Prints one line per problem (naming the
 * file and dataset) to `out` (may be NULL), and a summary. Every tensor is
 * also checked for NaN/Inf, the root attributes against their checksum and
 * each other (as pg_ckpt_load does). Returns 0 when all
 * is well, else a pg_err with the first problem as the message. */
int pg_ckpt_verify(const char *path, FILE *out);

/* Print step, grid and schedule at save, seeds, data position and a table of
 * every tensor (name, shape, dtype, bytes) to `out`. No MPI. */
int pg_ckpt_inspect(const char *path, FILE *out);

#endif
