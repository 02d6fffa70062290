#!/usr/bin/env bash
# timeline_vs_sim.sh: the measured timeline of one step (train --trace, then
# pipegrid trace --svg) next to the simulator's predicted timeline of the same
# schedule (pipegrid schedule --svg), with emulated layers (each stage sleeps
# F, I and W ms per microbatch), so the ranks measure cleanly on 2 cores.
#
#   bench/timeline_vs_sim.sh [SCHEDULE] [PP] [MICROBATCHES] [MS] [OUTDIR]
#
# Writes OUTDIR/timeline_<schedule>_predicted.svg and _measured.svg (and PNGs
# when rsvg-convert is installed) and prints both step times and the summary.
set -euo pipefail
cd "$(dirname "$0")/.."
sched=${1:-1f1b} pp=${2:-4} m=${3:-8} ms=${4:-4} out=${5:-docs/img}
bin=$(realpath "${PIPEGRID:-build/pipegrid}")
steps=4
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
layers="${pp}*emulated:f=${ms},i=${ms},w=${ms},width=64 mse"
model=(--set model.type=mlp --set model.input_dim=64 --set "model.layers=$layers"
       --set "train.batch_size=$m" --set parallel.partition=uniform)
chunks=()
[ "$sched" = interleaved ] || [ "$sched" = zbv ] && chunks=(--set parallel.chunks=2)
if [ ${#chunks[@]} -gt 0 ]; then
  layers="$((2 * pp))*emulated:f=${ms},i=${ms},w=${ms},width=64 mse"
  model[5]="model.layers=$layers"
fi
echo "machine: $(hostname), $(nproc) cores, load average $(cat /proc/loadavg)"
"$bin" schedule --pp "$pp" -m "$m" --schedule "$sched" "${chunks[@]}" "${model[@]}" \
  --svg "$out/timeline_${sched}_predicted.svg" | grep -E '^predicted step|^mean bubble|written'
mpiexec -n "$pp" "$bin" train --pp "$pp" -m "$m" --schedule "$sched" --steps "$steps" "${chunks[@]}" \
  "${model[@]}" --set train.log_every=1 --trace "$tmp/tr" >"$tmp/log"
grep '^step' "$tmp/log"
svg=$(realpath "$out")/timeline_${sched}_measured.svg
(cd "$tmp" && "$bin" trace tr/trace.json --summary --svg "$svg" --step "$steps")
if command -v rsvg-convert >/dev/null; then
  for k in predicted measured; do
    rsvg-convert "$out/timeline_${sched}_$k.svg" -o "$out/timeline_${sched}_$k.png"
  done
fi
