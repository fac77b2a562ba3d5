#!/usr/bin/env bash
# The main job: installs dependencies, builds train_fer, evaluate and predict in Release and runs the trainer with the given flags
# (see `bash scripts/train.sh --help`). Example:
#   bash scripts/train.sh --data /path/to/fer2013 --out runs/fer48 --input-size 48
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh >&2
build=${BUILD_DIR:-build}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release >&2
cmake --build "$build" --parallel "$(nproc)" --target train_fer evaluate predict >&2
exec "$build/examples/train_fer" "$@"
