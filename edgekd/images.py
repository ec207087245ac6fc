"""Image files as model inputs, torch-free: which suffixes are images, which Pillow modes are
grey, and one image file read as uint8 C x H x W at a model's channels and size.

Shared by the device side (explain on exported files, the TensorRT calibration images) and
the host (``folder:PATH`` data), so both read a file the same way.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edgekd.errors import EdgekdError, MissingDependency

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".pgm", ".ppm"}
#: Pillow modes that hold one grey channel
GREY_MODES = {"1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "I;16N", "F"}


def load_image_file(path: Path, channels: int, size: tuple[int, int], resize: bool = False
                    ) -> tuple[np.ndarray, str | None]:
    """One image file as uint8 C x H x W with ``channels`` channels at ``size`` (H, W), and what
    was converted (None: nothing). A size or grey / colour mismatch is refused unless ``resize``."""
    try:
        from PIL import Image
    except ImportError:
        raise MissingDependency("Pillow", "runtime") from None
    h, w = int(size[0]), int(size[1])
    try:
        with Image.open(path) as img:
            grey = img.mode in GREY_MODES
            found = f"{img.size[0]}x{img.size[1]} {'grey' if grey else 'colour'}"
            mismatch = img.size != (w, h) or grey != (channels == 1)
            if mismatch and not resize:
                raise EdgekdError(f"{path} is {found} but the model takes {channels}x{h}x{w} "
                                  f"({'grey' if channels == 1 else 'colour'}): give such images, or add --resize "
                                  f"to convert them")
            img = img.convert("L" if channels == 1 else "RGB").resize((w, h))
            arr = np.asarray(img, dtype=np.uint8)
    except (OSError, ValueError, SyntaxError):
        raise EdgekdError(f"{path} is not a readable image: give a .png or .jpg file") from None
    arr = arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1)
    if arr.shape[0] != channels:
        raise EdgekdError(f"{path}: cannot convert to {channels} channels (model input); use a grey or RGB image")
    return np.ascontiguousarray(arr), (f"{found} converted to {channels}x{h}x{w}" if mismatch else None)
