#!/usr/bin/env bash
# pipegrid-run.sh: the body of every jobs/*.sbatch script. It runs inside a
# Slurm allocation (the .sbatch scripts exec it) and
#   1. makes the run directory and works only inside it;
#   2. derives the grid from the allocation (SLURM_NTASKS, SLURM_JOB_NUM_NODES,
#      SLURM_NTASKS_PER_NODE, SLURM_GPUS_ON_NODE): pp = nodes, dp = tasks / pp
#      unless PG_PP / PG_DP say otherwise;
#   3. launches `pipegrid train` with srun --mpi=pmi2 (or mpiexec) and resumes
#      from the run's latest checkpoint when there is one;
#   4. on SIGUSR1 (#SBATCH --signal=B:USR1@N) or SIGTERM (time limit,
#      scancel) touches the run's halt file: all ranks stop after the same
#      step, write a checkpoint and exit 75;
#   5. on exit 75 requeues the job (scontrol requeue, then StartTime=now to
#      skip the requeue back-off), at most PG_MAX_REQUEUES times; any other
#      failure (a bad configuration, a crash) ends the job with its exit code
#      and is never requeued.
#
# Knobs (environment variables; sbatch passes the submitting shell's
# environment, or use sbatch --export=ALL,PG_PP=2,...):
#   PIPEGRID         pipegrid binary    (default: build/pipegrid of this checkout,
#                                        else pipegrid on PATH)
#   PG_RUN_DIR       run directory: checkpoints, halt file, metrics, logs
#                    (default: $SLURM_SUBMIT_DIR/runs/<job name>-<job id>;
#                     array tasks: <job name>-<array job id>_<task id>)
#   PG_CONFIG        INI file for --config (default: none, the built-in model)
#   PG_PP            pipeline stages    (default: the number of nodes)
#   PG_DP            replicas           (default: tasks / PG_PP)
#   PG_MICROBATCHES  microbatches per replica per step (default: the config's)
#   PG_SCHEDULE      gpipe | 1f1b | ... (default: the config's)
#   PG_STEPS         optimizer steps    (default: the config's)
#   PG_DEVICE        cpu | cuda         (default: cpu; the gpu-*.sbatch set cuda)
#   PG_LAUNCHER      srun | mpiexec     (default: srun)
#   PG_METRICS       1: ask for --metrics RUN_DIR/metrics.jsonl (default: 1 when
#                    this pipegrid has --metrics)
#   PG_MAX_REQUEUES  requeue at most this many times (default: 10)
#   PG_ARGS          more `pipegrid train` arguments, split on spaces
#                    (e.g. "--set optim.lr=1e-3 --set train.log_every=1")
# Exit status: pipegrid's (0 done, 1 error, 2 bad command line); 0 after a
# requeue. Everything it writes is under PG_RUN_DIR (Slurm itself writes the
# job's output file where sbatch --output says).
set -euo pipefail

log() { printf 'pipegrid-job: %s\n' "$*"; }
die() { printf 'pipegrid-job: error: %s\n' "$*" >&2; exit 1; }

[ -n "${SLURM_JOB_ID:-}" ] || die "not inside a Slurm job (submit a jobs/*.sbatch script with sbatch)"

# where this checkout is: the script's own directory, or the submitted .sbatch
# script's (Slurm runs a copy of the batch script from its spool directory)
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if [ -z "${PIPEGRID:-}" ]; then
  if [ -x "$here/../build/pipegrid" ]; then PIPEGRID="$here/../build/pipegrid"
  else PIPEGRID=$(command -v pipegrid) || die "no pipegrid binary: set PIPEGRID or build with tools/build.sh"
  fi
fi
[ -x "$PIPEGRID" ] || die "PIPEGRID=$PIPEGRID is not an executable"

# run directory: the same one for every restart of this job
if [ -n "${SLURM_ARRAY_JOB_ID:-}" ]; then job_tag="${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}"
else job_tag="$SLURM_JOB_ID"
fi
run_dir=${PG_RUN_DIR:-"${SLURM_SUBMIT_DIR:-$PWD}/runs/${SLURM_JOB_NAME:-pipegrid}-$job_tag"}
mkdir -p "$run_dir"
cd "$run_dir"
run_dir=$PWD

# grid and placement from the allocation
nodes=${SLURM_JOB_NUM_NODES:-1}
tasks=${SLURM_NTASKS:-1}
pp=${PG_PP:-$nodes}
[ "$pp" -ge 1 ] 2>/dev/null || die "PG_PP='$pp' is not a positive integer"
dp=${PG_DP:-$((tasks / pp))}
[ "$dp" -ge 1 ] 2>/dev/null || die "PG_DP='$dp' is not a positive integer (tasks=$tasks, pp=$pp)"
[ $((pp * dp)) -eq "$tasks" ] || die "pp=$pp x dp=$dp = $((pp * dp)) ranks, but the job has $tasks tasks"
restarts=${SLURM_RESTART_COUNT:-0}
max_requeues=${PG_MAX_REQUEUES:-10}
launcher=${PG_LAUNCHER:-srun}
log "job $SLURM_JOB_ID restart $restarts: $nodes node(s) [${SLURM_JOB_NODELIST:-?}]," \
    "$tasks task(s) (${SLURM_NTASKS_PER_NODE:-?} per node), GPUs per node ${SLURM_GPUS_ON_NODE:-0}," \
    "grid pp=$pp x dp=$dp, launcher $launcher, run directory $run_dir"

halt_file="$run_dir/HALT"
ckpt_dir="$run_dir/ckpt"
rm -f "$halt_file"

# resume from the run's latest checkpoint when there is one (auto)
args=(train --pp "$pp" --dp "$dp" --set "runtime.halt_file=$halt_file"
      --set "checkpoint.dir=$ckpt_dir" --resume auto)
[ -z "${PG_CONFIG:-}" ] || args+=(--config "$PG_CONFIG")
[ -z "${PG_MICROBATCHES:-}" ] || args+=(--microbatches "$PG_MICROBATCHES")
[ -z "${PG_SCHEDULE:-}" ] || args+=(--schedule "$PG_SCHEDULE")
[ -z "${PG_STEPS:-}" ] || args+=(--steps "$PG_STEPS")
[ -z "${PG_DEVICE:-}" ] || args+=(--set "runtime.device=$PG_DEVICE")
if [ -n "${PG_ARGS:-}" ]; then
  read -r -a extra <<<"$PG_ARGS"
  args+=("${extra[@]}")
fi
metrics=${PG_METRICS:-}
if [ -z "$metrics" ]; then
  metrics=0
  "$PIPEGRID" train --help 2>/dev/null | grep -qE '^ +--metrics ' && metrics=1
fi
[ "$metrics" != 1 ] || args+=(--metrics "$run_dir/metrics.jsonl")
if [ -n "${SLURM_CPUS_PER_TASK:-}" ]; then args+=(--set "runtime.threads=$SLURM_CPUS_PER_TASK"); fi

case "$launcher" in
  srun) launch=(srun --mpi=pmi2 --kill-on-bad-exit=1 "$PIPEGRID") ;;
  mpiexec) launch=(mpiexec -n "$tasks" "$PIPEGRID") ;;
  *) die "PG_LAUNCHER='$launcher': expected srun or mpiexec" ;;
esac

# a warning from Slurm (or the time limit, or scancel) asks the runtime to
# checkpoint and stop at the next step boundary, through the halt file
on_signal() {
  log "got SIG$1: asking pipegrid to checkpoint and stop after the current step"
  touch "$halt_file"
}
trap 'on_signal USR1' USR1
trap 'on_signal TERM' TERM

log "running: ${launch[*]} ${args[*]}"
"${launch[@]}" "${args[@]}" &
child=$!
# `wait` returns early when a trapped signal arrives; wait again until the
# launcher itself has ended
rc=0
while :; do
  wait "$child" && rc=0 || rc=$?
  kill -0 "$child" 2>/dev/null || break
done
trap - USR1 TERM

case "$rc" in
  0) log "finished"; exit 0 ;;
  75)
    if [ "$restarts" -ge "$max_requeues" ]; then
      log "halted (exit 75), but this job was already requeued $restarts time(s) (PG_MAX_REQUEUES=$max_requeues): not requeued"
      exit 75
    fi
    log "halted (exit 75): requeueing job $SLURM_JOB_ID (restart $((restarts + 1)))"
    # the requeue ends this script; the update only shortens the wait when
    # it still runs
    scontrol requeue "$SLURM_JOB_ID"
    scontrol update JobId="$SLURM_JOB_ID" StartTime=now && log "requeued, start time now"
    exit 0
    ;;
  *) log "pipegrid failed with exit $rc: not requeued"; exit "$rc" ;;
esac
