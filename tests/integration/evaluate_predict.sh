#!/usr/bin/env bash
# The user's path after training: train_fer with the regularizers beyond the paper (cosine schedule, shift,
# random erasing, weight decay, mirror + shift TTA) on a small synthetic image folder, then evaluate on the test folder
# (with and without TTA) and predict on single images, a folder, and a folder holding one corrupt file.
#
#   evaluate_predict.sh <train_fer> <evaluate> <predict> <export_weights> <mien_itest_tool> <work folder>
set -euo pipefail
train_fer=$1 evaluate=$2 predict=$3 export_weights=$4 tool=$5 work=$6
source "$(dirname "$0")/common.sh"
fresh_work "$work"

"$tool" make-images "$work/data" 24 3 24
run_logged "$work/train.log" train_fer \
  "$train_fer" --data "$work/data" --out "$work/run" --input-size 16 --batch 8 --epochs 3 --threads 2 --seed 4 \
  --no-progress --attention-images 1 --lr 1e-3 --lr-schedule cosine --shift 0.1 --erase 0.5 --weight-decay 0.01 \
  --tta --tta-shift 1
grep -q "test results (best checkpoint, epoch [0-9]*, mirror + shift-1 TTA (10 views))" "$work/train.log" ||
  fail "no TTA test results"
grep -q '"weight_decay": 0.01' "$work/run/config.json" || fail "config.json lacks the weight decay"
grep -q '"lr_schedule": "cosine"' "$work/run/config.json" || fail "config.json lacks the schedule"
# Cosine over 3 epochs: the logged rates fall (epoch 1 at the base rate, then 0.75 and 0.25 of it, over time decay).
awk -F, 'NR > 1 { if (NR > 2 && $6 >= last) bad = 1; last = $6 } END { exit bad }' "$work/run/epochs.csv" ||
  fail "the cosine schedule's learning rate did not fall: $(cut -d, -f6 "$work/run/epochs.csv" | tr '\n' ' ')"

# evaluate: plain and with TTA; both see every test image (7 classes x 3).
run_logged "$work/eval.log" evaluate "$evaluate" --checkpoint "$work/run/best.ckpt" --data "$work/data" --out "$work/eval"
grep -q "over 21 samples" "$work/eval.log" || fail "evaluate did not report 21 test samples"
[[ -s $work/eval/metrics.json && -s $work/eval/confusion.csv ]] || fail "evaluate --out wrote no metrics"
run_logged "$work/eval_tta.log" "evaluate --tta" "$evaluate" --checkpoint "$work/run/best.ckpt" --data "$work/data" --tta
grep -q "mirror TTA (2 views)" "$work/eval_tta.log" || fail "evaluate --tta did not say it used TTA"
run_logged "$work/eval_shift.log" "evaluate --tta-shift" \
  "$evaluate" --checkpoint "$work/run/best.ckpt" --data "$work/data" --tta-shift 2
grep -q "shift-2 TTA (5 views)" "$work/eval_shift.log" || fail "evaluate --tta-shift did not say it used TTA"
grep -q "over 21 samples" "$work/eval_shift.log" || fail "evaluate --tta-shift did not see every test image"
"$evaluate" --checkpoint "$work/run/best.ckpt" --data "$work/data" --tta-shift 16 >"$work/eval_big.log" 2>&1 &&
  fail "evaluate accepted a shift as large as the 16-pixel image"
grep -q "shift must be in \[0, image side)" "$work/eval_big.log" || fail "no clear error for a shift too large"

# An ensemble of the best and the last checkpoint: given twice to evaluate, and as one float16 weights file.
run_logged "$work/eval_pair.log" "evaluate with two checkpoints" \
  "$evaluate" --checkpoint "$work/run/best.ckpt" --checkpoint "$work/run/last.ckpt" --data "$work/data"
grep -q "best.ckpt + .*last.ckpt" "$work/eval_pair.log" || fail "evaluate did not name both checkpoints"
grep -q "over 21 samples" "$work/eval_pair.log" || fail "the ensemble did not see every test image"
run_logged "$work/export_pair.log" "export_weights of two checkpoints" \
  "$export_weights" --checkpoint "$work/run/best.ckpt" --checkpoint "$work/run/last.ckpt" --half --out "$work/pair.ckpt"
# Two models' weights in float16 take less room than one training checkpoint (weights and Adam's two moments).
[[ $(stat -c %s "$work/pair.ckpt") -lt $(stat -c %s "$work/run/best.ckpt") ]] ||
  fail "the float16 ensemble of two is larger than one training checkpoint"
run_logged "$work/eval_pair_file.log" "evaluate on the ensemble file" \
  "$evaluate" --checkpoint "$work/pair.ckpt" --data "$work/data"
# float16 weights may move an image that sat on a tie: the accuracies agree within one image of 21.
accuracy() { sed -n 's/^accuracy \([0-9.]*\) over 21 samples.*/\1/p' "$1"; }
pair=$(accuracy "$work/eval_pair.log") file=$(accuracy "$work/eval_pair_file.log")
[[ -n $pair && -n $file ]] || fail "no accuracy over 21 samples from the ensemble"
awk -v a="$pair" -v b="$file" 'BEGIN { d = a - b; exit !(d < 0.05 && d > -0.05) }' ||
  fail "the ensemble file's accuracy $file differs from the two checkpoints' $pair"

# predict: a folder as JSON, with and without TTA: one result per image, each with 7 probabilities.
images=$(find "$work/data/test" -type f | wc -l)
for flags in "" "--tta" "--tta --tta-shift 1"; do
  # shellcheck disable=SC2086
  "$predict" --checkpoint "$work/run/best.ckpt" --json $flags "$work/data/test" >"$work/predict.json" ||
    fail "predict $flags failed"
  [[ $(grep -c '"emotion"' "$work/predict.json") -eq $images ]] || fail "predict $flags: not one result per image"
  [[ $(grep -c '"neutral": ' "$work/predict.json") -eq $images ]] || fail "predict $flags: probabilities missing"
done
# The table form: a header and one row per image.
one=$(find "$work/data/test" -type f | head -n 1)
[[ $("$predict" --checkpoint "$work/run/best.ckpt" "$one" | wc -l) -eq 2 ]] || fail "predict table: header + 1 row"
# A corrupt image among good ones: the good ones are still classified, the bad one named, the exit status 1.
mkdir -p "$work/mixed"
cp "$one" "$work/mixed/good.png"
printf 'not an image' >"$work/mixed/broken.png"
status=0
"$predict" --checkpoint "$work/run/best.ckpt" "$work/mixed" >"$work/mixed.out" 2>"$work/mixed.err" || status=$?
[[ $status -eq 1 ]] || fail "predict on a corrupt image exited with $status, not 1"
grep -q "good.png" "$work/mixed.out" || fail "the good image was not classified"
grep -q "skipped: .*broken.png" "$work/mixed.err" || fail "the corrupt image was not named: $(cat "$work/mixed.err")"
# A picture larger than twice the model's input is searched for faces. These stripes hold none: named, exit 1 (or,
# in a build without OpenCV, a detector is said to be needed, exit 2); --whole-image classifies the picture.
"$tool" make-images "$work/big" 0 1 100
big=$(find "$work/big/test" -type f | head -n 1)
status=0
"$predict" --checkpoint "$work/run/best.ckpt" "$big" >"$work/big.out" 2>"$work/big.err" || status=$?
if grep -q "no face found in .*$(basename "$big")" "$work/big.err"; then
  [[ $status -eq 1 ]] || fail "predict on a picture without a face exited with $status, not 1"
elif grep -q "has no face detector" "$work/big.err"; then
  [[ $status -eq 2 ]] || fail "predict without a detector exited with $status, not 2"
else
  fail "predict on a picture without a face: $(cat "$work/big.err")"
fi
[[ $("$predict" --checkpoint "$work/run/best.ckpt" --whole-image "$big" | wc -l) -eq 2 ]] ||
  fail "predict --whole-image: header + 1 row"

# Grad-CAM pictures: train_fer's (across classes), evaluate --explain's (one per class and a labelled grid where
# gnuplot is installed), and predict --explain's (needs OpenCV to draw; a build without it says so, exit 2).
ls "$work"/run/attention/*_as_*.png >/dev/null 2>&1 || fail "train_fer drew no Grad-CAM picture"
run_logged "$work/explain.log" "evaluate --explain" \
  "$evaluate" --checkpoint "$work/run/best.ckpt" --data "$work/data" --out "$work/eval_explain" --explain 7
[[ $(find "$work/eval_explain/explain" -name '*_as_*.png' | wc -l) -eq 7 ]] || fail "evaluate --explain 7: not 7 pictures"
for class in angry disgust fear happy sad surprise neutral; do
  ls "$work/eval_explain/explain/"*_"$class"_as_*.png >/dev/null 2>&1 || fail "evaluate --explain: no $class picture"
done
if command -v gnuplot >/dev/null; then [[ -s $work/eval_explain/explain/grid.png ]] || fail "no Grad-CAM grid"; fi
"$evaluate" --checkpoint "$work/run/best.ckpt" --data "$work/data" --explain 3 >"$work/explain_no_out.log" 2>&1 &&
  fail "evaluate --explain without --out succeeded"
grep -q "explain needs --out" "$work/explain_no_out.log" || fail "no clear error for --explain without --out"
status=0
"$predict" --checkpoint "$work/run/best.ckpt" --explain "$work/explained.png" "$one" >/dev/null 2>"$work/explained.err" ||
  status=$?
if [[ $status -eq 0 ]]; then
  [[ -s $work/explained.png ]] || fail "predict --explain wrote no picture"
else
  grep -q "explain needs OpenCV" "$work/explained.err" || fail "predict --explain: $(cat "$work/explained.err")"
fi
echo "PASS: trained with cosine/shift/erase/weight decay/TTA; evaluate and predict (plain, TTA, corrupt input, no face, Grad-CAM)"
