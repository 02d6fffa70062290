# A job script copied out of the checkout fails in one line naming
# PG_JOBS_DIR, and runs with it.
source "$(dirname "$0")/lib.sh"
mkdir -p "$PG_TEST_DIR/copy"
cp jobs/cpu-nodes.sbatch "$PG_TEST_DIR/copy/my.sbatch"
cd "$PG_TEST_DIR"
out=$PG_TEST_DIR/bad.out
job=$(PG_STEPS=5 PG_CKPT_EVERY=0 sbatch --parsable --output="$out" copy/my.sbatch)
wait_job "$job" 120
cat "$out"
[ "$(job_field "$job" JobState)" = FAILED ] || fail "job $job: $(job_field "$job" JobState)"
[ "$(wc -l <"$out")" = 1 ] || fail "expected one line in $out"
expect_line "$out" "^pipegrid-job: error: no pipegrid-run.sh in '$PG_TEST_DIR/copy': set PG_JOBS_DIR to pipegrid's jobs/ directory"
out=$PG_TEST_DIR/good.out
job=$(PG_STEPS=5 PG_CKPT_EVERY=0 PG_JOBS_DIR="$OLDPWD/jobs" sbatch --parsable --output="$out" copy/my.sbatch)
wait_job "$job" 300
cat "$out"
[ "$(job_field "$job" JobState)" = COMPLETED ] || fail "job $job: $(job_field "$job" JobState)"
expect_line "$out" "^pipegrid-job: job $job restart 0: .*run directory $PG_TEST_DIR/runs/pg-cpu-nodes-$job\$"
expect_line "$out" "^done: 5 steps"
echo PASS
