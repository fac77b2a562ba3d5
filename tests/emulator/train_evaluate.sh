#!/usr/bin/env bash
# train_fer --device cuda on the CUDA emulator: the trainer's GPU path (batches moved to the device, forward,
# backward and Adam on mien's kernels, validation, checkpoints saved from device tensors and the best one loaded
# back for the test, attention maps read back) on a small synthetic image folder. Its test result, computed on
# the emulated GPU, must agree with evaluate's on the CPU from the same checkpoint.
#
#   train_evaluate.sh <train_fer (emulated)> <evaluate> <mien_itest_tool> <work folder>
set -euo pipefail
train_fer=$1 evaluate=$2 tool=$3 work=$4
source "$(dirname "$0")/../integration/common.sh"
fresh_work "$work"

"$tool" make-images "$work/data" 24 3 24
run_logged "$work/train.log" "train_fer --device cuda" \
  "$train_fer" --data "$work/data" --out "$work/run" --device cuda --input-size 16 --batch 8 --epochs 2 --threads 2 \
  --seed 4 --no-progress --attention-images 1
grep -q "test results (best checkpoint" "$work/train.log" || { cat "$work/train.log" >&2; fail "no test results"; }
ls "$work/run/attention/"*.png >/dev/null 2>&1 || fail "no attention maps"
run_logged "$work/eval.log" evaluate "$evaluate" --checkpoint "$work/run/best.ckpt" --data "$work/data" --device cpu

# "accuracy A over N samples, loss L": the same N, the loss within 1e-3, the accuracy within one sample of 21.
result() { sed -n 's/^accuracy \([0-9.]*\) over \([0-9]*\) samples, loss \([0-9.]*\).*/\1 \2 \3/p' "$1" | tail -1; }
read -r gpu_acc gpu_n gpu_loss < <(result "$work/train.log")
read -r cpu_acc cpu_n cpu_loss < <(result "$work/eval.log")
[[ -n ${cpu_n:-} && -n ${gpu_n:-} ]] || fail "no accuracy line in train_fer's or evaluate's output"
[[ $cpu_n == 21 && $gpu_n == 21 ]] || fail "the tests saw $gpu_n (train_fer) and $cpu_n (evaluate) samples, not 21"
awk -v a="$cpu_loss" -v b="$gpu_loss" 'BEGIN { d = a - b; exit !(d < 1e-3 && d > -1e-3) }' ||
  fail "test loss differs: emulated GPU $gpu_loss, cpu $cpu_loss"
awk -v a="$cpu_acc" -v b="$gpu_acc" 'BEGIN { d = a - b; exit !(d < 0.05 && d > -0.05) }' ||
  fail "test accuracy differs: emulated GPU $gpu_acc, cpu $cpu_acc"
echo "train_fer --device cuda: test accuracy $gpu_acc, loss $gpu_loss; evaluate --device cpu: $cpu_acc, $cpu_loss"
