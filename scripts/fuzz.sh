#!/usr/bin/env bash
# Fuzzes mien's file readers with libFuzzer (clang), under AddressSanitizer and UndefinedBehaviorSanitizer:
#   fuzz_image       image decoding (stb_image via mien::decode_image) and resizing
#   fuzz_csv         fer2013.csv parsing (mien::load_fer2013_csv), both bad-row policies
#   fuzz_checkpoint  checkpoint reading (mien::read_checkpoint, the paper network's model description)
# Each runs for FUZZ_SECONDS (default 60) from the seeds in tests/fuzz/corpus/<target>/ (made by
# tests/fuzz/make_seeds.cpp); what it learns goes to <build>/corpus/<target>/, crashing inputs to
# <build>/crashes/<target>-*. The run fails when any target found a crash: turn each into a regression test in
# tests/unit/ (the input embedded as bytes) and fix it.
#
#   bash scripts/fuzz.sh                     # all three, 60 s each
#   FUZZ_SECONDS=600 bash scripts/fuzz.sh fuzz_checkpoint
#   BUILD_DIR=/tmp/f bash scripts/fuzz.sh
#
# Needs clang with libFuzzer and LLVM's OpenMP runtime (Debian: clang libclang-rt-14-dev libomp-14-dev); it
# installs them with apt-get when they are missing and apt works.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
build=${BUILD_DIR:-$root/build-fuzz}
seconds=${FUZZ_SECONDS:-60}
targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=(fuzz_image fuzz_csv fuzz_checkpoint)

cxx=""
for c in clang++ clang++-14 clang++-15 clang++-16; do
  if command -v "$c" >/dev/null; then cxx=$c; break; fi
done
if [[ -z $cxx ]] || ! ls "$("$cxx" -print-resource-dir)"/lib/linux/libclang_rt.fuzzer-x86_64.a >/dev/null 2>&1; then
  apt-get install -y clang libclang-rt-14-dev libomp-14-dev >/dev/null
  cxx=clang++
fi

mkdir -p "$build/crashes"
# UBSan recoverable, but halting on every report that scripts/sanitizers/ubsan.supp does not list (third-party).
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:suppressions=$root/scripts/sanitizers/ubsan.supp
flags=(-std=c++17 -O1 -g -fsanitize=fuzzer,address,undefined -fopenmp=libomp
       -Wall -Wextra -I include -I kernels -isystem /usr/include/eigen3)
if [[ ! -d tests/fuzz/corpus/fuzz_image ]]; then
  "$cxx" -std=c++17 -O1 -fopenmp=libomp -I include -I kernels -isystem /usr/include/eigen3 \
    tests/fuzz/make_seeds.cpp -o "$build/make_seeds"
  "$build/make_seeds" tests/fuzz/corpus
fi

found=0
for target in "${targets[@]}"; do
  start=$(date +%s)
  "$cxx" "${flags[@]}" "tests/fuzz/$target.cpp" -o "$build/$target"
  built=$(date +%s)
  mkdir -p "$build/corpus/$target"
  log=$build/$target.log
  # One OpenMP thread: the fuzzer runs one input at a time, and thread start-up would dominate.
  status=0
  OMP_NUM_THREADS=1 "$build/$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="$build/crashes/$target-" -print_final_stats=1 \
    "$build/corpus/$target" "tests/fuzz/corpus/$target" >"$log" 2>&1 || status=$?
  runs=$(grep -m1 -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*' || echo "?")
  echo "$target: exit $status, $runs inputs, coverage $cov edges, build $((built - start)) s, fuzzing $(($(date +%s) - built)) s"
  if [[ $status -ne 0 ]]; then
    found=1
    grep -m3 -E 'ERROR|runtime error|Test unit written' "$log" || true
  fi
done
rm -f /tmp/mien-fuzz-csv-* /tmp/mien-fuzz-ckpt-*
exit $found
