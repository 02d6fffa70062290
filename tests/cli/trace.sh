#!/usr/bin/env bash
# trace.sh: `pipegrid train --trace DIR` and `pipegrid trace` end to end, on the
# built-in GPT at pp=2 x dp=2 with ZB-H1 (so F, I and W run apart), a
# checkpoint at the last step and validation passes:
#  1. DIR/rank<R>.json for each rank and DIR/trace.json are valid JSON, name
#     each rank's stage and replica, and hold the span kinds the docs list;
#  2. --summary prints one row per rank and names the slowest stage;
#  3. --svg draws the step's compute boxes;
#  4. --trace-steps A-B records only those steps;
#  5. a file that is not a trace is refused with one line.
set -euo pipefail
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

timeout 120 "$MPIEXEC" -n 4 "$PIPEGRID" train --pp 2 --dp 2 --schedule zbh1 -m 4 --steps 3 \
  --set train.batch_size=16 --set train.eval_batches=1 --set parallel.bucket_mb=0.001 \
  --set checkpoint.every=3 --set "checkpoint.dir=$out/ckpt" --set train.eval_every=2 \
  --trace "$out/tr" >"$out/log"
grep -q "^trace: $out/tr/trace.json" "$out/log" || fail "no trace line: $(cat "$out/log")"

"$PG_PYTHON" - "$out/tr" <<'PY' || fail "trace content"
import json, os, sys
d = sys.argv[1]
want = {"forward", "backward_input", "backward_weight", "send", "recv", "allreduce",
        "optimizer", "data", "sync", "checkpoint", "eval"}
merged = json.load(open(os.path.join(d, "trace.json")))["traceEvents"]
names = {e["pid"]: e["args"]["name"] for e in merged if e.get("name") == "process_name"}
assert sorted(names) == [0, 1, 2, 3], names
for r, n in names.items():
    assert n.startswith(f"rank {r} (stage ") and "replica" in n, n
cats = {e.get("cat") for e in merged}
missing = want - cats
assert not missing, f"missing span kinds {missing}"
for r in range(4):
    ev = json.load(open(os.path.join(d, f"rank{r}.json")))["traceEvents"]
    assert {e["pid"] for e in ev} == {r}, f"rank{r}.json holds other pids"
    steps = [e["args"]["step"] for e in ev if e.get("cat") == "step"]
    assert steps == [1, 2, 3], steps
    x = [e for e in ev if e["ph"] == "X"]
    assert all(e["dur"] >= 0 for e in x)
    assert sum(e["cat"] == "forward" for e in x) == 3 * 4, "4 forwards per step (none of eval)"
    b = sum(e["ph"] == "b" for e in ev); en = sum(e["ph"] == "e" for e in ev)
    assert b == en and b > 0, (b, en)
print("trace ok:", len(merged), "events,", sorted(cats - {None}))
PY

"$PIPEGRID" trace "$out/tr/trace.json" --summary | tee "$out/sum"
[ "$(grep -cE '^ +[0-3] +[01] +[01] +[0-9.]+ ' "$out/sum")" -eq 4 ] || fail "summary rows"
grep -q "^slowest stage: [01] (compute" "$out/sum" || fail "no slowest stage"
grep -q "steps 2-3 (step 1, the warm-up, left out)" "$out/sum" || fail "step range"

"$PIPEGRID" trace "$out/tr/rank1.json" --svg "$out/step2.svg" --step 2 | grep -q "timeline of step 2" || fail "svg"
grep -q "^<svg" "$out/step2.svg" && grep -q "</svg>" "$out/step2.svg" || fail "not an SVG"
# rank 1 alone: 4 F + 4 I + 4 W boxes and the optimizer
[ "$(grep -c '<title>' "$out/step2.svg")" -eq 13 ] || fail "boxes: $(grep -c '<title>' "$out/step2.svg")"

# --trace-steps: only steps 2-3 of 4 are recorded
timeout 60 "$MPIEXEC" -n 2 "$PIPEGRID" train --pp 2 --steps 4 --set model.type=mlp \
  --trace "$out/tr2" --trace-steps 2-3 >/dev/null
"$PIPEGRID" trace "$out/tr2/trace.json" | grep -q "^trace .*: 2 rank(s), step 3 (step 2, the first traced, left out)" \
  || fail "--trace-steps: $("$PIPEGRID" trace "$out/tr2/trace.json" | head -1)"

if "$PIPEGRID" trace "$out/log" 2>"$out/err"; then fail "a log accepted as a trace"; fi
grep -q "^pipegrid: error: trace file '$out/log': not valid JSON" "$out/err" || fail "error: $(cat "$out/err")"
[ "$(wc -l <"$out/err")" -eq 1 ] || fail "more than one line on stderr"
echo "ok"
