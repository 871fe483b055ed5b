#!/usr/bin/env bash
# Configures and builds digitgen (Release, Ninja) into build/ (override with BUILD_DIR); extra arguments are
# ninja targets. Used by quickstart.sh and test.sh so both build the same way.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${BUILD_DIR:-$root/build}"
if [[ ! -f "$build/build.ninja" ]]; then
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
ninja -C "$build" "$@"
