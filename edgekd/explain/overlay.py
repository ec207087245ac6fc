"""One explanation figure per image: the input as the model saw it, and the map blended over it.

Torch-free and matplotlib-free (numpy and Pillow, both in ``edgekd[runtime]``), so a
Raspberry Pi or a Jetson draws the same figure as the host. Two panels, so a clinician
can always see the unobscured image beside the overlay: (1) the input at the model's
resolution, (2) the same image in grey with the attention map blended over it (``jet``
colours, alpha 0.45, fixed range 0..1 so colours mean the same in every figure) and a
colour bar. The title states the predicted class and its softmax probability (and the
true class when known), and the map's kind and source. Pixels are enlarged by whole
factors with nearest-neighbour, so nothing the model did not see is invented; a map at
a coarser resolution than the image (an exported head's stage-resolution map) is first
resized bilinearly to the image, as the training-time maps are.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edgekd.fileio import atomic_path

#: blend weight of the map over the image
ALPHA = 0.45
#: target height of each panel in pixels (the image is enlarged by a whole factor)
PANEL = 256
#: width of the colour bar, and the margins around panels
BAR, PAD = 14, 12
BACKGROUND = (255, 255, 255)
INK = (0, 0, 0)


def map_stats(m: np.ndarray) -> dict:
    """Summary of one H x W map: range, mean, spread, peak pixel, share of the area >= 0.5."""
    m = np.asarray(m, dtype=np.float64)
    finite = np.isfinite(m)
    if not finite.all():
        return {"finite": False, "nonfinite_pixels": int((~finite).sum()), "min": None, "max": None,
                "mean": None, "std": None, "peak": None, "area_ge_0.5": None}
    peak = np.unravel_index(int(np.argmax(m)), m.shape)
    return {"finite": True, "min": float(m.min()), "max": float(m.max()), "mean": float(m.mean()),
            "std": float(m.std()), "peak": [int(peak[0]), int(peak[1])],
            "area_ge_0.5": float(np.mean(m >= 0.5))}


def jet(values: np.ndarray) -> np.ndarray:
    """The ``jet`` colour map (blue -> cyan -> yellow -> red) of values in [0, 1], as float RGB in [0, 1]."""
    v = np.clip(np.asarray(values, dtype=np.float32), 0.0, 1.0)[..., None]
    centres = np.array([3.0, 2.0, 1.0], dtype=np.float32)  # red, green, blue peak at 3/4, 1/2, 1/4
    return np.clip(1.5 - np.abs(4.0 * v - centres), 0.0, 1.0)


def _font(size: int):
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)  # scalable where Pillow has FreeType
    except (TypeError, OSError, ImportError):
        return ImageFont.load_default()


def _grey_and_rgb(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """uint8 C x H x W -> (H x W grey float in [0, 255], H x W x 3 uint8 as displayed)."""
    img = np.asarray(image)
    if img.shape[0] == 1:
        return img[0].astype(np.float32), np.repeat(img[0][..., None], 3, axis=2).astype(np.uint8)
    rgb = img[:3].transpose(1, 2, 0).astype(np.uint8)
    return rgb.astype(np.float32).mean(axis=2), rgb


def _map_at(att: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``att`` (NaN -> 0) at ``size`` (H, W): bilinear when it is coarser or finer than the image."""
    from PIL import Image

    m = np.nan_to_num(np.asarray(att, dtype=np.float32), nan=0.0, posinf=1.0, neginf=0.0)
    if m.shape == size:
        return m
    return np.asarray(Image.fromarray(m, mode="F").resize((size[1], size[0]), Image.Resampling.BILINEAR))


def blend(image: np.ndarray, att: np.ndarray) -> np.ndarray:
    """H x W x 3 uint8: the image in grey with ``jet(att)`` over it at :data:`ALPHA`."""
    grey, _ = _grey_and_rgb(image)
    m = _map_at(att, grey.shape)
    out = (1.0 - ALPHA) * grey[..., None] / 255.0 + ALPHA * jet(m)
    return np.round(np.clip(out, 0.0, 1.0) * 255.0).astype(np.uint8)


def save_overlay(image: np.ndarray, att: np.ndarray, path: str | Path, title: str, map_label: str) -> None:
    """Write the two-panel PNG for uint8 C x H x W ``image`` and ``att`` in [0, 1] (any H' x W')."""
    from PIL import Image, ImageDraw

    _, rgb = _grey_and_rgb(image)
    h, w = rgb.shape[:2]
    scale = max(1, PANEL // max(h, w))
    panels = [Image.fromarray(a).resize((w * scale, h * scale), Image.Resampling.NEAREST)
              for a in (rgb, blend(image, att))]
    pw, ph = panels[0].size
    font, small = _font(13), _font(11)
    lines = title.split("\n")
    top = PAD + 17 * len(lines) + 22  # title lines, then the panel captions
    bar_x = PAD + 2 * (pw + PAD)
    canvas = Image.new("RGB", (bar_x + BAR + 40, top + ph + PAD), BACKGROUND)
    draw = ImageDraw.Draw(canvas)
    for i, line in enumerate(lines):
        draw.text((PAD, PAD + 17 * i), line, fill=INK, font=font)
    for i, (panel, caption) in enumerate(zip(panels, ("input (model resolution)", map_label))):
        x = PAD + i * (pw + PAD)
        canvas.paste(panel, (x, top))
        draw.text((x, top - 16), caption, fill=INK, font=small)
    ramp = jet(np.linspace(1.0, 0.0, ph, dtype=np.float32))  # top = 1
    bar = np.round(np.repeat(ramp[:, None, :], BAR, axis=1) * 255).astype(np.uint8)
    canvas.paste(Image.fromarray(bar), (bar_x, top))
    draw.text((bar_x + BAR + 4, top - 2), "1", fill=INK, font=small)
    draw.text((bar_x + BAR + 4, top + ph // 2 - 6), "0.5", fill=INK, font=small)
    draw.text((bar_x + BAR + 4, top + ph - 12), "0", fill=INK, font=small)
    with atomic_path(path) as tmp:
        canvas.save(tmp, format="PNG")


def title_for(predicted: str, probability: float, true: str | None, source: str) -> str:
    """'predicted: pneumonia (p = 0.932) | true: normal' plus the image source on a second line."""
    line = f"predicted: {predicted} (p = {probability:.3f})"
    if true is not None:
        line += f" | true: {true}" + ("" if true == predicted else "  [WRONG]")
    return f"{line}\n{source}"
