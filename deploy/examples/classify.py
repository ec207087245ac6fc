#!/usr/bin/env python3
"""Classify image files with an exported edgekd model and save where it looked. Torch-free.

Needs only `pip install "edgekd[runtime]"` (numpy, onnxruntime, ai-edge-litert, Pillow):

    python classify.py student_fma.tflite xray.png --out overlay.png
    python classify.py student.onnx new_photos/ --overlays maps/

Reads the model's metadata (class names, input size, normalisation, and for a model
trained on image files the stored preprocessing: image size, resize policy, channels),
reads every image exactly as training did (edgekd.images.read_image, the
function training used), prints the class and its probability (one line per image,
prefixed by the file when there are several), and,
when the model has an attention head, writes the map blended over the image.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from edgekd.images import Preprocess, read_image
from edgekd.explain.images import IMAGE_SUFFIXES
from edgekd.explain.overlay import blend
from edgekd.metrics import softmax
from edgekd.runtime.attention import attention_map
from edgekd.runtime.registry import create_runner


def model_preprocess(meta: dict) -> Preprocess:
    """The model's stored preprocessing; a model trained on arrays (no record) gets its
    images stretched to its input size, bilinear."""
    if meta.get("preprocess"):
        return Preprocess.from_dict(meta["preprocess"])
    channels, size, _ = meta["input_size"]
    return Preprocess(int(size), int(channels), "stretch")


def image_files(items: list[str]) -> list[Path]:
    """The files named, and every image file under the folders named (sorted)."""
    files: list[Path] = []
    for item in items:
        path = Path(item)
        if path.is_dir():
            files += sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
        else:
            files.append(path)
    return files


def overlay(image: np.ndarray, attention: np.ndarray, out: Path, scale: int = 8) -> None:
    """The [0, 1] map blended over the image in edgekd's colours, enlarged ``scale`` times."""
    picture = Image.fromarray(blend(image, attention))
    picture.resize((picture.width * scale, picture.height * scale), Image.NEAREST).save(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", help=".onnx or .tflite exported by edgekd export")
    parser.add_argument("images", nargs="+", help="image files (png, jpg) or folders of them")
    parser.add_argument("--out", default="overlay.png", help="where to save the attention overlay (one image)")
    parser.add_argument("--overlays", default=None, help="folder for the overlays of several images")
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    runner = create_runner(args.model, threads=args.threads)
    meta = runner.metadata
    pre = model_preprocess(meta)
    mean = np.asarray(meta["mean"], dtype=np.float32).reshape(-1, 1, 1)
    std = np.asarray(meta["std"], dtype=np.float32).reshape(-1, 1, 1)
    files = image_files(args.images)
    if not files:
        print("error: no image files given", file=sys.stderr)
        return 2
    folder = Path(args.overlays) if args.overlays else None
    if folder:
        folder.mkdir(parents=True, exist_ok=True)
    for path in files:
        try:
            image = read_image(path, pre)
        except Exception as exc:  # noqa: BLE001 - one bad file is reported, the others still classified
            print(f"{path}: skipped ({str(exc).splitlines()[0]})", file=sys.stderr)
            continue
        outputs = runner.run(((image.astype(np.float32) / 255.0 - mean) / std)[None])
        probs = softmax(outputs["logits"].astype(np.float64))[0]
        best = int(probs.argmax())
        answer = f"{meta['class_names'][best]}: {probs[best]:.3f}"
        print(answer if len(files) == 1 else f"{path}: {answer}")
        if "attention" in outputs and (folder or len(files) == 1):
            target = folder / f"{path.stem}-overlay.png" if folder else Path(args.out)
            overlay(image, attention_map(outputs, meta)[0], target)
            print(f"attention overlay: {target}")
    if meta.get("attention_head", "none") == "none":
        print("this model has no attention head (export with --attention-head fma|mip|cam)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
