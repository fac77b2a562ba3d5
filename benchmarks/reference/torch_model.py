"""The paper network of mien (include/mien/models/paper_net.hpp) in PyTorch, built from the same config JSON.

Module and parameter names are mien's own ("stream3.conv1.weight", "attention.dense.weight", "block1.bn1.gamma",
"head.dense1.weight", ...), and PyTorch's layouts are mien's (NCHW activations, conv weights [K, C, k, k], dense
weights [O, F]), so a mien dump loads by name without any reshaping.
"""
from collections import OrderedDict

import torch
import torch.nn as nn
import torch.nn.functional as F


class BatchNorm(nn.Module):
    """Batch norm with Keras' conventions, as mien has them: momentum is the weight of the old running value
    (0.99), the batch variance is biased. PyTorch's own layer names the affine parameters weight/bias; mien's are
    gamma/beta. PyTorch moves running_var toward the unbiased variance, mien and Keras toward the biased one:
    compare.py converts before comparing."""

    def __init__(self, channels, momentum, eps):
        super().__init__()
        self.gamma = nn.Parameter(torch.ones(channels))
        self.beta = nn.Parameter(torch.zeros(channels))
        self.register_buffer("running_mean", torch.zeros(channels))
        self.register_buffer("running_var", torch.ones(channels))
        self.momentum, self.eps = momentum, eps

    def forward(self, x):
        return F.batch_norm(x, self.running_mean, self.running_var, self.gamma, self.beta, self.training,
                            1.0 - self.momentum, self.eps)


class DynamicAttention(nn.Module):
    """s = softmax(tanh(Dense(GAP(x)))) over the channels, times C (per_channel); paper_literal: Dense(C -> 1)
    and the single softmax value broadcast to every channel (always 1). Returns x ⊙ s and s."""

    def __init__(self, channels, literal):
        super().__init__()
        self.channels, self.literal = channels, literal
        self.dense = nn.Linear(channels, 1 if literal else channels)

    def forward(self, x):
        p = torch.softmax(torch.tanh(self.dense(x.mean(dim=(2, 3)))), dim=1)
        s = p.expand(-1, self.channels) if self.literal else p * self.channels
        return x * s[:, :, None, None], s


class GatedResidualBlock(nn.Module):
    """y = ReLU(BN2(conv2(ReLU(BN1(conv1(x))))) + s ⊙ x), or + x with no gate (plain skips)."""

    def __init__(self, channels, kernel, momentum, eps):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, kernel, padding=kernel // 2)
        self.bn1 = BatchNorm(channels, momentum, eps)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(channels, channels, kernel, padding=kernel // 2)
        self.bn2 = BatchNorm(channels, momentum, eps)
        self.relu_out = nn.ReLU()

    def forward(self, x, gate):
        z = self.bn2(self.conv2(self.relu1(self.bn1(self.conv1(x)))))
        return self.relu_out(z + (x if gate is None else gate[:, :, None, None] * x))


def feature_size(cfg):
    s = cfg["input_size"]
    for _ in cfg["stream_channels"]:
        s //= 2
    return s // 2 if cfg["final_pool"] else s


class PaperNet(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        m, eps = cfg["bn_momentum"], cfg["bn_eps"]
        self.stream_names = []
        for k in cfg["stream_kernels"]:
            layers, cin = OrderedDict(), cfg["input_channels"]
            for i, cout in enumerate(cfg["stream_channels"], 1):
                layers[f"conv{i}"] = nn.Conv2d(cin, cout, k, padding=k // 2)
                layers[f"bn{i}"] = BatchNorm(cout, m, eps)
                layers[f"relu{i}"] = nn.ReLU()
                layers[f"pool{i}"] = nn.MaxPool2d(2)
                cin = cout
            setattr(self, f"stream{k}", nn.Sequential(layers))
            self.stream_names.append(f"stream{k}")
        c = len(cfg["stream_kernels"]) * cfg["stream_channels"][-1]
        self.attention = DynamicAttention(c, cfg["attention"] == "paper_literal")
        self.block_names = []
        for b in range(1, cfg["residual_blocks"] + 1):
            setattr(self, f"block{b}", GatedResidualBlock(c, cfg["residual_kernel"], m, eps))
            self.block_names.append(f"block{b}")
        self.final_pool = nn.MaxPool2d(2) if cfg["final_pool"] else nn.Identity()
        head, features = OrderedDict(flatten=nn.Flatten()), c * feature_size(cfg) ** 2
        for i, units in enumerate(cfg["dense_units"], 1):
            head[f"dense{i}"] = nn.Linear(features, units)
            head[f"bn{i}"] = BatchNorm(units, m, eps)
            head[f"relu{i}"] = nn.ReLU()
            if cfg["dropout"] > 0:
                head[f"dropout{i}"] = nn.Dropout(cfg["dropout"])
            features = units
        head["logits"] = nn.Linear(features, cfg["classes"])
        self.head = nn.Sequential(head)

    def forward(self, x):
        h = torch.cat([getattr(self, n)(x) for n in self.stream_names], dim=1)
        h, scores = self.attention(h)
        for n in self.block_names:
            h = getattr(self, n)(h, scores if self.cfg["gated_skips"] else None)
        return self.head(self.final_pool(h))


def load_mien_state(model, params, buffers):
    """Copies a mien dump's weights ({name: array}) and batch-norm buffers into the model; every name must match."""
    ours = dict(model.named_parameters())
    ours_buffers = dict(model.named_buffers())
    if set(ours) != set(params) or set(ours_buffers) != set(buffers):
        missing = sorted((set(ours) | set(ours_buffers)) ^ (set(params) | set(buffers)))
        raise KeyError(f"names differ between the dump and the PyTorch model: {missing[:8]}")
    with torch.no_grad():
        for name, value in list(params.items()) + list(buffers.items()):
            target = ours.get(name, ours_buffers.get(name))
            if tuple(target.shape) != value.shape:
                raise ValueError(f"{name}: dump {value.shape}, PyTorch {tuple(target.shape)}")
            target.copy_(torch.from_numpy(value))
