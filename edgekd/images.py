"""Image files -> the model's input pixels: the preprocessing training and every device share.

A model trained on a user's photos stores how its images were read (:class:`Preprocess`,
the ``preprocess`` entry of the checkpoint's data record and of the exported metadata), and
:func:`read_image` applies it. Training (``folder:PATH`` sets), ``edgekd explain`` and
``edgekd bench`` on image files, and ``deploy/examples/classify.py`` all call this one
function, so the host and the device cannot drift apart. Torch-free: numpy and Pillow.

Policies (``--resize``), each to ``image_size`` x ``image_size``, bilinear (Pillow's
filter, antialiased when shrinking, as torchvision's ``Resize`` on PIL images):

- ``shorter-crop`` (default): the shorter side to N, then the centre N x N crop: what
  ``transforms.Resize(N)`` + ``transforms.CenterCrop(N)`` do in every torchvision tutorial
  (the same output sizes and crop offsets).
- ``letterbox``: the longer side to N, the rest padded with ``fill`` (black), centred: the
  whole image is kept, undistorted.
- ``stretch``: straight to N x N: the whole image, distorted when it is not square.

Before resizing, the EXIF orientation is applied (a phone photo stored on its side is
turned upright) and the image is converted to ``L`` (grey, 1 channel) or ``RGB`` (alpha
dropped, palettes expanded). Every file is decoded at full size (no JPEG draft scaling),
so the result equals torchvision's pixel for pixel; a 12-megapixel photo takes about 0.1 s,
paid once: :mod:`edgekd.data.folder_read` caches the resized images.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edgekd.errors import EdgekdError, MissingDependency

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".pgm", ".ppm"}
#: Pillow modes that hold one grey channel
GREY_MODES = {"1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "I;16N", "F"}
RESIZE_POLICIES = ("shorter-crop", "letterbox", "stretch")
DEFAULT_RESIZE = "shorter-crop"
INTERPOLATION = "bilinear"
MIN_SIZE, MAX_SIZE = 8, 1024


@dataclass(frozen=True)
class Preprocess:
    """How an image file becomes the model's uint8 C x N x N input (before mean / std)."""

    image_size: int
    channels: int
    resize: str = DEFAULT_RESIZE
    interpolation: str = INTERPOLATION
    fill: int = 0  # letterbox padding, in uint8 grey levels

    def __post_init__(self) -> None:
        check_resize(self.resize)
        check_image_size(self.image_size)
        if self.channels not in (1, 3):
            raise EdgekdError(f"preprocess channels must be 1 or 3, got {self.channels}")
        if self.interpolation != INTERPOLATION:
            raise EdgekdError(f"interpolation {self.interpolation!r} is not supported: edgekd resizes bilinear")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Preprocess:
        try:
            return cls(int(d["image_size"]), int(d["channels"]), str(d.get("resize", DEFAULT_RESIZE)),
                       str(d.get("interpolation", INTERPOLATION)), int(d.get("fill", 0)))
        except (KeyError, TypeError, ValueError):
            raise EdgekdError(f"the model's preprocess record {d!r} is malformed: re-export the model") from None

    def describe(self) -> str:
        kind = "grey" if self.channels == 1 else "RGB"
        return f"{self.resize} to {self.image_size}x{self.image_size} ({self.interpolation}, {kind})"


def check_resize(policy: str) -> str:
    if policy not in RESIZE_POLICIES:
        raise EdgekdError(f"unknown --resize {policy!r}: choose one of {', '.join(RESIZE_POLICIES)}")
    return policy


def check_image_size(size: int) -> int:
    if not MIN_SIZE <= int(size) <= MAX_SIZE:
        raise EdgekdError(f"--image-size {size} is outside {MIN_SIZE}..{MAX_SIZE} pixels: give e.g. 64, 128 or 224")
    return int(size)


def pillow():
    try:
        from PIL import Image
    except ImportError:
        raise MissingDependency("Pillow", "runtime") from None
    return Image


def resized_size(w: int, h: int, pre: Preprocess) -> tuple[int, int]:
    """(width, height) the policy resizes a w x h image to, before any crop or padding."""
    n = pre.image_size
    if pre.resize == "stretch":
        return n, n
    if pre.resize == "shorter-crop":  # torchvision's Resize(int): the long side truncated, not rounded
        return (n, int(n * h / w)) if w <= h else (int(n * w / h), n)
    scale = n / max(w, h)  # letterbox
    return max(1, round(w * scale)), max(1, round(h * scale))


def upscale(w: int, h: int, pre: Preprocess) -> float:
    """How many times the policy enlarges a w x h image (< 1: it shrinks it)."""
    rw, rh = resized_size(w, h, pre)
    return max(rw / w, rh / h)


def fit_image(img, pre: Preprocess) -> np.ndarray:
    """A decoded PIL image -> uint8 C x N x N under ``pre`` (orientation, mode, resize, crop / pad)."""
    image = pillow()
    from PIL import ImageOps

    img = ImageOps.exif_transpose(img)
    img = img.convert("L" if pre.channels == 1 else "RGB")
    w, h = img.size
    rw, rh = resized_size(w, h, pre)
    if (rw, rh) != (w, h):
        img = img.resize((rw, rh), image.BILINEAR)
    n = pre.image_size
    if pre.resize == "shorter-crop" and (rw, rh) != (n, n):
        left, top = int(round((rw - n) / 2.0)), int(round((rh - n) / 2.0))
        img = img.crop((left, top, left + n, top + n))
    elif pre.resize == "letterbox" and (rw, rh) != (n, n):
        canvas = image.new(img.mode, (n, n), (pre.fill,) * pre.channels if pre.channels == 3 else pre.fill)
        canvas.paste(img, ((n - rw) // 2, (n - rh) // 2))
        img = canvas
    arr = np.asarray(img, dtype=np.uint8)
    arr = arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1)
    return np.ascontiguousarray(arr)


def decode_file(path: str | Path, pre: Preprocess) -> np.ndarray:
    """:func:`read_image` without the error handling: Pillow's own exception on a bad file."""
    with pillow().open(path) as img:
        img.load()
        return fit_image(img, pre)


def read_image(path: str | Path, pre: Preprocess) -> np.ndarray:
    """The image file at ``path`` as uint8 C x N x N under ``pre``; an unreadable file
    (missing, truncated, not an image) raises :class:`EdgekdError` naming it and why."""
    try:
        return decode_file(path, pre)
    except EdgekdError:
        raise
    except Exception as exc:  # noqa: BLE001 - Pillow raises OSError, SyntaxError, ValueError, DecompressionBomb...
        raise EdgekdError(f"{path} is not a readable image ({decode_reason(exc, path)}): remove or replace it") from None


def decode_reason(exc: BaseException, path: str | Path | None = None) -> str:
    """A short reason for a failed decode, e.g. 'image file is truncated' (the file's own path,
    which Pillow repeats in some messages, shortened to its name)."""
    text = str(exc).strip().splitlines()
    reason = text[0] if text else type(exc).__name__
    if path is not None:
        reason = reason.replace(str(path), Path(path).name)
    return reason[:160]


def load_image_file(path: Path, channels: int, size: tuple[int, int], resize: bool = False,
                    preprocess: dict | None = None) -> tuple[np.ndarray, str | None]:
    """One image file as uint8 C x H x W with ``channels`` channels at ``size`` (H, W), and what
    was converted (None: nothing). With the model's stored ``preprocess``, any image is read by
    it; without, a size or grey / colour mismatch is refused unless ``resize``."""
    if preprocess:
        return _stored(path, preprocess)

    image_module = pillow()
    h, w = int(size[0]), int(size[1])
    try:
        with image_module.open(path) as img:
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


def _stored(path: Path, preprocess: dict) -> tuple[np.ndarray, str | None]:
    pre = Preprocess.from_dict(preprocess)
    image = read_image(path, pre)
    with pillow().open(path) as img:
        size = img.size
    n = pre.image_size
    return image, (None if size == (n, n) else f"stored preprocessing: {size[0]}x{size[1]} read {pre.describe()}")
