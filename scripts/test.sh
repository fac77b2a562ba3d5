#!/usr/bin/env bash
# The test command: installs dependencies, builds mien (CPU tests; the CUDA build too where nvcc exists) and
# runs every test; then the CPU suite again under AddressSanitizer + UndefinedBehaviorSanitizer and the data
# loaders under ThreadSanitizer (scripts/sanitize.sh, build folders beside the main one). On a machine without a
# GPU the GPU tests run on the CUDA emulator, and their nvcc-compiled program is reported as skipped.
#   bash scripts/test.sh                     # build folders: build/, build-asan/, build-tsan/
#   BUILD_DIR=/tmp/b bash scripts/test.sh    # /tmp/b, /tmp/b-asan, /tmp/b-tsan
#   MIEN_SANITIZE=0 bash scripts/test.sh     # without the sanitizer builds (they add about 7 minutes on 2 cores)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
build=${BUILD_DIR:-build}
jobs=${JOBS:-$(nproc)}
# The nvcc-compiled GPU test program and kernel benchmark only run on a GPU, and their sources run on the CUDA
# emulator anyway: without a visible GPU they are not built (several minutes of nvcc on 2 cores).
if nvidia-smi -L 2>/dev/null | grep -q '^GPU'; then device_programs=ON; else device_programs=OFF; fi
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DMIEN_CUDA_DEVICE_PROGRAMS=$device_programs
cmake --build "$build" --parallel "$jobs"
ctest --test-dir "$build" --output-on-failure --parallel "$jobs"
if [[ ${MIEN_SANITIZE:-1} != 0 ]]; then
  ASAN_BUILD_DIR=$build-asan TSAN_BUILD_DIR=$build-tsan JOBS=$jobs bash scripts/sanitize.sh all
fi
