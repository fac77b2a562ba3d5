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
weight gradient.

ReLU and max-pool are not smooth: where a ReLU input or the gap between a pool window's two largest values is
within fp32 rounding of zero, an fp32 run may take the other side than fp64 does, and the gradient behind that
point then differs by far more than rounding, in mien and the frameworks alike (at 128x128 and batch 16 there
are millions of such inputs, so a few always come that close). The script counts those inputs in the fp64 run.
A dump made with --precision double has no such ties in practice, so it checks the formulas tightly.

Exit status: 0 when mien is within the tolerance of fp64 on every tensor (--tol; default 1e-4 for an fp32 dump,
1e-6 for a double one, whose values were rounded to float32 for the file); 2 when an fp32 dump misses it but
the fp64 run has near-ties (inconclusive: use the double dump); 1 otherwise (a disagreement beyond fp32 noise).

  python3 compare.py --dump mien_reference.ckpt [--tol T] [--skip keras] [--skip torch]
"""
import argparse
import sys

import numpy as np

import mien_io


NEAR_TIE = 1e-5  # relative to the largest magnitude in the tensor: well above fp32 rounding after a few layers


def count_near_ties(model, counts):
    """Adds forward hooks that count ReLU inputs within NEAR_TIE of zero and max-pool windows whose two largest
    values are that close (windows whose maximum is a ReLU zero are left out: their gradient is zero either
    way), into counts: {module name: count}."""
    import torch
    import torch.nn as nn

    def relu_hook(name):
        def hook(module, args, out):
            x = args[0].detach()
            counts[name] = int((x.abs() < NEAR_TIE * x.abs().max()).sum())
        return hook

    def pool_hook(name):
        def hook(module, args, out):
            x = args[0].detach()
            n, c, h, w = x.shape
            windows = x[:, :, : h // 2 * 2, : w // 2 * 2].reshape(n, c, h // 2, 2, w // 2, 2)
            top = torch.topk(windows.permute(0, 1, 2, 4, 3, 5).reshape(n, c, h // 2, w // 2, 4), 2, dim=-1).values
            scale = NEAR_TIE * x.abs().max()
            counts[name] = int(((top[..., 0] - top[..., 1] < scale) & (top[..., 0] > scale)).sum())
        return hook

    for name, module in model.named_modules():
        if isinstance(module, nn.ReLU):
            module.register_forward_hook(relu_hook(name))
        elif isinstance(module, nn.MaxPool2d):
            module.register_forward_hook(pool_hook(name))


def run_torch(cfg, params, buffers, inputs, labels, dtype, ties=None):
    import torch
    import torch.nn.functional as F

    import torch_model

    torch.manual_seed(0)
    model = torch_model.PaperNet(cfg)
    torch_model.load_mien_state(model, params, buffers)
    model = model.to(dtype).train()
    if ties is not None:
        count_near_ties(model, ties)
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
    parser.add_argument("--tol", type=float, help="largest relative error of mien against fp64 (default: 1e-4 for "
                        "an fp32 dump, 1e-6 for a double one)")
    parser.add_argument("--skip", choices=["torch", "keras"], action="append", default=[], help="leave a framework out")
    args = parser.parse_args()

    meta, tensors = mien_io.read_checkpoint(args.dump)
    cfg = meta["config"]
    precision = meta.get("precision", "float32")
    tol = args.tol if args.tol is not None else (1e-6 if precision == "float64" else 1e-4)
    params, buffers = mien_io.group(tensors, "param"), mien_io.group(tensors, "buffer")
    inputs, labels = tensors["input"], tensors["labels"].astype(np.int64)
    mien = {k: v for k, v in tensors.items() if k.startswith(("grad.", "updated.")) or k == "logits"}
    mien["loss"] = np.array([meta["loss"]])
    param_names = {"grad." + n for n in params}

    import torch

    ties = {}
    exact = run_torch(cfg, params, buffers, inputs.astype(np.float64), labels, torch.float64, ties)
    others = {}
    versions = [f"torch {torch.__version__}"]
    if "torch" not in args.skip:
        others["torch"] = run_torch(cfg, params, buffers, inputs, labels, torch.float32)
    if "keras" not in args.skip:
        # TensorFlow is loaded only after PyTorch has run: the other way round, their bundled LLVMs clash.
        others["keras"] = run_keras(cfg, params, buffers, inputs, labels)
        import keras
        import tensorflow as tf

        versions += [f"keras {keras.__version__}", f"tensorflow {tf.__version__}"]
    print(f"dump {args.dump}: mien in {precision}, input {list(inputs.shape)}, attention {cfg['attention']}, "
          f"loss {meta['loss']:.6f}; "
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
            if fw == "mien" and r > tol:
                failures.append(name)
        print(line + (" !" if name in failures else ""))
    print("-" * len(head))
    print("worst relative error: " + ", ".join(f"{k} {v:.1e}" for k, v in worst.items()))
    print("* zero in exact arithmetic (a bias before a batch norm): errors relative to that layer's weight gradient")
    near = sum(ties.values())
    print(f"near-ties in the fp64 forward (within {NEAR_TIE:g} of a ReLU or max-pool kink): {near}"
          + (" (" + ", ".join(f"{k} {v}" for k, v in ties.items() if v) + ")" if near else ""))
    if not failures:
        print(f"OK: every tensor of mien within {tol:g} (relative) of the fp64 reference")
        return 0
    print(f"mien differs from fp64 by more than {tol:g} on {len(failures)} tensors: {failures}")
    if precision == "float32" and near:
        print("INCONCLUSIVE: fp32 may take the other side of those near-ties (compare the PyTorch and Keras fp32 "
              "columns); rerun mien_dump_reference with --precision double for the exact check")
        return 2
    print("FAIL")
    return 1


if __name__ == "__main__":
    sys.exit(main())
