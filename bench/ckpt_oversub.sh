#!/usr/bin/env bash
# ckpt_oversub.sh: a checkpoint save with more ranks than cores (issue 21): the
# README's quickstart GPT (pp=2 x dp=2, 4 ranks) against the same model and
# checkpoint on 2 ranks (pp=2 x dp=1), on this machine's cores, without the
# tests' yield preload (what users run).
#
#   bench/ckpt_oversub.sh [DIR] [REPEATS]
#
# Each run trains 4 steps with a save after steps 2 and 4; the save times are
# those pipegrid logs ("checkpoint: step N -> ... (X MB in T s ...)"). Prints
# every save time, the median per grid and the ratio 4-rank / 2-rank.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-$(mktemp -d /var/tmp/pg_ckpt_oversub.XXXXXX)}
reps=${2:-3}
bin=${PIPEGRID:-build/pipegrid}
export HDF5_USE_FILE_LOCKING=FALSE
unset LD_PRELOAD
mkdir -p "$dir"
trap 'rm -rf "$dir"' EXIT
echo "cores: $(nproc); load before: $(cut -d' ' -f1-3 /proc/loadavg)"
med() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
for n in 2 4; do
  : > "$dir/t$n"
  for r in $(seq "$reps"); do
    rm -rf "$dir/c"
    mpiexec -n "$n" "$bin" train --pp 2 --dp $((n / 2)) --steps 4 --set checkpoint.every=2 \
      --set "checkpoint.dir=$dir/c" --set train.log_every=100 |
      grep '^checkpoint:' | sed -E 's/.*\(([0-9.]+) MB in ([0-9.]+) s.*/\2/' >> "$dir/t$n"
  done
  echo "$n ranks (pp=2 x dp=$((n / 2))): saves $(tr '\n' ' ' < "$dir/t$n")s; median $(med < "$dir/t$n") s"
done
mb=$(ls -l "$dir"/c/step_00000004.h5 2>/dev/null | awk '{ printf "%.1f", $5 / 1e6 }')
awk -v a="$(med < "$dir/t4")" -v b="$(med < "$dir/t2")" -v mb="$mb" \
  'BEGIN { printf "checkpoint %s MB; 4-rank / 2-rank save time: %.2f\n", mb, a / b }'
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
