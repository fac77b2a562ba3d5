#!/usr/bin/env bash
# mien beside PyTorch and Keras/TensorFlow on this CPU, in one run: mien_bench_cpu --step-only, then
# bench_frameworks.py (each framework in its own process), ROUNDS times in turn; prints each line as it comes,
# then a table of the medians over the rounds with the ratios mien/PyTorch and mien/Keras (above 1: mien faster).
# Interleaving the programs and taking medians keeps the ratios fair when other work shares the machine; the
# load average is printed before and after so a reader can tell a quiet run from a busy one.
#
#   benchmarks/reference/compare_speed.sh [ROUNDS]          (default 1)
#
# Environment: BUILD_DIR (CMake build folder holding benchmarks/mien_bench_cpu; default build), PYTHON (default
# python3), FRAMEWORKS (default torch,keras), THREADS (threads for all three; default all cores: OMP_NUM_THREADS
# for mien, --threads for the frameworks), REPS and WARMUP (passed to bench_frameworks.py; mien_bench_cpu uses its
# own: 5 runs at 48x48, 2 for the 128x128 training step, after one warm-up).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${BUILD_DIR:-$root/build}
python=${PYTHON:-python3}
rounds=${1:-1}
threads=${THREADS:-$(nproc)}
bench=$build/benchmarks/mien_bench_cpu
if [[ ! -x $bench ]]; then
  echo "compare_speed: $bench not found; build it first: cmake --build $build --target mien_bench_cpu" >&2
  exit 2
fi

log=$(mktemp)
errors=$(mktemp)
trap 'rm -f "$log" "$errors"' EXIT

echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "cpu: $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) cores, $threads threads each; load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "mien: $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?') (plus uncommitted changes, if any), $bench"
for ((round = 1; round <= rounds; ++round)); do
  echo "--- round $round of $rounds"
  OMP_NUM_THREADS=$threads "$bench" --step-only | tee -a "$log"
  if ! (cd "$here" && "$python" bench_frameworks.py --frameworks "${FRAMEWORKS:-torch,keras}" --threads "$threads" \
        --reps "${REPS:-5}" --warmup "${WARMUP:-2}") 2>"$errors" | tee -a "$log"; then
    echo "compare_speed: bench_frameworks.py failed:" >&2
    tail -20 "$errors" >&2
    exit 1
  fi
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo

# Lines look like "<framework> <training step|inference> <S>x<S> batch <B>: <images/s> images/s ...".
"$python" - "$log" <<'EOF'
import re
import statistics
import sys

runs = {}
for line in open(sys.argv[1]):
    m = re.match(r"(\S+) (training step|inference) (\d+x\d+) batch (\d+): ([\d.]+) images/s", line)
    if m:
        runs.setdefault((m[2], m[3], m[4]), {}).setdefault(m[1], []).append(float(m[5]))

names = {"torch": "PyTorch", "keras": "Keras"}
others = [f for f in names if any(f in r for r in runs.values())]
head = "| workload (images/s, median) | mien | " + " | ".join(names[f] for f in others) + " | " + \
       " | ".join(f"mien/{names[f]}" for f in others) + " |"
print(head)
print("|" + "---|" * (head.count("|") - 1))
for (what, size, batch), by in runs.items():
    med = {f: statistics.median(v) for f, v in by.items()}
    cells = [f"{med[f]:.1f}" if f in med else "-" for f in ["mien"] + others]
    ratios = [f"{med['mien'] / med[f]:.2f}" if "mien" in med and f in med else "-" for f in others]
    print(f"| {what} {size}, batch {batch} | " + " | ".join(cells + ratios) + " |")
EOF
