#!/usr/bin/env bash
# Installs the Debian packages the digitgen build and tools need, only those not already installed.
# As non-root it prints the exact sudo command instead and exits 1. Silent when nothing is missing.
set -euo pipefail

pkgs=(cmake ninja-build g++ libcli11-dev nlohmann-json3-dev zlib1g-dev libpng-dev libopenblas-dev libeigen3-dev
      libgtest-dev libbenchmark-dev gnuplot-nox npm)

missing=()
for p in "${pkgs[@]}"; do
  status="$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)"
  [[ "$status" == "installed" ]] && continue
  # npm also ships with Node.js installs outside Debian's packages; any working npm on PATH will do.
  [[ "$p" == npm ]] && command -v npm >/dev/null 2>&1 && continue
  missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

if [[ "$(id -u)" != 0 ]]; then
  echo "bootstrap: missing packages: ${missing[*]}" >&2
  echo "sudo apt-get install -y --no-install-recommends ${missing[*]}"
  exit 1
fi
echo "bootstrap: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends "${missing[@]}"
