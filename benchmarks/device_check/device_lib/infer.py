"""Run exported models on saved images and save every output: the same script on x86 and arm64.

    python infer.py IMAGES.npz OUT.npz MODEL [MODEL ...]

``IMAGES.npz`` holds ``images``: uint8 N x C x H x W. Each model normalises them with its own
metadata (as ``edgekd bench`` and ``deploy/examples/classify.py`` do) and runs them one image
at a time (TFLite exports are batch 1) on one thread; ``OUT.npz`` gets ``<file name>|logits``
and, for a model with an attention head, ``<file name>|attention``. Torch-free: it needs only
edgekd's runtime part, so the emulated arm64 python runs it by path.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from edgekd.data.spec import preprocess
from edgekd.runtime.registry import create_runner


def run_model(model: str, images: np.ndarray) -> dict[str, np.ndarray]:
    """Every output of ``model`` for every image, stacked along the batch axis."""
    runner = create_runner(model, threads=1)
    x = preprocess(images, runner.metadata["mean"], runner.metadata["std"])
    outputs = [runner.run(x[i:i + 1]) for i in range(len(x))]
    runner.close()
    return {key: np.concatenate([o[key] for o in outputs]) for key in outputs[0]}


def main(argv: list[str]) -> int:
    if len(argv) < 3:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    images = np.load(argv[0])["images"]
    result = {}
    for model in argv[2:]:
        for key, value in run_model(model, images).items():
            result[f"{Path(model).name}|{key}"] = value
    np.savez(argv[1], **result)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
