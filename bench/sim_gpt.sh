#!/usr/bin/env bash
# sim_gpt.sh: the simulator on real compute: `pipegrid schedule --costs profile`
# against `pipegrid train` for the GPT at pp=2 on 2 ranks.
#
#   bench/sim_gpt.sh [STEPS] [SCHEDULES...]     (defaults 10, 1f1b gpipe zbh1)
#
# The GPT of the issue: the built-in model with depth 8, global batch 32,
# 8 microbatches, uniform partition. The prediction profiles every layer with
# 2 profilers at once and 1 BLAS thread each (what 2 ranks on this machine
# get) and adds the step end (the timed AdamW step of the fuller rank and two
# message latencies); measured = mean step time of steps 3..STEPS. Each
# schedule is predicted right before it is trained, so both see the same load.
# PIPEGRID_BASELINE=BIN also prints the prediction of another pipegrid build
# (e.g. one before the step end and concurrent profiling were modelled).
set -euo pipefail
cd "$(dirname "$0")/.."
steps=${1:-10}
shift || true
scheds=("$@")
[ ${#scheds[@]} -gt 0 ] || scheds=(1f1b gpipe zbh1)
bin=${PIPEGRID:-build/pipegrid}
G=(--set model.depth=8 --set train.batch_size=32 --set train.microbatches=8
   --set parallel.partition=uniform)
log=$(mktemp)
trap 'rm -f "$log"' EXIT
echo "GPT depth 8, batch 32, m=8, pp=2 on 2 ranks; load average $(cut -d' ' -f1-3 /proc/loadavg)"
base=${PIPEGRID_BASELINE:-}
printf "%-10s %10s %10s %9s %12s%s\n" schedule "pred ms" "meas ms" "meas/pred" "step end ms" \
  "${base:+   baseline pred ms  meas/baseline}"
for s in "${scheds[@]}"; do
  "$bin" schedule --pp 2 -s "$s" "${G[@]}" --costs profile --latency 20 >"$log"
  pred=$(awk '/^predicted step/ {print $3}' "$log")
  end=$(awk '/step end/ {print $(NF-1)}' "$log")
  bpred=""
  if [ -n "$base" ]; then
    "$base" schedule --pp 2 -s "$s" "${G[@]}" --costs profile --latency 20 >"$log"
    bpred=$(awk '/^predicted step/ {print $3}' "$log")
  fi
  mpiexec -n 2 "$bin" train --pp 2 --dp 1 --schedule "$s" "${G[@]}" --steps "$steps" \
    --set train.log_every=1 --set train.eval_every=0 >"$log"
  meas=$(awk -F'|' '/^step/ { split($1, a, "[ /]+"); if (a[2] >= 3) { split($6, t, " ");
    sum += t[1]; k++ } } END { printf "%.2f", sum / k }' "$log")
  printf "%-10s %10.2f %10.2f %9.3f %12s" "$s" "$pred" "$meas" "$(echo "$meas / $pred" | bc -l)" \
    "$end"
  [ -z "$bpred" ] || printf " %19.2f %14.3f" "$bpred" "$(echo "$meas / $bpred" | bc -l)"
  echo
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
