#!/usr/bin/env bash
# pipegrid-run.sh: the body of every jobs/*.sbatch script (they exec it).
# Inside a Slurm allocation it
#   1. makes the run directory and works only inside it;
#   2. derives the grid from the allocation: pp = nodes, dp = tasks / pp,
#      unless PG_PP / PG_DP say otherwise;
#   3. turns periodic checkpoints on: unless the configuration sets
#      checkpoint.every or PG_CKPT_EVERY does, it times a 3-step probe run on
#      the same grid (one checkpoint save) at the first start and saves every
#      max(60 s, 20 x the save time) of steps, at most a quarter of the time
#      limit apart; the log states the choice and the measurements;
#   4. launches `pipegrid train` with srun --mpi=pmi2 (or mpiexec), resuming
#      from the run directory's own newest checkpoint when there is one
#      (always, on every restart); PG_RESUME (or --resume in PG_ARGS) names a
#      checkpoint to start from only while the run has none of its own;
#   5. on SIGUSR1 (#SBATCH --signal=B:USR1@N) or SIGTERM touches the run's
#      halt file; the ranks also catch SIGTERM and the runtime.halt_signal
#      themselves: all stop after the same step, write a checkpoint, exit 75;
#   6. on exit 75 requeues the job (scontrol requeue, then StartTime=now to
#      skip the requeue back-off), at most PG_MAX_REQUEUES times, unless
#      this script got SIGTERM: then Slurm itself is ending the job (scancel,
#      a time limit reached) or requeueing it (scontrol requeue, preemption);
#      any other failure (a bad configuration, a crash) ends the job with its
#      exit code, not requeued.
#
# Knobs (environment variables; sbatch passes the submitting shell's
# environment, or use sbatch --export=ALL,PG_PP=2,...; relative paths are
# taken from the job's working directory, sbatch --chdir or where it ran):
#   PIPEGRID         pipegrid binary    (default: build/pipegrid next to this
#                                        jobs/ directory, else pipegrid on PATH)
#   PG_RUN_DIR       run directory: checkpoints, halt file, metrics
#                    (default: $SLURM_SUBMIT_DIR/runs/<job name>-<job id>;
#                     array tasks: <job name>-<array job id>_<task id>)
#   PG_CONFIG        INI file for --config (default: none, the built-in model)
#   PG_PP            pipeline stages    (default: the number of nodes)
#   PG_DP            replicas           (default: tasks / PG_PP)
#   PG_MICROBATCHES  microbatches per replica per step (default: the config's)
#   PG_SCHEDULE      gpipe | 1f1b | ... (default: the config's)
#   PG_STEPS         optimizer steps    (default: the config's)
#   PG_DEVICE        cpu | cuda         (default: cpu; the gpu-*.sbatch set cuda)
#   PG_LAUNCHER      srun | mpiexec     (default: srun, the launcher whose
#                                        preemption handling is tested)
#   PG_CKPT_EVERY    auto | N | 0: checkpoint every N steps; auto (default)
#                    measures and chooses as in 3.; 0: only at a halt
#   PG_RESUME        checkpoint file or directory to start from when the run
#                    directory has no checkpoint yet (another job's run)
#   PG_METRICS       0: no RUN_DIR/metrics.jsonl (default: 1, written)
#   PG_MAX_REQUEUES  requeue at most this many times (default: 10)
#   PG_ARGS          more `pipegrid train` arguments, split on spaces
#                    (e.g. "--set optim.lr=1e-3 --set train.log_every=1")
#   PG_JOBS_DIR      pipegrid's jobs/ directory, for .sbatch scripts copied
#                    elsewhere (default: the submitted script's directory)
# Exit status: pipegrid's (0 done, 1 error, 2 bad command line, 75 halted and
# not requeued); 0 after a requeue. Everything it writes is under PG_RUN_DIR
# (Slurm writes the job's output file where sbatch --output says).
set -euo pipefail

case "${1:-}" in
  -h | --help) sed -n '2,/^set -euo pipefail/{/^set /d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; exit 0 ;;
  "") ;;
  *) echo "usage: sbatch jobs/<script>.sbatch (this is their body; knobs: $0 --help)" >&2; exit 2 ;;
esac

log() { printf 'pipegrid-job: %s\n' "$*"; }
die() { printf 'pipegrid-job: error: %s\n' "$*" >&2; exit 1; }

[ -n "${SLURM_JOB_ID:-}" ] || die "not inside a Slurm job (submit a jobs/*.sbatch script with sbatch)"

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if [ -z "${PIPEGRID:-}" ]; then
  if [ -x "$here/../build/pipegrid" ]; then PIPEGRID="$here/../build/pipegrid"
  else PIPEGRID=$(command -v pipegrid) || die "no pipegrid binary: set PIPEGRID or build with tools/build.sh"
  fi
fi
[ -x "$PIPEGRID" ] || die "PIPEGRID=$PIPEGRID is not an executable"

# paths in the knobs are relative to the job's working directory (sbatch's
# --chdir, else where sbatch ran); the run itself works in the run directory
start_dir=$PWD
absolute() { case "$1" in /* | "") printf '%s' "$1" ;; *) printf '%s/%s' "$start_dir" "$1" ;; esac; }
PG_CONFIG=$(absolute "${PG_CONFIG:-}")
PG_RESUME=$(absolute "${PG_RESUME:-}")

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

# srun answers a SIGTERM by killing its tasks at once ("forcing job
# termination"); when Slurm ends or requeues the job (scontrol requeue,
# preemption, scancel, a time limit) every process of the job gets SIGTERM,
# so srun runs with pg_srun_keepterm.so (jobs/srun_keepterm.c), which keeps
# it from acting on SIGTERM: the ranks get Slurm's SIGTERM themselves, finish
# the step and save before Slurm's SIGKILL KillWait seconds later.
keepterm="$(dirname "$PIPEGRID")/pg_srun_keepterm.so"
case "$launcher" in
  srun)
    if [ -f "$keepterm" ]; then
      launch=(env "LD_PRELOAD=$keepterm${LD_PRELOAD:+:$LD_PRELOAD}" srun --mpi=pmi2 --kill-on-bad-exit=1 "$PIPEGRID")
    else
      log "warning: no $keepterm (built with pipegrid): on SIGTERM (scontrol requeue, preemption) srun kills the ranks before they save"
      launch=(srun --mpi=pmi2 --kill-on-bad-exit=1 "$PIPEGRID")
    fi ;;
  mpiexec) launch=(mpiexec -n "$tasks" "$PIPEGRID") ;;
  *) die "PG_LAUNCHER='$launcher': expected srun or mpiexec" ;;
esac

# the training arguments shared by the run and the checkpoint probe; a
# --resume in PG_ARGS is taken out and treated as PG_RESUME
base=(train --pp "$pp" --dp "$dp")
[ -z "${PG_CONFIG:-}" ] || base+=(--config "$PG_CONFIG")
[ -z "${PG_MICROBATCHES:-}" ] || base+=(--microbatches "$PG_MICROBATCHES")
[ -z "${PG_SCHEDULE:-}" ] || base+=(--schedule "$PG_SCHEDULE")
[ -z "${PG_DEVICE:-}" ] || base+=(--set "runtime.device=$PG_DEVICE")
[ -z "${SLURM_CPUS_PER_TASK:-}" ] || base+=(--set "runtime.threads=$SLURM_CPUS_PER_TASK")
user_resume=${PG_RESUME:-}
if [ -n "${PG_ARGS:-}" ]; then
  read -r -a extra <<<"$PG_ARGS"
  for ((i = 0; i < ${#extra[@]}; i++)); do
    case "${extra[i]}" in
      --resume) [ $((i + 1)) -lt ${#extra[@]} ] || die "PG_ARGS: --resume needs a value"
                user_resume=$(absolute "${extra[i + 1]}"); i=$((i + 1)) ;;
      --resume=*) user_resume=$(absolute "${extra[i]#--resume=}") ;;
      *) base+=("${extra[i]}") ;;
    esac
  done
fi
[ -z "${PG_STEPS:-}" ] || base+=(--steps "$PG_STEPS")

# where to start: the run's own newest checkpoint wins, so a restart never
# goes back to where the first start began
if [ -f "$ckpt_dir/latest" ]; then
  resume=(--resume "$ckpt_dir")
  log "resuming from the run's own checkpoint $ckpt_dir/$(cat "$ckpt_dir/latest")${user_resume:+ (PG_RESUME / --resume $user_resume applies only until the run has its own)}"
elif [ -n "$user_resume" ]; then
  resume=(--resume "$user_resume")
  log "starting from $user_resume (the run has no checkpoint of its own yet)"
else
  resume=()
fi

# squeue's time format ([D-]HH:MM:SS, MM:SS) in seconds; 0 when unlimited
seconds_of() {
  local t=$1 d=0 a b c
  case "$t" in *[!0-9:-]* | "") echo 0; return ;; *-*) d=${t%%-*}; t=${t#*-} ;; esac
  IFS=: read -r a b c <<<"$t"
  if [ -n "$c" ]; then echo $((d * 86400 + 10#$a * 3600 + 10#$b * 60 + 10#$c))
  elif [ -n "$b" ]; then echo $((d * 86400 + 10#$a * 60 + 10#$b))
  else echo $((d * 86400 + 10#$a * 60))
  fi
}

# periodic checkpoints: the configuration's, PG_CKPT_EVERY's, or measured
choose_every() {
  local every want=${PG_CKPT_EVERY:-auto} probe="$run_dir/ckpt-probe" config
  # a configuration pipegrid refuses: the run itself reports it
  config=$("$PIPEGRID" "${base[@]}" --print-config 2>/dev/null) || { ckpt_every=0; return; }
  every=$(awk '/^\[/ { s = $0 } s == "[checkpoint]" && $1 == "every" { print $3 }' <<<"$config")
  if [ -n "$every" ] && [ "$every" -gt 0 ]; then
    log "checkpoint.every=$every (from the configuration)"; ckpt_every=$every; return
  fi
  case "$want" in
    0) log "checkpoint.every=0 (PG_CKPT_EVERY=0): checkpoints only at a halt; a crash restarts from the newest of those"
       ckpt_every=0; return ;;
    auto) ;;
    *) [ "$want" -ge 1 ] 2>/dev/null || die "PG_CKPT_EVERY='$want': expected auto, 0 or a number of steps"
       log "checkpoint.every=$want (PG_CKPT_EVERY)"; ckpt_every=$want; return ;;
  esac
  if [ ! -s "$probe.txt" ]; then
    # 3 steps and one save on the job's own grid and model
    log "timing a checkpoint save: a 3-step probe run in $probe (PG_CKPT_EVERY=N skips it)"
    rm -rf "$probe"
    if ! "${launch[@]}" "${base[@]}" --steps 3 --set train.log_every=1 --set train.eval_every=0 \
         --set checkpoint.every=3 --set checkpoint.keep=1 --set checkpoint.async=0 \
         --set "checkpoint.dir=$probe" >"$probe.log" 2>&1; then
      cat "$probe.log" >&2
      die "the checkpoint probe run failed (its output is above and in $probe.log)"
    fi
    awk '/^step +[0-9]+\/3 \|/ { for (i = 1; i < NF; i++) if ($(i + 1) == "ms") ms = $i }
         /^checkpoint: step 3 ->/ { for (i = 1; i < NF; i++) { if ($(i + 1) == "MB") mb = substr($i, 2)
                                                              if ($i == "in") s = $(i + 1) } }
         END { if (ms != "" && s != "") print s, ms / 1000, mb }' "$probe.log" >"$probe.txt"
    rm -rf "$probe"
    [ -s "$probe.txt" ] || die "no step time or save time in the probe's output $probe.log"
  fi
  local save step mb limit_s limit gap
  read -r save step mb <"$probe.txt"
  limit=$(squeue -h -j "$SLURM_JOB_ID" -o %l 2>/dev/null) || limit=""
  limit_s=$(seconds_of "$limit")
  # saves at most 5% of the time and no more than once a minute, but at
  # least four per time limit
  gap=$(awk -v s="$save" -v l="$limit_s" 'BEGIN { g = 20 * s; if (g < 60) g = 60
                                                  if (l > 0 && g > l / 4) g = l / 4; print g }')
  ckpt_every=$(awk -v g="$gap" -v t="$step" 'BEGIN { n = int(g / t + 0.5); print n < 1 ? 1 : n }')
  log "checkpoint.every=$ckpt_every (~$(printf '%.0f' "$gap") s of steps): the probe saved $mb MB in $save s," \
      "a step took $step s; a save every max(60 s, 20 x save), at most a quarter of the time limit" \
      "(${limit:-unknown}) apart; PG_CKPT_EVERY=N sets it"
}
choose_every

args=("${base[@]}" --set "runtime.halt_file=$halt_file" --set "checkpoint.dir=$ckpt_dir"
      --set "checkpoint.every=$ckpt_every" ${resume[@]+"${resume[@]}"})
[ "${PG_METRICS:-1}" = 0 ] || args+=(--metrics "$run_dir/metrics.jsonl")

# a warning from Slurm (or the time limit, or scancel) asks the runtime to
# checkpoint and stop at the next step boundary, through the halt file
signalled=""
on_signal() {
  log "got SIG$1: asking pipegrid to checkpoint and stop after the current step"
  signalled="$signalled $1"
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
    # SIGTERM to this script means Slurm itself is ending the job: scancel
    # (it stays cancelled), scontrol requeue or preemption (Slurm requeues
    # it), a time limit reached (it ends; a new job with the same PG_RUN_DIR
    # resumes). The checkpoint is written either way.
    case " $signalled " in *" TERM "*)
      log "halted (exit 75) on Slurm's SIGTERM: Slurm is ending or requeueing job $SLURM_JOB_ID, not this script"
      exit 75 ;;
    esac
    log "halted (exit 75): requeueing job $SLURM_JOB_ID (restart $((restarts + 1)))"
    # the requeue sends this script SIGTERM (and SIGKILL KillWait later):
    # ignore it long enough to skip the requeue back-off with StartTime=now
    trap '' TERM
    if ! out=$(scontrol requeue "$SLURM_JOB_ID" 2>&1); then
      log "scontrol requeue refused ($out): not requeued"
      exit 75
    fi
    scontrol update JobId="$SLURM_JOB_ID" StartTime=now && log "requeued, start time now"
    exit 0
    ;;
  *) log "pipegrid failed with exit $rc${signalled:+ after SIG${signalled# }}: not requeued"; exit "$rc" ;;
esac
