#!/usr/bin/env bash
# The README's second command: install what is missing, build, run the whole
# test suite. Extra arguments go to ctest (e.g. -L unit).
set -euo pipefail
cd "$(dirname "$0")/.."
tools/deps.sh
tools/build.sh
cd "${PIPEGRID_BUILD:-build}"
exec ctest --output-on-failure --timeout 600 "$@"
