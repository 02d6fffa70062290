# Preemption: a job signalled like Slurm's --signal=B:USR1@N warning
# (scancel --signal=USR1 --batch) stops all ranks after the same step,
# exits 75, requeues itself, and the requeued run (SLURM_RESTART_COUNT=1)
# ends with the same losses as an uninterrupted job on the same grid.
source "$(dirname "$0")/lib.sh"
steps=400
ref_out=$PG_TEST_DIR/ref.out
out=$PG_TEST_DIR/preempt.out
export PG_CKPT_EVERY=0 # checkpoints at the halt only (no probe)
ref=$(PG_STEPS=$steps PG_RUN_DIR="$PG_TEST_DIR/ref" submit "$ref_out" jobs/cpu-nodes.sbatch)
job=$(PG_STEPS=$steps PG_RUN_DIR="$PG_TEST_DIR/run" submit "$out" jobs/cpu-nodes.sbatch)
wait_for_line "$job" "$out" "^step +50/$steps" 300
scancel --signal=USR1 --batch "$job"
wait_job "$job" 600
wait_job "$ref" 600
cat "$out"
[ "$(job_field "$job" JobState)" = COMPLETED ] || fail "job $job: $(job_field "$job" JobState)"
[ "$(job_field "$job" Restarts)" = 1 ] || fail "job $job: Restarts=$(job_field "$job" Restarts)"
expect_line "$out" "^pipegrid-job: got SIGUSR1"
halt_step=$(sed -En 's/^halted: halt file .* after step ([0-9]+) of.*/\1/p' "$out")
[ -n "$halt_step" ] || fail "no 'halted:' line"
expect_line "$out" "^pipegrid-job: halted \(exit 75\): requeueing job $job \(restart 1\)"
expect_line "$out" "^pipegrid-job: job $job restart 1:"
expect_line "$out" "^resumed from .*/run/ckpt/step_0*$halt_step.h5 at step $halt_step"
expect_line "$out" "^step +$halt_step/$steps \|"
expect_line "$out" "^done: "
# the logged losses after the stop (every 10th step; the resumed run also logs
# its first step), and the final one, equal the uninterrupted run's
after() {
  awk -v h="$halt_step" '/^step / { split($2, a, "/"); if (a[1] + 0 > h && a[1] % 10 == 0) { split($0, f, "|"); print f[1] "|" f[2] } }
                         /^done:/ { sub(/.*final loss/, "final loss"); print }'
}
after <"$ref_out" >"$PG_TEST_DIR/ref.losses"
awk '/^pipegrid-job: job [0-9]+ restart 1:/ { on = 1 } on' "$out" | after >"$PG_TEST_DIR/run.losses"
diff "$PG_TEST_DIR/ref.losses" "$PG_TEST_DIR/run.losses" || fail "losses after the restart differ from the uninterrupted run"
echo "PASS: halted after step $halt_step, requeued, $(wc -l <"$PG_TEST_DIR/ref.losses") loss lines equal"
