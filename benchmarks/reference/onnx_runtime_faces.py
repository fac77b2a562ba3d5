"""ONNX Runtime on real faces: every image of a FER2013 image folder's test part through a mien export.

Normalises the images with the file's own metadata (mien.pixel_mean, mien.pixel_stddev), runs them in ONNX
Runtime, prints its accuracy against the folder labels, and writes the input batch (OUT.input.f32) and ONNX
Runtime's probabilities (OUT.ort.f32) for `mien_onnx_agree` to compare with mien's:

    build/examples/export_onnx --out /tmp/bundled.onnx
    python3 onnx_runtime_faces.py /path/to/fer2013 /tmp/bundled.onnx /tmp/bundled_test
    build/benchmarks/mien_onnx_agree --model /tmp/bundled.onnx --input /tmp/bundled_test.input.f32 \\
        --expect /tmp/bundled_test.ort.f32
"""
import json
import pathlib
import sys

import numpy as np
import onnxruntime as ort
from PIL import Image


def main():
    if len(sys.argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    root, model, out = pathlib.Path(sys.argv[1]), sys.argv[2], sys.argv[3]
    session = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    meta = session.get_modelmeta().custom_metadata_map
    mean, std, size = float(meta["mien.pixel_mean"]), float(meta["mien.pixel_stddev"]), int(meta["mien.input_size"])
    classes = json.loads(meta["mien.class_names"])
    files = sorted(f for f in root.glob("test/*/*") if f.suffix.lower() in (".jpg", ".jpeg", ".png"))
    if not files:
        print(f"no images under {root}/test/<class>/", file=sys.stderr)
        return 2
    pixels = [np.asarray(Image.open(f).convert("L").resize((size, size)), dtype=np.float32) for f in files]
    x = ((np.stack(pixels)[:, None] / 255 - mean) / std).astype("<f4")
    p = np.concatenate([session.run(None, {"input": x[i:i + 256]})[0] for i in range(0, len(x), 256)])
    x.tofile(out + ".input.f32")
    p.astype("<f4").tofile(out + ".ort.f32")
    accuracy = np.mean([classes[k] == f.parent.name for k, f in zip(p.argmax(1), files)])
    print(f"{len(files)} test images, ONNX Runtime {ort.__version__}: accuracy {accuracy:.4f} against the folder labels")
    return 0


if __name__ == "__main__":
    sys.exit(main())
