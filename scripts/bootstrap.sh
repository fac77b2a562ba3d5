#!/usr/bin/env bash
# Installs everything mien's build, tests and examples need, from Debian's packages.
# Idempotent: packages already present are skipped, so a second run costs seconds.
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  libeigen3-dev        # CPU backend
  libopenblas0-pthread # CPU backend's float GEMMs where it has AVX-512 kernels (optional: cpu/gemm.hpp)
  catch2               # tests (Debian ships Catch2 2.13)
  libstb-dev           # image decode/encode
  libcli11-dev         # example programs' flags
  nlohmann-json3-dev   # configs, metrics, checkpoints' headers
  libfmt-dev           # formatting in examples and benchmarks
  gnuplot-nox          # training curves and metric charts
  libopencv-dev opencv-data  # face detection in predict (OpenCV's cascade and its frontal-face model); OpenCV DNN runs
                             # exported ONNX files in the interop tests
  libonnx-dev libprotobuf-dev  # ONNX export and import (onnx's protobuf classes and its checker)
  clang libomp-14-dev  # the sanitizer builds (scripts/sanitize.sh: clang, and LLVM's OpenMP runtime for TSan)
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  echo "bootstrap: installing ${missing[*]}"
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "bootstrap: all packages present"
fi
