#!/usr/bin/env bash
# device.sh: --device and --precision on the command line.
#  1. --device auto: without a GPU (or without the CUDA backend) the run says
#     in one line that it runs on the CPU, and trains; with one it runs on cuda.
#  2. --precision on the CPU: a one-line note that the CPU computes in fp32.
#  3. --device cuda without a GPU: one error line naming runtime.device.
set -euo pipefail
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
small=(--steps 1 --set model.depth=1 --set model.width=32 --set model.heads=2
       --set train.batch_size=4 --set train.microbatches=1)

"$PIPEGRID" train --device auto "${small[@]}" >"$out/auto.txt" 2>&1 || { cat "$out/auto.txt"; fail "auto run failed"; }
cat "$out/auto.txt"
if grep -q "device cuda" "$out/auto.txt"; then
  echo "a GPU is present: auto chose cuda"
  gpu=1
else
  gpu=0
  [ "$(grep -c '^note: device auto: no GPU (.*), running on the CPU$' "$out/auto.txt")" = 1 ] ||
    fail "auto without a GPU must say so in one line"
  grep -q "device cpu" "$out/auto.txt" || fail "auto without a GPU must run on the CPU"
fi

"$PIPEGRID" train --device cpu --precision bf16 "${small[@]}" >"$out/prec.txt" 2>&1 ||
  { cat "$out/prec.txt"; fail "cpu bf16 run failed"; }
grep -q "^note: runtime.precision: the CPU backend computes in fp32$" "$out/prec.txt" ||
  fail "--precision bf16 on the CPU: expected the fp32 note"

if [ $gpu = 0 ]; then
  if "$PIPEGRID" train --device cuda "${small[@]}" >"$out/cuda.txt" 2>&1; then
    fail "--device cuda without a GPU must fail"
  fi
  cat "$out/cuda.txt"
  [ "$(wc -l <"$out/cuda.txt")" = 1 ] || fail "expected one line"
  grep -q "^pipegrid: error: runtime.device=cuda: no GPU to run on (" "$out/cuda.txt" ||
    fail "expected the runtime.device error"
fi
echo "device.sh: ok"
