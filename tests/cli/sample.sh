#!/usr/bin/env bash
# sample.sh: `pipegrid sample` from a checkpoint of a small gpt trained here.
#  - the prompt is printed first, then exactly N tokens (byte-level);
#  - the same seed gives the same text, another seed other text, and
#    temperature 0 the same text whatever the seed;
#  - more tokens than the context (ctx 16, 100 tokens) keep going;
#  - the checkpoint's Hugging Face export samples the same text;
#  - a pipeline of 2 ranks (one block each) samples the same text.
set -euo pipefail
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
timeout 120 "$MPIEXEC" -n 2 "$PIPEGRID" train --pp 2 --steps 30 --set model.ctx=16 \
  --set model.width=32 --set model.depth=2 --set train.eval_every=0 \
  --set checkpoint.every=30 --set checkpoint.dir="$out/ck" >"$out/train.log"
s() { "$PIPEGRID" sample "$@" 2>>"$out/err"; }
s "$out/ck" --prompt "The " -n 100 --seed 7 >"$out/a"
s "$out/ck" --prompt "The " -n 100 --seed 7 >"$out/b"
s "$out/ck" --prompt "The " -n 100 --seed 8 >"$out/c"
cmp -s "$out/a" "$out/b" || fail "the same seed gave different text"
cmp -s "$out/a" "$out/c" && fail "two seeds gave the same text"
[ "$(head -c 4 "$out/a")" = "The " ] || fail "the prompt is not printed first"
# 4 prompt bytes + 100 tokens + the final newline (the default model's ids are bytes)
[ "$(wc -c <"$out/a")" -eq 105 ] || fail "expected 105 bytes, got $(wc -c <"$out/a")"
grep -q "^sample: 100 tokens after a 4-token prompt in .* ms per token after the prompt; KV cache, ctx 16, 1 rank), seed 7$" "$out/err" ||
  fail "no timing line: $(cat "$out/err")"
s "$out/ck" -n 50 --temperature 0 --seed 1 >"$out/g1"
s "$out/ck" -n 50 --temperature 0 --seed 2 >"$out/g2"
cmp -s "$out/g1" "$out/g2" || fail "temperature 0 depends on the seed"
"$PIPEGRID" export "$out/ck" --format hf -o "$out/hf" >/dev/null
s "$out/hf" --prompt "The " -n 100 --seed 7 >"$out/h"
cmp -s "$out/a" "$out/h" || fail "the Hugging Face export samples other text"
timeout 120 "$MPIEXEC" -n 2 "$PIPEGRID" sample "$out/ck" --prompt "The " -n 100 --seed 7 >"$out/p2" 2>>"$out/err"
cmp -s "$out/a" "$out/p2" || fail "2 pipeline ranks sample other text"
grep -q "ctx 16, 2 ranks), seed 7" "$out/err" || fail "no 2-rank timing line"
cat "$out/a"
echo ok
