"""The paper network of mien (include/mien/models/paper_net.hpp) in Keras 3 (TensorFlow backend), from the same
config JSON, the way the paper's authors would have written it: channels-last (NHWC) activations, the Keras
layer set, Flatten over H, W, C.

mien's weights differ from Keras' in layout only; weight_map() says, for each mien parameter or buffer name,
which Keras variable holds it and how to convert in both directions:
  conv    mien [K, C, k, k]  ->  Keras kernel [k, k, C, K]
  dense   mien [O, F]        ->  Keras kernel [F, O]
  head.dense1 additionally: mien flattens NCHW (c, h, w), Keras NHWC (h, w, c), so its input axis is permuted.
"""
import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
from keras import layers  # noqa: E402


def feature_size(cfg):
    s = cfg["input_size"]
    for _ in cfg["stream_channels"]:
        s //= 2
    return s // 2 if cfg["final_pool"] else s


def _key(mien_name):
    # Keras layer names cannot hold dots.
    return mien_name.replace(".", "_")


def build(cfg):
    """Returns the functional Keras model: input [N, S, S, C_in] (NHWC) -> logits [N, classes]."""
    m, eps = cfg["bn_momentum"], cfg["bn_eps"]

    def conv_bn(h, prefix, i, filters, kernel):
        h = layers.Conv2D(filters, kernel, padding="same", name=_key(f"{prefix}.conv{i}"))(h)
        return layers.BatchNormalization(momentum=m, epsilon=eps, name=_key(f"{prefix}.bn{i}"))(h)

    size, cin = cfg["input_size"], cfg["input_channels"]
    x = keras.Input((size, size, cin), name="input")
    streams = []
    for k in cfg["stream_kernels"]:
        h = x
        for i, filters in enumerate(cfg["stream_channels"], 1):
            h = layers.ReLU()(conv_bn(h, f"stream{k}", i, filters, k))
            h = layers.MaxPooling2D(2)(h)
        streams.append(h)
    h = layers.Concatenate(axis=-1)(streams) if len(streams) > 1 else streams[0]

    c = len(cfg["stream_kernels"]) * cfg["stream_channels"][-1]
    literal = cfg["attention"] == "paper_literal"
    p = layers.Softmax(axis=-1)(
        layers.Dense(1 if literal else c, activation="tanh", name="attention_dense")(layers.GlobalAveragePooling2D()(h)))
    # Softmax over C times C keeps the mean weight at 1; the literal reading's single value broadcasts.
    scores = layers.Reshape((1, 1, 1 if literal else c))(p if literal else layers.Rescaling(float(c))(p))
    h = h * scores

    kr = cfg["residual_kernel"]
    for b in range(1, cfg["residual_blocks"] + 1):
        z = layers.ReLU()(conv_bn(h, f"block{b}", 1, c, kr))
        z = conv_bn(z, f"block{b}", 2, c, kr)
        skip = h * scores if cfg["gated_skips"] else h
        h = layers.ReLU()(layers.Add()([z, skip]))
    if cfg["final_pool"]:
        h = layers.MaxPooling2D(2)(h)

    h = layers.Flatten()(h)
    for i, units in enumerate(cfg["dense_units"], 1):
        h = layers.Dense(units, name=f"head_dense{i}")(h)
        h = layers.ReLU()(layers.BatchNormalization(momentum=m, epsilon=eps, name=f"head_bn{i}")(h))
        if cfg["dropout"] > 0:
            h = layers.Dropout(cfg["dropout"])(h)
    logits = layers.Dense(cfg["classes"], name="head_logits")(h)
    return keras.Model(x, logits, name="paper_net")


def _conv_to_keras(w):
    return w.transpose(2, 3, 1, 0)


def _conv_from_keras(k):
    return k.transpose(3, 2, 0, 1)


def _flat_dense_converters(c, f):
    """mien's first head weight [O, C·F·F] (NCHW flatten) <-> Keras kernel [F·F·C, O] (NHWC flatten)."""

    def to_keras(w):
        o = w.shape[0]
        return w.reshape(o, c, f, f).transpose(2, 3, 1, 0).reshape(f * f * c, o)

    def from_keras(k):
        o = k.shape[1]
        return k.reshape(f, f, c, o).transpose(3, 2, 0, 1).reshape(o, c * f * f)

    return to_keras, from_keras


def weight_map(model, cfg):
    """{mien name: (keras variable, to_keras, from_keras)} for every parameter and batch-norm buffer."""
    same = (lambda a: a, lambda a: a)
    transpose = (lambda a: a.T, lambda a: a.T)
    out = {}

    def add_conv(name):
        layer = model.get_layer(_key(name))
        out[name + ".weight"] = (layer.kernel, _conv_to_keras, _conv_from_keras)
        out[name + ".bias"] = (layer.bias, *same)

    def add_bn(name):
        layer = model.get_layer(_key(name))
        out[name + ".gamma"] = (layer.gamma, *same)
        out[name + ".beta"] = (layer.beta, *same)
        out[name + ".running_mean"] = (layer.moving_mean, *same)
        out[name + ".running_var"] = (layer.moving_variance, *same)

    def add_dense(name, weight_converters=transpose):
        layer = model.get_layer(_key(name))
        out[name + ".weight"] = (layer.kernel, *weight_converters)
        out[name + ".bias"] = (layer.bias, *same)

    for k in cfg["stream_kernels"]:
        for i in range(1, len(cfg["stream_channels"]) + 1):
            add_conv(f"stream{k}.conv{i}")
            add_bn(f"stream{k}.bn{i}")
    add_dense("attention.dense")
    for b in range(1, cfg["residual_blocks"] + 1):
        for i in (1, 2):
            add_conv(f"block{b}.conv{i}")
            add_bn(f"block{b}.bn{i}")
    c = len(cfg["stream_kernels"]) * cfg["stream_channels"][-1]
    for i in range(1, len(cfg["dense_units"]) + 1):
        add_dense(f"head.dense{i}", _flat_dense_converters(c, feature_size(cfg)) if i == 1 else transpose)
        add_bn(f"head.bn{i}")
    add_dense("head.logits")
    return out


def load_mien_state(model, cfg, state):
    """Assigns a mien dump's weights and buffers ({name: array}) to the Keras model; every name must match."""
    mapping = weight_map(model, cfg)
    if set(mapping) != set(state):
        raise KeyError(f"names differ between the dump and the Keras model: {sorted(set(mapping) ^ set(state))[:8]}")
    for name, (variable, to_keras, _) in mapping.items():
        value = to_keras(state[name])
        if tuple(variable.shape) != value.shape:
            raise ValueError(f"{name}: dump {state[name].shape} -> {value.shape}, Keras {tuple(variable.shape)}")
        variable.assign(np.ascontiguousarray(value, dtype=np.float32))
    return mapping
