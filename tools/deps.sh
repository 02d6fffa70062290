#!/usr/bin/env bash
# Install what pipegrid needs to build, test and run its tools, skipping what is
# already there (a second run takes well under a second):
#  1. the Debian 12 packages (run as root, or with sudo available);
#  2. the project's Python virtual environment, .venv/ in the repository root
#     ($PIPEGRID_VENV overrides), made with `python3 -m venv` and filled from
#     PyPI with tools/requirements.txt. Every Python tool of the repo runs
#     through it (tools/py), whatever python3 is on PATH (a pyenv Python does
#     not see Debian's python3-* packages). It is refilled when
#     tools/requirements.txt changes. The wheels are kept in
#     ~/.cache/pipegrid/wheels ($PIPEGRID_WHEELS overrides), so that another
#     clone on the same machine (CI's) installs them without the network.
#   tools/deps.sh [extra-debian-package ...]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
packages=(build-essential cmake pkg-config mpich libmpich-dev libopenblas-dev libinih-dev
          libcjson-dev libhdf5-mpich-dev hdf5-tools zlib1g-dev libisal-dev libhwloc-dev hwloc-nox python3
          python3-venv slurm-wlm munge "$@")
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "tools/deps.sh: installing ${missing[*]}"
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "tools/deps.sh: run as root to install: ${missing[*]}" >&2; exit 1; }
    sudo=sudo
  fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The Python environment. The python3 on PATH makes it when it is 3.10 or newer
# (torch needs that), else Debian's.
venv=${PIPEGRID_VENV:-$root/.venv}
req=$root/tools/requirements.txt
stamp=$venv/.pipegrid-requirements
if [ -x "$venv/bin/python" ] && cmp -s "$req" "$stamp"; then
  exit 0
fi
if [ ! -x "$venv/bin/python" ]; then
  base=python3
  command -v python3 >/dev/null &&
    python3 -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null || base=/usr/bin/python3
  echo "tools/deps.sh: making the Python environment $venv with $(command -v $base) ($($base --version 2>&1))"
  "$base" -m venv "$venv"
fi
wheels=${PIPEGRID_WHEELS:-${XDG_CACHE_HOME:-$HOME/.cache}/pipegrid/wheels}
mkdir -p "$wheels"
start=$(date +%s)
pip=("$venv/bin/python" -m pip --disable-pip-version-check -q)
if "${pip[@]}" install --no-index --find-links "$wheels" -r "$req" 2>/dev/null; then
  echo "tools/deps.sh: filled $venv from the wheels in $wheels"
else
  echo "tools/deps.sh: filling $venv from PyPI (tools/requirements.txt; wheels kept in $wheels)"
  "${pip[@]}" download -d "$wheels" -r "$req"
  "${pip[@]}" install --no-index --find-links "$wheels" -r "$req"
fi
cp "$req" "$stamp"
echo "tools/deps.sh: Python environment ready in $(( $(date +%s) - start )) s ($(du -sh "$venv" | cut -f1))"
