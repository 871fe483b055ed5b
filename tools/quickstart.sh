#!/usr/bin/env bash
# The main job on a default that needs no choices: install what is missing, fetch MNIST, build, train a VAE on
# the best available device for a few minutes, and write a PNG grid of generated digits.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash tools/bootstrap.sh
bash tools/fetch_mnist.sh data/mnist
bash tools/build.sh digitgen
run="${RUN:-runs/quickstart-vae}"
rm -rf "$run"
./build/digitgen train --model vae --epochs "${EPOCHS:-10}" --out "$run"
./build/digitgen sample --checkpoint "$run" --n 100 --out "$run/generated.png"
echo
echo "Generated digits: $root/$run/generated.png"
echo "Per-epoch grids: $root/$run/samples/, metrics: $root/$run/metrics.jsonl"
