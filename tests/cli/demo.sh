#!/usr/bin/env bash
# demo.sh: the README's main job (built-in demo at pp=2 x dp=2 on 4 ranks),
# shortened to 120 steps: the loss must fall to under a quarter of its first
# value, and every log line must carry the documented fields.
set -euo pipefail
log=$(mktemp)
trap 'rm -f "$log"' EXIT
timeout 300 "$MPIEXEC" -n 4 "$PIPEGRID" train --pp 2 --dp 2 --steps 120 --set train.log_every=1 | tee "$log"
first=$(awk -F'|' '/^step +1\// {split($2, a, " "); print a[2]}' "$log")
last=$(awk -F'|' '/^step +120\// {split($2, a, " "); print a[2]}' "$log")
echo "first loss $first, last loss $last"
awk -v f="$first" -v l="$last" 'BEGIN { exit !(l < 0.25 * f) }' || { echo "FAIL: loss did not fall"; exit 1; }
grep -Eq '^step +1/120 \| loss [0-9.]+ \| lr [0-9.e+-]+ \| gnorm +[0-9.]+ \| +[0-9]+ samples/s \| +[0-9.]+ ms \| bubble +[0-9.]+% \| eta ' "$log" \
  || { echo "FAIL: log line format"; exit 1; }
grep -q '^pipegrid: 4 ranks as pp=2 x dp=2' "$log" || { echo "FAIL: no grid line"; exit 1; }
grep -q '^  stage  1: layers' "$log" || { echo "FAIL: partition not printed"; exit 1; }
