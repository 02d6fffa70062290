# A job started from another run's checkpoint (PG_RESUME=PATH) and preempted
# twice (scontrol requeue, then the USR1 warning) resumes each time from its
# own newest checkpoint and never goes back to PATH.
source "$(dirname "$0")/lib.sh"
ini=$PWD/tests/slurm/slow_mlp.ini
export PG_CONFIG=$ini PG_ARGS="--set train.log_every=1"
src=$(PG_STEPS=40 PG_CKPT_EVERY=40 PG_RUN_DIR="$PG_TEST_DIR/src" submit "$PG_TEST_DIR/src.out" jobs/cpu-nodes.sbatch)
wait_job "$src" 300
[ "$(cat "$PG_TEST_DIR/src/ckpt/latest" 2>/dev/null)" = step_00000040.h5 ] || { cat "$PG_TEST_DIR/src.out"; fail "no step-40 checkpoint from job $src"; }
steps=400
out=$PG_TEST_DIR/job.out
job=$(PG_STEPS=$steps PG_CKPT_EVERY=0 PG_RESUME="$PG_TEST_DIR/src/ckpt" PG_RUN_DIR="$PG_TEST_DIR/run" \
      submit "$out" jobs/cpu-nodes.sbatch)
wait_for_line "$job" "$out" "^step +100/$steps" 300
scontrol requeue "$job"
wait_for_line "$job" "$out" "^pipegrid-job: job $job restart 1:" 300
h1=$(sed -En 's/^halted: SIGTERM after step ([0-9]+) .*/\1/p' "$out")
[ -n "$h1" ] || { cat "$out"; fail "no halt after scontrol requeue"; }
wait_for_line "$job" "$out" "^step +$((h1 + 60))/$steps" 300
scancel --signal=USR1 --batch "$job"
wait_job "$job" 600
cat "$out"
[ "$(job_field "$job" JobState)" = COMPLETED ] || fail "job $job: $(job_field "$job" JobState)"
[ "$(job_field "$job" Restarts)" = 2 ] || fail "job $job: Restarts=$(job_field "$job" Restarts)"
h2=$(sed -En 's/^halted: halt file .* after step ([0-9]+) .*/\1/p' "$out")
[ -n "$h2" ] && [ "$h2" -gt "$h1" ] || fail "second halt: '$h2' after the first at $h1"
[ "$(grep -c "^resumed from $PG_TEST_DIR/src/ckpt/step_00000040.h5 at step 40" "$out")" = 1 ] ||
  fail "PATH's checkpoint was loaded other than once (at the first start)"
resumes=$(sed -En 's/^resumed from .* at step ([0-9]+).*/\1/p' "$out" | tr '\n' ' ')
[ "$resumes" = "40 $h1 $h2 " ] || fail "resumed at steps '$resumes', expected '40 $h1 $h2 '"
expect_line "$out" "^pipegrid-job: resuming from the run's own checkpoint .*/run/ckpt/step_0*$h2.h5 \(PG_RESUME"
expect_line "$out" "^done: $((steps - h2)) steps"
echo "PASS: started from step 40 of PATH, preempted after steps $h1 and $h2, resumed from the job's own checkpoints"
