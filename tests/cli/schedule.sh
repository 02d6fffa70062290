#!/usr/bin/env bash
# schedule.sh: `pipegrid schedule` end to end.
#  1. every built-in schedule validates and draws an SVG timeline;
#  2. ZB-H1's predicted bubble is a third of 1F1B's (unit costs, pp=4, m=8);
#  3. a user file runs through the same path;
#  4. on a model with uneven emulated layers, --partition auto picks the
#     balanced split 4,1,1,2 and predicts it faster than the uniform one;
#     a memory cap that fits nothing is refused with a one-line message.
set -euo pipefail
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

for s in gpipe 1f1b interleaved zbh1 zbv; do
  "$PIPEGRID" schedule --pp 4 -m 9 -s "$s" --svg "$out/$s.svg" >"$out/$s.txt"
  grep -q "(valid, no deadlock)" "$out/$s.txt" || fail "$s not validated"
  grep -q "^<svg" "$out/$s.svg" && grep -q "</svg>" "$out/$s.svg" || fail "$s: no SVG"
  [ "$(grep -c '<title>' "$out/$s.svg")" -gt 50 ] || fail "$s: too few boxes"
done

bubble() { "$PIPEGRID" schedule --pp 4 -m 8 -s "$1" | awk '/^mean bubble/ {sub("%;?", "", $3); print $3}'; }
b1=$(bubble 1f1b) bz=$(bubble zbh1)
echo "mean bubble 1f1b $b1%, zbh1 $bz%"
[ "$b1" = "27.3" ] && [ "$bz" = "11.1" ] || fail "bubbles $b1 / $bz"

"$PIPEGRID" schedule -f mpi/zb_pp2_m3.txt --svg "$out/file.svg" | grep -q "schedule file: pp=2, 2 stages, 3 microbatches" \
  || fail "schedule file"

layers=""
for c in 1 1 1 1 4 4 1 3; do layers+="emulated:f=$c,i=$c,w=$c,width=8 "; done
model=(--set model.type=mlp --set model.input_dim=8 --set "model.layers=${layers}mse" --set train.batch_size=8)
"$PIPEGRID" schedule --pp 4 -m 8 "${model[@]}" --partition auto | tee "$out/auto.txt" | sed -n '/^uniform split/,/^auto split/p'
grep -q "^auto split:    4,1,1,2" "$out/auto.txt" || fail "auto split"
uni=$(awk '/^uniform split:/ {print $6}' "$out/auto.txt")
auto=$(awk '/^predicted step/ {print $3}' "$out/auto.txt")
awk -v a="$auto" -v u="$uni" 'BEGIN { exit !(a < 0.7 * u) }' || fail "auto $auto ms vs uniform $uni ms"
if "$PIPEGRID" schedule --pp 4 -m 8 "${model[@]}" --partition auto --mem-cap 0.0001 2>"$out/err"; then
  fail "impossible memory cap accepted"
fi
grep -q "no split into 4 stages fits the memory cap" "$out/err" || fail "cap message: $(cat "$out/err")"
echo "ok"
