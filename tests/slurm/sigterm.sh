# SIGTERM reaching the ranks (scancel --signal=TERM, preemption with a grace
# time): they stop together after one step, checkpoint, exit 75, and the job
# requeues itself and finishes. (At a hard time limit srun also gets SIGTERM
# and answers with SIGKILL to the tasks: see docs/slurm.md.)
source "$(dirname "$0")/lib.sh"
steps=400
out=$PG_TEST_DIR/job.out
job=$(PG_STEPS=$steps PG_CKPT_EVERY=0 PG_RUN_DIR="$PG_TEST_DIR/run" submit "$out" jobs/cpu-nodes.sbatch)
wait_for_line "$job" "$out" "^step +50/$steps" 300
scancel --signal=TERM "$job"
wait_job "$job" 600
cat "$out"
[ "$(job_field "$job" JobState)" = COMPLETED ] || fail "job $job: $(job_field "$job" JobState)"
[ "$(job_field "$job" Restarts)" = 1 ] || fail "job $job: Restarts=$(job_field "$job" Restarts)"
expect_line "$out" "^halted: SIGTERM after step [0-9]+ of $steps"
expect_line "$out" "^pipegrid-job: halted \\(exit 75\\): requeueing job $job \\(restart 1\\)"
expect_line "$out" "^pipegrid-job: job $job restart 1:"
expect_line "$out" "^done: "
echo "PASS"
