#!/usr/bin/env bash
# The test command: installs dependencies, builds mien (CPU tests; the CUDA build too where nvcc exists) and
# runs every test. GPU tests report themselves skipped on a machine without a GPU.
#   bash scripts/test.sh            # build folder: build/
#   BUILD_DIR=/tmp/b bash scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
build=${BUILD_DIR:-build}
jobs=${JOBS:-$(nproc)}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release
cmake --build "$build" --parallel "$jobs"
ctest --test-dir "$build" --output-on-failure --parallel "$jobs"
