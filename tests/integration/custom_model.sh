#!/usr/bin/env bash
# A network that is not the paper's (examples/custom_model.cpp) trained on a small synthetic image folder, resumed,
# and its checkpoint evaluated and predicted by the stock programs, which have no code of their own for it.
#
#   custom_model.sh <custom_model> <evaluate> <predict> <mien_itest_tool> <work folder>
set -euo pipefail
custom_model=$1 evaluate=$2 predict=$3 tool=$4 work=$5
source "$(dirname "$0")/common.sh"
fresh_work "$work"

"$tool" make-images "$work/data" 24 3 24
status=0
"$custom_model" --data "$work/data" --epochs 0 >"$work/flag.log" 2>&1 || status=$?
[[ $status -eq 2 ]] || fail "custom_model --epochs 0 exited $status, not 2 (usage error) like the other programs"
grep -q -- "--epochs" "$work/flag.log" || fail "custom_model --epochs 0: the message does not name the flag"
run_logged "$work/train.log" custom_model \
  "$custom_model" --data "$work/data" --out "$work/run" --input-size 24 --batch 8 --epochs 2 --threads 2 --no-progress
grep -q "parallel_4" "$work/train.log" || fail "the summary does not list the parallel block"
grep -q "test results (best checkpoint" "$work/train.log" || fail "no test results"
run_logged "$work/resume.log" "custom_model --resume" \
  "$custom_model" --data "$work/data" --out "$work/run" --input-size 24 --batch 8 --epochs 3 --threads 2 --no-progress \
  --resume "$work/run/last.ckpt"
[[ $(grep -c "^epoch" "$work/resume.log") -eq 1 ]] || fail "the resumed run did not train exactly epoch 3"

run_logged "$work/eval.log" evaluate "$evaluate" --checkpoint "$work/run/best.ckpt" --data "$work/data"
grep -q "over 21 samples" "$work/eval.log" || fail "evaluate did not report 21 test samples"
images=$(find "$work/data/test" -type f | wc -l)
"$predict" --checkpoint "$work/run/best.ckpt" --json "$work/data/test" >"$work/predict.json" || fail "predict failed"
[[ $(grep -c '"emotion"' "$work/predict.json") -eq $images ]] || fail "predict: not one result per image"
echo "custom_model: trained, resumed, evaluated and predicted"
