#!/usr/bin/env bash
# The README's first command: install what is missing, build, train the
# built-in job (a small GPT on Debian's license texts, docs/gpt.md) at pp=2 x dp=2
# on 4 MPI ranks, save its last step in checkpoints/quickstart, and print a
# sample of the text the trained model writes (pipegrid sample, docs/sampling.md).
set -euo pipefail
cd "$(dirname "$0")/.."
tools/deps.sh
tools/build.sh
mpiexec -n 4 build/pipegrid train --pp 2 --dp 2 --set checkpoint.every=100000 \
  --set checkpoint.dir=checkpoints/quickstart "$@"
echo "== sample: build/pipegrid sample checkpoints/quickstart --prompt 'The licensee ' -n 300"
build/pipegrid sample checkpoints/quickstart --prompt "The licensee " -n 300
