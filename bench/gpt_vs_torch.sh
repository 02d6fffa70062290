#!/usr/bin/env bash
# pipegrid against PyTorch on the same GPT, shape and threads: forward + backward
# (loss included) time, tokens/s and peak RSS of each, alternating the two in one
# run (ROUNDS rounds, each a fresh process of each), then the ratio of the best
# times. The PyTorch side is bench/gpt_torch.py in the project's Python environment
# (tools/deps.sh installs torch from PyPI when it is missing).
#   bench/gpt_vs_torch.sh [SHAPE ...]     SHAPE: bench | gpt2s | long (default: all three)
#   env: THREADS (2), ROUNDS (3), PIPEGRID_BUILD (build)
# Shapes (vocabulary 256 everywhere, tied head):
#   bench  4 blocks, width 256,  4 heads, T=128,  batch 8
#   gpt2s 12 blocks, width 768, 12 heads, T=256,  batch 4   (GPT-2 small's width)
#   long   4 blocks, width 256,  4 heads, T=1024, batch 2
# Run it alone: `flock /tmp/pg-heavy.lock bench/gpt_vs_torch.sh` on a shared machine.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${PIPEGRID_BUILD:-build}
threads=${THREADS:-2}
rounds=${ROUNDS:-3}
shapes=("$@")
[ ${#shapes[@]} -gt 0 ] || shapes=(bench gpt2s long)

if ! tools/py -c 'import torch' 2>/dev/null; then
  echo "gpt_vs_torch: torch missing from the project's Python environment: running tools/deps.sh"
  tools/deps.sh
fi
cmake --build "$build" --target gpt_bench >/dev/null

echo "gpt_vs_torch: $(date -u '+%Y-%m-%d %H:%M UTC'), host $(hostname), $(nproc) cores," \
     "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "threads $threads, $rounds alternating rounds per shape; ms = median forward+backward of one process"

field() { # field NAME LINE: the number after NAME in LINE
  awk -v k="$2" '{for (i = 1; i < NF; i++) if ($i == k) { print $(i + 1); exit }}' <<<"$1"
}

for shape in "${shapes[@]}"; do
  case $shape in
    bench) d=4 w=256 h=4 t=128 b=8 iters=10 warm=2 ;;
    gpt2s) d=12 w=768 h=12 t=256 b=4 iters=3 warm=1 ;;
    long) d=4 w=256 h=4 t=1024 b=2 iters=5 warm=1 ;;
    *) echo "gpt_vs_torch: unknown shape '$shape' (bench, gpt2s or long)" >&2; exit 2 ;;
  esac
  echo
  echo "== $shape: depth $d, width $w, heads $h, vocab 256, T=$t, batch $b ($((t * b)) tokens)"
  best_pg="" best_th="" rss_pg=0 rss_th=0
  for r in $(seq 1 "$rounds"); do
    pg=$("$build/gpt_bench" --compare --threads "$threads" --iters $iters --warmup $warm \
          --batch $b --set model.depth=$d --set model.width=$w --set model.heads=$h \
          --set model.vocab=256 --set model.ctx=$t)
    th=$(tools/py bench/gpt_torch.py --depth $d --width $w --heads $h --vocab 256 --ctx $t \
          --batch $b --threads "$threads" --iters $iters --warmup $warm)
    echo "round $r  $pg"
    echo "round $r  $th"
    pm=$(field "$pg" ms) tm=$(field "$th" ms)
    best_pg=$(awk -v a="$pm" -v b="${best_pg:-1e30}" 'BEGIN { print (a < b) ? a : b }')
    best_th=$(awk -v a="$tm" -v b="${best_th:-1e30}" 'BEGIN { print (a < b) ? a : b }')
    rss_pg=$(awk -v a="$(field "$pg" rss_mb)" -v b="$rss_pg" 'BEGIN { print (a > b) ? a : b }')
    rss_th=$(awk -v a="$(field "$th" rss_mb)" -v b="$rss_th" 'BEGIN { print (a > b) ? a : b }')
  done
  awk -v p="$best_pg" -v q="$best_th" -v n=$((t * b)) -v rp="$rss_pg" -v rq="$rss_th" -v s="$shape" \
    'BEGIN { printf "%s: best pipegrid %.1f ms (%.0f tokens/s), best torch %.1f ms (%.0f tokens/s): pipegrid/torch tokens/s %.2fx; peak RSS pipegrid %.0f MB, torch %.0f MB\n", s, p, n / p * 1e3, q, n / q * 1e3, q / p, rp, rq }'
done
echo
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
