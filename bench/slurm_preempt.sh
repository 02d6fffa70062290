#!/usr/bin/env bash
# slurm_preempt.sh SCENARIO [WORK]: one preemption of a jobs/cpu-nodes.sbatch
# job (pp=2 x dp=2, the built-in GPT, a log line per step), measured from
# outside the job, for the table in docs/slurm.md. Run from the checkout;
# needs SLURM_CONF (a cluster, e.g. jobs/testcluster.sh); PIPEGRID defaults to
# build/pipegrid.
#
#   usr1       scancel --signal=USR1 --batch JOB (what #SBATCH --signal=B:USR1@N does)
#   requeue    scontrol requeue JOB (an admin, or a preempting scheduler:
#              SIGTERM to the job, SIGKILL KillWait seconds later)
#   timelimit  the job is submitted with --time=2 and its own
#              --signal=B:USR1@60: the warning comes before the limit
#   hardlimit  --time=2 and no warning (--signal=B:URG@1: SIGURG is ignored):
#              the time limit's SIGTERM, SIGKILL KillWait seconds later; the
#              job ends (TIMEOUT), Slurm does not requeue it
#
# Prints one line: the scenario, the step in progress at the signal, then
# seconds from the signal to: the halt checkpoint committed (ckpt/latest
# names it), the job pending again (requeued), running again, and its first
# new step logged; the step resumed from and the steps lost (the last step
# logged before the restart minus the step resumed from; 0 is the goal).
# Times are polled every 0.25 s. The job is cancelled after the first new step.
set -euo pipefail
scenario=$1
work=${2:-$(mktemp -d)}
steps=${PG_STEPS:-2000}
: "${SLURM_CONF:?}"
PIPEGRID=${PIPEGRID:-$PWD/build/pipegrid}
export SLURM_CONF PIPEGRID
mkdir -p "$work"
out=$work/job.out
rm -rf "$work/run" "$out"
extra=()
[ "$scenario" != timelimit ] || extra=(--time=2 --signal=B:USR1@60)
[ "$scenario" != hardlimit ] || extra=(--time=2 --signal=B:URG@1)
job=$(PG_STEPS=$steps PG_CKPT_EVERY=${PG_CKPT_EVERY:-0} PG_RUN_DIR="$work/run" \
      PG_ARGS="--set train.log_every=1 --set train.eval_every=0" \
      sbatch --parsable --output="$out" --chdir="$work" ${extra[@]+"${extra[@]}"} jobs/cpu-nodes.sbatch)
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
deadline=$((SECONDS + 600))
# the signal
early=""
if [ "$scenario" = timelimit ] || [ "$scenario" = hardlimit ]; then
  t_start=""
  until grep -q '^pipegrid-job: got SIG' "$out" 2>/dev/null; do
    [ $SECONDS -lt $deadline ] || { scancel "$job"; echo "no warning signal" >&2; exit 1; }
    [ -n "$t_start" ] || [ "$(squeue -h -j "$job" -o %T)" != RUNNING ] || t_start=$(now)
    sleep 0.25
  done
  t0=$(now)
  # asked for 60 s before the 120 s limit: how much earlier it came
  [ "$scenario" = timelimit ] && early=" | warning $(awk -v a="$t_start" -v b="$t0" 'BEGIN { printf "%.0f", 60 - (b - a) }') s earlier than asked"
  at=$(awk '/^pipegrid-job: got SIG/ { print s + 1; exit } /^step +[0-9]+\// { split($2, a, "/"); s = a[1] }' "$out")
else
  until grep -qE '^step +50/' "$out" 2>/dev/null; do
    [ $SECONDS -lt $deadline ] || { scancel "$job"; echo "job did not reach step 50" >&2; exit 1; }
    sleep 0.25
  done
  case "$scenario" in
    usr1) scancel --signal=USR1 --batch "$job" ;;
    requeue) scontrol requeue "$job" ;;
    *) echo "unknown scenario $scenario" >&2; exit 2 ;;
  esac
  t0=$(now)
  at=$(($(sed -En 's/^step +([0-9]+)\/.*/\1/p' "$out" | tail -1) + 1))
fi
t_ckpt=- t_pend=- t_run=- t_first=-
while [ $SECONDS -lt $deadline ]; do
  t=$(now)
  if [ "$t_ckpt" = - ] && [ -f "$work/run/ckpt/latest" ]; then t_ckpt=$(since "$t0" "$t"); fi
  state=$(squeue -h -t all -j "$job" -o %T 2>/dev/null || true)
  case "$state" in
    PENDING | REQUEUED | REQUEUE_HOLD | REQUEUE_FED) [ "$t_pend" != - ] || t_pend=$(since "$t0" "$t") ;;
    RUNNING) if [ "$t_pend" != - ] && [ "$t_run" = - ]; then t_run=$(since "$t0" "$t"); fi ;;
    COMPLETED | CANCELLED | TIMEOUT | FAILED) [ "$t_pend" != - ] || { t_pend="not requeued ($state)"; break; } ;;
  esac
  if awk -v j="$job" '$0 ~ "^pipegrid-job: job " j " restart 1:" { on = 1 } on && /^step +[0-9]+\// { f = 1 } END { exit !f }' "$out"; then
    t_first=$(since "$t0" "$t"); break
  fi
  sleep 0.25
done
scancel "$job" 2>/dev/null || true
last=$(awk -v j="$job" '$0 ~ "^pipegrid-job: job " j " restart 1:" { exit } /^step +[0-9]+\// { split($2, a, "/"); s = a[1] } END { print s + 0 }' "$out")
from=$(sed -En 's/^resumed from .* at step ([0-9]+).*/\1/p' "$out" | tail -1)
# not requeued: a new job with the same run directory resumes from its newest checkpoint
[ -n "$from" ] || [ ! -f "$work/run/ckpt/latest" ] || from=$(sed -E 's/step_0*([0-9]+)\.h5/\1/' "$work/run/ckpt/latest")
case "$t_pend" in not*) pend=$t_pend ;; *) pend="$t_pend s" ;; esac
echo "$scenario | step $at in progress | checkpoint ${t_ckpt} s | requeued $pend | running ${t_run} s | first new step ${t_first} s | last step before restart $last | resumed at ${from:-0} | lost $((last - ${from:-0}))$early"
grep -E '^(halted|pipegrid-job: (got|halted|scontrol|resuming|job))' "$out" >&2 || true
