"""The one place matplotlib is imported, for the host's figures (curves, grids, charts).

matplotlib is optional: ``pip install "edgekd[plots]"`` (``[train]`` includes it). The
device side never needs it: explain's overlays are drawn with Pillow
(:mod:`edgekd.explain.overlay`).
"""

from __future__ import annotations

from typing import Any

from edgekd.errors import MissingDependency


def pyplot() -> Any:
    """``matplotlib.pyplot`` on the non-interactive Agg backend, or a one-line error naming the extra."""
    try:
        import matplotlib
    except ImportError:
        raise MissingDependency("matplotlib", "plots") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_png(fig: Any, path, dpi: int = 110) -> None:
    """Write ``fig`` to ``path`` as a PNG atomically (a reader never sees half a file) and close it."""
    from edgekd.fileio import atomic_path

    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=dpi, format="png")
    pyplot().close(fig)
