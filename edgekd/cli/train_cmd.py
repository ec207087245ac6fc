"""``edgekd train``: supervised training from scratch (teachers and baseline students)."""

from __future__ import annotations

import typer

from edgekd.api import RunResult, TrainSpec


def run(spec: TrainSpec) -> None:
    from edgekd.api import train

    result = train(spec)
    if result is not None:
        print_result(f"{spec.model} on {spec.dataset}", result)


def print_result(title: str, result: RunResult) -> None:
    """The selected checkpoint's test figures; without a test split, validation's, named as such."""
    test = result.test if result.test is not None else result.val
    what = "test" if result.test is not None else "validation (no test split)"
    auc = f", AUC {test['auc']:.4f}" if test.get("auc") == test.get("auc") and test.get("auc") is not None else ""
    typer.echo(f"{title}: {what} accuracy {test['accuracy']:.4f}{auc} (best epoch {result.best_epoch}, "
               f"{result.params:,} params, {result.macs / 1e6:.2f}M MACs) -> {result.checkpoint}")
