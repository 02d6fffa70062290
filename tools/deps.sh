#!/usr/bin/env bash
# Install the Debian 12 packages pipegrid needs to build and test, skipping
# those already present. Run as root (or with sudo available).
#   tools/deps.sh [extra-package ...]
set -euo pipefail
packages=(build-essential cmake pkg-config mpich libmpich-dev libopenblas-dev libinih-dev
          libcjson-dev libhdf5-mpich-dev hdf5-tools zlib1g-dev libhwloc-dev hwloc-nox python3
          python3-matplotlib slurm-wlm munge "$@")
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "tools/deps.sh: installing ${missing[*]}"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "tools/deps.sh: run as root to install: ${missing[*]}" >&2; exit 1; }
  sudo=sudo
fi
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
