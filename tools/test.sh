#!/usr/bin/env bash
# The whole test suite: install what is missing, fetch MNIST, build everything, run ctest (labels cpu and gpu;
# gpu tests skip with their reason where no device is usable, or fail under DIGITGEN_REQUIRE_GPU=1).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash tools/bootstrap.sh
bash tools/fetch_mnist.sh data/mnist
bash tools/build.sh
cd "${BUILD_DIR:-$root/build}"
ctest --output-on-failure -j2 "$@"
