#!/usr/bin/env bash
# One command that checks mien's CUDA backend on a machine with a GPU: builds the CUDA targets in Release, runs the
# GPU tests, runs compute-sanitizer (memcheck) on the small cases, runs the kernel benchmarks (each kernel against
# cuDNN/cuBLAS, and the whole network), PyTorch eager and torch.compile on the same network where PyTorch is
# installed, and a short training run when the trainer is built. Every step runs even when an earlier one failed;
# each step's status, time and log land under $OUT (else ./gpu-check-out), with a one-page summary.md. The whole
# run keeps within a time budget (GPU_CHECK_BUDGET seconds, default 540: 9 minutes) by giving each step at most
# what is left.
#
#   bash scripts/gpu-check.sh
#   GPU_CHECK_MODE=train bash scripts/gpu-check.sh     # instead: train on FER2013 (see train_steps below)
#
# Dependencies: scripts/bootstrap.sh installs Debian packages where apt works. Where it cannot (a GPU machine with
# no network), run scripts/stage-gpu-deps.sh on a machine that has them and bring the .gpu-deps/ folder along;
# this script uses it when present and prints what is missing otherwise. cuDNN is taken from the CUDA toolkit,
# from CUDNN_ROOT, or from Python's nvidia-cudnn package.
#
# Environment: OUT (output folder), BUILD_DIR (default build-gpu), GPU_CHECK_BUDGET (seconds), JOBS (build jobs,
# default all cores), MIEN_GPU_CHECK_DATA (a FER2013 folder or CSV for the training run; a small synthetic CSV
# otherwise).
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
out=${OUT:-$root/gpu-check-out}
mkdir -p "$out"
out=$(cd "$out" && pwd)
build=${BUILD_DIR:-$root/build-gpu}
jobs=${JOBS:-$(nproc)}
budget=${GPU_CHECK_BUDGET:-540}
mode=${GPU_CHECK_MODE:-check}
start=$(date +%s)

steps=()  # "name|status|seconds|log|note"
remaining() { echo $((budget - ($(date +%s) - start))); }

# run_step NAME LOG LIMIT COMMAND...: runs COMMAND with its output in $out/LOG, limited to LIMIT seconds (or to
# what is left of the budget), and records ok / skipped (exit 77) / TIMEOUT / FAILED (exit code).
run_step() {
  local name=$1 log=$2 limit=$3
  shift 3
  local left
  left=$(remaining)
  ((left < limit)) && limit=$left
  if ((limit < 5)); then
    steps+=("$name|not run|0|$log|time budget spent")
    echo "== $name: not run (time budget spent)" | tee -a "$out/$log"
    return 0
  fi
  echo "== $name (limit ${limit}s)"
  local t0=$(date +%s)
  {
    echo "\$ $*"
    timeout --kill-after=10 "$limit" "$@"
  } >>"$out/$log" 2>&1
  local rc=$?
  local secs=$(($(date +%s) - t0)) status
  case $rc in
    0) status=ok ;;
    77) status=skipped ;;
    124 | 137) status=TIMEOUT ;;
    *) status="FAILED (exit $rc)" ;;
  esac
  steps+=("$name|$status|$secs|$log|")
  echo "   $status in ${secs}s (log: $log)"
  return $rc
}

note() { echo "$*" | tee -a "$out/deps.log"; }

# ---- 1. environment -------------------------------------------------------------------------------------------------
{
  echo "date: $(date -u)"
  uname -a
  nvidia-smi 2>&1 || echo "nvidia-smi: not available"
  command -v nvcc >/dev/null || export PATH=/usr/local/cuda/bin:$PATH
  nvcc --version 2>&1 || echo "nvcc: not found"
  cmake --version 2>&1 | head -1
  g++ --version 2>&1 | head -1
  echo "cores: $(nproc)"
} >"$out/env.log" 2>&1
command -v nvcc >/dev/null || export PATH=/usr/local/cuda/bin:$PATH
gpu_name=$(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null | head -1)
echo "gpu-check: ${gpu_name:-no GPU visible}; output in $out"

# ---- 2. dependencies ------------------------------------------------------------------------------------------------
: >"$out/deps.log"
# Without network apt cannot install anything; that is reported, not counted as a failure of the check.
run_step "bootstrap (apt)" deps.log 60 bash scripts/bootstrap.sh ||
  steps[${#steps[@]} - 1]=${steps[${#steps[@]} - 1]/|FAILED/|apt unavailable}
prefix_path=""
if [ -d .gpu-deps ]; then
  note "using staged dependencies in .gpu-deps/"
  prefix_path="$root/.gpu-deps"
  # As system headers (CPLUS_INCLUDE_PATH, not CPATH), like the ones apt installs: nvcc's -Werror=all-warnings
  # must not turn third-party warnings (CLI11's narrowing conversions) into errors.
  export CPLUS_INCLUDE_PATH="$root/.gpu-deps/include${CPLUS_INCLUDE_PATH:+:$CPLUS_INCLUDE_PATH}"
  for d in "$root/.gpu-deps/lib" "$root/.gpu-deps/lib/x86_64-linux-gnu"; do
    export LIBRARY_PATH="$d${LIBRARY_PATH:+:$LIBRARY_PATH}" LD_LIBRARY_PATH="$d${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  done
fi
# Headers the build needs, looked up where the compiler will look.
have_header() {
  local h=$1 dir
  for dir in ${CPLUS_INCLUDE_PATH:+${CPLUS_INCLUDE_PATH//:/ }} /usr/include /usr/local/include /usr/include/eigen3; do
    [ -f "$dir/$h" ] && return 0
  done
  return 1
}
missing=()
have_header Eigen/Core || have_header eigen3/Eigen/Core || missing+=("Eigen 3.4 (libeigen3-dev)")
have_header catch2/catch.hpp || missing+=("Catch2 2.13 (catch2)")
have_header nlohmann/json.hpp || missing+=("nlohmann-json (nlohmann-json3-dev)")
examples=ON
if ! have_header CLI/CLI.hpp; then
  missing+=("CLI11 (libcli11-dev): the trainer is not built")
  examples=OFF
fi
# cuDNN (and, if the toolkit lacks it, cuBLAS): beside the toolkit, under CUDNN_ROOT, or in the Python wheels
# (nvidia-cudnn-*, nvidia-cublas) that PyTorch brings; their layout varies between releases, so search them.
cuda_home=$(dirname "$(dirname "$(command -v nvcc 2>/dev/null || echo /usr/local/cuda/bin/nvcc)")")
cudnn_args=()
cudnn_beside_toolkit=no
for h in "$cuda_home/include/cudnn.h" /usr/include/cudnn.h /usr/include/x86_64-linux-gnu/cudnn.h; do
  [ -f "$h" ] && cudnn_beside_toolkit=yes
done
if [ -z "${CUDNN_ROOT:-}" ] && [ $cudnn_beside_toolkit = no ]; then
  wheels=$(python3 -c 'import nvidia; print(" ".join(nvidia.__path__))' 2>/dev/null || true)
  header=$( [ -n "$wheels" ] && find $wheels -name cudnn.h 2>/dev/null | head -1)
  library=$( [ -n "$wheels" ] && find $wheels -name 'libcudnn.so.[0-9]*' 2>/dev/null | sort | head -1)
  if [ -n "$header" ] && [ -n "$library" ]; then
    note "cuDNN from the Python wheel: $header, $library"
    cudnn_args=("-DMIEN_CUDNN_INCLUDE_DIR=$(dirname "$header")" "-DMIEN_CUDNN_LIBRARY=$library")
    export LD_LIBRARY_PATH="$(dirname "$library")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  else
    missing+=("cuDNN 9 (not beside the toolkit in $cuda_home, no CUDNN_ROOT, no Python wheel)")
  fi
  if ! ls "$cuda_home"/lib64/libcublas.so* >/dev/null 2>&1 && [ -n "$wheels" ]; then
    cublas=$(find $wheels -name 'libcublas.so.[0-9]*' 2>/dev/null | sort | head -1)
    [ -n "$cublas" ] && export LD_LIBRARY_PATH="$(dirname "$cublas")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" &&
      note "cuBLAS is not beside the toolkit; the wheel's $cublas is on LD_LIBRARY_PATH (the build may still miss it)"
  fi
elif [ -n "${CUDNN_ROOT:-}" ]; then
  cudnn_args=("-DMIEN_CUDNN_ROOT=$CUDNN_ROOT")
  export LD_LIBRARY_PATH="$CUDNN_ROOT/lib:$CUDNN_ROOT/lib64${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi
if ((${#missing[@]})); then
  note "missing: ${missing[*]}"
  note "  (apt could not install them here; run scripts/stage-gpu-deps.sh on a machine that has them and bring .gpu-deps/ along)"
else
  note "all build dependencies found"
fi

# ---- 3. configure and build -----------------------------------------------------------------------------------------
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
[ -f "$build/CMakeCache.txt" ] && ! grep -q "CMAKE_GENERATOR:INTERNAL=${generator[1]:-Unix Makefiles}" "$build/CMakeCache.txt" &&
  rm -rf "$build"
configure=(cmake -S . -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release -DMIEN_CUDA=ON -DMIEN_CUDA_DEVICE_PROGRAMS=ON -DMIEN_BUILD_TESTS=ON
  -DMIEN_BUILD_BENCHMARKS=ON -DMIEN_BUILD_EXAMPLES=$examples -DCMAKE_CUDA_ARCHITECTURES=90
  -DMIEN_CUDA_EMULATOR=OFF)  # the emulator is for machines without a GPU
[ -n "$prefix_path" ] && configure+=("-DCMAKE_PREFIX_PATH=$prefix_path")
configure+=("${cudnn_args[@]}")
run_step configure build.log 90 "${configure[@]}"
targets=(mien_cuda_tests mien_bench_kernels)
[ "$examples" = ON ] && targets+=(train_fer)
[ "$mode" = train ] && targets=(train_fer evaluate)
# One build of every target, keeping going past a failing file, so that one broken program costs no other.
keep_going=(-k)
[ ${#generator[@]} -gt 0 ] && keep_going=(-k 0)
run_step "build (${targets[*]})" build.log 330 cmake --build "$build" --parallel "$jobs" --target "${targets[@]}" -- "${keep_going[@]}"

tests_bin=$build/tests/mien_cuda_tests
bench_bin=$build/benchmarks/mien_bench_kernels
train_bin=$build/examples/train_fer

# Steps 4-8 of a check (GPU_CHECK_MODE=check, the default).
check_steps() {
  # ---- 4. GPU tests --------------------------------------------------------------------------------------------------
  if [ -x "$tests_bin" ]; then
    run_step "GPU tests" tests.log 150 "$tests_bin" --durations yes
  else
    steps+=("GPU tests|not built|0|build.log|")
  fi

  # ---- 5. compute-sanitizer (memcheck) on the small cases ------------------------------------------------------------
  sanitizer=$(command -v compute-sanitizer || echo "$cuda_home/bin/compute-sanitizer")
  if [ -x "$tests_bin" ] && [ -x "$sanitizer" ]; then
    # Memory errors only: the tests provoke failing API calls on purpose (and cuDNN's algorithm search may too).
    run_step "compute-sanitizer memcheck" sanitizer.log 120 "$sanitizer" --tool memcheck --report-api-errors no \
      --error-exitcode 99 --print-limit 50 "$tests_bin" "[sanitize]"
  else
    steps+=("compute-sanitizer memcheck|not run|0|sanitizer.log|$([ -x "$sanitizer" ] || echo "no compute-sanitizer")")
  fi

  # ---- 6. kernel benchmarks ------------------------------------------------------------------------------------------
  if [ -x "$bench_bin" ]; then
    run_step "kernel benchmarks" bench.md 150 "$bench_bin" --reps 20 --cpu-reps 1
  else
    steps+=("kernel benchmarks|not built|0|build.log|")
  fi

  # ---- 7. PyTorch on the same network (issue 5): eager (cuDNN, PyTorch's default TF32 convolutions) and torch.compile
  python=${PYTHON:-python3}
  if [ -z "$gpu_name" ]; then
    steps+=("PyTorch eager / torch.compile|skipped|0|bench.md|no GPU visible")
  elif "$python" -c "import numpy, torch; assert torch.cuda.is_available()" >/dev/null 2>&1; then
    # Appended to bench.md: the device tool brings back at most 8 files.
    run_step "PyTorch eager / torch.compile" bench.md 150 \
      bash -c "cd benchmarks/reference && exec \"$python\" bench_frameworks.py --device cuda --reps 20 --warmup 5"
  else
    steps+=("PyTorch eager / torch.compile|skipped|0|bench.md|no CUDA build of PyTorch (with numpy) for $python")
  fi

  # ---- 8. short training run -----------------------------------------------------------------------------------------
  if [ -x "$train_bin" ] && [ -z "$gpu_name" ]; then
    steps+=("training run|skipped|0|train.log|no GPU visible")
  elif [ -x "$train_bin" ]; then
    data=${MIEN_GPU_CHECK_DATA:-}
    if [ -z "$data" ]; then
      # A small synthetic fer2013.csv (random pixels): this run measures speed and stability, not accuracy.
      data="$build/synthetic-fer2013.csv"
      awk 'BEGIN { srand(7); print "emotion,pixels,Usage";
                   for (i = 0; i < 1000; i++) {
                     usage = i < 800 ? "Training" : (i < 900 ? "PublicTest" : "PrivateTest");
                     line = int(rand() * 7) ",";
                     for (p = 0; p < 2304; p++) line = line (p ? " " : "") int(rand() * 256);
                     print line "," usage } }' >"$data"
    fi
    run_step "training run (train_fer, cuda)" train.log 60 "$train_bin" --data "$data" --out "$build/train-run" \
      --device cuda --input-size 48 --epochs 2 --max-batches 20 --batch 32 --attention-images 0 --no-progress ||
      if grep -q "no CUDA support\|not compiled with nvcc" "$out/train.log"; then
        steps[${#steps[@]} - 1]="training run|skipped|0|train.log|train_fer is not compiled as CUDA (examples/CMakeLists.txt)"
      fi
  else
    steps+=("training run|skipped|0|train.log|trainer not built")
  fi
}

# GPU_CHECK_MODE=train: the paper network trained on FER2013 instead of steps 4-8 (issue 4). The data: the
# folder or CSV in MIEN_GPU_CHECK_DATA, else .gpu-data/fer2013.tar.gz (copy ../shared/data/fer2013.tar.gz there on
# the CPU machine and carry .gpu-data; it is git-ignored). TRAIN_SIZE (48), TRAIN_EPOCHS (80) and TRAIN_FLAGS (more
# train_fer flags; by default the recipe of docs/results.md's best CPU run: lr 1e-3 on a cosine schedule, shift,
# random erasing, label smoothing, mirror TTA) shape the run. The cosine schedule anneals over TRAIN_EPOCHS, so
# set TRAIN_EPOCHS to what fits the budget (the check mode's training-step images/s, over 25,838 training images
# per epoch, plus validation). At the time budget's end train_fer is stopped with SIGTERM, which saves a
# checkpoint, and the best checkpoint is evaluated on the test folder. Brought back under $OUT (at most 8 files of
# 16 MiB each come back): train.log (training, then the evaluation), fer-run.tar.gz (the run folder without
# checkpoints) and, when it fits in two files, best.ckpt in 15 MB parts (`cat best.ckpt.part-* > best.ckpt`; a
# 48×48 checkpoint is 23 MB, a 128×128 one too large).
train_steps() {
  local data=${MIEN_GPU_CHECK_DATA:-} run="$build/fer-run"
  if [ -z "$data" ] && [ -f .gpu-data/fer2013.tar.gz ]; then
    mkdir -p "$build/fer-data"
    [ -d "$build/fer-data/fer2013" ] || tar xzf .gpu-data/fer2013.tar.gz -C "$build/fer-data"
    data="$build/fer-data/fer2013"
  fi
  if [ -z "$data" ]; then
    steps+=("FER2013 training|not run|0|train.log|no data: see GPU_CHECK_MODE=train in the script")
    return
  elif [ ! -x "$train_bin" ]; then
    steps+=("FER2013 training|not built|0|build.log|")
    return
  fi
  rm -rf "$run"
  # Leave a minute of the budget for the evaluation and the packing.
  local limit=$(($(remaining) - 60))
  # shellcheck disable=SC2086
  run_step "FER2013 training (train_fer, cuda, ${TRAIN_SIZE:-48}x${TRAIN_SIZE:-48})" train.log "$limit" "$train_bin" \
    --data "$data" --out "$run" --device cuda --input-size "${TRAIN_SIZE:-48}" --epochs "${TRAIN_EPOCHS:-80}" \
    --no-progress ${TRAIN_FLAGS:---lr 1e-3 --lr-schedule cosine --shift 0.1 --erase 0.5 --label-smoothing 0.1 --tta}
  if [ -f "$run/best.ckpt" ]; then
    run_step "evaluation of best.ckpt (test folder)" train.log 50 "$build/examples/evaluate" \
      --checkpoint "$run/best.ckpt" --data "$data" --device cuda --tta --out "$run/eval"
    if [ "$(stat -c %s "$run/best.ckpt")" -le 30000000 ]; then
      split -b 15000000 -d "$run/best.ckpt" "$out/best.ckpt.part-"
    else
      note "best.ckpt ($(stat -c %s "$run/best.ckpt") bytes) is too large to bring back; fer-run.tar.gz has its metrics"
    fi
  fi
  tar czf "$out/fer-run.tar.gz" --exclude='*.ckpt' -C "$build" fer-run
}

case $mode in
  check) check_steps ;;
  train) train_steps ;;
  *) echo "gpu-check: GPU_CHECK_MODE must be check or train, not '$mode'" >&2 ;;
esac


# ---- 9. summary -----------------------------------------------------------------------------------------------------
total=$(($(date +%s) - start))
{
  echo "# mien GPU check"
  echo
  echo "${gpu_name:-no GPU visible}; $(nvcc --version 2>/dev/null | grep -o 'release [0-9.]*' || echo 'nvcc ?'); ${jobs} build jobs; ${total}s in all (budget ${budget}s); $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo
  echo "| step | status | seconds | log | note |"
  echo "|---|---|---:|---|---|"
  for s in "${steps[@]}"; do
    IFS='|' read -r name status secs log extra <<<"$s"
    echo "| $name | $status | $secs | $log | $extra |"
  done
  echo
  if [ -s "$out/deps.log" ]; then
    echo "## Dependencies"
    echo
    grep -v '^\$\|^==\|^bootstrap:' "$out/deps.log" | grep -E 'missing|using|cuDNN|all build' | sed 's/^/- /'
    echo
  fi
  if [ -f "$out/build.log" ] && grep -qE "error:|error #|CMake Error|FAILED:|Error [0-9]" "$out/build.log"; then
    echo "## First build errors"
    echo
    echo '```'
    grep -m 15 -E "error:|error #|CMake Error|FAILED:|Error [0-9]" "$out/build.log"
    echo '```'
    echo
  fi
  if [ -f "$out/tests.log" ]; then
    echo "## GPU tests"
    echo
    echo '```'
    grep -E "^GPU tests on|All tests passed|test cases:|assertions:|no CUDA device" "$out/tests.log"
    grep -B2 -A12 -E "FAILED:" "$out/tests.log" | head -60
    echo '```'
    echo
  fi
  if [ -f "$out/sanitizer.log" ]; then
    echo "## compute-sanitizer"
    echo
    echo '```'
    grep -E "ERROR SUMMARY|All tests passed|test cases:" "$out/sanitizer.log" | tail -3
    grep -m 10 -E "^========= (Invalid|Out of|Program hit|Address)" "$out/sanitizer.log"
    echo '```'
    echo
  fi
  if [ -f "$out/bench.md" ]; then
    echo "## Kernel benchmarks (excerpt; all of it in bench.md)"
    echo
    grep -E "^[A-Za-z].*(SMs|GB/s \(bytes)|speed relative" "$out/bench.md"
    echo
    # The convolution tables.
    awk '/^### Convolutions/ { on = 1 } /^### Memory-bound/ { on = 0 } on' "$out/bench.md"
  fi
  if [ -f "$out/bench.md" ]; then
    echo "## Whole network: mien beside PyTorch (images/s; ratios above 1: mien faster)"
    echo
    awk '/^### Whole network/ { on = 1 } /^mien-cuda/ { on = 0 } on' "$out/bench.md" 2>/dev/null
    grep -h "^PyTorch" "$out/bench.md"
    echo
    "$python" -c '
import re, sys
runs = {}
for line in sys.stdin:
    m = re.match(r"(\S+) (training step|inference) (\d+x\d+) batch (\d+): ([\d.]+) images/s", line)
    if m:
        runs.setdefault((m[2], m[3]), {})[m[1]] = float(m[5])
mien = sorted({n for r in runs.values() for n in r if n.startswith("mien")})
refs = [n for n in ("torch-eager", "torch.compile") if any(n in r for r in runs.values())]
if runs:
    cols = mien + refs + [f"{a}/{b}" for a in mien for b in refs]
    print("| workload | " + " | ".join(cols) + " |")
    print("|---|" + "---:|" * len(cols))
    for (what, size), r in sorted(runs.items()):
        cells = [f"{r[n]:.0f}" if n in r else "-" for n in mien + refs]
        cells += [f"{r[a] / r[b]:.2f}" if a in r and b in r else "-" for a in mien for b in refs]
        print(f"| {what} {size} | " + " | ".join(cells) + " |")
' <"$out/bench.md" 2>/dev/null
    echo
  fi
  if [ -f "$out/train.log" ]; then
    echo "## Training run"
    echo
    echo '```'
    grep -iE "epoch|img/s|error|loss" "$out/train.log" | tail -8
    echo '```'
  fi
  if [ "$mode" = train ] && [ -f "$out/train.log" ]; then
    echo "## Evaluation of the best checkpoint"
    echo
    echo '```'
    grep -E "^accuracy|^macro|^weighted" "$out/train.log" | tail -3
    echo '```'
  fi
} >"$out/summary.md"

# Logs stay under 16 MiB each (the tool that brings $OUT back refuses larger files): keep their ends.
for f in "$out"/*; do
  if [ -f "$f" ] && [ "$(stat -c %s "$f")" -gt 15000000 ]; then
    tail -c 15000000 "$f" >"$f.tail" && mv "$f.tail" "$f"
  fi
done
cat "$out/summary.md"
failed=0
for s in "${steps[@]}"; do [[ "$s" == *"|FAILED"* || "$s" == *"|TIMEOUT|"* ]] && failed=1; done
exit $failed
