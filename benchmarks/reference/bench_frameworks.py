#!/usr/bin/env python3
"""Speed of the paper network in PyTorch and Keras/TensorFlow, measured the way bench_cpu measures mien.

For each input size: a training step (forward, backward, Adam update) and inference (forward in eval mode), at
batch 32, the median of --reps runs after --warmup runs, printed as images/s, one line each:

  <framework> training step 48x48 batch 32: 123.45 images/s
  <framework> inference 48x48 batch 32: 678.90 images/s

The network is mien's default PaperNetConfig (dropout 0.5 included); the optimizer Adam with the paper's settings
(learning rate 1e-4 with time-based decay 1e-6, epsilon 1e-7). Threads: PyTorch torch.set_num_threads(--threads),
TensorFlow intra- and inter-op threads = --threads; both default to the number of cores, as mien's OpenMP does.

  python3 bench_frameworks.py [--frameworks torch,keras] [--sizes 48,128] [--batch 32] [--reps 5] [--warmup 2]
  python3 bench_frameworks.py --device cuda [--strict-fp32]   # PyTorch eager and torch.compile on the GPU, 128x128

The GPU run needs a CUDA build of PyTorch (the PyPI wheel is one) and a GPU; it does not run Keras.
"""
import argparse
import os
import statistics
import subprocess
import sys
import time

import numpy as np

# mien's PaperNetConfig defaults (include/mien/models/paper_net_config.hpp).
DEFAULT_CONFIG = {
    "input_size": 128,
    "input_channels": 1,
    "classes": 7,
    "stream_kernels": [3, 5],
    "stream_channels": [32, 64],
    "attention": "per_channel",
    "residual_blocks": 2,
    "residual_kernel": 3,
    "gated_skips": True,
    "final_pool": True,
    "dense_units": [256, 128],
    "dropout": 0.5,
    "bn_momentum": 0.99,
    "bn_eps": 1e-3,
}


def median_seconds(run, reps, warmup, sync=lambda: None):
    for _ in range(warmup):
        run()
    sync()
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        run()
        sync()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def batch_data(size, batch, seed=4):
    rng = np.random.default_rng(seed)
    x = rng.random((batch, 1, size, size), dtype=np.float32)
    y = (np.arange(batch) % DEFAULT_CONFIG["classes"]).astype(np.int64)
    return x, y


def report(framework, what, size, batch, seconds):
    print(f"{framework} {what} {size}x{size} batch {batch}: {batch / seconds:.2f} images/s", flush=True)


def bench_torch(sizes, batch, reps, warmup, threads, device="cpu", compiled=False):
    import torch
    import torch.nn.functional as F

    import torch_model

    if device == "cpu":
        torch.set_num_threads(threads)
    name = "torch.compile" if compiled else ("torch" if device == "cpu" else "torch-eager")
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    for size in sizes:
        torch.manual_seed(0)
        model = torch_model.PaperNet(dict(DEFAULT_CONFIG, input_size=size)).to(device)
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-4, eps=1e-7)
        # Keras 2's decay: lr_t = lr0 / (1 + decay * t), as mien's Adam.
        schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda t: 1.0 / (1.0 + 1e-6 * t))
        x, y = batch_data(size, batch)
        x, y = torch.from_numpy(x).to(device), torch.from_numpy(y).to(device)
        forward = torch.compile(model) if compiled else model

        def train_step():
            optimizer.zero_grad(set_to_none=True)
            F.cross_entropy(forward(x), y).backward()
            optimizer.step()
            schedule.step()

        model.train()
        report(name, "training step", size, batch, median_seconds(train_step, reps, warmup, sync))

        def infer():
            with torch.inference_mode():
                forward(x)

        model.eval()
        report(name, "inference", size, batch, median_seconds(infer, reps, warmup, sync))


def bench_keras(sizes, batch, reps, warmup, threads):
    import keras_model  # sets KERAS_BACKEND before keras loads
    import keras
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(threads)
    for size in sizes:
        keras.utils.set_random_seed(0)
        model = keras_model.build(dict(DEFAULT_CONFIG, input_size=size))
        decay = keras.optimizers.schedules.InverseTimeDecay(1e-4, decay_steps=1, decay_rate=1e-6)
        model.compile(optimizer=keras.optimizers.Adam(learning_rate=decay, epsilon=1e-7),
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        x, y = batch_data(size, batch)
        x = np.ascontiguousarray(x.transpose(0, 2, 3, 1))  # Keras works channels-last
        # train_on_batch and predict_on_batch are Keras' own compiled (tf.function) paths.
        report("keras", "training step", size, batch, median_seconds(lambda: model.train_on_batch(x, y), reps, warmup))
        report("keras", "inference", size, batch, median_seconds(lambda: model.predict_on_batch(x), reps, warmup))


def versions(framework):
    if framework == "torch":
        import torch

        return f"torch {torch.__version__}"
    import keras_model  # noqa: F401
    import keras
    import tensorflow as tf

    return f"keras {keras.__version__}, tensorflow {tf.__version__}"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument("--frameworks", default="torch,keras", help="comma-separated: torch, keras (CPU only)")
    parser.add_argument("--sizes", help="comma-separated input sizes (default 48,128 on the CPU, 128 on the GPU)")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--strict-fp32", action="store_true", help="GPU: no TF32 in PyTorch's convolutions and GEMMs")
    args = parser.parse_args()
    frameworks = [f for f in args.frameworks.split(",") if f]
    sizes = [int(s) for s in (args.sizes or ("48,128" if args.device == "cpu" else "128")).split(",")]

    if args.device == "cuda":
        bench_gpu(sizes, args.batch, args.reps, args.warmup, args.strict_fp32)
        return 0
    if len(frameworks) > 1:
        # One process per framework: PyTorch and TensorFlow each bring their own LLVM and thread pools, and in one
        # process they clash (LLVM aborts on options registered twice) or compete for the cores.
        common = ["--sizes", ",".join(map(str, sizes)), "--batch", str(args.batch), "--reps", str(args.reps),
                  "--warmup", str(args.warmup), "--threads", str(args.threads)]
        status = 0
        for framework in frameworks:
            status |= subprocess.call([sys.executable, os.path.abspath(__file__), "--frameworks", framework] + common)
        return status
    framework = frameworks[0]
    print(f"{framework} on the CPU, {args.threads} threads: python {sys.version.split()[0]}, numpy {np.__version__}, "
          f"{versions(framework)}", flush=True)
    if framework == "torch":
        bench_torch(sizes, args.batch, args.reps, args.warmup, args.threads)
    elif framework == "keras":
        bench_keras(sizes, args.batch, args.reps, args.warmup, args.threads)
    else:
        parser.error(f"unknown framework '{framework}'")
    return 0


def bench_gpu(sizes, batch, reps, warmup, strict_fp32):
    """PyTorch on the GPU, eager and torch.compile (default mode), the baselines for mien's CUDA backend; the
    same lines as the CPU run, so a GPU check script can put them beside mien's. PyTorch runs convolutions in TF32
    by default; strict_fp32 turns that off, to set it beside mien's fp32 (not its TF32) kernels."""
    import torch

    if not torch.cuda.is_available():
        print("bench_frameworks: --device cuda needs a GPU and a CUDA build of PyTorch", file=sys.stderr)
        sys.exit(77)
    torch.backends.cudnn.benchmark = True
    if strict_fp32:
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cuda.matmul.allow_tf32 = False
    print(f"PyTorch {torch.__version__} on {torch.cuda.get_device_name()} (cuDNN {torch.backends.cudnn.version()}, "
          f"TF32 matmul {torch.backends.cuda.matmul.allow_tf32}, conv {torch.backends.cudnn.allow_tf32})", flush=True)
    bench_torch(sizes, batch, reps, warmup, 0, device="cuda")
    # torch.compile compiles on the first calls: more warm-up runs, so compile time is not timed.
    bench_torch(sizes, batch, reps, max(warmup, 3), 0, device="cuda", compiled=True)


if __name__ == "__main__":
    sys.exit(main())
