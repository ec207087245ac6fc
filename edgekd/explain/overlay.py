"""One explanation figure per image: the input as the model saw it, and the map blended over it.

Torch-free (numpy and matplotlib). Two panels, so a clinician can always see the
unobscured image beside the overlay: (1) the input at the model's resolution, (2) the
same image in grey with the attention map (``jet``, alpha 0.45, fixed range 0..1 so
colours mean the same in every figure) and a colour bar. The title states the
predicted class and its softmax probability (and the true class when known), and the
map's kind and source. Pixels are drawn with ``nearest``, so nothing the model did not
see is invented; a map at another resolution than the image is stretched over it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edgekd.errors import MissingDependency
from edgekd.fileio import atomic_path

#: blend weight of the map over the image
ALPHA = 0.45


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


def pyplot():
    try:
        import matplotlib
    except ImportError:
        raise MissingDependency("matplotlib", "train") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _display(image: np.ndarray) -> tuple[np.ndarray, bool]:
    """uint8 C x H x W -> (H x W grey or H x W x 3 RGB, is_grey)."""
    img = np.asarray(image)
    if img.shape[0] == 1:
        return img[0], True
    return img[:3].transpose(1, 2, 0), False


def save_overlay(image: np.ndarray, att: np.ndarray, path: str | Path, title: str, map_label: str) -> None:
    """Write the two-panel PNG for uint8 C x H x W ``image`` and H x W ``att`` in [0, 1]."""
    plt = pyplot()
    img, grey = _display(image)
    h, w = img.shape[:2]
    extent = (-0.5, w - 0.5, h - 0.5, -0.5)
    shown = np.nan_to_num(np.asarray(att, dtype=np.float32), nan=0.0)
    fig, (ax_img, ax_map) = plt.subplots(1, 2, figsize=(7.2, 3.7))
    try:
        ax_img.imshow(img, cmap="gray" if grey else None, interpolation="nearest", extent=extent)
        ax_img.set_title("input (model resolution)", fontsize=8)
        base = img if grey else img.mean(axis=2)
        ax_map.imshow(base, cmap="gray", interpolation="nearest", extent=extent)
        handle = ax_map.imshow(shown, cmap="jet", alpha=ALPHA, vmin=0.0, vmax=1.0, interpolation="nearest",
                               extent=extent)
        ax_map.set_title(map_label, fontsize=8)
        for ax in (ax_img, ax_map):
            ax.set_xticks([])
            ax.set_yticks([])
        bar = fig.colorbar(handle, ax=ax_map, fraction=0.046, pad=0.04)
        bar.set_label("attention (0 = none, 1 = most)", fontsize=7)
        bar.ax.tick_params(labelsize=7)
        fig.suptitle(title, fontsize=9)
        fig.tight_layout()
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=100, format="png")
    finally:
        plt.close(fig)


def title_for(predicted: str, probability: float, true: str | None, source: str) -> str:
    """'predicted: pneumonia (p = 0.932) | true: normal' plus the image source on a second line."""
    line = f"predicted: {predicted} (p = {probability:.3f})"
    if true is not None:
        line += f" | true: {true}" + ("" if true == predicted else "  [WRONG]")
    return f"{line}\n{source}"
