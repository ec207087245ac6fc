"""The attention figure of a distill run: validation images, teacher map, student map, difference."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edgekd.fileio import atomic_path
from edgekd.plotting import pyplot


def attention_grid(images: np.ndarray, teacher_maps: np.ndarray, student_maps: np.ndarray, labels: np.ndarray,
                   predictions: np.ndarray, class_names: list[str], path: str | Path, title: str = "") -> None:
    """One row per image: the image, the teacher's map, the student's map, student - teacher.

    ``images`` uint8 N x C x H x W; maps N x H x W in [0, 1].
    """
    plt = pyplot()

    n = len(images)
    fig, axes = plt.subplots(n, 4, figsize=(8, 2.1 * n), squeeze=False)
    for i in range(n):
        img = images[i].transpose(1, 2, 0)
        grey = img.shape[2] == 1
        panels = [(img[..., 0] if grey else img, "gray" if grey else None, f"true {class_names[labels[i]]}"),
                  (teacher_maps[i], "jet", "teacher"),
                  (student_maps[i], "jet", f"student: {class_names[predictions[i]]}"),
                  (student_maps[i] - teacher_maps[i], "coolwarm", "student - teacher")]
        for ax, (data, cmap, label) in zip(axes[i], panels):
            kwargs = {"vmin": -1, "vmax": 1} if cmap == "coolwarm" else ({"vmin": 0, "vmax": 1} if cmap == "jet" else {})
            ax.imshow(data, cmap=cmap, interpolation="nearest", **kwargs)
            ax.set_title(label, fontsize=8)
            ax.axis("off")
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=100, format="png")
    plt.close(fig)
