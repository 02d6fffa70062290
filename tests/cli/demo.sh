#!/usr/bin/env bash
# demo.sh: the README's main job (the built-in GPT on the built-in corpus at
# pp=2 x dp=2 on 4 ranks), shortened to 150 steps: the validation loss must
# end well below the corpus's unigram entropy (what a model that ignores
# context reaches), the training loss must fall, and every log line must carry
# the documented fields.
set -euo pipefail
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
log=$dir/log
"$PIPEGRID" prep --default -o "$dir/corpus.h5" | tee "$dir/prep"
entropy=$(sed -n 's/.*unigram entropy \([0-9.]*\) nats.*/\1/p' "$dir/prep")
timeout 300 "$MPIEXEC" -n 4 "$PIPEGRID" train --pp 2 --dp 2 --steps 150 --set train.log_every=1 \
  --set train.eval_every=150 --set "data.path=$dir/corpus.h5" | tee "$log"
first=$(awk -F'|' '/^step +1\// {split($2, a, " "); print a[2]}' "$log")
last=$(awk -F'|' '/^step +150\// {split($2, a, " "); print a[2]}' "$log")
val=$(awk -F'|' '/^eval +150\// {split($2, a, " "); print a[3]}' "$log")
echo "first loss $first, last loss $last, validation loss $val, unigram entropy $entropy"
awk -v f="$first" -v l="$last" 'BEGIN { exit !(l < 0.6 * f) }' || { echo "FAIL: loss did not fall"; exit 1; }
awk -v v="$val" -v h="$entropy" 'BEGIN { exit !(v != "" && v < h - 0.3) }' \
  || { echo "FAIL: validation loss $val not well below the unigram entropy $entropy"; exit 1; }
grep -Eq '^step +1/150 \| loss [0-9.]+ \| lr [0-9.e+-]+ \| gnorm +[0-9.]+ \| +[0-9]+ samples/s \| +[0-9.]+ ms \| bubble +[0-9.]+% \| eta ' "$log" \
  || { echo "FAIL: log line format"; exit 1; }
grep -q '^pipegrid: 4 ranks as pp=2 x dp=2' "$log" || { echo "FAIL: no grid line"; exit 1; }
grep -q '^model: gpt, vocab 256, ctx 64' "$log" || { echo "FAIL: no model line"; exit 1; }
grep -q '^  stage  1: layers' "$log" || { echo "FAIL: partition not printed"; exit 1; }
