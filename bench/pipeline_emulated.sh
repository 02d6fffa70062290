#!/usr/bin/env bash
# pipeline_emulated.sh: measured 1F1B step time against the ideal schedule
# time, with emulated layers (each stage sleeps f ms forward, b = i + w ms
# backward per microbatch), so 8 ranks measure cleanly on a 2-core machine.
#
#   bench/pipeline_emulated.sh [PP] [MICROBATCHES] [F_MS] [SCHEDULE]
#
# ideal = (m + p - 1) * (f + b); prints the mean step time of steps 2..6.
set -euo pipefail
cd "$(dirname "$0")/.."
pp=${1:-8} m=${2:-16} f=${3:-10} sched=${4:-1f1b}
bin=${PIPEGRID:-build/pipegrid}
steps=6
layers="${pp}*emulated:f=${f},i=${f},w=${f},width=1024 mse"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
mpiexec -n "$pp" "$bin" train --pp "$pp" --schedule "$sched" --microbatches "$m" --steps "$steps" \
  --set model.type=mlp --set "model.input_dim=1024" --set "model.layers=$layers" --set "train.batch_size=$m" \
  --set parallel.partition=uniform --set train.log_every=1 --set data.teacher_hidden=4 >"$log"
awk -F'|' -v p="$pp" -v m="$m" -v f="$f" -v sched="$sched" '
  /^step/ { split($1, a, "[ /]+"); s = a[2]; if (s >= 2) { split($6, t, " "); sum += t[1]; n++;
            split($7, bb, " "); bub += bb[2] + 0 } }
  END {
    ideal = (m + p - 1) * 3 * f
    mean = sum / n
    printf "schedule %s, pp=%d, m=%d, f=%g ms, b=%g ms\n", sched, p, m, f, 2 * f
    printf "ideal (m+p-1)(f+b) = %.1f ms\n", ideal
    printf "measured step      = %.1f ms (mean of %d steps)\n", mean, n
    printf "measured / ideal   = %.3f\n", mean / ideal
    printf "measured bubble    = %.1f%% (theory (p-1)/(m+p-1) = %.1f%%)\n", bub / n, 100 * (p - 1) / (m + p - 1)
  }' "$log"
