"""Reads a mien checkpoint (include/mien/io/checkpoint.hpp, format version 1) into numpy arrays.

Layout, little-endian: b"MIENCKPT", u32 version, u64 header length, JSON header
{"meta": {...}, "tensors": [{"name", "shape", "offset"}...]}, float32 data (offsets count floats from the start
of the data), u32 CRC-32 (IEEE, the zlib one) of every byte before it.
"""
import json
import struct
import zlib

import numpy as np

MAGIC = b"MIENCKPT"
VERSION = 1
_FIXED = len(MAGIC) + 4 + 8


class CheckpointError(ValueError):
    pass


def read_checkpoint(path):
    """Returns (meta, tensors): the meta JSON as a dict and {name: float32 array of the stored shape}."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < _FIXED + 4 or data[: len(MAGIC)] != MAGIC:
        raise CheckpointError(f"{path}: not a mien checkpoint (bad magic or only {len(data)} bytes)")
    version, header_bytes = struct.unpack_from("<IQ", data, len(MAGIC))
    if version != VERSION:
        raise CheckpointError(f"{path}: format version {version}, this reader knows {VERSION}")
    (stored_crc,) = struct.unpack_from("<I", data, len(data) - 4)
    if zlib.crc32(memoryview(data)[:-4]) != stored_crc:
        raise CheckpointError(f"{path}: checksum mismatch (truncated or corrupt)")
    if header_bytes > len(data) - _FIXED - 4:
        raise CheckpointError(f"{path}: header length exceeds the file")
    header = json.loads(data[_FIXED : _FIXED + header_bytes])
    values = np.frombuffer(data, dtype="<f4", offset=_FIXED + header_bytes, count=(len(data) - 4 - _FIXED - header_bytes) // 4)
    tensors = {}
    for entry in header["tensors"]:
        shape = tuple(entry["shape"])
        count = int(np.prod(shape, dtype=np.int64))
        offset = entry["offset"]
        if offset + count > values.size:
            raise CheckpointError(f"{path}: tensor '{entry['name']}' lies past the end of the data")
        tensors[entry["name"]] = values[offset : offset + count].reshape(shape).astype(np.float32)
    return header["meta"], tensors


def group(tensors, prefix):
    """The tensors whose names start with prefix + '.', keyed by the rest of the name ('param' -> weights)."""
    start = prefix + "."
    return {k[len(start) :]: v for k, v in tensors.items() if k.startswith(start)}
