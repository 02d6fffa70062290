# A job given a bad configuration fails fast, with pipegrid's one-line error
# in its output file, and is not requeued.
source "$(dirname "$0")/lib.sh"
out=$PG_TEST_DIR/job.out
t0=$SECONDS
job=$(PG_ARGS="--set train.stepz=5" PG_RUN_DIR="$PG_TEST_DIR/run" submit "$out" jobs/cpu-nodes.sbatch)
wait_job "$job" 300
cat "$out"
[ "$(job_field "$job" JobState)" = FAILED ] || fail "job $job: $(job_field "$job" JobState)"
[ "$(job_field "$job" Restarts)" = 0 ] || fail "job $job was requeued"
[ "$(job_field "$job" ExitCode)" = 1:0 ] || fail "job $job: ExitCode=$(job_field "$job" ExitCode)"
expect_line "$out" "^pipegrid: error: .*unknown key 'train.stepz'"
expect_line "$out" "^pipegrid-job: pipegrid failed with exit 1: not requeued"
# fast once it runs (it may wait in the queue behind the other tests' jobs)
run=$(job_field "$job" RunTime)
IFS=: read -r h m s <<<"${run#*-}"
[ "${run%%-*}" = "$run" ] && [ $((10#$h * 3600 + 10#$m * 60 + 10#$s)) -lt 60 ] ||
  fail "job $job ran for $run"
# a grid that does not fit the allocation fails before anything starts
out2=$PG_TEST_DIR/grid.out
job=$(PG_PP=3 PG_RUN_DIR="$PG_TEST_DIR/run2" submit "$out2" jobs/cpu-nodes.sbatch)
wait_job "$job" 120
cat "$out2"
[ "$(job_field "$job" JobState)" = FAILED ] || fail "job $job: $(job_field "$job" JobState)"
expect_line "$out2" "error: pp=3 x dp=1 = 3 ranks, but the job has 4 tasks"
echo "PASS in $((SECONDS - t0)) s"
