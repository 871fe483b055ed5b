#!/usr/bin/env bash
# Prepares what the one-call GPU check carries to the device machine: CUDA binaries built here for sm_90
# (build-gpu/, tests on) and MNIST gzipped (data/mnist-gz/); prints the carry list and its size (64 MiB at most).
# Host libraries the GPU image may lack: libpng, zlib and libstdc++ are linked statically (small); OpenBLAS is not
# (Debian's static archive holds kernels for every CPU type, ~26 MB per binary), so the shared OpenBLAS and what it
# needs go once into build-gpu/hostlibs.tar.gz, which gpu_check.sh unpacks only when the device lacks them.
# cuBLAS and cuDNN stay dynamic and come from the device's Python site-packages (gpu_check.sh finds them).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build-gpu}
SRC_DATA=${DIGITGEN_DATA:-data/mnist}
JOBS=${JOBS:-2}
LIBDIR=/usr/lib/x86_64-linux-gnu
static_lib() {  # first existing static archive among the arguments, else empty (then CMake finds the shared one)
  for f in "$@"; do [[ -f $f ]] && { echo "$f"; return; }; done
}
PNG_A=$(static_lib "$LIBDIR/libpng16.a" "$LIBDIR/libpng.a")
Z_A=$(static_lib "$LIBDIR/libz.a")

if [[ ! -f $BUILD/build.ninja ]]; then
  cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DDIGITGEN_CUDA=ON -DDIGITGEN_CUDA_ARCHITECTURES=90 \
    -DBUILD_TESTING=ON \
    ${PNG_A:+-DPNG_LIBRARY_RELEASE=$PNG_A} ${Z_A:+-DZLIB_LIBRARY_RELEASE=$Z_A} \
    -DCMAKE_EXE_LINKER_FLAGS="-static-libstdc++ -static-libgcc"
fi
grep -q "nvcc" "$BUILD/CMakeFiles/rules.ninja" ||
  { echo "pack: $BUILD was configured without a CUDA compiler; remove it and install nvcc" >&2; exit 1; }
ninja -C "$BUILD" -j"$JOBS" digitgen digitgen_bench tests_cpu tests_gpu

# MNIST, gzipped (the IDX reader takes .gz); -n keeps the bytes stable so reruns do not change the carry.
mkdir -p data/mnist-gz
for f in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
  if [[ -f data/mnist-gz/$f.gz && data/mnist-gz/$f.gz -nt $SRC_DATA/$f ]]; then continue; fi
  [[ -f $SRC_DATA/$f ]] || { echo "pack: $SRC_DATA/$f missing (run tools/fetch_mnist.sh)" >&2; exit 1; }
  gzip -9 -n -c "$SRC_DATA/$f" > "data/mnist-gz/$f.gz.tmp" && mv "data/mnist-gz/$f.gz.tmp" "data/mnist-gz/$f.gz"
done

# Shared libraries outside the C runtime and CUDA that the binaries need, by soname, compressed.
rm -rf "$BUILD/hostlibs" && mkdir -p "$BUILD/hostlibs"
ldd "$BUILD/digitgen" "$BUILD/tests_gpu" | awk '$2 == "=>" && $3 ~ /^\// {print $1, $3}' | sort -u |
  while read -r soname path; do
    case $soname in
      libc.so* | libm.so* | libdl.so* | librt.so* | libpthread.so* | ld-linux* | libgcc_s.so* | libstdc++.so*) ;;
      libcuda.so* | libcublas*.so* | libcudnn*.so* | libcudart.so* | libnvrtc*.so*) ;;
      *) cp -L "$path" "$BUILD/hostlibs/$soname" ;;
    esac
  done
tar -C "$BUILD" -czf "$BUILD/hostlibs.tar.gz" hostlibs
echo "hostlibs.tar.gz: $(ls "$BUILD/hostlibs" | tr '\n' ' ')"

CARRY=("$BUILD/digitgen" "$BUILD/digitgen_bench" "$BUILD/tests_cpu" "$BUILD/tests_gpu" "$BUILD/hostlibs.tar.gz" data/mnist-gz)
echo
echo "carry (run tool 'carry' list; 64 MiB at most in all):"
du -sh "${CARRY[@]}"
total=$(du -cb "${CARRY[@]}" | tail -1 | cut -f1)
printf 'total %.1f MiB\n' "$(echo "$total / 1048576" | bc -l)"
printf 'carry JSON: ["%s"]\n' "$(IFS='|'; echo "${CARRY[*]}" | sed 's/|/", "/g')"
if (( total > 64 * 1048576 )); then echo "pack: carry exceeds 64 MiB" >&2; exit 1; fi
