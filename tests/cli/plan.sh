#!/usr/bin/env bash
# plan.sh: `pipegrid plan` end to end.
#
#  1. 128 DGX-2 nodes x 8 GPUs (1,024 ranks), a 48-block GPT, 80 GB per GPU:
#     the text names the best plans, why each ranks where it does, the config
#     and the mpiexec and sbatch lines for 1,024 ranks on 128 nodes; the JSON
#     lists the plans with predicted steps in increasing order.
#  2. 4 CPU ranks of emulated layers: the first plan's `pipegrid train`
#     arguments, and those of the first plan with two chunks per rank and of
#     the first with a cost-balanced partition, train for two steps as printed.
set -euo pipefail
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

cat >"$out/big.ini" <<'EOF'
[model]
type = gpt
vocab = 50304
ctx = 2048
depth = 48
heads = 25
width = 1600
[train]
batch_size = 2048
EOF
big=(-c "$out/big.ini" --xml topologies/hwloc-nvidiaDGX2.xml --nodes 128 --gpus-per-node 8
     --oversubscribe --mem 80 --tflops 300 --net-gbs 25)
"$PIPEGRID" plan "${big[@]}" | tee "$out/plan.txt"
grep -q '^plan: 128 nodes x 8 GPUs = 1024 ranks' "$out/plan.txt" || fail "header"
grep -q '^  #1 ' "$out/plan.txt" && grep -q '^  #5 .*slower than #1' "$out/plan.txt" ||
  fail "no reasons"
grep -q '^  mpiexec -n 1024 -ppn 8 pipegrid train -c ' "$out/plan.txt" || fail "mpiexec line"
grep -q 'sbatch --nodes=128 --ntasks-per-node=8 --gpus-per-node=8 jobs/gpu-nodes.sbatch' \
  "$out/plan.txt" || fail "sbatch line"
"$PIPEGRID" plan "${big[@]}" --json --top 0 >"$out/plan.json"
steps=$(grep -o '"step_ms":[[:space:]]*[0-9.e+-]*' "$out/plan.json" | sed 's/.*:[[:space:]]*//')
[ "$(echo "$steps" | wc -l)" -gt 10 ] || fail "too few plans in the JSON"
echo "$steps" | sort -g -c || fail "plans not in order of predicted step"
grep -q '"ranks":[[:space:]]*1024' "$out/plan.json" || fail "ranks"

# --- 2. the printed arguments train ---
small=(--set model.type=mlp --set model.input_dim=32
       --set "model.layers=emulated:f=3,i=3,w=3,per=sample,width=32 3*emulated:f=1,i=1,w=1,per=sample,width=32,params=64 linear:8 mse"
       --set train.batch_size=16 --set data.teacher_hidden=4)
"$PIPEGRID" plan "${small[@]}" -R 4 --device cpu --oversubscribe --json --top 0 \
  >"$out/small.json"
args_of() { # the train_args of the first plan whose JSON object matches PATTERN
  awk -v pat="$1" '/"rank":/ { obj = "" } { obj = obj $0 }
    /"train_args":/ && obj ~ pat { sub(/.*"train_args":[[:space:]]*"/, ""); sub(/",?$/, ""); print; exit }' \
    "$out/small.json"
}
for pat in '"rank":[[:space:]]*1,' '"chunks":[[:space:]]*2' '"partition":[[:space:]]*"[0-9]'; do
  args=$(args_of "$pat")
  [ -n "$args" ] || fail "no plan matching $pat"
  echo "plan matching $pat: train $args"
  eval "set -- $args"
  "$MPIEXEC" -n 4 "$PIPEGRID" train "$@" --steps 2 --set train.log_every=1 >"$out/train.txt" ||
    { cat "$out/train.txt"; fail "training with the plan's arguments"; }
  grep -q '^step *2/2' "$out/train.txt" || fail "no step 2"
done
echo "plan: ok"
