#!/usr/bin/env bash
# A network that is not the paper's (examples/custom_model.cpp) trained on a small synthetic image folder, resumed,
# and its checkpoint evaluated and predicted by the stock programs, which have no code of their own for it.
#
#   custom_model.sh <custom_model> <evaluate> <predict> <mien_itest_tool> <work folder>
set -euo pipefail
custom_model=$1 evaluate=$2 predict=$3 tool=$4 work=$5
rm -rf "$work"
mkdir -p "$work"
export OMP_NUM_THREADS=2
fail() {
  echo "FAIL: $*" >&2
  exit 1
}

"$tool" make-images "$work/data" 24 3 24
"$custom_model" --data "$work/data" --out "$work/run" --input-size 24 --batch 8 --epochs 2 --threads 2 --no-progress \
  >"$work/train.log" 2>&1 || { cat "$work/train.log" >&2; fail "custom_model exited with $?"; }
grep -q "parallel_4" "$work/train.log" || fail "the summary does not list the parallel block"
grep -q "test results (best checkpoint" "$work/train.log" || fail "no test results"
"$custom_model" --data "$work/data" --out "$work/run" --input-size 24 --batch 8 --epochs 3 --threads 2 --no-progress \
  --resume "$work/run/last.ckpt" >"$work/resume.log" 2>&1 || { cat "$work/resume.log" >&2; fail "resume exited with $?"; }
[[ $(grep -c "^epoch" "$work/resume.log") -eq 1 ]] || fail "the resumed run did not train exactly epoch 3"

"$evaluate" --checkpoint "$work/run/best.ckpt" --data "$work/data" >"$work/eval.log" 2>&1 ||
  { cat "$work/eval.log" >&2; fail "evaluate exited with $?"; }
grep -q "over 21 samples" "$work/eval.log" || fail "evaluate did not report 21 test samples"
images=$(find "$work/data/test" -type f | wc -l)
"$predict" --checkpoint "$work/run/best.ckpt" --json "$work/data/test" >"$work/predict.json" ||
  fail "predict exited with $?"
[[ $(grep -c '"emotion"' "$work/predict.json") -eq $images ]] || fail "predict: not one result per image"
echo "custom_model: trained, resumed, evaluated and predicted"
