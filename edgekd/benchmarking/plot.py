"""The benchmark's one PNG: latency on a log scale beside accuracy, one bar per model.

A 0.02 ms student next to a 2.5 ms teacher is a sliver on a linear axis, so the latency
panel is logarithmic and every bar is labelled with its p50 and its speed-up over the
first row (whisker: p90). The right panel shows accuracy (and AUC, hatched) where the
model was scored on the data set, and says "latency only" where it was not.
Matplotlib is optional (a device install has none): without it the plot is skipped with
a note, never an error.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from edgekd.fileio import atomic_path


def _latency_label(row: dict[str, Any], first: bool) -> str:
    """``0.052 ms (11.0x faster)`` against the first row."""
    s = row.get("speedup")
    speed = "reference" if first else "" if not s else f"{s:.1f}x faster" if s >= 1 else f"{1 / s:.1f}x slower"
    return f"  {row['p50_ms']:.3g} ms" + (f" ({speed})" if speed else "")


def write_plot(path: str | Path, report: dict[str, Any]) -> str | None:
    """Two-panel bar chart of ``report`` (see the module doc); returns a note if skipped."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.ticker import FuncFormatter, NullFormatter
    except ImportError:
        return f"matplotlib is not installed: {path} not written (pip install matplotlib)"
    rows = report["rows"]
    n = max(len(rows), 1)
    scored = any(r.get("accuracy") is not None for r in rows)
    fig, axes = plt.subplots(1, 2 if scored else 1, figsize=(10.5 if scored else 7.0, 0.55 * n + 1.6),
                             sharey=True, squeeze=False, gridspec_kw={"width_ratios": [3, 2] if scored else [1]})
    try:
        ax = axes[0][0]
        y = list(range(len(rows)))
        p50 = [r["p50_ms"] for r in rows]
        upper = [max(r["p90_ms"] - r["p50_ms"], 0.0) for r in rows]
        ax.barh(y, p50, xerr=[[0.0] * len(rows), upper], capsize=3, color="#4c72b0")
        ax.set_xscale("log")
        if rows:
            low, high = min(p50), max(p + u for p, u in zip(p50, upper))
            ax.set_xlim(low / 2.5, high * 12)  # room for the labels right of the longest bar
        for i, row in enumerate(rows):
            ax.text(row["p50_ms"] + upper[i], i, _latency_label(row, i == 0), va="center", fontsize=8)
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_yticks(y, [r["name"] for r in rows], fontsize=8)
        ax.invert_yaxis()
        ax.set_xlabel("p50 latency per batch, ms (log scale; whisker: p90)")
        ax.set_title("latency", fontsize=10)
        if scored:
            _quality_panel(axes[0][1], rows)
        fig.tight_layout()
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format="png", dpi=120)
    finally:
        plt.close(fig)
    return None


def _quality_panel(ax: Any, rows: list[dict[str, Any]]) -> None:
    h = 0.38
    for i, row in enumerate(rows):
        if row.get("feed_mode") == "random" or row.get("accuracy") is None:
            ax.text(0.02, i, "latency only" if row.get("feed_mode") == "random" else "not scored",
                    va="center", fontsize=8, color="grey")
            continue
        ax.barh(i - h / 2, row["accuracy"], h, color="#55a868")
        ax.text(row["accuracy"], i - h / 2, f" {row['accuracy']:.3f}", va="center", fontsize=7)
        if row.get("auc") is not None:
            ax.barh(i + h / 2, row["auc"], h, color="#c4e3cc", hatch="//", edgecolor="#55a868")
            ax.text(row["auc"], i + h / 2, f" {row['auc']:.3f}", va="center", fontsize=7)
    ax.set_xlim(0, 1.18)
    ax.set_xlabel("on the data set")
    ax.set_title("accuracy (solid) / AUC (hatched)", fontsize=10)
