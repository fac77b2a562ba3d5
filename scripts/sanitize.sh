#!/usr/bin/env bash
# Runs mien's CPU tests under sanitizers:
#   1. AddressSanitizer + UndefinedBehaviorSanitizer (clang, LLVM's OpenMP runtime): the CPU suite (unit,
#      training and ONNX tests) and the small GPU tests on the CUDA emulator, in build-asan/. The example programs
#      and their integration scripts run in the plain build only: each program is a compile of the whole library,
#      dear under ASan, while the readers they call (images, CSV, checkpoints, ONNX files) meet bad inputs in the
#      unit and ONNX tests here. Any report fails the run (UBSan halts on its first report), except the
#      third-party ones listed in scripts/sanitizers/ubsan.supp.
#   2. ThreadSanitizer (clang): the data loaders' tests (the batch loader's prefetch thread shares buffers with the
#      caller; the folder and CSV loaders fill shared arrays from OpenMP threads).
#      TSan does not understand GCC's libgomp (its barriers look like races), so this build uses clang with
#      LLVM's libomp and the Archer tool, which tells TSan what OpenMP synchronises; in build-tsan/.
# Both builds use -DMIEN_NATIVE=OFF so that the result does not depend on this CPU's instruction set.
#
#   bash scripts/sanitize.sh              # both
#   bash scripts/sanitize.sh asan         # or: tsan
#   ASAN_BUILD_DIR=/tmp/a TSAN_BUILD_DIR=/tmp/t JOBS=2 bash scripts/sanitize.sh
#
# Needs clang and libomp-14-dev (or any clang with libomp and libarcher); it installs them with apt-get when they
# are missing and apt works.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
what=${1:-all}
jobs=${JOBS:-$(nproc)}
asan_build=${ASAN_BUILD_DIR:-$root/build-asan}
tsan_build=${TSAN_BUILD_DIR:-$root/build-tsan}

elapsed() { echo $(( $(date +%s) - $1 )); }

run_asan() {
  local start flags cxx
  start=$(date +%s)
  # Build time, not run time, is what a sanitizer build costs here: every test file instantiates the same layer
  # and Eigen templates, which ASan + UBSan make several times dearer to compile. So the test files are compiled
  # as unity batches (one batch per core) at -O1 with line tables only, and with clang: with every UBSan check on,
  # GCC 12 took twice as long to compile (test_paper_net.cpp: 107 s vs 57 s) and its Eigen GEMMs ran 1.5x slower
  # (the CI's ASan part: 762 s with GCC, 445 s with clang). UBSan checks stay recoverable so that the third-party
  # suppressions in scripts/sanitizers/ubsan.supp can apply; halt_on_error below stops at any other report.
  flags="-O1 -g1 -fsanitize=address,undefined -fno-omit-frame-pointer"
  # MIEN_CUDA_EMULATOR_TESTS=small: of the GPU tests on the CUDA emulator, only the small cases (the paper-sized
  # convolutions take minutes instrumented) and the emulator's own, as ctest entry emulated_cuda_small.
  # MIEN_OPENCV=OFF: the face and video code is a thin layer over OpenCV, whose own code is not instrumented; its
  # tests (minutes of cascade work under ASan) run in the plain build.
  local sources batch
  sources=$(ls tests/unit/*.cpp | wc -l)
  batch=$(( (sources + jobs - 1) / jobs ))
  cxx=$(clang_with_libomp) || return 1
  cmake -S . -B "$asan_build" -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_BUILD_TYPE=Sanitize -DCMAKE_CXX_FLAGS_SANITIZE="$flags" -DMIEN_NATIVE=OFF \
    -DMIEN_CUDA=OFF -DMIEN_OPENCV=OFF -DMIEN_BUILD_BENCHMARKS=OFF -DMIEN_BUILD_EXAMPLES=OFF -DMIEN_CUDA_EMULATOR_TESTS=small -DCMAKE_UNITY_BUILD=ON -DCMAKE_UNITY_BUILD_BATCH_SIZE="$batch" \
    -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined"
  # Without benchmarks, examples and CUDA, "all" is only the test binaries. (Naming them as --target would build
  # them one after another.)
  cmake --build "$asan_build" --parallel "$jobs"
  echo "asan: build took $(elapsed "$start") s"
  local run_start
  run_start=$(date +%s)
  # detect_leaks: every buffer is RAII-owned, so a leak is a bug. The consumer-project test rebuilds mien
  # without these flags, so it adds nothing here.
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:strict_string_checks=1 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:suppressions=$root/scripts/sanitizers/ubsan.supp \
    ctest --test-dir "$asan_build" --output-on-failure --parallel "$jobs" -E consumer_project
  echo "asan: tests took $(elapsed "$run_start") s (build and tests: $(elapsed "$start") s)"
}

find_clang() {
  for c in clang++ clang++-14 clang++-15 clang++-16; do
    if command -v "$c" >/dev/null; then echo "$c"; return; fi
  done
}

# Prints the clang++ to use, installing clang and LLVM's OpenMP runtime first where they are missing.
clang_with_libomp() {
  local cxx
  cxx=$(find_clang)
  if [[ -z $cxx || ! -e /usr/lib/llvm-14/lib/libomp.so ]] && command -v apt-get >/dev/null; then
    apt-get install -y clang libomp-14-dev >/dev/null
    cxx=$(find_clang)
  fi
  [[ -n $cxx ]] || { echo "sanitize: no clang++ found (scripts/bootstrap.sh installs it)" >&2; return 1; }
  echo "$cxx"
}

run_tsan() {
  local start cxx resource archer
  start=$(date +%s)
  cxx=$(clang_with_libomp) || return 1
  resource=$("$cxx" -print-resource-dir)
  archer=$(ls "$resource"/../../libarcher.so 2>/dev/null || true)
  mkdir -p "$tsan_build"
  # The batch loader's tests (its prefetch thread) and the folder and CSV loaders' (OpenMP workers filling shared
  # arrays); -fopenmp=libomp picks LLVM's runtime, not libgomp.
  "$cxx" -std=c++17 -O1 -g -fsanitize=thread -fopenmp=libomp -Wall -Wextra -I include -I kernels \
    -isystem /usr/include/eigen3 -DMIEN_SOURCE_DIR="\"$root\"" tests/catch_main.cpp tests/unit/test_data_loader.cpp \
    tests/unit/test_data_folder.cpp tests/unit/test_data_csv.cpp -o "$tsan_build/data_tests"
  echo "tsan: build took $(elapsed "$start") s"
  local run_start
  run_start=$(date +%s)
  if [[ -n $archer ]]; then
    export OMP_TOOL_LIBRARIES=$archer
  else
    # Without Archer, OpenMP regions would report false races: run them on one thread, which still leaves the
    # loader's own prefetch thread (the code under test) running beside the caller.
    echo "tsan: libarcher.so not found; OpenMP limited to one thread" >&2
    export OMP_THREAD_LIMIT=1
  fi
  # ignore_noninstrumented_modules: libomp itself is not built with TSan; Archer reports its synchronisation.
  # Two OpenMP threads at least, so that the parallel loops really run in parallel.
  OMP_NUM_THREADS=${OMP_NUM_THREADS:-2} \
  TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1:ignore_noninstrumented_modules=1 \
    "$tsan_build/data_tests" "[loader],[folder],[csv]"
  echo "tsan: tests took $(elapsed "$run_start") s"
}

case $what in
  asan) run_asan ;;
  tsan) run_tsan ;;
  all) run_asan; run_tsan ;;
  *) echo "usage: $0 [all|asan|tsan]" >&2; exit 2 ;;
esac
