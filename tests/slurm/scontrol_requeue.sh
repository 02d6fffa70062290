# scontrol requeue in the middle of a run (what an admin or a preempting
# scheduler does: SIGTERM to every process of the job, SIGKILL KillWait
# seconds later) loses no step: every rank finishes the step in progress,
# the job's checkpoint of that step is committed before the SIGKILL, the
# requeued run resumes from it (its first step is the next one), and every
# loss equals an uninterrupted run's, bitwise (as printed, log_every=1).
source "$(dirname "$0")/lib.sh"
steps=400
ini=$PWD/tests/slurm/slow_mlp.ini
export PG_CONFIG=$ini PG_STEPS=$steps PG_CKPT_EVERY=100 PG_ARGS="--set train.log_every=1"
ref=$(PG_RUN_DIR="$PG_TEST_DIR/ref" submit "$PG_TEST_DIR/ref.out" jobs/cpu-nodes.sbatch)
job=$(PG_RUN_DIR="$PG_TEST_DIR/run" submit "$PG_TEST_DIR/job.out" jobs/cpu-nodes.sbatch)
out=$PG_TEST_DIR/job.out
wait_for_line "$job" "$out" "^step +130/$steps" 300  # past the periodic checkpoint of step 100
scontrol requeue "$job"
wait_job "$job" 600
wait_job "$ref" 600
cat "$out"
[ "$(job_field "$job" JobState)" = COMPLETED ] || fail "job $job: $(job_field "$job" JobState)"
[ "$(job_field "$job" Restarts)" = 1 ] || fail "job $job: Restarts=$(job_field "$job" Restarts)"
expect_line "$out" "^pipegrid-job: got SIGTERM"
h=$(sed -En "s/^halted: SIGTERM after step ([0-9]+) of $steps; checkpoint written in .*/\1/p" "$out")
[ -n "$h" ] || fail "no 'halted: SIGTERM after step N' line: the ranks did not save before the SIGKILL"
[ "$h" -ge 130 ] || fail "halted after step $h, before the signal"
expect_line "$out" "^pipegrid-job: job $job restart 1:"
expect_line "$out" "^pipegrid-job: resuming from the run's own checkpoint .*/run/ckpt/step_0*$h.h5"
expect_line "$out" "^resumed from .*/run/ckpt/step_0*$h.h5 at step $h"
# the last step logged before the restart is the one halted after; the first after it is the next
marker="^pipegrid-job: job $job restart 1:"
last=$(awk -v m="$marker" '$0 ~ m { exit } /^step +[0-9]+\// { split($2, a, "/"); s = a[1] } END { print s }' "$out")
next=$(awk -v m="$marker" '$0 ~ m { on = 1 } on && /^step +[0-9]+\// { split($2, a, "/"); print a[1]; exit }' "$out")
[ "$last" = "$h" ] && [ "$next" = $((h + 1)) ] ||
  fail "steps lost or repeated: last before the restart $last, first after $next, halted after $h"
losses() { awk -v m="$marker" '$0 ~ m { on = 1 } /^step +[0-9]+\// { split($0, f, "|"); print f[1] "|" f[2] }
                               /^done:/ { sub(/.*final loss/, "final loss"); print }' "$1"; }
losses "$PG_TEST_DIR/ref.out" >"$PG_TEST_DIR/ref.losses"
losses "$out" >"$PG_TEST_DIR/run.losses"
[ "$(grep -c '^step' "$PG_TEST_DIR/ref.losses")" = "$steps" ] || fail "the reference logged $(grep -c '^step' "$PG_TEST_DIR/ref.losses") steps"
diff "$PG_TEST_DIR/ref.losses" "$PG_TEST_DIR/run.losses" || fail "losses differ from the uninterrupted run"
echo "PASS: scontrol requeue after step $h: resumed at $h, $steps losses equal to the uninterrupted run"
