# The scaling driver runs a small sweep through Slurm (one job per run) and
# writes its table (markdown and CSV) and its plot; it refuses rows the
# cluster can never run before submitting anything, and a job pending for a
# reason that never clears is cancelled at once while the finished rows are
# still reported.
source "$(dirname "$0")/lib.sh"
"$PG_PYTHON" jobs/scaling.py run jobs/sweeps/smoke.sweep --out "$PG_TEST_DIR/study" --timeout 240
md=$PG_TEST_DIR/study/scaling.md
cat "$md"
# a header, a rule and three runs, each with a throughput and an efficiency
[ "$(grep -c '^| 0' "$md")" = 3 ] || fail "expected 3 runs in $md"
awk -F'|' '/^\| 0/ { if ($10 !~ /[0-9]/ || $13 !~ /%/) bad = 1 } END { exit bad }' "$md" ||
  fail "a run without throughput or efficiency"
grep -q '^| 01-.* | [0-9.]* | [0-9.]* | [0-9.]* |$' "$md" || fail "no allreduce bandwidth for the dp=2 run"
[ "$(head -c 8 "$PG_TEST_DIR/study/scaling.png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] ||
  fail "scaling.png is not a PNG"
# a bad sweep fails fast, naming the line
printf 'nodes pp dp tasks_per_node\n1 2 3 2\n' >"$PG_TEST_DIR/bad.sweep"
if "$PG_PYTHON" jobs/scaling.py run "$PG_TEST_DIR/bad.sweep" --out "$PG_TEST_DIR/bad" 2>"$PG_TEST_DIR/err"; then
  fail "a bad sweep was accepted"
fi
grep -q "bad.sweep:2: pp=2 x dp=3 = 6 ranks, but 1 node(s) x 2 task(s)" "$PG_TEST_DIR/err" || { cat "$PG_TEST_DIR/err"; fail "wrong error"; }
# rows larger than the cluster (4 nodes of 2 CPUs) are refused, all of them,
# before anything is submitted
printf 'nodes pp dp tasks_per_node\n1 1 1 1\n8 8 1 1\n1 1 3 3\n' >"$PG_TEST_DIR/big.sweep"
before=$(squeue -h -t all | wc -l)
if "$PG_PYTHON" jobs/scaling.py run "$PG_TEST_DIR/big.sweep" --out "$PG_TEST_DIR/big" 2>"$PG_TEST_DIR/err"; then
  fail "an oversize sweep was accepted"
fi
cat "$PG_TEST_DIR/err"
grep -q "big.sweep:3: nodes=8, but partition 'debug' has 4 nodes: Slurm would never start this job" "$PG_TEST_DIR/err" ||
  fail "no refusal of line 3"
grep -q "big.sweep:4: tasks_per_node=3, but the nodes of partition 'debug' have at most 2 CPUs" "$PG_TEST_DIR/err" ||
  fail "no refusal of line 4"
grep -q "^nothing submitted" "$PG_TEST_DIR/err" || fail "no 'nothing submitted'"
[ "$(squeue -h -t all | wc -l)" = "$before" ] && [ ! -e "$PG_TEST_DIR/big/sweep.json" ] || fail "something was submitted"
# partition short has MaxTime=1 (minute): the 1-minute row runs, the 5-minute
# row stays pending for PartitionTimeLimit, which never clears: it is
# cancelled as soon as Slurm says so, and the first row is still reported
printf 'nodes pp dp steps time\n1 1 1 4 1\n1 1 1 4 5\n' >"$PG_TEST_DIR/pend.sweep"
t0=$SECONDS
if "$PG_PYTHON" jobs/scaling.py run "$PG_TEST_DIR/pend.sweep" --out "$PG_TEST_DIR/pend" --timeout 600 \
     --sbatch-arg=--partition=short >"$PG_TEST_DIR/pend.log" 2>&1; then
  cat "$PG_TEST_DIR/pend.log"; fail "a sweep with a run that never ran exited 0"
fi
cat "$PG_TEST_DIR/pend.log"
[ $((SECONDS - t0)) -lt 240 ] || fail "took $((SECONDS - t0)) s"
md=$PG_TEST_DIR/pend/scaling.md
grep -q '^| 00-main-n1-pp1-dp1.* | [0-9][0-9.]* | [0-9.]* | 1.00 | 100% |' "$md" || fail "the finished row has no numbers"
grep -q "^- 01-main-n1-pp1-dp1.*: job [0-9]*: never ran: pending for PartitionTimeLimit, which never clears: cancelled" "$md" ||
  fail "the pending row is not reported as never run"
echo PASS
