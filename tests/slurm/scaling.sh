# The scaling driver runs a small sweep through Slurm (one job per run) and
# writes its table (markdown and CSV) and its plot.
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
echo PASS
