#!/usr/bin/env bash
# The README's first command: install what is missing, build, and train the
# built-in job (a small GPT on Debian's license texts, docs/gpt.md) at pp=2 x dp=2
# on 4 MPI ranks.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/deps.sh
tools/build.sh
exec mpiexec -n 4 build/pipegrid train --pp 2 --dp 2 "$@"
