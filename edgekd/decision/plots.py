"""The reliability diagram: accuracy against confidence per bin, before and after calibration (host only).

matplotlib is imported through :func:`edgekd.plotting.pyplot` inside the function, so the
package stays importable on a device that has only numpy.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edgekd.decision.calibration_metrics import ECE_BINS, expected_calibration_error, reliability_bins


def plot_reliability(labels, curves: dict[str, np.ndarray], path: str | Path, title: str = "",
                     bins: int = ECE_BINS) -> None:
    """Write a PNG: one accuracy-vs-confidence line per entry of ``curves`` (name -> N x K probabilities),
    ECE in the legend, the diagonal of perfect calibration, and a histogram of confidences below."""
    from edgekd.plotting import pyplot, save_png

    plt = pyplot()
    fig, (ax, ax_hist) = plt.subplots(2, 1, figsize=(5.2, 6.0), sharex=True,
                                      gridspec_kw={"height_ratios": [3, 1]})
    ax.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=1, label="perfect calibration")
    for name, probs in curves.items():
        rows = [r for r in reliability_bins(labels, probs, bins) if r["count"]]
        ece = expected_calibration_error(labels, probs, bins)
        line, = ax.plot([r["confidence"] for r in rows], [r["accuracy"] for r in rows], marker="o",
                        label=f"{name} (ECE {ece:.3f})")
        ax_hist.hist(np.asarray(probs).max(axis=1), bins=np.linspace(0, 1, bins + 1), histtype="step",
                     color=line.get_color())
    ax.set(ylabel="accuracy in bin", xlim=(0, 1), ylim=(0, 1.02), title=title or "reliability diagram")
    ax.legend(fontsize=8, loc="upper left")
    ax_hist.set(xlabel=f"confidence (top-label probability, {bins} bins)", ylabel="images")
    fig.tight_layout()
    save_png(fig, path)
