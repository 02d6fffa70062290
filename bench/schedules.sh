#!/usr/bin/env bash
# schedules.sh: every schedule's measured step time against the simulator's
# prediction, with emulated layers whose forward, input-gradient and
# weight-gradient passes each sleep F_MS (a full backward costs twice a
# forward), so 8-16 ranks measure cleanly on a 2-core machine; then ZB-H1's
# measured bubble against 1F1B's.
#
#   bench/schedules.sh [PP] [MICROBATCHES] [DP] [F_MS] [STEPS]   (defaults 4 8 2 4 8)
#
# The model has 2*PP emulated layers (two per stage; one per stage for the
# two-chunk schedules interleaved and zbv). The prediction is
# `pipegrid schedule --costs profile` (each layer's F/I/W timed here, so the
# sleep overshoot of the machine is in it) with --latency LAT_US (default 50,
# env). Measured = mean step time of steps 3..STEPS from `pipegrid train`;
# bubble = the engine's (time blocked on other ranks / step time, mean over
# ranks).
set -euo pipefail
cd "$(dirname "$0")/.."
pp=${1:-4} m=${2:-8} dp=${3:-2} f=${4:-4} steps=${5:-8}
lat=${LAT_US:-50}
bin=${PIPEGRID:-build/pipegrid}
n=$((pp * dp))
sets=(--set model.type=mlp --set "model.input_dim=256" --set "model.layers=$((2 * pp))*emulated:f=$f,i=$f,w=$f,width=256 mse"
      --set "train.batch_size=$((m * dp))" --set parallel.partition=uniform
      --set data.teacher_hidden=4 --set train.log_every=1)
log=$(mktemp)
trap 'rm -f "$log"' EXIT
echo "pp=$pp dp=$dp ($n ranks), m=$m, $((2 * pp)) emulated layers, F=I=W=$f ms per layer"
printf "%-12s %10s %10s %9s %11s %11s\n" schedule "pred ms" "meas ms" "meas/pred" "pred bubble" "meas bubble"
declare -A bubble
for sched in gpipe 1f1b interleaved zbh1 zbv; do
  "$bin" schedule --pp "$pp" -m "$m" -s "$sched" "${sets[@]}" --set "parallel.dp=$dp" \
    --costs profile --latency "$lat" >"$log"
  pred=$(awk '/^predicted step/ {print $3}' "$log")
  pbub=$(awk '/^mean bubble/ {sub("%;?", "", $3); print $3}' "$log")
  mpiexec -n "$n" "$bin" train --pp "$pp" --dp "$dp" --schedule "$sched" --microbatches "$m" \
    --steps "$steps" "${sets[@]}" >"$log"
  read -r meas mbub < <(awk -F'|' '/^step/ { split($1, a, "[ /]+"); if (a[2] >= 3) {
      split($6, t, " "); sum += t[1]; split($7, b, " "); bub += b[2]; k++ } }
      END { printf "%.2f %.1f\n", sum / k, bub / k }' "$log")
  bubble[$sched]=$mbub
  printf "%-12s %10.2f %10.2f %9.3f %10.1f%% %10.1f%%\n" "$sched" "$pred" "$meas" \
    "$(echo "$meas / $pred" | bc -l)" "$pbub" "$mbub"
done
printf "ZB-H1 bubble / 1F1B bubble (measured) = %.2f (theory 1/3 of the bubble time)\n" \
  "$(echo "${bubble[zbh1]} / ${bubble[1f1b]}" | bc -l)"
