"""ONNX Runtime on mien's ONNX exports: its answers beside mien's, and its speed beside mien's and OpenCV DNN's.

Reads the folder that `mien_bench_onnx --out-dir DIR` wrote (manifest.json: per input size the .onnx file, seeded
input batches of 1 and 32, mien's probabilities and mien's and OpenCV DNN's median times), runs every batch in
ONNX Runtime on the CPU with the same thread count, and prints the largest probability difference from mien and
a table of the three runtimes' times with mien's speed as a multiple of each (above 1: mien faster).

    python3 bench_onnx_runtime.py DIR [--reps 15]

Exit status 1 when ONNX Runtime and mien differ by more than --tol (default 1e-4) on any probability.
"""
import argparse
import json
import pathlib
import statistics
import sys
import time

import numpy as np
import onnxruntime as ort


def session(path, threads):
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def median_ms(run, reps):
    run()  # warm-up
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dir", type=pathlib.Path, help="the folder mien_bench_onnx --out-dir wrote")
    parser.add_argument("--reps", type=int, default=15, help="timed runs per case (batch 32 at 128x128: a third)")
    parser.add_argument("--tol", type=float, default=1e-4, help="largest accepted probability difference")
    args = parser.parse_args()

    manifest = json.loads((args.dir / "manifest.json").read_text())
    print(f"ONNX Runtime {ort.__version__}, CPUExecutionProvider, {manifest[0]['threads']} intra-op threads\n")
    print("| input | batch | mien ms | OpenCV DNN ms | ONNX Runtime ms | mien ÷ ORT speed | mien ÷ OpenCV speed "
          "| max |Δp| ORT vs mien |")
    print("|---|---|---|---|---|---|---|---|")
    worst_overall = 0.0
    for entry in manifest:
        size = entry["size"]
        sess = session(args.dir / entry["onnx"], entry["threads"])
        name = sess.get_inputs()[0].name
        for batch in (1, 32):
            case = entry[f"batch{batch}"]
            x = np.fromfile(args.dir / case["input"], dtype="<f4").reshape(batch, 1, size, size)
            expected = np.fromfile(args.dir / case["mien_probabilities"], dtype="<f4").reshape(batch, -1)
            probabilities = sess.run(None, {name: x})[0]
            worst = float(np.abs(probabilities - expected).max())
            worst_overall = max(worst_overall, worst)
            reps = max(3, args.reps // 3) if size > 64 and batch > 1 else args.reps
            ort_ms = median_ms(lambda: sess.run(None, {name: x}), reps)
            print(f"| {size}x{size} | {batch} | {case['mien_ms']:.2f} | {case['opencv_ms']:.2f} | {ort_ms:.2f} "
                  f"| {ort_ms / case['mien_ms']:.2f}× | {case['opencv_ms'] / case['mien_ms']:.2f}× | {worst:.1e} |",
                  flush=True)
    if worst_overall > args.tol:
        print(f"\nONNX Runtime differs from mien by {worst_overall:.2e} > {args.tol:g}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
