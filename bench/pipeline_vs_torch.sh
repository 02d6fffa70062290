#!/usr/bin/env bash
# pipegrid's pipeline against torch.distributed.pipelining on the same model and
# ranks, alternating the two in one run: pp=2 on 2 ranks, an 8-layer width-1024 MLP
# (ReLU, MSE), batch 64 in 8 microbatches, 1F1B, SGD, one thread per rank. Prints
# both median step times per round and the ratio of the best (bench/mlp_pipe.c,
# bench/mlp_pipe_torch.py).
#   bench/pipeline_vs_torch.sh        env: ROUNDS (3), PIPEGRID_BUILD (build)
# Run it alone: `flock /tmp/pg-heavy.lock bench/pipeline_vs_torch.sh` on a shared machine.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${PIPEGRID_BUILD:-build}
rounds=${ROUNDS:-3}
if ! tools/py -c 'import torch' 2>/dev/null; then
  echo "pipeline_vs_torch: torch missing from the project's Python environment: running tools/deps.sh"
  tools/deps.sh
fi
cmake --build "$build" --target pg_mlp_pipe_bench >/dev/null
echo "pipeline_vs_torch: $(date -u '+%Y-%m-%d %H:%M UTC'), host $(hostname), $(nproc) cores," \
     "load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "pp=2 on 2 ranks, 8 x linear 1024 (ReLU, MSE), batch 64 in 8 microbatches, 1F1B, SGD, 1 thread per rank"
field() { awk -v k="$2" '{for (i = 1; i < NF; i++) if ($i == k) { print $(i + 1); exit }}' <<<"$1"; }
best_pg=1e30 best_th=1e30
for r in $(seq 1 "$rounds"); do
  pg=$(mpiexec -n 2 "$build/pg_mlp_pipe_bench")
  th=$(tools/py bench/mlp_pipe_torch.py --ranks 2)
  echo "round $r  $pg"
  echo "round $r  $th"
  best_pg=$(awk -v a="$(field "$pg" step_ms)" -v b="$best_pg" 'BEGIN { print (a < b) ? a : b }')
  best_th=$(awk -v a="$(field "$th" step_ms)" -v b="$best_th" 'BEGIN { print (a < b) ? a : b }')
done
awk -v p="$best_pg" -v q="$best_th" 'BEGIN { printf "best step: pipegrid %.1f ms, torch.distributed.pipelining %.1f ms: pipegrid/torch speed %.2fx\n", p, q, q / p }'
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
