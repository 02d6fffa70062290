#!/usr/bin/env bash
# metrics.sh: `pipegrid train --metrics FILE` and --progress, end to end.
#  1. one JSON line per step with every documented field; MFU a number with
#     runtime.peak_gflops set, null without; peak memory for each rank; the
#     fields jobs/scaling.py reads;
#  2. a second run appends (resumed runs continue the file);
#  3. piped stdout gets plain log lines, --progress bar the redrawn bar;
#  4. tools/plot_loss.py draws the curve (under the project's Python, $PG_PYTHON).
set -euo pipefail
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
run=(timeout 120 "$MPIEXEC" -n 2 "$PIPEGRID" train --pp 2 -m 2 --set model.type=mlp
     --set train.log_every=2)

"${run[@]}" --steps 5 --metrics "$out/m.jsonl" --set runtime.peak_gflops=10 >"$out/log"
"${run[@]}" --steps 3 --metrics "$out/m.jsonl" --progress bar >"$out/bar"

"$PG_PYTHON" - "$out/m.jsonl" <<'PY' || fail "metrics content"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
assert [d["step"] for d in lines] == [1, 2, 3, 4, 5, 1, 2, 3], [d["step"] for d in lines]
keys = {"step", "loss", "lr", "grad_norm", "step_time", "samples_per_s", "tokens_per_s",
        "model_gflop", "mfu", "compute_time", "bubble", "exposed_comm", "peak_mem_mb"}
for d in lines:
    assert set(d) == keys, set(d) ^ keys
    assert d["loss"] > 0 and d["step_time"] > 0 and d["samples_per_s"] > 0
    assert 0 <= d["bubble"] <= 1 and d["exposed_comm"] >= 0 and d["compute_time"] > 0
    assert d["tokens_per_s"] is None  # a feature model
    assert len(d["peak_mem_mb"]) == 2 and all(m > 1 for m in d["peak_mem_mb"])
    assert d["model_gflop"] > 0
for d in lines[:5]:
    mfu = d["model_gflop"] / d["step_time"] / (2 * 10)
    assert abs(d["mfu"] - mfu) < 1e-9 * mfu, (d["mfu"], mfu)
assert all(d["mfu"] is None for d in lines[5:])
print("metrics ok:", len(lines), "lines")
PY

grep -q $'\r' "$out/log" && fail "carriage returns in piped output"
grep -Eq '^step +4/5 \| loss [0-9.]+ ' "$out/log" || fail "no log line"
grep -q $'\r\033\[K\[##########' "$out/bar" || fail "no progress bar: $(cat -A "$out/bar")"
grep -q '3/3 100% | loss ' "$out/bar" || fail "bar does not reach 3/3"

"$PG_PYTHON" ../tools/plot_loss.py "$out/m.jsonl" -o "$out/loss.png" | grep -q "5 steps" || fail "plot"
[ "$(head -c 8 "$out/loss.png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] || fail "loss.png is not a PNG"
echo "ok"
