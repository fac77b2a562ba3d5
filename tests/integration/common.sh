# Sourced by the integration scripts (and tests/emulator/train_evaluate.sh): a fresh work folder, two OpenMP
# threads (the CPU kernels' sums are deterministic for a fixed thread count), and how a check fails.
#
#   source "$(dirname "$0")/common.sh"
#   fresh_work "$work"
#   run_logged "$work/train.log" "train_fer" "$train_fer" --data ...   # on failure: the log, the exit status, exit 1

export OMP_NUM_THREADS=2

fresh_work() {
  rm -rf "$1"
  mkdir -p "$1"
}

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# run_logged LOG WHAT COMMAND...: COMMAND's output goes to LOG; if it fails, LOG is printed and WHAT named with the
# command's own exit status.
run_logged() {
  local log=$1 what=$2 status=0
  shift 2
  "$@" >"$log" 2>&1 || status=$?
  if [[ $status -ne 0 ]]; then
    cat "$log" >&2
    fail "$what exited with $status"
  fi
}
