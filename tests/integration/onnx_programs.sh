#!/usr/bin/env bash
# The ONNX path through the programs: a small train_fer run, export_onnx of its checkpoint, then evaluate and predict
# on the .onnx file give the checkpoint's own results; a truncated .onnx file and a checkpoint that is not one are
# clear errors with a non-zero exit status.
#
#   onnx_programs.sh <train_fer> <export_onnx> <evaluate> <predict> <mien_itest_tool> <work folder>
set -euo pipefail
train_fer=$1 export_onnx=$2 evaluate=$3 predict=$4 tool=$5 work=$6
source "$(dirname "$0")/common.sh"
fresh_work "$work"

"$tool" make-images "$work/data" 16 2 16
run_logged "$work/train.log" train_fer \
  "$train_fer" --data "$work/data" --out "$work/run" --input-size 16 --batch 8 --epochs 1 --threads 2 --seed 3 \
  --no-progress --attention-images 0
run_logged "$work/export.log" export_onnx "$export_onnx" --checkpoint "$work/run/best.ckpt" --out "$work/model.onnx"
grep -q "input \[N, 1, 16, 16\]" "$work/export.log" || fail "export_onnx did not report the input: $(cat "$work/export.log")"

# evaluate: the same accuracy and loss line from the checkpoint and from its ONNX export.
run_logged "$work/eval_ckpt.log" "evaluate on the checkpoint" \
  "$evaluate" --checkpoint "$work/run/best.ckpt" --data "$work/data"
run_logged "$work/eval_onnx.log" "evaluate on the .onnx file" "$evaluate" --checkpoint "$work/model.onnx" --data "$work/data"
ckpt_line=$(grep "^accuracy" "$work/eval_ckpt.log") onnx_line=$(grep "^accuracy" "$work/eval_onnx.log")
[[ -n $ckpt_line && $ckpt_line == "$onnx_line" ]] || fail "evaluate differs: '$ckpt_line' vs '$onnx_line'"

# predict: the same emotion for every test image.
"$predict" --checkpoint "$work/run/best.ckpt" --json "$work/data/test" | grep '"emotion"' >"$work/pred_ckpt.txt" ||
  fail "predict on the checkpoint failed"
"$predict" --checkpoint "$work/model.onnx" --json "$work/data/test" | grep '"emotion"' >"$work/pred_onnx.txt" ||
  fail "predict on the .onnx file failed"
[[ -s $work/pred_ckpt.txt ]] && cmp -s "$work/pred_ckpt.txt" "$work/pred_onnx.txt" || fail "predict's emotions differ"

# Bad files: a truncated export, and a file that is no checkpoint.
head -c 2000 "$work/model.onnx" >"$work/truncated.onnx"
status=0
"$evaluate" --checkpoint "$work/truncated.onnx" --data "$work/data" >"$work/trunc.out" 2>&1 || status=$?
[[ $status -ne 0 ]] || fail "evaluate accepted a truncated .onnx file"
grep -q "is not an ONNX model" "$work/trunc.out" || fail "no clear error for a truncated file: $(cat "$work/trunc.out")"
printf 'not a checkpoint' >"$work/garbage.ckpt"
status=0
"$export_onnx" --checkpoint "$work/garbage.ckpt" --out "$work/garbage.onnx" >"$work/garbage.out" 2>&1 || status=$?
[[ $status -ne 0 ]] || fail "export_onnx accepted a file that is no checkpoint"
[[ ! -e $work/garbage.onnx ]] || fail "export_onnx wrote a file for a bad checkpoint"
echo "onnx programs: export, evaluate and predict agree with the checkpoint; bad files refused"
