"""The two figures of ``edgekd attention-agreement``: ins−del per map beside the controls,
and the mean insertion / deletion curves.

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


def _entries(rec: dict[str, Any]) -> list[tuple[str, dict[str, Any], bool]]:
    """(name, score record, is a control) for a model: its maps, then the controls."""
    return ([(n, r, False) for n, r in rec["maps"].items()] + [(n, r, True) for n, r in rec["controls"].items()])


def faithfulness_figure(result: dict[str, Any], path: str | Path) -> None:
    """Per model, the mean ins−del of every map (colour) and control (grey) with 95 % intervals."""
    plt = pyplot()
    models = [result["teacher"], *result["students"]]
    fig, axes = plt.subplots(len(models), 1, figsize=(7.5, 2.2 * len(models) + 0.6), squeeze=False)
    try:
        for ax, rec in zip(axes[:, 0], models, strict=True):
            entries = _entries(rec)
            means = [r["ins_del"]["mean"] or 0.0 for _, r, _ in entries]
            errs = [[m - (r["ins_del"]["low"] if r["ins_del"]["low"] is not None else m) for m, (_, r, _)
                     in zip(means, entries, strict=True)],
                    [(r["ins_del"]["high"] if r["ins_del"]["high"] is not None else m) - m for m, (_, r, _)
                     in zip(means, entries, strict=True)]]
            colours = ["0.6" if control else f"C{i}" for i, (_, _, control) in enumerate(entries)]
            ax.bar(range(len(entries)), means, yerr=errs, capsize=3, color=colours)
            ax.axhline(0, color="black", linewidth=0.8)
            ax.set_xticks(range(len(entries)), [n for n, _, _ in entries], fontsize=8)
            ax.set_ylabel("ins−del", fontsize=8)
            ax.set_title(f"{rec['label']} (accuracy {rec['accuracy']:.3f})", fontsize=9)
            ax.grid(axis="y", alpha=0.3)
        fig.suptitle(f"Faithfulness on {result['dataset']} {result['split']} (n = {result['n']}, fill "
                     f"{result['fill']}): insertion AUC − deletion AUC of p(predicted class); grey = controls",
                     fontsize=9)
        fig.tight_layout()
        _save(fig, path)
    finally:
        plt.close(fig)


def curves_figure(result: dict[str, Any], path: str | Path) -> None:
    """Per model, mean insertion (solid) and deletion (dashed) curves of every map and of the
    random control (grey)."""
    plt = pyplot()
    models = [result["teacher"], *result["students"]]
    f = result["fractions"]
    fig, axes = plt.subplots(1, len(models), figsize=(3.6 * len(models) + 0.4, 3.6), squeeze=False)
    try:
        for ax, rec in zip(axes[0], models, strict=True):
            shown = [(n, r, f"C{i}") for i, (n, r) in enumerate(rec["maps"].items())]
            shown.append(("random", rec["controls"]["random"], "0.5"))
            for name, r, colour in shown:
                ax.plot(f, r["insertion"], color=colour, label=f"{name} ({r['ins_del']['mean']:+.3f})")
                ax.plot(f, r["deletion"], color=colour, linestyle="--")
            ax.set(xlabel="fraction of pixels (most attended first)", ylim=(0, 1.02), xlim=(0, 1))
            ax.set_title(rec["label"], fontsize=8)
            ax.grid(alpha=0.3)
            ax.legend(fontsize=6, title="map (ins−del)", title_fontsize=6)
        axes[0, 0].set_ylabel("p(predicted class)")
        fig.suptitle(f"Insertion (solid) and deletion (dashed), {result['dataset']} {result['split']}, "
                     f"fill {result['fill']}", fontsize=9)
        fig.tight_layout()
        _save(fig, path)
    finally:
        plt.close(fig)
