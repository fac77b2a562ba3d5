#!/usr/bin/env bash
# Bad flags and bad files: train_fer must stop with the documented exit code (2: usage or input the user must
# fix, 1: an error in the run) and a message that names the problem, never crash or train on garbage.
#
#   bad_input.sh <train_fer> <mien_itest_tool> <work folder>
set -uo pipefail
train_fer=$1 tool=$2 work=$3
source "$(dirname "$0")/common.sh"
fresh_work "$work"
failures=0

# expect <exit code> <text the message must hold> <train_fer arguments...>
expect() {
  local want=$1 text=$2
  shift 2
  local status=0
  "$train_fer" "$@" >"$work/out.log" 2>&1 || status=$?
  if [[ $status -ne $want ]]; then
    echo "FAIL: train_fer $* exited $status, expected $want" >&2
    tail -5 "$work/out.log" >&2
    failures=$((failures + 1))
  elif ! grep -qF -- "$text" "$work/out.log"; then
    echo "FAIL: train_fer $*: no '$text' in its message:" >&2
    tail -5 "$work/out.log" >&2
    failures=$((failures + 1))
  elif grep -qE 'Segmentation|Aborted|terminate called|runtime error|AddressSanitizer' "$work/out.log"; then
    echo "FAIL: train_fer $* crashed" >&2
    failures=$((failures + 1))
  else
    echo "ok: exit $status, '$(grep -m1 -F -- "$text" "$work/out.log")'"
  fi
}

"$tool" make-images "$work/data" 6 2 16 || exit 1
quick=(--input-size 16 --batch 4 --epochs 1 --threads 2 --no-progress --attention-images 0)

# Flags.
expect 2 "--batch" --data "$work/data" --batch -3
expect 2 "--input-size" --data "$work/data" --input-size 0
expect 2 "--device" --data "$work/data" --device tpu
expect 2 "--data is required" --out "$work/x"
expect 2 "--lr" --data "$work/data" --lr -1
expect 2 "--scale-min" --data "$work/data" --scale-min 2 --scale-max 1

# Data that is not there or not in the expected layout.
expect 1 "does not exist" --data "$work/nowhere" "${quick[@]}"
mkdir -p "$work/flat"
cp "$work/data/train/happy/0000.png" "$work/flat/"
expect 1 "holds no data set mien knows" --data "$work/flat" "${quick[@]}"
# A labelled folder without parts cannot be split the official way; the message names the way that works.
mkdir -p "$work/labelled/happy"
cp "$work/data/train/happy/0000.png" "$work/labelled/happy/"
expect 1 "use --split paper" --data "$work/labelled" "${quick[@]}"

# A messy folder: a truncated PNG (a half-finished download) fails the load naming the file, or is skipped.
cp -r "$work/data" "$work/messy"
head -c 40 "$work/data/train/sad/0001.png" >"$work/messy/train/sad/0001.png"
expect 1 "messy/train/sad/0001.png" --data "$work/messy" --out "$work/messy-fail" "${quick[@]}"
expect 0 "messy/train/sad/0001.png" --data "$work/messy" --out "$work/messy-skip" --on-bad-image skip "${quick[@]}"

# Checkpoints: a good one to spoil, then truncated, overwritten, another architecture.
expect 0 "run folder" --data "$work/data" --out "$work/run" "${quick[@]}"
good=$work/run/last.ckpt
size=$(stat -c %s "$good")
head -c $((size / 2)) "$good" >"$work/truncated.ckpt"
expect 1 "truncated or corrupt" --data "$work/data" --out "$work/r1" --resume "$work/truncated.ckpt" "${quick[@]}"
cp "$good" "$work/flipped.ckpt"
printf '\x55' | dd of="$work/flipped.ckpt" bs=1 seek=$((size - 100)) conv=notrunc status=none
expect 1 "checksum mismatch" --data "$work/data" --out "$work/r2" --resume "$work/flipped.ckpt" "${quick[@]}"
cp "$work/data/train/happy/0000.png" "$work/image.ckpt"
expect 1 "not a mien checkpoint" --data "$work/data" --out "$work/r3" --resume "$work/image.ckpt" "${quick[@]}"
expect 1 "cannot open checkpoint" --data "$work/data" --out "$work/r4" --resume "$work/missing.ckpt" "${quick[@]}"
expect 2 "another architecture" --data "$work/data" --out "$work/r5" --resume "$good" --input-size 32 --batch 4 \
  --epochs 1 --threads 2 --no-progress --attention-images 0

if [[ $failures -gt 0 ]]; then
  echo "$failures case(s) failed" >&2
  exit 1
fi
echo "PASS: every bad input was refused with the right exit code and message"
