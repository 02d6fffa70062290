#!/usr/bin/env bash
# ckpt_bandwidth.sh: checkpoint save and load bandwidth against dd writing and
# reading the same number of bytes to the same disk, in the same run.
#
#   bench/ckpt_bandwidth.sh [DIR] [NPROCS] [PP] [WIDTH] [LAYERS]
#
# Trains one step of a wide MLP (LAYERS linear layers WIDTH x WIDTH; the
# defaults 4 x 4096 give 268 MB of weights, an 805 MB checkpoint with AdamW's
# two moments) on NPROCS ranks as PP stages, saves it (parallel HDF5, synced),
# loads it on the same grid in new processes, and runs
#   dd if=/dev/zero of=DIR/dd.bin bs=4M count=N conv=fsync   (write, synced)
#   dd if=DIR/step_00000001.h5 of=/dev/null bs=4M           (read)
# Both reads come from the page cache when the file is still there (as the
# load does); nothing here drops caches.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-$(mktemp -d /var/tmp/pg_ckpt_bench.XXXXXX)}
n=${2:-4} pp=${3:-2} width=${4:-4096} layers=${5:-4}
bin=${PIPEGRID:-build/pipegrid}
export HDF5_USE_FILE_LOCKING=FALSE OPENBLAS_NUM_THREADS=1
mkdir -p "$dir"
trap 'rm -rf "$dir"' EXIT
common=(--pp "$pp" --steps 1 --set model.type=mlp --set "model.input_dim=$width"
        --set "model.layers=${layers}*linear:${width} mse" --set train.batch_size=4
        --set train.microbatches=1 --set data.teacher_hidden=4 --set parallel.partition=uniform
        --set "checkpoint.dir=$dir/ckpt" --set checkpoint.every=1)
save=$(mpiexec -n "$n" "$bin" train "${common[@]}" | grep '^checkpoint:')
# (--steps 2: a checkpoint at or past train.steps is refused; the step after the load is not timed)
load=$(mpiexec -n "$n" "$bin" train "${common[@]}" --steps 2 --set checkpoint.every=0 --resume latest |
       grep '^resumed from')
file=$dir/ckpt/step_00000001.h5
bytes=$(stat -c %s "$file")
count=$(( (bytes + 4194303) / 4194304 ))
ddw=$(dd if=/dev/zero of="$dir/dd.bin" bs=4M count=$count conv=fsync 2>&1 | tail -1)
ddr=$(dd if="$file" of=/dev/null bs=4M 2>&1 | tail -1)
mbps() { awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^MB\/s|^GB\/s/) { v = $(i-1); if ($i ~ /^GB/) v *= 1000; print v } }'; }
# pipegrid lines: "(X MB in Y s, Z MB/s)"
pg_mbps() { sed -E 's/.*\(([0-9.]+) MB in ([0-9.]+) s.*/\1 \2/' | awk '{ printf "%.0f", $1 / $2 }'; }
sw=$(echo "$save" | pg_mbps) lr=$(echo "$load" | pg_mbps)
dw=$(echo "$ddw" | sed 's/,/ /g' | mbps) dr=$(echo "$ddr" | sed 's/,/ /g' | mbps)
echo "model: ${layers} x linear ${width}x${width} on $n ranks (pp=$pp), checkpoint $(( bytes / 1000000 )) MB in $dir"
echo "save: $save"
echo "load: $load"
echo "dd write (conv=fsync): $ddw"
echo "dd read:               $ddr"
awk -v sw="$sw" -v dw="$dw" -v lr="$lr" -v dr="$dr" 'BEGIN {
  printf "save %s MB/s vs dd write %s MB/s: ratio %.2f\n", sw, dw, sw / dw
  printf "load %s MB/s vs dd read  %s MB/s: ratio %.2f\n", lr, dr, lr / dr }'
