#!/usr/bin/env bash
# ckpt_async.sh: how long a checkpoint stalls training, synchronous against
# asynchronous (checkpoint.async=1: host copy + CRC + HDF5 metadata at the
# step boundary, the tensor bytes written by a background thread).
#
#   bench/ckpt_async.sh [DIR] [NPROCS] [PP] [WIDTH] [LAYERS] [STEPS]
#
# Trains STEPS steps of LAYERS x linear WIDTHxWIDTH with a checkpoint after
# every step, once synchronous and once asynchronous, and prints the mean
# time each save held the training loop and the whole run's wall time.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-$(mktemp -d /var/tmp/pg_ckpt_async.XXXXXX)}
n=${2:-4} pp=${3:-2} width=${4:-2048} layers=${5:-4} steps=${6:-4}
bin=${PIPEGRID:-build/pipegrid}
export HDF5_USE_FILE_LOCKING=FALSE OPENBLAS_NUM_THREADS=1
mkdir -p "$dir"
trap 'rm -rf "$dir"' EXIT
common=(--pp "$pp" --steps "$steps" --set model.type=mlp --set "model.input_dim=$width"
        --set "model.layers=${layers}*linear:${width} mse" --set train.batch_size=4
        --set train.microbatches=1 --set data.teacher_hidden=4 --set parallel.partition=uniform
        --set checkpoint.every=1 --set checkpoint.keep=2)
for mode in 0 1; do
  t0=$(date +%s.%N)
  out=$(mpiexec -n "$n" "$bin" train "${common[@]}" --set "checkpoint.dir=$dir/m$mode" \
        --set "checkpoint.async=$mode")
  t1=$(date +%s.%N)
  if [ $mode = 0 ]; then
    echo "$out" | grep '^checkpoint:' | sed -E 's/.*\(([0-9.]+) MB in ([0-9.]+) s.*/\1 \2/' |
      awk -v w="$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" '{ s += $2; mb = $1; n++ }
        END { printf "sync : %d saves of %.0f MB, mean stall %.3f s per save; run %.1f s\n", n, mb, s / n, w }'
  else
    echo "$out" | grep '^checkpoint:' | sed -E 's/.*\(([0-9.]+) MB,.*stalled ([0-9.]+) s.*/\1 \2/' |
      awk -v w="$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" '{ s += $2; mb = $1; n++ }
        END { printf "async: %d saves of %.0f MB, mean stall %.3f s per save; run %.1f s\n", n, mb, s / n, w }'
  fi
done
build/pipegrid ckpt verify "$dir/m1" >/dev/null && echo "async checkpoints verify"
