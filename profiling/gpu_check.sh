#!/usr/bin/env bash
# The one-call GPU check for the device machine: environment and libraries, GPU and CPU test binaries, a short
# cuda training run and a sample grid per registered kind, the benchmark, compute-sanitizer; a table last.
# Run from the repository root with binaries built here by profiling/pack_gpu_carry.sh (carry the paths it prints).
#   OUT=./gpu-out BUILD=build-gpu DATA=data/mnist-gz DIGITGEN_REQUIRE_GPU=1 profiling/gpu_check.sh
# With DIGITGEN_REQUIRE_GPU=1 (the default) a missing GPU is a failure with a non-zero exit, never a skip.
# Files left in $OUT (at most 8 come back): gpu_check.log, tests_gpu.xml, tests_cpu.xml, runs.tar.gz and up to
# four grid-<kind>.png; grids beyond that go into runs.tar.gz.
set -uo pipefail
cd "$(dirname "$0")/.."

BUILD=${BUILD:-build-gpu}
OUT=${OUT:-./gpu-out}
DATA=${DATA:-data/mnist-gz}
export DIGITGEN_REQUIRE_GPU=${DIGITGEN_REQUIRE_GPU:-1}
# DEVICE=cpu with DIGITGEN_REQUIRE_GPU=0 dry-runs stages 4-5 on a machine without a GPU (plumbing only).
DEVICE=${DEVICE:-cuda} TRAIN_IMAGES=${TRAIN_IMAGES:-20000} TEST_IMAGES=${TEST_IMAGES:-2000}
# Per-stage limits in seconds, with the 10 s model listing under 5 minutes in all; T_TRAIN is shared by all
# kinds, training and sampling together.
T_ENV=${T_ENV:-15} T_TESTS_GPU=${T_TESTS_GPU:-55} T_TESTS_CPU=${T_TESTS_CPU:-35} T_TRAIN=${T_TRAIN:-100}
T_BENCH=${T_BENCH:-40} T_SANITIZER=${T_SANITIZER:-35}
T_DDPM=${T_DDPM:-30}  # per ddpm sampler variant (stage 4d)
MAX_OUT_FILES=8

mkdir -p "$OUT"
LOG=$OUT/gpu_check.log
: >"$LOG"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/gpu_check.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/runs" "$WORK/grids"

NAMES=() STATUS=() SECS=() NOTES=()
record() { NAMES+=("$1"); STATUS+=("$2"); SECS+=("$3"); NOTES+=("$4"); }
say() { echo "$*" | tee -a "$LOG"; }
now() { date +%s.%N; }
elapsed() { echo "$(now) $1" | awk '{printf "%.1f", $1 - $2}'; }

print_table() {
  say ""
  say "== gpu_check summary ($(date -u +%Y-%m-%dT%H:%MZ), build $BUILD, out $OUT) =="
  local i fails=0
  for i in "${!NAMES[@]}"; do
    printf '%-22s %-8s %7ss  %s\n' "${NAMES[$i]}" "${STATUS[$i]}" "${SECS[$i]}" "${NOTES[$i]}" | tee -a "$LOG"
    [[ ${STATUS[$i]} == FAIL || ${STATUS[$i]} == TIMEOUT ]] && fails=$((fails + 1))
  done
  if ((fails)); then say "GPU CHECK FAILED: $fails stage(s) failed (details above and in $LOG)"; else say "GPU CHECK PASSED"; fi
  return $fails
}

# run_stage NAME LIMIT CMD...: runs CMD under `timeout`, output into the log; sets RC and DT.
run_stage() {
  local name=$1 limit=$2
  shift 2
  say ""
  say "== $name (limit ${limit}s): $*"
  local t0
  t0=$(now)
  timeout --kill-after=2 "$limit" "$@" 2>&1 | tee -a "$LOG"
  RC=${PIPESTATUS[0]}
  DT=$(elapsed "$t0")
}
status_of() { case $1 in 0) echo PASS ;; 124 | 137) echo TIMEOUT ;; *) echo FAIL ;; esac; }

# ---- 1: GPU, libraries ----
t0=$(now)
say "== env: $(uname -srm), $(nproc) cores; BUILD=$BUILD DATA=$DATA DIGITGEN_REQUIRE_GPU=$DIGITGEN_REQUIRE_GPU"
# cuBLAS and cuDNN may exist only inside Python packages (nvidia-cublas, nvidia-cudnn): put every nvidia/*/lib
# folder that holds them (and their siblings: cublasLt, nvrtc for cuDNN's runtime-compiled engines) on the path.
libdirs=""
for py in python3 /usr/bin/python3 /usr/local/bin/python3; do
  command -v "$py" >/dev/null 2>&1 || continue
  sps=$(timeout 10 "$py" -c 'import site, sys; print("\n".join(site.getsitepackages() + [site.getusersitepackages()] + sys.path))' 2>/dev/null)
  for sp in $sps; do
    [[ -d $sp/nvidia ]] || continue
    while IFS= read -r lib; do
      d=$(dirname "$lib")
      [[ ":$libdirs:" == *":$d:"* ]] || libdirs=${libdirs:+$libdirs:}$d
    done < <(find "$sp/nvidia" -maxdepth 3 \( -name 'libcudnn.so.9' -o -name 'libcublas.so.13' -o -name 'libcublasLt.so.13' -o -name 'libnvrtc.so.13' -o -name 'libnvrtc.so*' \) 2>/dev/null)
  done
done
if [[ -n $libdirs ]]; then
  export LD_LIBRARY_PATH=$libdirs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
  say "library folders added from Python packages: $libdirs"
else
  say "no nvidia/ library folders found under Python site-packages; relying on the system's"
fi

# Host libraries the image may lack (OpenBLAS and its Fortran runtime), packed by pack_gpu_carry.sh: used only
# for what the system does not provide (appended to the search path, so the system's own copies win).
if [[ -f $BUILD/hostlibs.tar.gz ]] && ldd "$BUILD"/digitgen "$BUILD"/tests_gpu 2>/dev/null | grep -q 'not found'; then
  tar -C "$WORK" -xzf "$BUILD/hostlibs.tar.gz" && export LD_LIBRARY_PATH=$LD_LIBRARY_PATH${LD_LIBRARY_PATH:+:}$WORK/hostlibs
  say "using carried host libraries: $(ls "$WORK/hostlibs" | tr '\n' ' ')"
fi

env_ok=1 gpu_ok=1 note=""
if smi=$(timeout "$T_ENV" nvidia-smi 2>&1); then
  say "$smi"
  say "$(timeout 5 nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap --format=csv,noheader 2>&1)"
  note="$(timeout 5 nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1)"
else
  gpu_ok=0
  say "nvidia-smi failed: ${smi:-not installed}"
  note="no GPU (nvidia-smi failed)"
fi
missing=""
for b in digitgen digitgen_bench tests_gpu tests_cpu; do
  if [[ ! -x $BUILD/$b ]]; then
    missing+=" $b(absent)"
    continue
  fi
  say "-- ldd $BUILD/$b"
  out=$(ldd "$BUILD/$b" 2>&1)
  say "$out"
  nf=$(grep -E 'not found' <<<"$out" | awk '{print $1}' | tr '\n' ' ')
  [[ -n $nf ]] && missing+=" $b:[${nf% }]"
done
if [[ -n $missing ]]; then
  env_ok=0
  note="${note:+$note; }missing:$missing (build with profiling/pack_gpu_carry.sh and carry its list)"
fi
if ((gpu_ok == 0 && DIGITGEN_REQUIRE_GPU == 1)) || ((env_ok == 0)); then
  record "1 gpu+libraries" FAIL "$(elapsed "$t0")" "$note"
  say "FATAL: ${note}; DIGITGEN_REQUIRE_GPU=$DIGITGEN_REQUIRE_GPU, so stopping here"
  print_table
  exit 1
fi
record "1 gpu+libraries" "$( ((gpu_ok)) && echo PASS || echo SKIP)" "$(elapsed "$t0")" "$note"

# ---- 2, 3: test binaries, run directly (ctest's files hold this build machine's absolute paths) ----
gtest_note() {  # "N tests, M failed" from a gtest XML report
  [[ -f $1 ]] || { echo "no report"; return; }
  local tests failures skipped
  tests=$(grep -m1 -o 'tests="[0-9]*"' "$1" | tr -dc 0-9)
  failures=$(grep -m1 -o 'failures="[0-9]*"' "$1" | tr -dc 0-9)
  skipped=$(grep -c '<skipped' "$1")
  echo "${tests:-?} tests, ${failures:-?} failed, ${skipped:-0} skipped"
}
run_stage "2 tests_gpu" "$T_TESTS_GPU" "$BUILD/tests_gpu" --gtest_output="xml:$OUT/tests_gpu.xml"
st=$(status_of $RC)
note=$(gtest_note "$OUT/tests_gpu.xml")
record "2 tests_gpu" "$st" "$DT" "$note"
if [[ $st != PASS ]] && grep -q "no usable device" "$LOG" && [[ $DIGITGEN_REQUIRE_GPU == 1 ]]; then
  say "FATAL: the tests found no usable device; DIGITGEN_REQUIRE_GPU=1, so stopping here"
  print_table
  exit 1
fi

run_stage "3 tests_cpu" "$T_TESTS_CPU" "$BUILD/tests_cpu" --gtest_output="xml:$OUT/tests_cpu.xml"
record "3 tests_cpu" "$(status_of $RC)" "$DT" "$(gtest_note "$OUT/tests_cpu.xml")"

RUN_DEVICE=1
[[ $gpu_ok == 0 && $DEVICE == cuda ]] && RUN_DEVICE=0

# ---- 4: every registered kind trains briefly on cuda; loss must fall; a 64-digit grid where the kind generates ----
kinds=$(timeout 10 "$BUILD/digitgen" models 2>>"$LOG" | awk '/^[^ \t]/ {print $1}')
if ((RUN_DEVICE == 0)); then
  record "4 train" SKIP 0 "no GPU"
elif [[ -z $kinds ]]; then
  record "4 train" FAIL 0 "digitgen models listed no kinds"
else
  nk=$(wc -w <<<"$kinds")
  per_kind=$((T_TRAIN / nk))
  t_sample=$((per_kind / 3)) && ((t_sample < 5)) && t_sample=5
  t_fit=$((per_kind - t_sample)) && ((t_fit < 5)) && t_fit=5
  for k in $kinds; do
    run="$WORK/runs/$k"
    run_stage "4 train $k" "$t_fit" "$BUILD/digitgen" train --model "$k" --device "$DEVICE" --data "$DATA" \
      --epochs 1 --train-images "$TRAIN_IMAGES" --test-images "$TEST_IMAGES" --keep 1 --quiet --out "$run"
    st=$(status_of $RC) dt=$DT note=""
    if [[ $st == PASS ]]; then
      losses=$(grep '"split":"train"' "$run/metrics.jsonl" 2>/dev/null | grep -o '"loss":[-+0-9.eE]*' | cut -d: -f2)
      first=$(head -1 <<<"$losses") last=$(tail -1 <<<"$losses")
      if [[ -z $first || $(wc -l <<<"$losses") -lt 2 ]]; then
        st=FAIL note="fewer than two train lines with a loss in metrics.jsonl"
      elif awk -v a="$first" -v b="$last" 'BEGIN { exit !(b < a) }'; then
        note="loss $(printf '%.4g -> %.4g' "$first" "$last")"
      else
        st=FAIL note="loss did not fall: $first -> $last"
      fi
      t1=$(now)
      if sout=$(timeout --kill-after=2 "$t_sample" "$BUILD/digitgen" sample --device "$DEVICE" --checkpoint "$run" --n 64 --out "$WORK/grids/grid-$k.png" 2>&1); then
        note+="; grid-$k.png"
      elif grep -q "does not generate" <<<"$sout"; then
        note+="; no sampling (kind does not generate)"
      else
        st=FAIL note+="; sample failed: $(tail -1 <<<"$sout")"
      fi
      say "$sout"
      dt=$(awk -v a="$dt" -v b="$(elapsed "$t1")" 'BEGIN { printf "%.1f", a + b }')
    else
      note="exit $RC: $(grep -v '^$' "$LOG" | tail -1 | cut -c1-120)"
    fi
    record "4 train $k" "$st" "$dt" "$note"
  done
fi

# ---- 4d: the diffusion samplers on the ddpm run of stage 4: guided DDIM-50 fours, ancestral DDPM over all
# timesteps, each with and without the CUDA graph (the gpu test DdpmGpu compares their digits) ----
if ((RUN_DEVICE)) && [[ -d $WORK/runs/ddpm/checkpoints ]]; then
  t0=$(now) st=PASS note=""
  for v in "ddim --sample-steps 50" "ddim --sample-steps 50 --no-cuda-graph" "ddpm" "ddpm --no-cuda-graph"; do
    name=$(tr -c 'a-z0-9' '-' <<<"$v" | sed 's/-*$//')
    t1=$(now)
    # shellcheck disable=SC2086
    if timeout --kill-after=2 "$T_DDPM" "$BUILD/digitgen" sample --device "$DEVICE" --checkpoint "$WORK/runs/ddpm" \
      --sampler $v --label 4 --guidance 2.0 --n 64 --out "$WORK/grids/ddpm-$name.png" >>"$LOG" 2>&1; then
      note+="$name $(elapsed "$t1")s; "
    else
      st=FAIL note+="$name failed; "
    fi
  done
  record "4d ddpm samplers" "$st" "$(elapsed "$t0")" "${note% }"
else
  record "4d ddpm samplers" SKIP 0 "no GPU or no ddpm run from stage 4"
fi

# ---- 5: benchmark ----
if ((RUN_DEVICE)); then
  run_stage "5 bench" "$T_BENCH" "$BUILD/digitgen_bench" --device "$DEVICE" --batch 128,1024 --data "$DATA" \
    --seconds 1 --sample-seconds 0.5 --warmup 3 --no-peer
  record "5 bench" "$(status_of $RC)" "$DT" "table in gpu_check.log"
else
  record "5 bench" SKIP 0 "no GPU"
fi

# ---- 6: compute-sanitizer memcheck on the GPU tests ----
if ((gpu_ok == 0)); then
  record "6 memcheck" SKIP 0 "no GPU"
elif cs=$(command -v compute-sanitizer || ls /usr/local/cuda/bin/compute-sanitizer 2>/dev/null); then
  run_stage "6 memcheck" "$T_SANITIZER" "$cs" --tool memcheck --leak-check full --error-exitcode 3 \
    "$BUILD/tests_gpu" --gtest_brief=1
  st=$(status_of $RC)
  note="$(grep -o 'ERROR SUMMARY: [0-9]* errors*' "$LOG" | tail -1)"
  [[ $st == TIMEOUT ]] && note="did not finish in ${T_SANITIZER}s (raise T_SANITIZER)"
  # Some GPU runtimes (gVisor) refuse the sanitizer outright: the tool is unavailable, the code is not at fault.
  if [[ $st == FAIL ]] && tail -n 50 "$LOG" | grep -q "Device not supported"; then st=SKIP note="sanitizer: Device not supported here"; fi
  record "6 memcheck" "$st" "$DT" "$note"
else
  record "6 memcheck" SKIP 0 "compute-sanitizer not installed"
fi

# ---- files back: grids flat while the 8-file budget allows, the rest and the runs in one tarball ----
shopt -s nullglob
grids=("$WORK"/grids/*.png)
present=$(find "$OUT" -maxdepth 1 -type f | wc -l)
room=$((MAX_OUT_FILES - present - 1))  # one slot for runs.tar.gz
for g in "${grids[@]}"; do
  if ((room > 0)); then mv "$g" "$OUT/" && room=$((room - 1)); fi
done
rest=("$WORK"/grids/*.png)
((${#rest[@]})) && mv "${rest[@]}" "$WORK/runs/"
if [[ -n $(ls -A "$WORK/runs") ]]; then
  # Everything but checkpoints, then checkpoints smallest first while the tarball stays under 15 MiB (16 MiB is the
  # most one file brings back; checkpoints are float data that barely compress).
  (cd "$WORK" && find runs -type f ! -name '*.safetensors' | sort) >"$WORK/list"
  budget=$((15 * 1048576 - $(cd "$WORK" && xargs -a list cat | wc -c)))
  left_out=""
  while read -r size f; do
    if ((size < budget)); then echo "$f" >>"$WORK/list" && budget=$((budget - size)); else left_out+=" ${f#runs/}"; fi
  done < <(cd "$WORK" && find runs -type f -name '*.safetensors' -printf '%s %p\n' | sort -n)
  tar -C "$WORK" -czf "$OUT/runs.tar.gz" -T "$WORK/list"
  [[ -n $left_out ]] && say "runs.tar.gz: left out for size:$left_out"
fi

print_table
exit $?
