"""The two figures of ``edgekd attention-agreement``: deletion curves and agreement bars.

Torch-free (numpy, matplotlib), driven by the JSON the command writes, so a figure can
be redrawn from ``agreement.json`` alone.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from edgekd.fileio import atomic_path
from edgekd.plotting import pyplot


def _save(fig: Any, path: str | Path) -> None:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=100, format="png")


def deletion_figure(result: dict[str, Any], path: str | Path) -> None:
    """Accuracy vs fraction of most-attended pixels removed: each model's own map (solid)
    and the random-map baseline on the same model (dashed, same colour)."""
    plt = pyplot()
    models = [result["teacher"], *result["students"]]
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    try:
        for i, rec in enumerate(models):
            colour = f"C{i}"
            d, r = rec["deletion"], rec["random"]
            ax.plot(d["fractions"], d["accuracy"], marker=".", color=colour,
                    label=f"{rec['label']}: own map, AUC {d['auc']:.3f}")
            ax.plot(r["fractions"], r["accuracy"], linestyle="--", color=colour, alpha=0.7,
                    label=f"{rec['label']}: random map, AUC {r['auc']:.3f}")
        ax.set(xlabel="fraction of pixels removed (most attended first)", ylabel="accuracy",
               ylim=(0, 1.02), xlim=(0, 1))
        ax.set_title(f"Deletion ({result['map'].upper()} maps, {result['dataset']} {result['split']}, "
                     f"n = {result['n']}): lower area = more faithful", fontsize=9)
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
        fig.tight_layout()
        _save(fig, path)
    finally:
        plt.close(fig)


def agreement_figure(result: dict[str, Any], path: str | Path) -> None:
    """Per student: mean Pearson correlation (+- std) and mean IoU of the top regions with the teacher."""
    plt = pyplot()
    students = result["students"]
    xs = range(len(students))
    width = 0.38
    fig, ax = plt.subplots(figsize=(max(4.5, 1.6 * len(students) + 2), 3.8))
    try:
        pear = [s["pearson"]["mean"] if s["pearson"]["mean"] is not None else 0.0 for s in students]
        pstd = [s["pearson"]["std"] or 0.0 for s in students]
        iou = [s["iou"]["mean"] for s in students]
        ax.bar([x - width / 2 for x in xs], pear, width, yerr=pstd, capsize=3, label="Pearson r (mean +- std)")
        ax.bar([x + width / 2 for x in xs], iou, width, label=f"IoU of top {result['top_fraction']:.0%}")
        ax.axhline(0, color="black", linewidth=0.8)
        ax.set_xticks(list(xs), [s["label"] for s in students], fontsize=8)
        ax.set_ylim(min(-0.1, min(pear) - 0.1), 1.05)
        ax.set_ylabel("agreement with the teacher")
        ax.set_title(f"{result['map'].upper()} maps vs teacher {result['teacher']['label']}", fontsize=9)
        ax.legend(fontsize=7)
        fig.tight_layout()
        _save(fig, path)
    finally:
        plt.close(fig)
