# A 2-node x 2-task sbatch job (jobs/cpu-nodes.sbatch) trains the default
# model at pp=2 x dp=2 through srun --mpi=pmi2, and its loss falls by a
# quarter; it chose its checkpoint interval from a timed probe and says so,
# and wrote one metrics line per step (the job script always asks for them).
source "$(dirname "$0")/lib.sh"
out=$PG_TEST_DIR/job.out
job=$(PG_STEPS=40 PG_RUN_DIR="$PG_TEST_DIR/run" submit "$out" jobs/cpu-nodes.sbatch)
wait_job "$job" 400
cat "$out"
[ "$(job_field "$job" JobState)" = COMPLETED ] || fail "job $job: $(job_field "$job" JobState)"
expect_line "$out" "^pipegrid-job: job $job restart 0: 2 node\(s\) .*4 task\(s\) \(2 per node\).*grid pp=2 x dp=2"
expect_line "$out" "^pipegrid: 4 ranks as pp=2 x dp=2"
expect_line "$out" "^done: 40 steps"
expect_line "$out" "^pipegrid-job: checkpoint.every=[0-9]+ \(~[0-9]+ s of steps\): the probe saved [0-9.]+ MB in [0-9.]+ s, a step took [0-9.]+ s"
expect_line "$out" "^pipegrid-job: running: .* --set checkpoint.every=[0-9]+ --metrics $PG_TEST_DIR/run/metrics.jsonl"
[ "$(wc -l <"$PG_TEST_DIR/run/metrics.jsonl")" = 40 ] || fail "metrics.jsonl: $(wc -l <"$PG_TEST_DIR/run/metrics.jsonl") lines, expected 40"
first=$(sed -En 's/^step +1\/40 \| loss ([0-9.]+).*/\1/p' "$out")
last=$(sed -En 's/^done: .*final loss ([0-9.]+)/\1/p' "$out")
awk -v a="$first" -v b="$last" 'BEGIN { exit !(b < 0.75 * a) }' || fail "loss $first -> $last did not fall by a quarter"
echo "PASS: loss $first -> $last"
