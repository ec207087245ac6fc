#!/usr/bin/env python3
"""Classify one image with an exported edgekd model and save where it looked. Torch-free.

Needs only `pip install "edgekd[runtime]"` (numpy, onnxruntime, ai-edge-litert, Pillow):

    python classify.py student_fma.tflite xray.png --out overlay.png

Reads the model's metadata (class names, input size, normalisation), preprocesses the
image exactly as training did, prints the class and its probability, and, when the
model has an attention head, writes the map blended over the image.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
from PIL import Image

from edgekd.explain.overlay import blend
from edgekd.metrics import softmax
from edgekd.runtime.attention import attention_map
from edgekd.runtime.registry import create_runner


def load_image(path: str, channels: int, size: int) -> np.ndarray:
    """uint8 C x H x W at the model's input size and channel count."""
    image = Image.open(path).convert("L" if channels == 1 else "RGB").resize((size, size), Image.BILINEAR)
    return np.asarray(image, dtype=np.uint8).reshape(size, size, channels).transpose(2, 0, 1)


def overlay(image: np.ndarray, attention: np.ndarray, out: str, scale: int = 8) -> None:
    """The [0, 1] map blended over the image in edgekd's colours, enlarged ``scale`` times."""
    picture = Image.fromarray(blend(image, attention))
    picture.resize((picture.width * scale, picture.height * scale), Image.NEAREST).save(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", help=".onnx or .tflite exported by edgekd export")
    parser.add_argument("image", help="an image file (png, jpg)")
    parser.add_argument("--out", default="overlay.png", help="where to save the attention overlay")
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    runner = create_runner(args.model, threads=args.threads)
    meta = runner.metadata
    channels, size, _ = meta["input_size"]
    image = load_image(args.image, channels, size)
    mean = np.asarray(meta["mean"], dtype=np.float32).reshape(-1, 1, 1)
    std = np.asarray(meta["std"], dtype=np.float32).reshape(-1, 1, 1)
    batch = ((image.astype(np.float32) / 255.0 - mean) / std)[None]
    outputs = runner.run(batch)
    probs = softmax(outputs["logits"].astype(np.float64))[0]
    best = int(probs.argmax())
    print(f"{meta['class_names'][best]}: {probs[best]:.3f}")
    if "attention" in outputs:
        overlay(image, attention_map(outputs, meta)[0], args.out)
        print(f"attention overlay: {args.out}")
    else:
        print("this model has no attention head (export with --attention-head fma|mip|cam)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
