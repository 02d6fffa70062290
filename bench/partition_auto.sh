#!/usr/bin/env bash
# partition_auto.sh: the cost-balanced partition on a model with deliberately
# uneven layers (emulated: each layer sleeps its F/I/W), measured against the
# uniform split and against its own prediction.
#
#   bench/partition_auto.sh [PP] [MICROBATCHES] [SCHEDULE] [STEPS] [SCALE_MS]  (defaults 4 8 1f1b 5 2)
#
# Layer costs (F = I = W, in units of SCALE_MS): 1 1 1 1 4 4 1 3; the uniform
# split (two layers a stage) puts 8 units on stage 2, the balanced one 4 on
# every stage. `pipegrid schedule --costs profile --partition auto` chooses the
# split and predicts both; `pipegrid train` measures both (mean of steps 3..).
set -euo pipefail
cd "$(dirname "$0")/.."
pp=${1:-4} m=${2:-8} sched=${3:-1f1b} steps=${4:-5} u=${5:-2}
lat=${LAT_US:-50}
bin=${PIPEGRID:-build/pipegrid}
layers=""
for c in 1 1 1 1 4 4 1 3; do
  ms=$(echo "$c * $u" | bc -l)
  layers+="emulated:f=$ms,i=$ms,w=$ms,width=64 "
done
layers+="mse"
sets=(--set model.type=mlp --set "model.input_dim=64" --set "model.layers=$layers" --set "train.batch_size=$m"
      --set data.teacher_hidden=4 --set train.log_every=1)
log=$(mktemp)
trap 'rm -f "$log"' EXIT
"$bin" schedule --pp "$pp" -m "$m" -s "$sched" "${sets[@]}" --costs profile --latency "$lat" \
  --partition auto >"$log"
uni_pred=$(awk '/^uniform split:/ {print $6}' "$log")
split=$(awk '/^auto split:/ {print $3}' "$log")
auto_pred=$(awk '/^predicted step/ {print $3}' "$log")
measure() {
  mpiexec -n "$pp" "$bin" train --pp "$pp" --schedule "$sched" --microbatches "$m" \
    --steps "$steps" "${sets[@]}" --set "parallel.partition=$1" |
    awk -F'|' '/^step/ { split($1, a, "[ /]+"); if (a[2] >= 3) { split($6, t, " "); s += t[1]; k++ } }
               END { printf "%.2f", s / k }'
}
uni_meas=$(measure uniform)
auto_meas=$(measure "$split")
echo "layer costs (x $u ms, F = I = W): 1 1 1 1 4 4 1 3; pp=$pp, m=$m, $sched"
printf "%-22s %10s %10s %9s\n" split "pred ms" "meas ms" "meas/pred"
printf "%-22s %10.2f %10.2f %9.3f\n" "uniform 2,2,2,2" "$uni_pred" "$uni_meas" "$(echo "$uni_meas / $uni_pred" | bc -l)"
printf "%-22s %10.2f %10.2f %9.3f\n" "auto $split" "$auto_pred" "$auto_meas" "$(echo "$auto_meas / $auto_pred" | bc -l)"
printf "auto / uniform (measured) = %.3f\n" "$(echo "$auto_meas / $uni_meas" | bc -l)"
