#!/usr/bin/env python3
"""Checks mien's training step against PyTorch and Keras on the same weights and data.

Reads a dump of mien_dump_reference (logits, loss, every gradient of one training-mode step with batch
statistics and no dropout), rebuilds the network in PyTorch (fp32 and fp64) and Keras/TensorFlow (fp32) with
the dumped weights, runs the same step, and prints per tensor:

  max|mien|      the tensor's scale
  abs, rel       max |mien - framework| and that over max|mien|, for PyTorch fp32 and Keras fp32
  vs fp64        rel. error of mien, PyTorch fp32 and Keras fp32 against PyTorch in float64 (the exact answer up
                 to ~1e-15): the fp32 noise floor, and which side is wrong when two disagree

Biases that feed a batch norm have a zero gradient in exact arithmetic (the norm subtracts any shift); what
fp32 leaves there is rounding noise, so for those (marked *) errors are taken relative to the same layer's
weight gradient. Exit status 1 when mien's error against fp64 exceeds --tol on any tensor.

  python3 compare.py --dump mien_reference.ckpt [--tol 1e-4] [--skip keras]
"""
import argparse
import sys

import numpy as np

import mien_io


def run_torch(cfg, params, buffers, inputs, labels, dtype):
    import torch
    import torch.nn.functional as F

    import torch_model

    torch.manual_seed(0)
    model = torch_model.PaperNet(cfg)
    torch_model.load_mien_state(model, params, buffers)
    model = model.to(dtype).train()
    # PyTorch moves running_var toward the unbiased batch variance, mien and Keras toward the biased one; the
    # hook records each norm's values per channel (M) to convert: biased = unbiased · (M - 1) / M.
    counts = {}
    for name, module in model.named_modules():
        if isinstance(module, torch_model.BatchNorm):
            module.register_forward_hook(lambda mod, args, out, name=name: counts.__setitem__(name, args[0].numel() // args[0].shape[1]))
    x = torch.tensor(inputs, dtype=dtype, requires_grad=True)
    logits = model(x)
    loss = F.cross_entropy(logits, torch.tensor(labels, dtype=torch.long))
    loss.backward()

    out = {"loss": np.array([loss.item()]), "logits": logits.detach().numpy(), "grad.input": x.grad.numpy()}
    for name, p in model.named_parameters():
        out["grad." + name] = p.grad.numpy()
    for name, b in model.named_buffers():
        value = b.numpy().astype(np.float64)
        if name.endswith("running_var"):
            module_name = name.rsplit(".", 1)[0]
            m, before = cfg["bn_momentum"], buffers[name].astype(np.float64)
            count = counts[module_name]
            value = m * before + (value - m * before) * (count - 1) / count
        out["updated." + name] = value
    return out


def run_keras(cfg, params, buffers, inputs, labels):
    import keras_model  # sets KERAS_BACKEND before keras loads
    import keras
    import tensorflow as tf

    model = keras_model.build(cfg)
    mapping = keras_model.load_mien_state(model, cfg, {**params, **buffers})
    x = tf.Variable(inputs.transpose(0, 2, 3, 1))  # NCHW -> NHWC
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    names = list(params)
    with tf.GradientTape() as tape:
        logits = model(x, training=True)
        loss = loss_fn(labels.astype(np.int32), logits)
    grads = tape.gradient(loss, [x] + [mapping[n][0] for n in names])

    out = {"loss": np.array([float(loss)]), "logits": logits.numpy(), "grad.input": grads[0].numpy().transpose(0, 3, 1, 2)}
    for name, g in zip(names, grads[1:]):
        out["grad." + name] = mapping[name][2](g.numpy())
    for name in buffers:
        out["updated." + name] = mapping[name][2](mapping[name][0].numpy())
    return out


def zero_by_construction(name, param_names):
    """Gradients of biases directly followed by a batch norm (all but the attention's and the logits')."""
    if not (name.startswith("grad.") and name.endswith(".bias")):
        return False
    layer = name[len("grad.") : -len(".bias")]
    return layer not in ("attention.dense", "head.logits") and "grad." + layer + ".weight" in param_names


def scale_of(name, tensors, param_names):
    if zero_by_construction(name, param_names):
        return float(np.abs(tensors[name[: -len(".bias")] + ".weight"]).max())
    return float(np.abs(tensors[name]).max())


def rel(a, b, scale):
    err = float(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64)).max())
    return err, (err / scale if scale > 0 else err)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dump", default="mien_reference.ckpt", help="file written by mien_dump_reference")
    parser.add_argument("--tol", type=float, default=1e-4, help="largest relative error of mien against fp64")
    parser.add_argument("--skip", choices=["torch", "keras"], action="append", default=[], help="leave a framework out")
    args = parser.parse_args()

    meta, tensors = mien_io.read_checkpoint(args.dump)
    cfg = meta["config"]
    params, buffers = mien_io.group(tensors, "param"), mien_io.group(tensors, "buffer")
    inputs, labels = tensors["input"], tensors["labels"].astype(np.int64)
    mien = {k: v for k, v in tensors.items() if k.startswith(("grad.", "updated.")) or k == "logits"}
    mien["loss"] = np.array([meta["loss"]])
    param_names = {"grad." + n for n in params}

    import torch

    exact = run_torch(cfg, params, buffers, inputs.astype(np.float64), labels, torch.float64)
    others = {}
    versions = [f"torch {torch.__version__}"]
    if "torch" not in args.skip:
        others["torch"] = run_torch(cfg, params, buffers, inputs, labels, torch.float32)
    if "keras" not in args.skip:
        others["keras"] = run_keras(cfg, params, buffers, inputs, labels)
        import keras
        import tensorflow as tf

        versions += [f"keras {keras.__version__}", f"tensorflow {tf.__version__}"]
    print(f"dump {args.dump}: input {list(inputs.shape)}, attention {cfg['attention']}, loss {meta['loss']:.6f}; "
          + ", ".join(versions))

    order = ["loss", "logits", "grad.input"] + ["grad." + n for n in params] + ["updated." + n for n in buffers]
    head = f"{'tensor':<34} {'max|mien|':>9}"
    for fw in others:
        head += f" | {fw + ' abs':>10} {fw + ' rel':>10}"
    head += " | vs fp64: " + " ".join(f"{n:>8}" for n in ["mien"] + list(others))
    print(head)
    print("-" * len(head))
    worst, failures = {}, []
    for name in order:
        star = "*" if zero_by_construction(name, param_names) else " "
        scale = scale_of(name, mien, param_names)
        exact_scale = scale_of(name, exact, param_names)
        line = f"{name + star:<34} {float(np.abs(mien[name]).max()):9.2e}"
        for fw, result in others.items():
            err, r = rel(result[name], mien[name], scale)
            worst[fw] = max(worst.get(fw, 0.0), r)
            line += f" | {err:10.2e} {r:10.2e}"
        line += " |         "
        for fw, result in [("mien", mien)] + list(others.items()):
            _, r = rel(result[name], exact[name], exact_scale)
            worst[fw + " vs fp64"] = max(worst.get(fw + " vs fp64", 0.0), r)
            line += f" {r:8.1e}"
            if fw == "mien" and r > args.tol:
                failures.append(name)
        print(line + (" !" if name in failures else ""))
    print("-" * len(head))
    print("worst relative error: " + ", ".join(f"{k} {v:.1e}" for k, v in worst.items()))
    print("* zero in exact arithmetic (a bias before a batch norm): errors relative to that layer's weight gradient")
    if failures:
        print(f"FAIL: mien differs from fp64 by more than {args.tol:g} on {len(failures)} tensors: {failures}")
        return 1
    print(f"OK: every tensor of mien within {args.tol:g} (relative) of the fp64 reference")
    return 0


if __name__ == "__main__":
    sys.exit(main())
