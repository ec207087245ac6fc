"""Training curves as a PNG beside metrics.json: loss terms, accuracy and AUC per epoch."""

from __future__ import annotations

from pathlib import Path

from edgekd.plotting import pyplot, save_png


def plot_curves(history: list[dict], path: str | Path, title: str = "") -> None:
    plt = pyplot()

    epochs = [h["epoch"] for h in history]
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 3.8))
    for term in history[0]["terms"]:
        ax_loss.plot(epochs, [h["terms"][term] for h in history], marker=".", label=term)
    ax_loss.plot(epochs, [h["train_loss"] for h in history], marker=".", color="black", label="total")
    ax_loss.set(xlabel="epoch", ylabel="train loss (weighted terms)", yscale="log")
    ax_loss.legend(fontsize=8)
    ax_acc.plot(epochs, [h["train_accuracy"] for h in history], marker=".", label="train acc")
    ax_acc.plot(epochs, [h["val"]["accuracy"] for h in history], marker=".", label="val acc")
    if all(h["val"].get("auc") == h["val"].get("auc") for h in history):  # skip when AUC is nan
        ax_acc.plot(epochs, [h["val"]["auc"] for h in history], marker=".", label="val AUC")
    ax_acc.set(xlabel="epoch", ylabel="score")
    ax_acc.legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    save_png(fig, path)
