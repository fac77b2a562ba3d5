#!/usr/bin/env bash
# Kill and resume: train_fer is run once straight through, and once killed with SIGKILL (no chance to save) after
# its first checkpoint, then resumed from <out>/last.ckpt. The two final checkpoints must hold bit-identical
# weights, batch-norm statistics and Adam moments: a killed run loses at most the epoch it was in, nothing else.
#
#   kill_resume.sh <train_fer> <mien_itest_tool> <work folder>
set -euo pipefail
train_fer=$1 tool=$2 work=$3
source "$(dirname "$0")/common.sh"  # two OpenMP threads in both runs: deterministic sums
fresh_work "$work"
epochs=6

"$tool" make-images "$work/data" 40 4 24
common=(--data "$work/data" --input-size 16 --batch 8 --epochs $epochs --threads 2 --seed 3 --no-progress
        --attention-images 0)

"$train_fer" "${common[@]}" --out "$work/straight" >"$work/straight.log" 2>&1

# The second run is killed as soon as its first epoch's checkpoint exists (and a little later, so that the kill
# usually lands inside an epoch rather than between them).
"$train_fer" "${common[@]}" --out "$work/killed" >"$work/killed.log" 2>&1 &
pid=$!
for _ in $(seq 1 1200); do
  [[ -e $work/killed/last.ckpt ]] && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.05
done
sleep 0.2
kill -KILL "$pid" 2>/dev/null || true
status=0
wait "$pid" || status=$?
if [[ $status -ne 137 ]]; then
  echo "FAIL: the run was not killed (exit status $status): it finished first; make the data set larger" >&2
  exit 1
fi
done_before=$("$tool" epochs-done "$work/killed/last.ckpt")
echo "killed after $done_before of $epochs epochs"
if [[ $done_before -lt 1 || $done_before -ge $epochs ]]; then
  echo "FAIL: expected the kill between epoch 1 and epoch $epochs, last.ckpt says $done_before epochs done" >&2
  exit 1
fi

"$train_fer" "${common[@]}" --out "$work/killed" --resume "$work/killed/last.ckpt" >"$work/resumed.log" 2>&1
grep -q "resumed from .*: $done_before epochs done" "$work/resumed.log" || {
  echo "FAIL: the resumed run did not report where it resumed" >&2
  cat "$work/resumed.log" >&2
  exit 1
}
[[ $("$tool" epochs-done "$work/killed/last.ckpt") -eq $epochs ]] || { echo "FAIL: resumed run did not finish" >&2; exit 1; }
"$tool" compare "$work/straight/last.ckpt" "$work/killed/last.ckpt"
echo "PASS: killed after epoch $done_before, resumed, final checkpoint identical to the uninterrupted run"
