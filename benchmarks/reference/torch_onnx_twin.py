"""The PyTorch twin of the paper network (torch_model.py), exported by torch.onnx.export, for mien to import.

Builds the twin with seeded random weights and batch-norm statistics, in inference mode, with a Softmax on its
logits, and writes to DIR: twin<S>_<attention>.onnx (TorchScript exporter, opset 17, dynamic batch), a seeded
input batch (.input.f32) and PyTorch's probabilities for it (.torch.f32). `mien_onnx_agree` then imports each file
into mien and checks its probabilities against PyTorch's (see README.md, "ONNX").

    python3 torch_onnx_twin.py DIR [--sizes 48,128] [--batch 16]
"""
import argparse
import pathlib
import sys

import torch

import torch_model


def config(size, attention, gated):
    return {
        "input_size": size, "input_channels": 1, "classes": 7, "stream_kernels": [3, 5], "stream_channels": [32, 64],
        "attention": attention, "residual_blocks": 2, "residual_kernel": 3, "gated_skips": gated, "final_pool": True,
        "dense_units": [256, 128], "dropout": 0.5, "bn_momentum": 0.99, "bn_eps": 1e-3,
    }


class WithSoftmax(torch.nn.Module):
    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        return torch.softmax(self.net(x), dim=1)


def randomise(model, generator):
    """Weights as PyTorch initialises them, biases and batch-norm parameters and statistics away from 0 and 1."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith((".bias", ".beta")):
                p.uniform_(-0.1, 0.1, generator=generator)
            elif name.endswith(".gamma"):
                p.uniform_(0.8, 1.2, generator=generator)
        for name, b in model.named_buffers():
            if name.endswith("running_mean"):
                b.uniform_(-0.1, 0.1, generator=generator)
            elif name.endswith("running_var"):
                b.uniform_(0.5, 1.5, generator=generator)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dir", type=pathlib.Path)
    parser.add_argument("--sizes", default="48,128")
    parser.add_argument("--batch", type=int, default=16)
    args = parser.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(1)
    for size in (int(s) for s in args.sizes.split(",")):
        for attention, gated in (("per_channel", True), ("paper_literal", False)):
            generator = torch.Generator().manual_seed(size)
            net = torch_model.PaperNet(config(size, attention, gated))
            randomise(net, generator)
            model = WithSoftmax(net).eval()
            x = torch.rand(args.batch, 1, size, size, generator=generator) * 2 - 1
            with torch.no_grad():
                probabilities = model(x)
            stem = args.dir / f"twin{size}_{attention}"
            torch.onnx.export(model, (x,), str(stem) + ".onnx", opset_version=17, dynamo=False,
                              input_names=["input"], output_names=["probabilities"],
                              dynamic_axes={"input": {0: "N"}, "probabilities": {0: "N"}})
            x.numpy().astype("<f4").tofile(str(stem) + ".input.f32")
            probabilities.numpy().astype("<f4").tofile(str(stem) + ".torch.f32")
            print(f"wrote {stem}.onnx ({attention}, {'gated' if gated else 'plain'} skips), input "
                  f"[{args.batch}, 1, {size}, {size}] and PyTorch {torch.__version__}'s probabilities")
    return 0


if __name__ == "__main__":
    sys.exit(main())
